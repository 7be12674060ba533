"""The ticket kiosk (自助取号机) front end.

Talks to the server over HTTP only (the JSON API, authenticated by its registered device
token) and receives masked data only. The page takes its token from the URL fragment
(``/kiosk/#token=…``, never sent to the server in a URL or written to its logs) and keeps it
in the browser's local storage. The one server-side helper is the QR code of a ticket's
progress page, drawn here because the kiosk has no network access beyond this server.
See docs/KIOSK.md.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request

from station.qr import qr_svg

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static", static_url_path="/static")

#: a progress URL is the public address, "/p/" and a short token; anything longer is not one
MAX_QR_DATA = 512


@bp.route("/")
def kiosk() -> str:
    return render_template("kiosk/kiosk.html")


@bp.route("/qr.svg")
def qr() -> Response:
    """The QR code of a ticket's progress page (only such URLs: not a general QR service)."""
    data = request.args.get("data", "")
    prefix = current_app.extensions["station.config"].public_url + "/p/"
    if len(data) > MAX_QR_DATA or not data.startswith(prefix) or len(data) == len(prefix):
        abort(400, description="data must be a progress page address")
    response = Response(str(qr_svg(data)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
