"""Shared set-up for the instrument and emission tests: the demo station with its instruments,
and its smoke meter served by the byte-level simulator over a pty to the real driver."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa

from drivers.smoke_meter import Nht6Meter, SmokeMeterConfig
from simulators.smoke_meter import PtyServer, ScaledClock, SmokeMeterSimulator
from station.devices import DeviceManager, DeviceState
from station.devices.adapters import SmokeMeterHandle
from station.domain.journey import VisitState
from station.domain.vehicle_codes import Fuel
from station.models import DeviceKind, HardwareDevice, Lane, LaneStation, StationKind, VisitCategory
from station.models.instrument import Instrument, InstrumentKind
from station.services import instruments, vehicles, visits
from station.services.actors import Actor

SYS = Actor.system("test")
_plates = itertools.count(30000)


def diesel_station(s: Any, lane_number: int = 2) -> LaneStation:
    return s.scalar(sa.select(LaneStation).join(Lane).where(
        Lane.number == lane_number, LaneStation.kind == StationKind.EMISSION_DIESEL))


def opacity_meter(s: Any, lane_number: int = 2) -> Instrument:
    return instruments.at_station(s, diesel_station(s, lane_number).id,
                                  InstrumentKind.OPACITY_METER)[0]


def diesel_visit_on_lane(s: Any, clock: Any, *, fuel: Fuel = Fuel.DIESEL) -> int:
    v = vehicles.register(s, clock, plate_type="02", plate=f"浙A{next(_plates)}",
                          vehicle_type="K33", fuel=fuel, use_nature="A",
                          first_registered_on=date(2019, 5, 1), seats=5)
    visit = visits.open_visit(s, clock, SYS, v, category=VisitCategory.WALK_IN)
    for to in (VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE,
               VisitState.ON_LANE):
        visits.transition(s, clock, SYS, visit, to)
    return visit.id


@contextmanager
def meter_on_pty(app: Any, db: Any, clock: Any, sim: SmokeMeterSimulator) -> Iterator[DeviceManager]:
    """The demo's smoke meter device driven by the real NHT-6 driver over a pty to ``sim``,
    through a device manager installed in ``app`` as the runtime would."""
    with PtyServer(sim) as pty:
        def factory(config: Any) -> SmokeMeterHandle:
            meter = Nht6Meter(SmokeMeterConfig(url=pty.path, name=config.name,
                                               reply_timeout_s=0.5))
            return SmokeMeterHandle(meter, simulator=sim)

        manager = DeviceManager(db, clock, {DeviceKind.SMOKE_METER: factory})
        manager.load()
        with db.read() as s:
            device_id = s.scalar(sa.select(HardwareDevice.id).where(
                HardwareDevice.kind == DeviceKind.SMOKE_METER))
        assert manager.status(device_id).state is DeviceState.READY, manager.status(device_id)
        app.extensions["station.devices"] = manager
        try:
            yield manager
        finally:
            sessions = app.extensions.pop("station.smoke_sessions", None)
            if sessions is not None:
                sessions.stop()
            app.extensions.pop("station.devices", None)
            manager.stop()


def simulator(*, profile: str = "clean", time_scale: float = 1.0, **kwargs: Any) -> SmokeMeterSimulator:
    return SmokeMeterSimulator(profile=profile, warmup_s=0, clock=ScaledClock(time_scale), seed=7,
                               **kwargs)
