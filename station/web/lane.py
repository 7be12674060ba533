"""Screens: the lane terminal (工位终端) — the inspector's screen at one station of a lane.

The page shows the car at the station with the station's inspection items (those not
applicable to the car are skipped with their rule), the cars coming next, and records the
results through the tracking API; it follows ``/staff`` to refresh when cars move.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from station.auth import require_roles
from station.context import get_db
from station.models import Role
from station.services import lanes, overview

bp = Blueprint("lane_terminal", __name__, url_prefix="/lane", template_folder="templates")

LANE_STAFF = (Role.INSPECTOR, Role.RUNNER, Role.MANAGER, Role.TECHNICIAN)


@bp.route("/")
@require_roles(*LANE_STAFF)
def choose() -> str:
    """Pick the station this terminal serves."""
    with get_db().read() as s:
        data = [overview.lane_dict(lane) for lane in lanes.all_lanes(s)]
    return render_template("lane/choose.html", lanes=data)


@bp.route("/station/<int:station_id>")
@require_roles(*LANE_STAFF)
def terminal(station_id: int) -> str:
    with get_db().read() as s:
        station = lanes.get_station(s, station_id)
        data = {"station": overview.station_dict(station), "lane_name": station.lane.name}
    return render_template("lane/terminal.html", **data)
