"""Server-rendered screens: the start page, staff login and the staff overview.

Templates only display what services computed; they never decide a business rule.
Front-end packages (socket.io client …) come from ``node_modules`` (``npm ci`` in
``make install``) and are served under ``/vendor/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from station.auth import StaffUser, public_limit, rate_limit, require_roles
from station.context import get_clock, get_config, get_db
from station.services import backup, evidence, overview, tickets, users, visits

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/station")

ROOT = Path(__file__).resolve().parents[2]
#: front-end files served from node_modules: URL name → path inside node_modules
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}


def init_web(app: Flask) -> None:
    from display import bp as display_bp
    from kiosk import bp as kiosk_bp

    from . import (
        booking,
        cameras,
        emission,
        feedback,
        keys,
        lane,
        manager,
        simulation,
        technician,
        window,
    )

    app.register_blueprint(bp)
    app.register_blueprint(display_bp)
    app.register_blueprint(kiosk_bp)
    for module in (booking, manager, simulation, window, keys, lane, emission, technician, feedback,
                   cameras):
        app.register_blueprint(module.bp)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"demo_mode": get_config().simulate_devices}

    @app.template_filter("localtime")
    def _localtime(at: Any) -> str:
        return get_clock().local(at).strftime("%Y-%m-%d %H:%M:%S") if at else ""


@bp.route("/")
def start() -> str:
    with get_db().read() as s:
        data = overview.public_overview(s, get_clock())
    return render_template("start.html", data=data,
                           demo_tokens=current_app.extensions.get("station.demo_tokens", {}))


@bp.route("/vendor/<name>")
def vendor(name: str) -> Any:
    if name not in VENDOR_FILES:
        abort(404)
    path = ROOT / "node_modules" / VENDOR_FILES[name]
    if not path.exists():
        abort(404, description="front-end packages missing: run `make install`")
    return send_from_directory(path.parent, path.name, max_age=3600)


def _safe_next(target: str | None) -> str:
    """Only redirect to a path on this server after login."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.staff_home")


@bp.route("/login", methods=["GET", "POST"])
@rate_limit(lambda: get_config().login_rate_limit, methods=["POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    with get_db().write() as s:
        user = users.authenticate(s, get_clock(), username, password)
        staff = StaffUser.of(user) if user is not None else None
    if staff is None:
        flash(_("用户名或密码错误"), "error")
        return render_template("login.html", next=request.form.get("next", ""),
                               username=username), 401
    login_user(staff)
    session.permanent = True  # idle timeout: PERMANENT_SESSION_LIFETIME, refreshed per request
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("web.login"))


@bp.route("/p/<token>")
@rate_limit(public_limit)
def progress_page(token: str) -> str:
    """The owner's personal progress page, opened from the ticket's QR code (no login)."""
    with get_db().read() as s:
        data = overview.progress(s, get_clock(), tickets.by_token(s, token))
    return render_template("progress.html", p=data, token=token)


@bp.route("/staff/")
@require_roles()
def staff_home() -> str:
    clock = get_clock()
    return render_template("staff_home.html",
                           backup=backup.status(get_config().backup_path, clock.now()))


@bp.route("/staff/visits/<int:visit_id>")
@require_roles()
def visit_page(visit_id: int) -> str:
    with get_db().read() as s:
        visit = visits.get(s, visit_id)
        return render_template("visit.html", visit=overview.visit_dict(visit),
                               history=visits.history(s, visit),
                               photos=evidence.photos_of_visit(s, visit_id))
