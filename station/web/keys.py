"""Screens: key handover and the runner queue (交钥匙).

- ``/keys/`` the handover desk (tablet): hand over a key with photos, give keys back to the
  verified owner, and the board of every key at the station with overdue alerts;
- ``/keys/runner`` the runner's phone: the key in hand, the cars ready to move, tested cars to
  take back from the lanes;
- ``/keys/visits/<id>`` the chain of custody of a visit's key (managers).

The pages act through the JSON API (``/api/v1/keys``) and refresh on ``/staff`` events.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from station.auth import require_roles
from station.context import get_clock, get_db
from station.models import Role
from station.services import keys, overview, visits

bp = Blueprint("key_screens", __name__, url_prefix="/keys", template_folder="templates")


@bp.route("/")
@require_roles(Role.COUNTER, Role.RUNNER, Role.MANAGER)
def desk() -> str:
    with get_db().read() as s:
        slots = [slot["code"] for slot in keys.slots(s) if slot["active"] and not slot["key_id"]]
    return render_template("keys/desk.html", free_slots=slots)


@bp.route("/runner")
@require_roles(Role.RUNNER, Role.MANAGER)
def runner() -> str:
    return render_template("keys/runner.html")


@bp.route("/visits/<int:visit_id>")
@require_roles(Role.MANAGER)
def custody(visit_id: int) -> str:
    clock = get_clock()
    with get_db().read() as s:
        visit = visits.get(s, visit_id)
        key = keys.key_of_visit(s, visit_id)
        return render_template(
            "keys/custody.html", visit=overview.visit_dict(visit),
            key=keys.key_dict(s, clock, key) if key else None,
            movements=[keys.movement_dict(clock, m) for m in keys.custody(s, visit_id)],
            photos=keys.photos(s, key.id) if key else [])
