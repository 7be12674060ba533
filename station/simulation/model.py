"""The station-day model: SimPy processes that drive the station's real services.

Nothing of the station is re-implemented here. Every step is the service the screens call —
booking, kiosk check-in and ticket, key handover at the desk, calling at the counter (the
queue policy in force), registration and payment, lane assignment, the runner queue and its
claims, the stations of the lane with their items, the free-acceleration test through the
real meter driver against the meter simulator, pick-up with papers or a retest booking, and
the key back to its owner — each in its own transaction, at the simulated time, through a
``ManualClock`` that follows SimPy's clock. The model only decides *when* people act and how
long things take (from the day profile); the station decides *what happens*.

SimPy time is minutes after the station opens on the profile's day.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import simpy
import sqlalchemy as sa

from station import migrate
from station.clock import ManualClock
from station.db import Database
from station.domain.journey import VisitState
from station.errors import DomainError
from station.integrations.police_platform import VehicleRecord
from station.models import (
    Channel,
    Counter,
    Lane,
    LaneStation,
    OpenState,
    Role,
    StationKind,
    Ticket,
    User,
    Visit,
    VisitResult,
)
from station.models.window import PaymentMethod
from station.services import (
    appointments,
    assignment,
    calendar,
    calling,
    demo,
    keys,
    lanes,
    payments,
    pickup,
    registration,
    settings,
    tickets,
    tracking,
    visits,
)
from station.services.actors import Actor

from .profile import DayProfile
from .vehicles import SimVehicle, draw

#: simulated users made once in the template (the demo has one runner)
MAX_RUNNERS = 12
SIM_PASSWORD = "simulation-only-1"
#: how long after closing the model lets the last cars finish
OVERTIME_MIN = 240
#: how often an idle counter or runner looks again when nothing told it to
IDLE_POLL_MIN = 10.0
#: key cabinet slots of the simulated station (tags are reused once a key is back with its owner)
CABINET_SLOTS = 400
#: the demo station's time zone
ZONE = "Asia/Shanghai"


class SimulationError(RuntimeError):
    """A step of the simulated day was refused by the station (the message says which)."""


def build_template(path: Path, day: date) -> Path:
    """A migrated demo station, its instruments checked on ``day``, with the users the model
    acts as. Built once per day and copied for every run."""
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    db = Database(url)
    clock = ManualClock(datetime.combine(day, time(7, 0), ZoneInfo(ZONE)))
    try:
        with db.write() as s:
            demo.seed(s, clock)  # with its instruments checked on ``day``: the lanes are open
            actor = Actor.system("simulation")
            from station.services import users

            for n in range(1, MAX_RUNNERS + 1):
                users.create_user(s, clock, actor, username=f"sim_runner{n}", password=SIM_PASSWORD,
                                  display_name=f"引车员{n}", roles=[Role.RUNNER])
            for counter in s.scalars(sa.select(Counter)):
                users.create_user(s, clock, actor, username=f"sim_counter{counter.number}",
                                  password=SIM_PASSWORD, display_name=f"{counter.number}号窗口",
                                  roles=[Role.COUNTER])
            keys.seed_slots(s, [f"S{n:03d}" for n in range(1, CABINET_SLOTS + 1)])
            users.create_user(s, clock, actor, username="sim_desk", password=SIM_PASSWORD,
                              display_name="交车台", roles=[Role.COUNTER])
            users.create_user(s, clock, actor, username="sim_inspector", password=SIM_PASSWORD,
                              display_name="检验员", roles=[Role.INSPECTOR])
    finally:
        db.dispose()
    return path


@dataclass
class Busy:
    """Busy minutes of one resource (a counter, a runner, a station)."""

    minutes: float = 0.0
    open_minutes: float = 0.0

    @property
    def utilisation(self) -> float:
        return self.minutes / self.open_minutes if self.open_minutes else 0.0


@dataclass
class DayRun:
    """What one simulated day produced: the database it wrote and the model's bookkeeping."""

    profile: DayProfile
    seed: int
    policy: str
    database_url: str
    opens: datetime
    closes: datetime
    vehicles: list[SimVehicle]
    busy: dict[str, Busy] = field(default_factory=dict)
    #: queue lengths over the day: (minute, waiting for a counter, waiting for a lane)
    queue_samples: list[tuple[float, int, int]] = field(default_factory=list)
    #: station kind → mean service minutes per lane (for the capacity bound)
    lane_station_minutes: dict[int, dict[str, float]] = field(default_factory=dict)
    #: what a manager reads for each of ``busy``'s keys (「1号线 2.外观检验」, 「3号窗口」…)
    labels: dict[str, str] = field(default_factory=dict)


class StationDay:
    def __init__(self, profile: DayProfile, *, seed: int, policy: str, template: Path,
                 workdir: Path, progress: Callable[[float], None] | None = None) -> None:
        if policy not in ("priority", "fifo"):
            raise ValueError("policy is priority or fifo")
        self.profile, self.seed, self.policy = profile, seed, policy
        self.workdir = workdir
        path = workdir / f"day-{seed}-{policy}.db"
        shutil.copyfile(template, path)
        self.url = f"sqlite:///{path}"
        self.db = Database(self.url)
        self.clock = ManualClock(datetime.combine(profile.day, time(7, 0), ZoneInfo(ZONE)))
        self.env = simpy.Environment()
        self.progress = progress
        self._users: dict[str, Actor] = {}
        # a token for each thing an idle counter or runner may now take
        self.counter_wake: simpy.Store = simpy.Store(self.env)
        self.runner_wake: simpy.Store = simpy.Store(self.env)
        self.run_record: DayRun | None = None

    # -- helpers --------------------------------------------------------------------------------

    def _now(self) -> None:
        self.clock.set(self.opens + timedelta(minutes=self.env.now))

    def _wake(self, store: simpy.Store) -> None:
        store.put(True)

    def _idle(self, store: simpy.Store) -> Iterator[Any]:
        """Wait for a token, or look again after a while (a skipped ticket's hold ends …)."""
        get = store.get()
        done = yield get | self.env.timeout(IDLE_POLL_MIN)
        if get not in done:
            get.cancel()

    def _actor(self, username: str) -> Actor:
        if username not in self._users:
            with self.db.read() as s:
                user = s.scalar(sa.select(User).where(User.username == username))
                if user is None:
                    raise RuntimeError(f"simulation user {username} missing from the template")
                self._users[username] = Actor.user(user)
        return self._users[username]

    def _write(self, work: Callable[[Any], Any]) -> Any:
        self._now()
        try:
            with self.db.write() as s:
                return work(s)
        except DomainError as exc:  # SimPy re-raises by rebuilding: keep the station's words
            raise SimulationError(f"{exc.code}: {exc.message_zh} ({self.clock.local(self.clock.now()):%H:%M})"
                                  ) from exc

    # -- setting up the day ---------------------------------------------------------------------

    def _prepare(self) -> list[SimVehicle]:
        system = Actor.system("simulation")
        with self.db.write() as s:
            hours = calendar.hours_on(s, self.profile.day)
            if hours is None:
                raise ValueError(f"the station is closed on {self.profile.day}")
            settings.put(s, self.clock, system, "queue.policy", self.policy)
            for key in ("booking.capacity.small", "booking.capacity.large"):
                settings.put(s, self.clock, system, key, 200)
            settings.put(s, self.clock, system, "booking.max_per_phone_per_day", 50)
            slot_minutes = int(settings.get(s, "booking.slot_minutes"))
            fail_kinds = self._fail_kinds(s)
            self.counter_ids = {c.number: c.id for c in s.scalars(
                sa.select(Counter).where(Counter.state == OpenState.OPEN))}
            self.lane_ids = [lane.id for lane in lanes.all_lanes(s)]
        tz = self.clock.tz
        self.opens = datetime.combine(self.profile.day, hours.opens_at, tz)
        self.closes = datetime.combine(self.profile.day, hours.closes_at, tz)
        self.lunch = (None if hours.lunch_from is None or hours.lunch_until is None
                      else (hours.lunch_from, hours.lunch_until))
        vehicles = draw(self.profile, self.seed, opens=hours.opens_at, closes=hours.closes_at,
                        lunch=self.lunch, slot_minutes=slot_minutes, fail_kinds=fail_kinds)
        self._book(vehicles)
        return vehicles

    def _fail_kinds(self, session: Any) -> dict[str, list[StationKind]]:
        kinds = set(session.scalars(sa.select(LaneStation.kind).distinct()))
        common = [k for k in (StationKind.EXTERIOR, StationKind.INSTRUMENT) if k in kinds]
        return {"gasoline": [*common, StationKind.EMISSION_GASOLINE],
                "diesel": [*common, StationKind.EMISSION_DIESEL], "electric": common}

    def _book(self, vehicles: list[SimVehicle]) -> None:
        """Bookings are made the day before (the channel does not matter to the queue)."""
        self.clock.set(datetime.combine(self.profile.day - timedelta(days=1), time(12, 0),
                                        self.clock.tz))
        owner = Actor.owner()
        with self.db.write() as s:
            for v in vehicles:
                if not v.booked:
                    continue
                booking = appointments.book(s, self.clock, owner, appointments.BookingRequest(
                    plate_type=v.spec.plate_type, plate=v.spec.plate, contact_name="车主",
                    phone=v.spec.phone, day=self.profile.day, starts_at=v.slot,
                    channel=Channel.WEB, vin_tail=v.spec.vin[-6:]))
                v.booking_code = booking.code

    # -- the processes --------------------------------------------------------------------------

    def _arrivals(self, vehicles: list[SimVehicle]) -> Iterator[Any]:
        for v in sorted((v for v in vehicles if v.arrives_min is not None),
                        key=lambda v: v.arrives_min):
            yield self.env.timeout(max(0.0, v.arrives_min - self.env.now))
            self.env.process(self._vehicle(v))

    def _vehicle(self, v: SimVehicle) -> Iterator[Any]:
        kiosk = Actor.system("kiosk")

        def check_in(s: Any) -> None:
            if v.booked:
                done = appointments.check_in(s, self.clock, kiosk, code=v.booking_code,
                                             special_needs=v.special_needs)
            else:
                done = appointments.walk_in(s, self.clock, kiosk, plate_type=v.spec.plate_type,
                                            plate=v.spec.plate, phone=v.spec.phone,
                                            special_needs=v.special_needs)
            ticket = tickets.issue(s, self.clock, kiosk, done.visit, done.queue_category)
            v.visit_id, v.ticket, v.token = done.visit.id, ticket.label, ticket.progress_token

        self._write(check_in)
        assert v.visit_id is not None
        self.by_visit[v.visit_id] = v
        self._wake(self.counter_wake)
        # the owner parks in the handover area and leaves the key at the desk
        with self.desk.request() as turn:
            yield turn
            yield self.env.timeout(v.desk_min)
            self._busy("desk", v.desk_min)
            desk = self._actor("sim_desk")
            tag = self.free_tags.pop(0)
            self._write(lambda s: keys.hand_over(s, self.clock, desk, visits.get(s, v.visit_id),
                                                 tag=tag))
        self._wake(self.runner_wake)  # a paid car without its key waited for this
        yield self.tested[v.n]
        # the owner waits in the lounge, then comes to the pick-up window once the car is parked
        yield self.env.timeout(v.owner_delay_min)
        yield self.parked[v.n]
        with self.pickup_window.request() as turn:
            yield turn
            yield self.env.timeout(v.pickup_min)
            self._busy("pickup", v.pickup_min)
            self._write(lambda s: self._hand_back(s, v))
        self.free_tags.append(tag)
        self.done.add(v.n)

    def _hand_back(self, s: Any, v: SimVehicle) -> None:
        clerk = self._actor("sim_desk")
        visit = visits.get(s, v.visit_id)
        if visit.result is VisitResult.PASS:
            pickup.print_papers(s, self.clock, clerk, visit.id, None)
        key = keys.key_of_visit(s, visit.id)
        keys.return_to_owner(s, self.clock, clerk, key.id, token=v.token,
                             phone_tail=v.spec.phone[-4:])
        if visit.result is VisitResult.FAIL:
            pickup.book_retest(s, self.clock, clerk, visit.id, None)
        visit = visits.get(s, v.visit_id)
        if visit.state in (VisitState.KEYS_RETURNED, VisitState.PAPERS_PRINTED):
            visits.transition(s, self.clock, clerk, visit, VisitState.CLOSED, reason="车主已取车")

    def _counter(self, number: int, counter_id: int, start: float, end: float) -> Iterator[Any]:
        name = f"counter{number}"
        actor = self._actor(f"sim_counter{number}")
        yield self.env.timeout(max(0.0, start - self.env.now))
        self.busy_of(name).open_minutes = end - start
        while self.env.now < end or (self.env.now < end + OVERTIME_MIN and self._waiting_any()):
            called = self._write(lambda s: self._call(s, actor, counter_id))
            if called is None:
                yield from self._idle(self.counter_wake)
                continue
            v = self.by_visit[called]
            yield self.env.timeout(v.counter_min)
            self._busy(name, v.counter_min)
            self._write(lambda s, v=v: self._register_and_pay(s, actor, counter_id, v))
            self._wake(self.runner_wake)

    def _call(self, s: Any, actor: Actor, counter_id: int) -> int | None:
        counter = calling.get_counter(s, counter_id)
        ticket = calling.call_next(s, self.clock, actor, counter)
        return None if ticket is None else ticket.visit_id

    def _waiting_any(self) -> bool:
        with self.db.read() as s:
            return bool(s.scalar(sa.select(sa.func.count()).select_from(Ticket)
                                 .join(Visit, Visit.id == Ticket.visit_id)
                                 .where(Visit.state.in_((VisitState.CHECKED_IN,
                                                         VisitState.KEYS_HANDED_OVER)))))

    def _register_and_pay(self, s: Any, actor: Actor, counter_id: int, v: SimVehicle) -> None:
        spec = v.spec
        fields = registration.LicenceFields(
            plate_type=spec.plate_type, plate=spec.plate, vin=spec.vin,
            vehicle_type=spec.vehicle_type, use_nature=spec.use_nature, fuel=spec.fuel,
            seats=5, make_model="模拟车型", first_registered_on=spec.first_registered_on)
        record = VehicleRecord(plate_type=spec.plate_type, plate=spec.plate, status_codes="A",
                               inspection_valid_until=self.profile.day + timedelta(days=20),
                               insurance_until=self.profile.day + timedelta(days=200),
                               vin=spec.vin, vehicle_type=spec.vehicle_type,
                               use_nature=spec.use_nature, fuel=spec.fuel)
        registration.register(s, self.clock, actor, v.visit_id, fields, record,
                              counter_id=counter_id)
        counter = calling.get_counter(s, counter_id)
        payments.pay(s, self.clock, actor, v.visit_id, PaymentMethod.CASH, None, counter=counter)

    def _runner(self, n: int) -> Iterator[Any]:
        name = f"runner{n}"
        actor = self._actor(f"sim_runner{n}")
        self.busy_of(name).open_minutes = (self.closes - self.opens).total_seconds() / 60
        while True:
            job = self._write(lambda s: self._next_job(s, actor))
            if job is None:
                if self._day_over():
                    return
                yield from self._idle(self.runner_wake)
                continue
            kind, v, lane_id = job
            if kind == "collect":
                yield self.env.timeout(v.drive_min)
                self._busy(name, v.drive_min)
                self._write(lambda s, v=v: self._park(s, actor, v))
                self.parked[v.n].succeed()
                continue
            # drive the car to its lane; wait at the lane entry until the first station is free
            yield self.env.timeout(v.drive_min)
            self._busy(name, v.drive_min)
            self.env.process(self._on_lane(v, lane_id, actor))

    def _next_job(self, s: Any, actor: Actor) -> tuple[str, SimVehicle, int | None] | None:
        # first bring tested cars off the lanes: their owners are waiting for them
        for item in keys.to_collect(s, self.clock):
            v = self.by_visit.get(item["visit_id"])
            if v is None or v.n in self.collecting or item["visit_state"] not in (
                    VisitState.TESTED.value, VisitState.PAPERS_PRINTED.value):
                continue
            self.collecting.add(v.n)
            keys.collect(s, self.clock, actor, item["key_id"])
            return "collect", v, None
        # then the runner queue's next car for a lane that can take one now
        for item in keys.runner_queue(s, self.clock):
            v = self.by_visit.get(item["visit_id"])
            lane_id = item["lane_id"]
            if v is None or v.n in self.driving or not item["lane_ready"] \
                    or self.lane_entry_busy(lane_id):
                continue
            keys.claim(s, self.clock, actor, item["key_id"])
            keys.deliver(s, self.clock, actor, item["key_id"], lane_id)
            self.driving.add(v.n)
            self.entering[lane_id] = self.entering.get(lane_id, 0) + 1
            return "drive", v, lane_id
        return None

    def lane_entry_busy(self, lane_id: int) -> bool:
        """A lane takes one more car when the car before it has started at the first station."""
        return self.entering.get(lane_id, 0) > 0

    def _park(self, s: Any, actor: Actor, v: SimVehicle) -> None:
        key = keys.key_of_visit(s, v.visit_id)
        keys.park(s, self.clock, actor, key.id, f"P{v.n % 60 + 1:02d}")

    def _on_lane(self, v: SimVehicle, lane_id: int, actor: Actor) -> Iterator[Any]:
        inspector = self._actor("sim_inspector")
        with self.db.read() as s:
            self._now()
            visit = visits.get(s, v.visit_id)
            lane = lanes.get_lane(s, lane_id)
            route = [(st.id, st.kind, st.position) for st in tracking.route(s, self.clock, visit, lane)]
        held = None
        for index, (station_id, kind, _position) in enumerate(route):
            request = self.stations[station_id].request()
            yield request
            if held is not None:
                held[0].release(held[1])
            if index == 0:
                self.entering[lane_id] -= 1
                self._wake(self.runner_wake)  # the lane takes its next car
            held = (self.stations[station_id], request)
            self._write(lambda s, sid=station_id: tracking.record_position(
                s, self.clock, inspector, visits.get(s, v.visit_id), kind="arrived",
                source="terminal", station=tracking.station_of(s, sid)))
            minutes = v.station_min[kind]
            yield self.env.timeout(minutes)
            self._busy(f"station{station_id}", minutes)
            self._write(lambda s, sid=station_id, k=kind: self._finish(s, inspector, v, sid, k))
        if held is not None:
            held[0].release(held[1])
        self.tested[v.n].succeed()
        self._wake(self.runner_wake)  # a car to take back

    def _finish(self, s: Any, inspector: Actor, v: SimVehicle, station_id: int,
                kind: StationKind) -> None:
        visit = visits.get(s, v.visit_id)
        station = tracking.station_of(s, station_id)
        if kind is StationKind.EMISSION_DIESEL:
            from .diesel import record_free_acceleration

            record_free_acceleration(s, self.clock, inspector, station_id, visit.id,
                                     failing=kind in v.fails, seed=self.seed * 100_000 + v.n)
            results: list[dict[str, Any]] = []
        else:
            results = []
            for item in tracking.station_items(s, self.clock, visit, station):
                if item["skipped"]:
                    continue
                failed = kind in v.fails and not any(r["outcome"] == "fail" for r in results)
                results.append({"code": item["code"], "outcome": "fail" if failed else "pass",
                                "reason": "模拟：项目不合格" if failed else None})
        tracking.finish_station(s, self.clock, inspector, station, visit, results)

    def _closures(self) -> Iterator[Any]:
        system = Actor.system("simulation")
        events = []
        for c in self.profile.closures:
            start = (datetime.combine(self.profile.day, c.start, self.clock.tz) - self.opens)
            end = (datetime.combine(self.profile.day, c.end, self.clock.tz) - self.opens)
            events.append((start.total_seconds() / 60, c, OpenState.CLOSED))
            events.append((end.total_seconds() / 60, c, OpenState.OPEN))
        for at, c, state in sorted(events, key=lambda e: e[0]):
            yield self.env.timeout(max(0.0, at - self.env.now))

            def apply(s: Any, c: Any = c, state: OpenState = state) -> None:
                lane = s.scalar(sa.select(Lane).where(Lane.number == c.lane))
                if lane is None:
                    raise ValueError(f"no lane {c.lane}")
                reason = None if state is OpenState.OPEN else c.reason
                if c.station_position is None:
                    lanes.set_lane_state(s, self.clock, system, lane, state, reason)
                else:
                    station = next(st for st in lane.stations if st.position == c.station_position)
                    lanes.set_station_state(s, self.clock, system, station, state, reason)
                assignment.reassign_waiting(s, self.clock, system)

            self._write(apply)
            self._wake(self.runner_wake)

    def _sampler(self) -> Iterator[Any]:
        while not self._day_over():
            with self.db.read() as s:
                counter = s.scalar(sa.select(sa.func.count()).select_from(Visit).where(
                    Visit.state.in_((VisitState.CHECKED_IN, VisitState.KEYS_HANDED_OVER)))) or 0
                lane = s.scalar(sa.select(sa.func.count()).select_from(Visit).where(
                    Visit.state == VisitState.QUEUED_FOR_LANE)) or 0
            assert self.run_record is not None
            self.run_record.queue_samples.append((self.env.now, counter, lane))
            if self.progress is not None:
                self.progress(min(1.0, len(self.done) / max(1, self.expected)))
            yield self.env.timeout(5)

    # -- bookkeeping ----------------------------------------------------------------------------

    def busy_of(self, name: str) -> Busy:
        assert self.run_record is not None
        return self.run_record.busy.setdefault(name, Busy())

    def _busy(self, name: str, minutes: float) -> None:
        self.busy_of(name).minutes += minutes

    def _day_over(self) -> bool:
        return len(self.done) >= self.expected or \
            self.env.now > (self.closes - self.opens).total_seconds() / 60 + OVERTIME_MIN

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> DayRun:
        vehicles = self._prepare()
        self.run_record = DayRun(self.profile, self.seed, self.policy, self.url, self.opens,
                                 self.closes, vehicles)
        self.by_visit: dict[int, SimVehicle] = {}
        self.expected = sum(1 for v in vehicles if v.arrives_min is not None)
        self.done: set[int] = set()
        self.tested = {v.n: simpy.Event(self.env) for v in vehicles}
        self.parked = {v.n: simpy.Event(self.env) for v in vehicles}
        self.collecting: set[int] = set()
        self.driving: set[int] = set()
        self.entering: dict[int, int] = {}
        self.free_tags = [f"S{n:03d}" for n in range(1, CABINET_SLOTS + 1)]
        self.desk = simpy.Resource(self.env, capacity=self.profile.desks)
        self.pickup_window = simpy.Resource(self.env, capacity=1)
        with self.db.read() as s:
            all_stations = list(s.scalars(sa.select(LaneStation)))
            self.stations = {st.id: simpy.Resource(self.env, capacity=self.profile.positions(st.kind))
                             for st in all_stations}
            self.run_record.labels.update(
                {f"station{st.id}": f"{st.lane.number}号线 {st.position}.{st.name}" for st in all_stations})
        self.run_record.labels.update(
            {f"counter{n}": f"{n}号窗口" for n in self.counter_ids}
            | {f"runner{n}": f"引车员{n}" for n in range(1, self.profile.runners + 1)}
            | {"desk": "交钥匙台", "pickup": "取件窗口"})
        day_minutes = (self.closes - self.opens).total_seconds() / 60
        # open all day: each test position, each desk clerk, the pick-up window
        for station_id, resource in self.stations.items():
            self.busy_of(f"station{station_id}").open_minutes = day_minutes * resource.capacity
        self.busy_of("desk").open_minutes = day_minutes * self.profile.desks
        self.busy_of("pickup").open_minutes = day_minutes
        schedule = self.profile.counters
        if schedule is None:
            hours = [(number, 0.0, day_minutes) for number in self.counter_ids]
        else:
            hours = []
            for c in schedule:
                if c.number not in self.counter_ids:
                    raise ValueError(f"no open counter {c.number}")
                start = (datetime.combine(self.profile.day, c.start, self.clock.tz) - self.opens)
                end = (datetime.combine(self.profile.day, c.end, self.clock.tz) - self.opens)
                hours.append((c.number, start.total_seconds() / 60, end.total_seconds() / 60))
        for number, start, end in hours:
            self.env.process(self._counter(number, self.counter_ids[number], start, end))
        for n in range(1, self.profile.runners + 1):
            self.env.process(self._runner(n))
        self.env.process(self._arrivals(vehicles))
        self.env.process(self._closures())
        self.env.process(self._sampler())
        self.env.run(until=day_minutes + OVERTIME_MIN + 1)
        with self.db.read() as s:
            for lane in lanes.all_lanes(s):
                # the time a station holds up the lane: one car's test over its positions
                self.run_record.lane_station_minutes[lane.number] = {
                    st.kind.value: self.profile.station_minutes[st.kind.value].mean
                    / self.profile.positions(st.kind) for st in lane.stations}
        self.db.dispose()
        return self.run_record


def temporary_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="station-sim-"))


__all__ = ["DayRun", "StationDay", "build_template", "temporary_workdir"]
