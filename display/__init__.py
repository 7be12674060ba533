"""The lobby display (大厅显示屏) front end: read-only, masked data only.

The page takes its device token from the URL fragment (``/display/#token=…``, never sent to
the server in a URL or written to its logs), keeps it in the browser's local storage, and
follows the ``/lobby`` Socket.IO namespace: a snapshot on connect, then sequenced events.
"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/static")


@bp.route("/")
def lobby() -> str:
    return render_template("display/lobby.html")
