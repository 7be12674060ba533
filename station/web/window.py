"""Screens: the single window (一窗通办): registration, insurance, payment, pick-up.

The counter touchscreen is one page per window: calling (next, recall, a number, skip, park,
transfer), the queue with each person's reason and wait, and the called visit's registration,
online query, payment and pick-up. It talks to ``/api/v1/counters``, ``/api/v1/queue`` and
``/api/v1/window`` only; the services decide every rule.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from station.auth import require_roles
from station.context import get_db
from station.domain.plates import PLATE_TYPES
from station.domain.vehicle_codes import FUEL_LABELS, USE_NATURES, VEHICLE_TYPES
from station.models import Role
from station.models.window import PAYMENT_METHOD_LABELS, PaymentMethod
from station.services import calling, lanes

bp = Blueprint("window_screens", __name__, url_prefix="/window", template_folder="templates")
STAFF = (Role.COUNTER, Role.MANAGER)


@bp.route("/")
@require_roles(*STAFF)
def choose() -> str:
    """Choose the window this touchscreen serves."""
    with get_db().read() as s:
        counters = [{"id": c.id, "number": c.number, "name": c.name, "state": c.state.value}
                    for c in lanes.all_counters(s)]
    return render_template("window/choose.html", counters=counters)


@bp.route("/<int:counter_id>")
@require_roles(*STAFF)
def counter_screen(counter_id: int) -> str:
    with get_db().read() as s:
        counter = calling.get_counter(s, counter_id)
        others = [{"id": c.id, "name": c.name} for c in lanes.all_counters(s) if c.id != counter_id]
        here: dict[str, Any] = {"id": counter.id, "number": counter.number, "name": counter.name}
    codes = {
        "plate_types": [(c, pt.name_zh) for c, pt in PLATE_TYPES.items()],
        "vehicle_types": [(c, v[0]) for c, v in VEHICLE_TYPES.items()],
        "use_natures": [(c, v[0]) for c, v in USE_NATURES.items()],
        "fuels": [(f.value, zh) for f, (zh, _) in FUEL_LABELS.items()],
        "methods": [(m.value, PAYMENT_METHOD_LABELS[m][0]) for m in PaymentMethod
                    if m is not PaymentMethod.FREE],
    }
    return render_template("window/counter.html", counter=here, others=others, codes=codes)
