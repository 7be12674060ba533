"""The manager's what-if screen (仿真推演): a form for a station day — vehicles, booked
share, seeds, runners, staffed windows, lane closures, policy — that can start from a day
profile file or from the station's own bookings; the run in the background with its
progress; the finished runs' reports.

The run itself and its records live in ``station/simulation/runs.py``; this module reads the
form, checks it and renders.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, time
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user

from station.auth import require_roles
from station.context import get_clock, get_db
from station.errors import DomainError, ValidationError
from station.i18n import current_language
from station.models import Role
from station.simulation import compare, runs
from station.simulation.model import MAX_RUNNERS
from station.simulation.profile import Closure, CounterHours, DayProfile

bp = Blueprint("simulation", __name__, url_prefix="/manager/simulation",
               template_folder="templates")

EXTENSION = "station.simulations"
#: closure rows the form shows at least (one more than a loaded profile has)
CLOSURE_ROWS = 3
#: a day profile file is a few kilobytes
MAX_PROFILE_BYTES = 256 * 1024
POLICY_CHOICES = ("both", *compare.POLICIES)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    config = app.extensions["station.config"]
    app.extensions[EXTENSION] = runs.SimulationRuns(config.instance_path / "simulations",
                                                    app.extensions["station.clock"])


def _runs() -> runs.SimulationRuns:
    return current_app.extensions[EXTENSION]


# -- form ⇄ profile ----------------------------------------------------------------------------

def _hm(t: time) -> str:
    return t.strftime("%H:%M")


def form_from_profile(profile: DayProfile, station: runs.SimulatedStation, *, seeds: str = "3",
                      policy: str = "both") -> dict[str, str]:
    """The form's fields (strings, as a browser sends them) showing ``profile``."""
    values = {"vehicles": str(profile.vehicles),
              "booked_pct": f"{round(profile.booked_share * 100, 2):g}",
              "seeds": seeds, "runners": str(profile.runners), "policy": policy,
              "base_profile": json.dumps(profile.as_dict(), ensure_ascii=False)}
    opens, closes = station.hours_on(profile.day) or (time(8, 30), time(17, 30))
    staffed = None if profile.counters is None else {c.number: c for c in profile.counters}
    for n in station.counters:
        shift = None if staffed is None else staffed.get(n)
        values[f"counter_{n}"] = "1" if staffed is None or shift is not None else ""
        values[f"counter_{n}_from"] = _hm(shift.start) if shift else _hm(opens)
        values[f"counter_{n}_to"] = _hm(shift.end) if shift else _hm(closes)
    for i, c in enumerate(profile.closures):
        values[f"closure_{i}_where"] = str(c.lane) if c.station_position is None \
            else f"{c.lane}:{c.station_position}"
        values[f"closure_{i}_from"], values[f"closure_{i}_to"] = _hm(c.start), _hm(c.end)
        values[f"closure_{i}_reason"] = c.reason
    return values


class _Errors:
    def __init__(self) -> None:
        self.zh: list[str] = []
        self.en: list[str] = []

    def add(self, zh: str, en: str) -> None:
        self.zh.append(zh)
        self.en.append(en)

    def raise_any(self) -> None:
        if self.zh:
            raise ValidationError("simulation_input", "；".join(self.zh), "; ".join(self.en))


def _number(values: dict[str, str], key: str, low: float, high: float, errors: _Errors,
            zh: str, en: str, *, whole: bool = True) -> Any:
    raw = values.get(key, "").strip()
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or not low <= value <= high:  # value != value: NaN
        errors.add(zh, en)
        return None
    return value


def _time(raw: str | None) -> time | None:
    try:
        return time.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _span(values: dict[str, str], prefix: str, errors: _Errors, what_zh: str,
          what_en: str) -> tuple[time, time] | None:
    """The ``<prefix>_from`` – ``<prefix>_to`` times of a form row, or None with an error."""
    start, end = _time(values.get(f"{prefix}_from")), _time(values.get(f"{prefix}_to"))
    if start is None or end is None:
        errors.add(f"{what_zh}：请填写开始和结束时间（时:分）",
                   f"{what_en}: enter the start and the end (HH:MM)")
        return None
    return start, end


def _base_profile(values: dict[str, str]) -> DayProfile:
    raw = values.get("base_profile", "").strip()
    if not raw:
        return DayProfile()
    return _parse_profile(raw)


def _parse_profile(raw: str | bytes) -> DayProfile:
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("a day profile is a JSON object")
        return DayProfile.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
        detail = str(exc) or type(exc).__name__
        raise ValidationError("simulation_profile", f"日客流画像无效：{detail}",
                              f"The day profile is not valid: {detail}") from exc


def request_from_form(values: dict[str, str], station: runs.SimulatedStation) -> runs.RunRequest:
    """The run the form asks for, or a ValidationError naming every field that is wrong."""
    errors = _Errors()
    base = _base_profile(values)
    vehicles = _number(values, "vehicles", 1, runs.MAX_VEHICLES, errors,
                       f"车辆数应为 1 到 {runs.MAX_VEHICLES} 之间的整数",
                       f"Vehicles: a whole number from 1 to {runs.MAX_VEHICLES}")
    booked_pct = _number(values, "booked_pct", 0, 100, errors, "预约占比应为 0 到 100 之间的数（%）",
                         "Booked share: a number from 0 to 100 (%)", whole=False)
    seeds = _number(values, "seeds", 1, runs.MAX_SEEDS, errors,
                    f"随机种子数应为 1 到 {runs.MAX_SEEDS} 之间的整数",
                    f"Seeds: a whole number from 1 to {runs.MAX_SEEDS}")
    runners = _number(values, "runners", 1, MAX_RUNNERS, errors,
                      f"引车员人数应为 1 到 {MAX_RUNNERS} 之间的整数",
                      f"Runners: a whole number from 1 to {MAX_RUNNERS}")
    policy = values.get("policy", "")
    if policy not in POLICY_CHOICES:
        errors.add("请选择排队规则", "Choose a queue policy")
    hours = station.hours_on(base.day)
    shifts: list[CounterHours] = []
    for n in station.counters:
        if values.get(f"counter_{n}") != "1":
            continue
        span = _span(values, f"counter_{n}", errors, f"{n} 号窗口", f"Window {n}")
        if span is not None:
            shifts.append(CounterHours(n, *span))
    all_day = hours is not None and len(shifts) == len(station.counters) and all(
        (c.start, c.end) == hours for c in shifts)
    closures: list[Closure] = []
    for i in range(_closure_rows(values, shown=False)):
        where = values.get(f"closure_{i}_where", "").strip()
        if not where:
            continue
        row = i + 1
        try:
            lane, _sep, position = where.partition(":")
            lane_number, station_position = int(lane), int(position) if position else None
        except ValueError:
            errors.add(f"停用第 {row} 行：检测线或工位无效", f"Closure row {row}: unknown lane or station")
            continue
        span = _span(values, f"closure_{i}", errors, f"停用第 {row} 行", f"Closure row {row}")
        if span is None:
            continue
        start, end = span
        reason = values.get(f"closure_{i}_reason", "").strip()[:100] or "维护"
        closures.append(Closure(lane_number, start, end, station_position, reason))
    errors.raise_any()
    try:
        profile = dataclasses.replace(
            base, vehicles=vehicles, booked_share=booked_pct / 100, runners=runners,
            counters=None if all_day else tuple(shifts), closures=tuple(closures))
    except ValueError as exc:  # the profile's own rules (a loaded profile may break them)
        raise ValidationError("simulation_profile", f"日客流画像无效：{exc}",
                              f"The day profile is not valid: {exc}") from exc
    run = runs.RunRequest(profile, seeds=seeds,
                          policies=compare.POLICIES if policy == "both" else (policy,))
    runs.check(run, station)
    return run


def _closure_rows(values: dict[str, str], *, shown: bool = True) -> int:
    """Closure rows: those submitted (all of them, so that too many is refused), or those the
    form shows (one spare, at most ``MAX_CLOSURES``)."""
    used = [int(k.split("_")[1]) for k in values
            if k.startswith("closure_") and k.endswith("_where") and k.split("_")[1].isdigit()]
    if not shown:
        return min(max(used, default=-1) + 1, 10 * runs.MAX_CLOSURES)
    return min(runs.MAX_CLOSURES, max(CLOSURE_ROWS, max(used, default=-1) + 2))


# -- rendering ---------------------------------------------------------------------------------

def _page(values: dict[str, str], station: runs.SimulatedStation, *,
          error: DomainError | None = None, note: str | None = None, status: int = 200) -> Any:
    try:
        day = _base_profile(values).day
    except ValidationError:
        day = DayProfile().day
    policy_labels = {"priority": _("预约优先"), "fifo": _("先到先办")}
    return render_template(
        "manager/simulation.html", values=values, station=station, day=day,
        hours=station.hours_on(day), closure_rows=range(_closure_rows(values)),
        error=None if error is None else {"message": error.message(current_language()),
                                          "message_en": error.message_en},
        note=note,
        run=_runs().status(), records=_runs().reports(), policy_labels=policy_labels,
        limits={"vehicles": runs.MAX_VEHICLES, "seeds": runs.MAX_SEEDS, "runners": MAX_RUNNERS},
        recent_days=runs.RECENT_DAYS, today=get_clock().today()), status


def _submitted() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.route("")
@require_roles(Role.MANAGER)
def page() -> Any:
    station = runs.simulated_station()
    return _page(form_from_profile(DayProfile(), station), station)


@bp.route("/start", methods=["POST"])
@require_roles(Role.MANAGER)
def start() -> Any:
    station = runs.simulated_station()
    values = _submitted()
    try:
        run = request_from_form(values, station)
        _runs().start(run, current_user.display_name)
    except DomainError as err:
        return _page(values, station, error=err, status=err.status)
    flash(_("仿真推演已开始"), "info")
    return redirect(url_for("simulation.page"))


@bp.route("/profile", methods=["POST"])
@require_roles(Role.MANAGER)
def load_profile() -> Any:
    """Load a day profile file (as ``station simulate --profile`` takes) into the form."""
    station = runs.simulated_station()
    values = _submitted()
    upload = request.files.get("profile_file")
    try:
        if upload is None or not upload.filename:
            raise ValidationError("simulation_profile_missing", "请选择日客流画像文件（JSON）",
                                  "Choose a day profile file (JSON)")
        raw = upload.read(MAX_PROFILE_BYTES + 1)
        if len(raw) > MAX_PROFILE_BYTES:
            raise ValidationError("simulation_profile_size", "画像文件过大",
                                  "The day profile file is too large")
        profile = _parse_profile(raw)
        runs.check(runs.RunRequest(profile), station)
    except DomainError as err:
        return _page(values, station, error=err, status=err.status)
    loaded = form_from_profile(profile, station, seeds=values.get("seeds", "3"),
                               policy=values.get("policy", "both"))
    return _page(loaded, station, note=_("已载入日客流画像 %(name)s", name=upload.filename))


@bp.route("/bookings", methods=["POST"])
@require_roles(Role.MANAGER)
def from_bookings() -> Any:
    """Vehicles and booked share from the station's bookings on a day (rule:
    ``runs.BookingBasis``)."""
    station = runs.simulated_station()
    values = _submitted()
    try:
        try:
            day = date.fromisoformat(values.get("bookings_day", "").strip())
            if abs(day.year - get_clock().today().year) > 10:
                raise ValueError("too far from today")
        except ValueError:
            raise ValidationError("simulation_day", "请选择取数日期",
                                  "Choose the day to take the numbers from") from None
        with get_db().read() as s:
            basis = runs.basis_from_bookings(s, get_clock(), day)
    except DomainError as err:
        return _page(values, station, error=err, status=err.status)
    values.update(vehicles=str(basis.vehicles),
                  booked_pct=f"{round(basis.booked_share * 100, 1):g}")
    note = _("%(day)s 预约 %(booked)s 辆；现场车辆取前 %(recent)s 天中有到站记录的 %(days)s 天的日均 %(walk_ins)s 辆",
             day=day.isoformat(), booked=basis.booked, recent=runs.RECENT_DAYS,
             days=basis.history_days, walk_ins=f"{basis.walk_ins_per_day:.1f}")
    return _page(values, station, note=note)


@bp.route("/status")
@require_roles(Role.MANAGER)
def status() -> Any:
    return jsonify(_runs().status().as_dict())


@bp.route("/reports/<name>")
@require_roles(Role.MANAGER)
def report_file(name: str) -> Any:
    path = _runs().report_path(name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/html", max_age=0)


@bp.route("/reports/<name>/profile.json")
@require_roles(Role.MANAGER)
def report_profile(name: str) -> Any:
    """The day profile a run used, to load again or to run with ``station simulate``."""
    record = _runs().record(name)
    if record is None:
        abort(404)
    body = json.dumps(record.profile, ensure_ascii=False, indent=1)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name.removesuffix(".html")}-profile.json"'})
