"""The simulated vehicles of one day: drawn from a day profile and a seed, nothing else.

Each vehicle's attributes, arrival and service times come from its own random streams
(``profile.stream``), so the same seed gives the same day under every policy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from station.domain.vin import vin_check_digit
from station.models import StationKind

from .profile import DayProfile, stream

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class VehicleSpec:
    plate_type: str
    plate: str
    vin: str
    vehicle_type: str
    use_nature: str
    fuel: str
    first_registered_on: date
    phone: str


@dataclass
class SimVehicle:
    n: int
    spec: VehicleSpec
    booked: bool
    #: the booked slot's start (local), for bookings
    slot: time | None
    #: minutes after opening when the vehicle arrives; None: a no-show
    arrives_min: float | None
    late: bool
    special_needs: bool
    #: station kinds whose items fail (empty: the vehicle passes)
    fails: frozenset[StationKind]
    desk_min: float
    counter_min: float
    drive_min: float
    owner_delay_min: float
    pickup_min: float
    station_min: dict[StationKind, float] = field(default_factory=dict)
    #: set while the day runs
    visit_id: int | None = None
    ticket: str | None = None
    token: str | None = None
    booking_code: str | None = None


def make_vin(rng: random.Random) -> str:
    body = "".join(rng.choice(VIN_CHARS) for _ in range(17))
    body = "LSV" + body[3:8] + "0" + body[9:]
    return body[:8] + vin_check_digit(body) + body[9:]


def _weighted_minute(rng: random.Random, hourly: dict[int, float], opens: time, closes: time,
                     lunch: tuple[time, time] | None) -> float:
    """A moment of the open day, hours weighted by ``hourly``; minutes after opening."""
    base = datetime.combine(date(2000, 1, 1), opens)
    end = datetime.combine(date(2000, 1, 1), closes)
    spans = []
    t = base
    while t < end:
        nxt = min(end, (t + timedelta(hours=1)).replace(minute=0))
        if lunch is not None:
            lf = datetime.combine(t.date(), lunch[0])
            lu = datetime.combine(t.date(), lunch[1])
            if lf <= t < lu:
                t = lu
                continue
            nxt = min(nxt, lf) if t < lf else nxt
        weight = hourly.get(t.hour, 0.0) * (nxt - t).total_seconds()
        if weight > 0:
            spans.append((t, nxt, weight))
        t = nxt
    total = sum(w for *_, w in spans)
    pick = rng.uniform(0, total)
    for start, stop, w in spans:
        if pick <= w:
            at = start + (stop - start) * (pick / w)
            return (at - base).total_seconds() / 60
        pick -= w
    return (spans[-1][1] - base).total_seconds() / 60


def draw(profile: DayProfile, seed: int, *, opens: time, closes: time,
         lunch: tuple[time, time] | None, slot_minutes: int,
         fail_kinds: dict[str, list[StationKind]]) -> list[SimVehicle]:
    """The day's vehicles. ``fail_kinds``: for a fuel, the station kinds an item can fail at."""
    out = []
    last_slot_start = (datetime.combine(date(2000, 1, 1), closes)
                       - timedelta(minutes=slot_minutes)).time()
    for n in range(profile.vehicles):
        kind = stream(seed, n, "kind")
        booked = kind.random() < profile.booked_share
        no_show = booked and kind.random() < profile.no_show_share
        late = booked and not no_show and kind.random() < profile.late_share
        special = kind.random() < profile.special_needs_share
        who = stream(seed, n, "vehicle")
        large = who.random() < profile.large_share
        # large vehicles are diesel (the demo's large-vehicle lane has no gasoline emission)
        diesel = large or who.random() < profile.diesel_share
        electric = not diesel and who.random() < profile.electric_share
        commercial = who.random() < profile.commercial_share
        fuel = "diesel" if diesel else "electric" if electric else "gasoline"
        plate_type = "01" if large else ("52" if electric else "02")
        plate = f"浙A{'D' if electric else ''}{n:05d}" if electric else f"浙A{n:05d}"
        spec = VehicleSpec(
            plate_type=plate_type, plate=plate, vin=make_vin(who),
            vehicle_type="H11" if large else "K33", use_nature="B" if commercial else "A",
            fuel=fuel, first_registered_on=date(2026 - who.randint(1, 15), who.randint(1, 12), 1),
            phone=f"139{seed % 100:02d}{n:06d}")
        when = stream(seed, n, "arrival")
        slot = None
        arrives: float | None
        if booked:
            minute = _weighted_minute(when, profile.hourly, opens, last_slot_start, lunch)
            start = datetime.combine(date(2000, 1, 1), opens) + timedelta(minutes=minute)
            start -= timedelta(minutes=(start.minute % slot_minutes), seconds=start.second,
                               microseconds=start.microsecond)
            slot = start.time()
            slot_min = (start - datetime.combine(date(2000, 1, 1), opens)).total_seconds() / 60
            if no_show:
                arrives = None
            elif late:
                arrives = slot_min + 15 + profile.late_by.sample(when)
            else:
                arrives = max(0.0, slot_min + profile.booked_offset.sample(when))
        else:
            arrives = _weighted_minute(when, profile.hourly, opens, closes, lunch)
        outcome = stream(seed, n, "outcome")
        kinds = fail_kinds.get(fuel, [])
        fails = frozenset({outcome.choice(kinds)}) if kinds and outcome.random() < profile.fail_share \
            else frozenset()
        times = stream(seed, n, "times")
        out.append(SimVehicle(
            n=n, spec=spec, booked=booked, slot=slot, arrives_min=arrives, late=late,
            special_needs=special, fails=fails,
            desk_min=profile.desk_minutes.sample(times),
            counter_min=profile.counter_minutes.sample(times),
            drive_min=profile.drive_minutes.sample(times),
            owner_delay_min=profile.owner_delay_minutes.sample(times),
            pickup_min=profile.pickup_minutes.sample(times),
            station_min={StationKind(k): d.sample(times) for k, d in profile.station_minutes.items()}))
    return out
