"""Screens: the diesel free-acceleration test (自由加速法) at the lane terminal, guided step by step
with a live opacity chart.

``/emission/station/<station_id>`` is the inspector's page of a diesel emission station. The
test runs in the device process against the station's smoke meter; the page polls
``…/live?after=<seq>`` four times a second for new readings and the current prompt (a live
chart at ≥ 2 updates/s without a socket per reading).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from station.api.common import current_actor
from station.auth import require_roles
from station.context import get_clock, get_config, get_db
from station.devices.smoke_sessions import EmissionTestRun
from station.errors import Conflict, ValidationError
from station.models import Role
from station.services import emission_tests, instruments, lanes

from .technician import smoke_sessions

bp = Blueprint("emission", __name__, url_prefix="/emission", template_folder="templates")

ROLES = (Role.INSPECTOR, Role.TECHNICIAN, Role.MANAGER)


@bp.route("/station/<int:station_id>")
@require_roles(*ROLES)
def station_page(station_id: int) -> str:
    clock = get_clock()
    with get_db().read() as s:
        station = lanes.get_station(s, station_id)
        meter = emission_tests.station_meter(s, station_id)
        verdict = instruments.usability(s, clock, meter)
        data = {"station": station, "lane": station.lane, "meter": meter, "verdict": verdict,
                "waiting": emission_tests.waiting_visits(s, station_id),
                "visit_id": request.args.get("visit", type=int)}
    return render_template("emission/station.html", demo=get_config().simulate_devices, **data)


@bp.route("/station/<int:station_id>/start", methods=["POST"])
@require_roles(*ROLES)
def start(station_id: int) -> Any:
    body = request.get_json(silent=True) or request.form.to_dict()
    try:
        visit_id = int(body.get("visit_id", ""))
    except (TypeError, ValueError):
        raise ValidationError("visit_required", "请选择受检车辆", "Choose the vehicle to test") from None
    sessions = smoke_sessions()
    db, clock, actor = get_db(), get_clock(), current_actor()
    with db.write() as s:
        plan, refusal = emission_tests.plan(s, clock, actor, station_id, visit_id)
    if refusal is not None:  # the refused attempt is audited (committed) before answering
        raise refusal
    assert plan is not None

    def record(run: EmissionTestRun) -> int | None:
        with db.write() as s:
            result = run.test.result
            if result is None:
                reason = run.test.prompt
                rec = emission_tests.record_aborted(
                    s, clock, actor, plan, reason_zh=reason.zh, reason_en=reason.en,
                    started_at=run.test.started_at, limit_name=run.test.limit.name,
                    process=run.test.process_data)
            else:
                rec = emission_tests.record_result(s, clock, actor, plan, result)
            return rec.id

    run = sessions.start_test(plan, actor, record)
    if run.simulator is not None:  # demo: the probe is in clean air for zeroing
        run.simulator.remove_filter()
        run.simulator.remove_probe()
    return jsonify(run.snapshot()), 201


def _run(station_id: int) -> EmissionTestRun:
    run = smoke_sessions().test_at(station_id)
    if run is None:
        raise Conflict("no_test", "该工位没有进行中的检测", "No test at this station")
    return run


@bp.route("/station/<int:station_id>/live")
@require_roles(*ROLES)
def live(station_id: int) -> Any:
    run = smoke_sessions().test_at(station_id)
    if run is None:
        return jsonify({"step": None})
    return jsonify(run.snapshot(request.args.get("after", 0, type=int)))


@bp.route("/station/<int:station_id>/zero", methods=["POST"])
@require_roles(*ROLES)
def zero(station_id: int) -> Any:
    run = _run(station_id)
    run.confirm_zero()
    if run.simulator is not None:  # demo: the inspector puts the probe into the tailpipe
        run.simulator.insert_probe()
    return jsonify(run.snapshot(10**9))


@bp.route("/station/<int:station_id>/abort", methods=["POST"])
@require_roles(*ROLES)
def abort_test(station_id: int) -> Any:
    run = _run(station_id)
    run.abort("检验员中止检测", "aborted by the inspector")
    run.finished.wait(5)
    return jsonify(run.snapshot(10**9))


@bp.route("/station/<int:station_id>/simulate", methods=["POST"])
@require_roles(*ROLES)
def simulate(station_id: int) -> Any:
    """Demo station only: press the simulated engine's pedal (one free acceleration)."""
    run = _run(station_id)
    if run.simulator is None:
        raise Conflict("not_simulated", "只有模拟仪器可以模拟踩油门",
                       "Only a simulated meter has a simulated pedal")
    body = request.get_json(silent=True) or {}
    run.simulator.free_acceleration(reach_governed=body.get("reach_governed", True) is not False)
    return jsonify({"ok": True})
