"""The manager's what-if runs (仿真推演): one simulation at a time in the background, the
reports it leaves under the instance folder, and the numbers a run can take from the
station's own bookings.

Nothing here knows about Flask. The web screen (``station/web/simulation.py``) keeps one
``SimulationRuns`` per app; a run is a thread of the web process that waits for
``compare.run_days`` running the days one after the other in a child process at a lower
priority, so the station's own requests keep the interpreter and a core.

Each finished run leaves two files in ``<instance>/simulations/``: ``<stamp>-<n>.html`` (the
report, one self-contained page) and ``<stamp>-<n>.json`` (who started it, when, the day
profile and the headline figures). The JSON is written last: a run is listed once its
report is complete.
"""

from __future__ import annotations

import enum
import fcntl
import functools
import json
import logging
import math
import os
import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import Database
from station.errors import Conflict, ValidationError
from station.models import Counter, Lane, OpeningHours, OpenState, Visit, VisitCategory
from station.services import figures

from . import compare, report
from .model import MAX_RUNNERS, build_template, temporary_workdir
from .profile import DayProfile

log = logging.getLogger(__name__)

#: seeds (simulated days per policy) a run may ask for
MAX_SEEDS = 10
#: vehicles in a what-if day: the demo station tests about 300 on a busy day; twice that is an
#: overload day, and a run of 10 seeds × 2 policies at 600 vehicles already takes half an hour
MAX_VEHICLES = 600
#: lane or station closures in one what-if
MAX_CLOSURES = 20
#: walk-ins of a day to come are estimated from this many days before it
RECENT_DAYS = 28
#: a report's file name: <local date>-<local time>-<run number>.html
REPORT_NAME = re.compile(r"^(\d{8}-\d{6})-(\d+)\.html$")


# -- the simulated station ---------------------------------------------------------------------

@dataclass(frozen=True)
class SimLane:
    number: int
    name: str
    #: (position, name) of each station in order
    stations: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class SimulatedStation:
    """What a what-if can staff or close: the windows, lanes and hours of the station the
    simulator runs on (a copy of the demo station, 示范站)."""

    counters: tuple[int, ...]
    lanes: tuple[SimLane, ...]
    #: weekday (0 = Monday) → (opens, closes), None when closed
    hours: dict[int, tuple[time, time] | None]

    def hours_on(self, day: date) -> tuple[time, time] | None:
        return self.hours.get(day.weekday())

    def lane(self, number: int) -> SimLane | None:
        return next((lane for lane in self.lanes if lane.number == number), None)


@functools.cache
def simulated_station() -> SimulatedStation:
    """Read from the very template a run starts from (built once per process, ~2 s)."""
    workdir = temporary_workdir()
    try:
        path = build_template(workdir / "layout.db", DayProfile().day)
        db = Database(f"sqlite:///{path}")
        try:
            with db.read() as s:
                counters = tuple(s.scalars(sa.select(Counter.number).where(
                    Counter.state == OpenState.OPEN).order_by(Counter.number)))
                lanes = tuple(SimLane(lane.number, lane.name,
                                      tuple((st.position, st.name) for st in lane.stations))
                              for lane in s.scalars(sa.select(Lane).order_by(Lane.number)))
                hours = {h.weekday: None if h.closed else (h.opens_at, h.closes_at)
                         for h in s.scalars(sa.select(OpeningHours))}
        finally:
            db.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return SimulatedStation(counters, lanes, hours)


# -- what a run is asked to do -----------------------------------------------------------------

@dataclass(frozen=True)
class RunRequest:
    """A what-if: the day profile, how many seeds, which policies."""

    profile: DayProfile
    seeds: int = 3
    policies: tuple[str, ...] = compare.POLICIES

    @property
    def days(self) -> int:
        return self.seeds * len(self.policies)


def _hm(t: time) -> str:
    return t.strftime("%H:%M")


def check(run: RunRequest, station: SimulatedStation) -> None:
    """Refuse, before anything starts, what the simulated station cannot do (every problem
    in one message)."""
    zh: list[str] = []
    en: list[str] = []

    def refuse(message_zh: str, message_en: str) -> None:
        zh.append(message_zh)
        en.append(message_en)

    profile = run.profile
    if not 1 <= run.seeds <= MAX_SEEDS:
        refuse(f"随机种子数应为 1 到 {MAX_SEEDS}", f"Seeds must be from 1 to {MAX_SEEDS}")
    if not run.policies or any(p not in compare.POLICIES for p in run.policies):
        refuse("排队规则无效", "Unknown queue policy")
    if not 1 <= profile.vehicles <= MAX_VEHICLES:
        refuse(f"车辆数应为 1 到 {MAX_VEHICLES} 辆", f"Vehicles must be from 1 to {MAX_VEHICLES}")
    if not 1 <= profile.runners <= MAX_RUNNERS:
        refuse(f"引车员应为 1 到 {MAX_RUNNERS} 人", f"Runners must be from 1 to {MAX_RUNNERS}")
    hours = station.hours_on(profile.day)
    if hours is None:
        refuse(f"示范站在 {profile.day} 不营业", f"The demo station is closed on {profile.day}")
        hours = (time(0), time(23, 59))
    opens, closes = hours
    span_zh, span_en = f"营业时间 {_hm(opens)}–{_hm(closes)}", f"opening hours {_hm(opens)}–{_hm(closes)}"
    if profile.counters is not None:
        if not profile.counters:
            refuse("至少安排一个窗口", "Staff at least one window")
        seen: set[int] = set()
        for c in profile.counters:
            if c.number not in station.counters:
                refuse(f"示范站没有 {c.number} 号窗口", f"The demo station has no window {c.number}")
                continue
            if c.number in seen:
                refuse(f"{c.number} 号窗口重复安排（每个窗口一个班次）",
                       f"Window {c.number} is staffed twice (one shift per window)")
            seen.add(c.number)
            if not c.start < c.end:
                refuse(f"{c.number} 号窗口：开始时间应早于结束时间",
                       f"Window {c.number}: the start must be before the end")
            elif c.start < opens or c.end > closes:
                refuse(f"{c.number} 号窗口：应在{span_zh}之内", f"Window {c.number}: within the {span_en}")
    if len(profile.closures) > MAX_CLOSURES:
        refuse(f"停用最多 {MAX_CLOSURES} 项", f"At most {MAX_CLOSURES} closures")
    for c in profile.closures:
        lane = station.lane(c.lane)
        if lane is None:
            refuse(f"示范站没有 {c.lane} 号线", f"The demo station has no lane {c.lane}")
            continue
        if c.station_position is not None and c.station_position not in dict(lane.stations):
            refuse(f"{c.lane} 号线没有第 {c.station_position} 个工位",
                   f"Lane {c.lane} has no station {c.station_position}")
        if not c.start < c.end:
            refuse(f"{c.lane} 号线停用：开始时间应早于结束时间",
                   f"Lane {c.lane} closure: the start must be before the end")
        elif c.start < opens or c.end > closes:
            refuse(f"{c.lane} 号线停用：应在{span_zh}之内", f"Lane {c.lane} closure: within the {span_en}")
    if zh:
        raise ValidationError("simulation_input", "；".join(zh), "; ".join(en))


# -- the numbers from the station's own bookings -----------------------------------------------

@dataclass(frozen=True)
class BookingBasis:
    """Vehicles and booked share of a day, from the station's own records:

    - booked: bookings made ahead for the day and not cancelled (a walk-in's on-site booking
      is not one; no-shows count, since the day profile's no-show share applies to them);
    - walk-ins: the mean number of walk-in visits a day over the days, among the
      ``RECENT_DAYS`` before the chosen day (and before today), on which the station
      recorded any arrival (a day it was open and working).
    """

    day: date
    booked: int
    walk_ins_per_day: float
    history_days: int
    vehicles: int = field(init=False)
    booked_share: float = field(init=False)

    def __post_init__(self) -> None:
        vehicles = self.booked + round(self.walk_ins_per_day)
        object.__setattr__(self, "vehicles", vehicles)
        object.__setattr__(self, "booked_share", self.booked / vehicles if vehicles else 0.0)


def basis_from_bookings(session: Session, clock: Clock, day: date) -> BookingBasis:
    booked = figures.day_figures(session, clock, day).due
    last = min(day, clock.today())  # whole days only: not the day itself, not today
    first = last - timedelta(days=RECENT_DAYS)
    start, end = clock.day_bounds(first)[0], clock.day_bounds(last)[0]
    arrivals: dict[date, int] = {}
    walk_ins: dict[date, int] = {}
    for arrived_at, category in session.execute(
            sa.select(Visit.arrived_at, Visit.category).where(
                Visit.arrived_at >= start, Visit.arrived_at < end)):
        local_day = clock.local(arrived_at).date()
        arrivals[local_day] = arrivals.get(local_day, 0) + 1
        if category is VisitCategory.WALK_IN:
            walk_ins[local_day] = walk_ins.get(local_day, 0) + 1
    per_day = sum(walk_ins.values()) / len(arrivals) if arrivals else 0.0
    basis = BookingBasis(day=day, booked=booked, walk_ins_per_day=per_day,
                         history_days=len(arrivals))
    if basis.vehicles == 0:
        raise ValidationError(
            "simulation_no_records",
            f"{day} 没有预约，前 {RECENT_DAYS} 天也没有现场车辆的记录，无法取数",
            f"No bookings on {day} and no walk-ins recorded in the {RECENT_DAYS} days before: "
            "nothing to take the numbers from")
    return basis


# -- the runs ----------------------------------------------------------------------------------

class RunState(enum.StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True)
class RunStatus:
    """The current (or last) run of this process."""

    state: RunState = RunState.IDLE
    started_at: datetime | None = None
    started_by: str = ""
    vehicles: int = 0
    seeds: int = 0
    policies: tuple[str, ...] = ()
    done: int = 0
    total: int = 0
    #: why the run failed, as the simulator said it
    error: str | None = None
    #: the finished run's report (a name in the listing)
    report: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state.value,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "started_by": self.started_by, "vehicles": self.vehicles, "seeds": self.seeds,
                "policies": list(self.policies), "done": self.done, "total": self.total,
                "error": self.error, "report": self.report}


@dataclass(frozen=True)
class RunRecord:
    """A finished run as listed: its report and headline figures."""

    name: str                 # the report's file name
    number: int
    started_at: datetime
    finished_at: datetime
    started_by: str
    vehicles: int
    booked_share: float
    seeds: int
    policies: tuple[str, ...]
    #: policy → {"booked_wait" | "walk_in_wait" | "throughput_share": (mean, 95 % CI half-width)}
    headline: dict[str, dict[str, tuple[float | None, float | None]]]
    profile: dict[str, Any]


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def headline(comparison: compare.Comparison) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """Per policy: mean waiting (to a counter and to a lane) of booked and walk-in vehicles,
    and throughput as a share of the capacity bound — each with its 95 % CI half-width."""
    out = {}
    for policy, f in comparison.figures.items():
        out[policy] = {name: (_finite(f[key][0]), _finite(f[key][1])) for name, key in (
            ("booked_wait", "booked.waiting.mean"), ("walk_in_wait", "walk_in.waiting.mean"),
            ("throughput_share", "throughput_share"))}
    return out


class SimulationRuns:
    """One run at a time, in a background thread; the finished runs' reports in ``folder``.

    "One at a time" holds per process (a lock) and across processes sharing the instance
    folder (an exclusive file lock held for the run).
    """

    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self._lock = threading.Lock()
        self._status = RunStatus()
        self._thread: threading.Thread | None = None

    # -- the current run ------------------------------------------------------------------------

    def status(self) -> RunStatus:
        with self._lock:
            return self._status

    def start(self, run: RunRequest, started_by: str) -> RunStatus:
        """Start ``run`` in the background; a run already going is refused (409)."""
        with self._lock:
            if self._status.state is RunState.RUNNING:
                raise _busy()
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / ".run.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise _busy() from None
            self._status = RunStatus(RunState.RUNNING, started_at=self.clock.now(),
                                     started_by=started_by, vehicles=run.profile.vehicles,
                                     seeds=run.seeds, policies=run.policies, total=run.days)
            self._thread = threading.Thread(target=self._work, args=(run, fd), daemon=True,
                                            name="simulation-run")
            try:
                self._thread.start()
            except BaseException:
                self._status = RunStatus()
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise
            return self._status

    def wait(self, timeout: float | None = None) -> RunStatus:
        """Until the current run ends (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self._status = replace(self._status, done=done, total=total)

    def _work(self, run: RunRequest, lock_fd: int) -> None:
        name = None
        error: str | None = "interrupted"
        try:
            # the days run in a child process at a lower priority: this thread only waits
            days = compare.run_days(run.profile, range(run.seeds), run.policies, workers=1,
                                    progress=self._progress, background=True)
            comparison = compare.compare(days)
            name = self._write(run, days, comparison)
            error = None
        except Exception as exc:  # shown on the manager's screen, and logged with its trace
            log.exception("simulation run failed")
            error = f"{type(exc).__name__}: {exc}"
        finally:
            # free the file lock first: once the state says "over", a new run may start
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            os.close(lock_fd)
            with self._lock:
                self._status = replace(self._status, report=name, error=error,
                                       state=RunState.FAILED if error else RunState.FINISHED)

    def _write(self, run: RunRequest, days: Sequence[Any], comparison: compare.Comparison) -> str:
        status = self.status()
        assert status.started_at is not None
        number = 1 + max((r.number for r in self.reports()), default=0)
        stamp = self.clock.local(status.started_at).strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{number}.html"
        report.write(self.folder / name, run.profile, days, comparison)
        record = {
            "name": name, "number": number, "started_at": status.started_at.isoformat(),
            "finished_at": self.clock.now().isoformat(), "started_by": status.started_by,
            "vehicles": run.profile.vehicles, "booked_share": run.profile.booked_share,
            "seeds": run.seeds, "policies": list(run.policies),
            "headline": headline(comparison), "profile": run.profile.as_dict()}
        partial = self.folder / f".{name}.json.tmp"
        partial.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        partial.replace(self.folder / name.replace(".html", ".json"))
        return name

    # -- the finished runs ----------------------------------------------------------------------

    def reports(self) -> list[RunRecord]:
        """Finished runs, newest first."""
        out = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else ():
            html = path.with_suffix(".html")
            if not REPORT_NAME.match(html.name) or not html.is_file():
                continue
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                out.append(RunRecord(
                    name=html.name, number=int(data["number"]),
                    started_at=datetime.fromisoformat(data["started_at"]),
                    finished_at=datetime.fromisoformat(data["finished_at"]),
                    started_by=str(data["started_by"]), vehicles=int(data["vehicles"]),
                    booked_share=float(data["booked_share"]), seeds=int(data["seeds"]),
                    policies=tuple(data["policies"]),
                    headline={p: {k: tuple(v) for k, v in h.items()}
                              for p, h in data["headline"].items()},
                    profile=data["profile"]))
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable simulation record %s", path)
        return sorted(out, key=lambda r: (r.started_at, r.number), reverse=True)

    def record(self, name: str) -> RunRecord | None:
        """The listed run with this report name; anything else (paths, other files) is None."""
        return next((r for r in self.reports() if r.name == name), None)

    def report_path(self, name: str) -> Path | None:
        return self.folder / name if self.record(name) is not None else None


def _busy() -> Conflict:
    return Conflict("simulation_running", "已有一次仿真推演在运行，请等它结束后再开始",
                    "A simulation is already running; wait for it to finish before starting another")
