"""Screens: metering instruments, verifications, daily checks (量值溯源), for the technician
(设备/计量管理员) and the manager.

Pages are server-rendered; their actions post with ``fetch`` and get JSON back (a refusal is a
4xx JSON body with the Chinese and English message, shown on the page).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, jsonify, render_template, request, send_file

from station.api.common import current_actor
from station.auth import require_roles
from station.context import get_clock, get_config, get_db
from station.devices import STATE_LABELS, DeviceManager
from station.devices.smoke_sessions import SmokeSessions
from station.errors import Conflict, ValidationError
from station.models import HardwareDevice, LaneStation, Role
from station.models.device import DeviceKind
from station.models.instrument import (
    CONCLUSION_LABELS,
    INSTRUMENT_KIND_LABELS,
    InstrumentKind,
    Verification,
)
from station.services import daily_checks, instruments, settings
from station.services.actors import Actor

bp = Blueprint("technician", __name__, url_prefix="/technician", template_folder="templates")

ROLES = (Role.TECHNICIAN, Role.MANAGER)


def device_manager() -> DeviceManager:
    devices = current_app.extensions.get("station.devices")
    if devices is None:
        raise Conflict("devices_not_running", "本服务进程未运行设备，无法连接仪器",
                       "This server process does not run the devices: the meter cannot be reached")
    return devices


def smoke_sessions() -> SmokeSessions:
    """The live meter sessions of this process (created on first use)."""
    sessions = current_app.extensions.get("station.smoke_sessions")
    if sessions is None:
        sessions = current_app.extensions.setdefault(
            "station.smoke_sessions", SmokeSessions(get_db(), get_clock(), device_manager()))
    return sessions


def _actor() -> Actor:
    return current_actor()


def _form() -> dict[str, Any]:
    return request.get_json(silent=True) or request.form.to_dict()


@bp.route("/")
@require_roles(*ROLES)
def index() -> str:
    clock = get_clock()
    with get_db().read() as s:
        rows = instruments.overview(s, clock)
        alerts = instruments.recent_alerts(s, clock)
        names = {i.id: i.name for i in instruments.all_instruments(s)}
        stations = [(st.id, f"{st.lane.name} · {st.name}") for st in s.scalars(
            sa.select(LaneStation).order_by(LaneStation.lane_id, LaneStation.position))]
        meters = [(d.id, d.name) for d in s.scalars(sa.select(HardwareDevice).where(
            HardwareDevice.kind == DeviceKind.SMOKE_METER))]
    return render_template("technician/index.html", rows=rows, alerts=alerts, names=names,
                           stations=stations, meters=meters, kinds=INSTRUMENT_KIND_LABELS)


@bp.route("/instruments", methods=["POST"])
@require_roles(*ROLES)
def register() -> Any:
    f = _form()
    with get_db().write() as s:
        instrument = instruments.register_instrument(
            s, get_clock(), _actor(), kind=f.get("kind", ""), name=f.get("name", ""),
            serial_no=f.get("serial_no", ""), lane_station_id=_int(f.get("lane_station_id")),
            make=f.get("make", ""), model=f.get("model", ""),
            hardware_device_id=_int(f.get("hardware_device_id"), required=False),
            period_months=_int(f.get("period_months") or 12))
        return jsonify({"id": instrument.id}), 201


def _int(value: Any, *, required: bool = True) -> Any:
    if value in (None, "") and not required:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError("number_invalid", "请输入有效的数字", "Enter a valid number") from None


@bp.route("/instruments/<int:instrument_id>")
@require_roles(*ROLES)
def detail(instrument_id: int) -> str:
    clock = get_clock()
    with get_db().read() as s:
        instrument = instruments.get(s, instrument_id)
        verdict = instruments.usability(s, clock, instrument)
        station = s.get(LaneStation, instrument.lane_station_id)
        checks = [(c, daily_checks.points_of(s, c)) for c in instruments.daily_checks(s, instrument)]
        data = {
            "instrument": instrument, "verdict": verdict,
            "kind_label": instruments.kind_label(instrument.kind),
            "station": f"{station.lane.name} · {station.name}",
            "verifications": instruments.verifications(s, instrument),
            "checks": checks, "conclusions": CONCLUSION_LABELS,
            "is_opacity": instrument.kind is InstrumentKind.OPACITY_METER,
            "nominals": daily_checks.filter_nominals(s),
            "tolerance": settings.get(s, "instruments.filter_tolerance_pct"),
            "min_filters": settings.get(s, "instruments.min_filters"),
            "today": clock.today(),
        }
    run = current_app.extensions.get("station.smoke_sessions")
    live = run.daily.get(instrument_id) if run else None
    return render_template("technician/instrument.html", live=live.as_dict() if live else None,
                           demo=get_config().simulate_devices, **data)


@bp.route("/instruments/<int:instrument_id>/verifications", methods=["POST"])
@require_roles(*ROLES)
def add_verification(instrument_id: int) -> Any:
    f = _form()
    upload = request.files.get("certificate")
    clock = get_clock()
    with get_db().write() as s:
        instrument = instruments.get(s, instrument_id)
        stored = name = None
        if upload is not None and upload.filename:
            data = upload.read()
            stored = instruments.store_certificate(
                get_config().instance_path, upload.filename, data,
                int(settings.get(s, "instruments.certificate_max_bytes")))
            name = upload.filename
        record = instruments.record_verification(
            s, clock, _actor(), instrument, certificate_no=f.get("certificate_no", ""),
            verifying_body=f.get("verifying_body", ""), verified_on=f.get("verified_on", ""),
            valid_until=f.get("valid_until", ""), conclusion=f.get("conclusion", ""),
            corrects_id=_int(f.get("corrects_id"), required=False), note=f.get("note"),
            certificate_file=stored, certificate_filename=name)
        return jsonify({"id": record.id}), 201


@bp.route("/verifications/<int:verification_id>/certificate")
@require_roles(*ROLES)
def certificate(verification_id: int) -> Any:
    with get_db().read() as s:
        record = s.get(Verification, verification_id)
        if record is None or not record.certificate_file:
            abort(404)
        path = (get_config().instance_path / record.certificate_file).resolve()
        name = record.certificate_filename or path.name
    if not path.is_relative_to(get_config().instance_path.resolve()) or not path.exists():
        abort(404)
    return send_file(path, download_name=name)


# -- daily check ------------------------------------------------------------------------------

def _opacity_meter(instrument_id: int) -> int:
    with get_db().read() as s:
        instrument = instruments.get(s, instrument_id)
        if instrument.kind is not InstrumentKind.OPACITY_METER or not instrument.hardware_device_id:
            raise ValidationError("not_a_linked_meter", "该器具不是关联设备的不透光烟度计",
                                  "This instrument is not an opacity meter linked to a device")
        return instrument.hardware_device_id


@bp.route("/instruments/<int:instrument_id>/daily-check/start", methods=["POST"])
@require_roles(*ROLES)
def daily_start(instrument_id: int) -> Any:
    sessions = smoke_sessions()
    run = sessions.start_daily(instrument_id, _opacity_meter(instrument_id))
    _, simulator = sessions.meter(run.device_id)
    if simulator is not None:  # demo: the technician takes the probe out of the exhaust
        simulator.remove_probe()
    return jsonify(run.as_dict())


@bp.route("/instruments/<int:instrument_id>/daily-check/zero", methods=["POST"])
@require_roles(*ROLES)
def daily_zero(instrument_id: int) -> Any:
    sessions = smoke_sessions()
    sessions.daily_zero(instrument_id)
    return jsonify(sessions.daily_run(instrument_id).as_dict())


@bp.route("/instruments/<int:instrument_id>/daily-check/filter", methods=["POST"])
@require_roles(*ROLES)
def daily_filter(instrument_id: int) -> Any:
    f = _form()
    try:
        nominal = float(f.get("nominal", ""))
    except ValueError:
        raise ValidationError("filter_nominal_invalid", "请输入滤光片标称值",
                              "Enter the filter's nominal value") from None
    sessions = smoke_sessions()
    run = sessions.daily_run(instrument_id)
    measured = sessions.daily_measure(instrument_id)
    with get_db().read() as s:
        point = daily_checks.check_filter_reading(s, nominal, measured)
        tolerance = float(settings.get(s, "instruments.filter_tolerance_pct"))
    run.points.append((point.nominal_n_pct, point.measured_n_pct))
    return jsonify({**run.as_dict(), "last": {"nominal": point.nominal_n_pct,
                                              "measured": point.measured_n_pct,
                                              "error": point.error_pct,
                                              "passed": abs(point.error_pct) <= tolerance}})


@bp.route("/instruments/<int:instrument_id>/daily-check/finish", methods=["POST"])
@require_roles(*ROLES)
def daily_finish(instrument_id: int) -> Any:
    sessions = smoke_sessions()
    run = sessions.daily_run(instrument_id)
    if run.zero_n_pct is None:
        raise Conflict("zero_first", "请先在清洁空气中调零", "Zero the meter in clean air first")
    with get_db().write() as s:
        check = daily_checks.record_measured_check(
            s, get_clock(), _actor(), instruments.get(s, instrument_id),
            zero_n_pct=run.zero_n_pct,
            points=[daily_checks.FilterPoint(n, m) for n, m in run.points],
            note=_form().get("note"))
        body = {"id": check.id, "passed": check.passed}
    sessions.finish_daily(instrument_id)
    return jsonify(body), 201


@bp.route("/instruments/<int:instrument_id>/daily-check/cancel", methods=["POST"])
@require_roles(*ROLES)
def daily_cancel(instrument_id: int) -> Any:
    smoke_sessions().discard_daily(instrument_id)
    return jsonify({"ok": True})


@bp.route("/instruments/<int:instrument_id>/daily-check/simulate", methods=["POST"])
@require_roles(*ROLES)
def daily_simulate(instrument_id: int) -> Any:
    """Demo station only: put a filter into the simulated meter's beam, or take it out."""
    sessions = smoke_sessions()
    _, simulator = sessions.meter(_opacity_meter(instrument_id))
    if simulator is None:
        raise Conflict("not_simulated", "只有模拟仪器可以模拟插入滤光片",
                       "Only a simulated meter takes simulated filters")
    f = _form()
    if f.get("filter") in (None, ""):
        simulator.remove_filter()
        return jsonify({"filter": None})
    try:
        value = float(f["filter"])
    except ValueError:
        raise ValidationError("filter_nominal_invalid", "滤光片值无效", "Invalid filter value") from None
    simulator.insert_filter(value)
    return jsonify({"filter": value})


@bp.route("/instruments/<int:instrument_id>/daily-check/manual", methods=["POST"])
@require_roles(*ROLES)
def daily_manual(instrument_id: int) -> Any:
    f = _form()
    passed = str(f.get("passed", "")).lower()
    if passed not in ("1", "0", "true", "false"):
        raise ValidationError("passed_required", "请选择检查结果", "Choose the check's outcome")
    with get_db().write() as s:
        check = daily_checks.record_manual_check(
            s, get_clock(), _actor(), instruments.get(s, instrument_id),
            passed=passed in ("1", "true"), note=f.get("note"),
            corrects_id=_int(f.get("corrects_id"), required=False))
        return jsonify({"id": check.id, "passed": check.passed}), 201


# -- device status ----------------------------------------------------------------------------

@bp.route("/devices")
@require_roles(*ROLES)
def devices() -> str:
    manager = current_app.extensions.get("station.devices")
    statuses = [st.as_dict() for st in manager.statuses()] if manager else []
    clock = get_clock()
    with get_db().read() as s:
        rows = instruments.overview(s, clock)
    by_device = {r["hardware_device_id"]: r for r in rows if r["hardware_device_id"]}
    return render_template("technician/devices.html", statuses=statuses, by_device=by_device,
                           running=manager is not None, labels=STATE_LABELS)

