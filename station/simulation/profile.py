"""A day profile (日客流画像): who comes when, and how long each step takes.

Every number has a default from DOMAIN.md (§3 bookings and no-shows, §7 timings) and can be
overridden from a JSON file. Times of day are local ``"HH:MM"``; durations are minutes.

The draws are made per vehicle from its own random stream (seed, vehicle number, purpose),
so two runs with the same seed see the same vehicles, arrivals and service times whatever
the queue policy does with them — common random numbers.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from station.models import StationKind


@dataclass(frozen=True)
class Duration:
    """A service time in minutes: ``lognormal`` (mean, sd), ``uniform`` (low, high) or
    ``fixed`` (value)."""

    kind: str
    a: float
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("lognormal", "uniform", "fixed"):
            raise ValueError(f"unknown duration kind {self.kind!r}")
        if not (math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"a duration is a finite number of minutes, not {self}")
        if (self.kind == "uniform" and self.b < self.a) or \
                (self.kind == "lognormal" and (self.a <= 0 or self.b < 0)):
            raise ValueError(f"bad duration {self}")

    @property
    def low(self) -> float:
        """The least value it can take."""
        return 0.0 if self.kind == "lognormal" else self.a

    @property
    def mean(self) -> float:
        return {"lognormal": self.a, "uniform": (self.a + self.b) / 2, "fixed": self.a}[self.kind]

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        mean, sd = self.a, max(self.b, 1e-9)
        sigma2 = math.log(1 + (sd / mean) ** 2)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, Duration):
            return value
        if isinstance(value, int | float):
            return cls("fixed", float(value))
        if isinstance(value, list | tuple) and len(value) in (2, 3):
            return cls(str(value[0]), float(value[1]), float(value[2]) if len(value) == 3 else 0.0)
        if isinstance(value, dict):
            return cls(str(value["kind"]), float(value["a"]), float(value.get("b", 0.0)))
        raise ValueError(f"a duration is a number, [kind, a, b] or {{kind, a, b}}: {value!r}")


K = StationKind

#: DOMAIN.md §7: uniqueness + exterior 5–8, instrument line 3–5, pit 2–4, gasoline emission
#: 6–8, diesel free acceleration about 5 minutes
DEFAULT_STATION_MINUTES: dict[str, Duration] = {
    K.UNIQUENESS.value: Duration("uniform", 2.0, 3.0),
    K.EXTERIOR.value: Duration("uniform", 3.0, 5.0),
    K.INSTRUMENT.value: Duration("uniform", 3.0, 5.0),
    K.CHASSIS_DYNAMIC.value: Duration("uniform", 1.0, 2.0),
    K.CHASSIS_PIT.value: Duration("uniform", 2.0, 4.0),
    K.EMISSION_GASOLINE.value: Duration("uniform", 6.0, 8.0),
    K.EMISSION_DIESEL.value: Duration("uniform", 4.0, 6.0),
}

#: walk-ins by hour of the day: a morning peak, a lunch dip
DEFAULT_HOURLY = {8: 1.2, 9: 1.8, 10: 1.6, 11: 1.0, 12: 0.4, 13: 0.8, 14: 1.0, 15: 0.8, 16: 0.4,
                  17: 0.1}

#: cars a station can test at once. An emission station usually has two test positions (two
#: chassis dynamometers / two opacity probes), which is how a lane does the 12–20 cars an hour
#: of DOMAIN.md §7 although one emission test takes 6–8 minutes.
DEFAULT_STATION_POSITIONS = {K.EMISSION_GASOLINE.value: 2, K.EMISSION_DIESEL.value: 2}


@dataclass(frozen=True)
class Closure:
    """A lane (or one of its stations, by position) out of service for a while."""

    lane: int
    start: time
    end: time
    station_position: int | None = None
    reason: str = "维护"


@dataclass(frozen=True)
class CounterHours:
    """When a counter window is staffed (default: all day)."""

    number: int
    start: time
    end: time


@dataclass(frozen=True)
class DayProfile:
    day: date = date(2026, 11, 24)
    vehicles: int = 300
    booked_share: float = 0.6
    #: of booked vehicles: never come / come after the check-in window
    no_show_share: float = 0.05
    late_share: float = 0.1
    #: arrival of a punctual booking relative to its slot start (minutes; negative is early)
    booked_offset: Duration = field(default_factory=lambda: Duration("uniform", -25.0, 10.0))
    #: how late a late booking is, beyond the window
    late_by: Duration = field(default_factory=lambda: Duration("uniform", 5.0, 60.0))
    hourly: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_HOURLY))
    special_needs_share: float = 0.02
    diesel_share: float = 0.15
    electric_share: float = 0.08
    large_share: float = 0.08
    commercial_share: float = 0.1
    #: share of vehicles with at least one failed item
    fail_share: float = 0.08
    desk_minutes: Duration = field(default_factory=lambda: Duration("uniform", 1.0, 2.0))
    counter_minutes: Duration = field(default_factory=lambda: Duration("lognormal", 5.0, 2.0))
    drive_minutes: Duration = field(default_factory=lambda: Duration("uniform", 1.0, 3.0))
    #: from the car leaving the lane until the owner comes to the pick-up window
    owner_delay_minutes: Duration = field(default_factory=lambda: Duration("uniform", 2.0, 15.0))
    pickup_minutes: Duration = field(default_factory=lambda: Duration("uniform", 1.5, 3.0))
    station_minutes: dict[str, Duration] = field(default_factory=lambda: dict(DEFAULT_STATION_MINUTES))
    station_positions: dict[str, int] = field(
        default_factory=lambda: dict(DEFAULT_STATION_POSITIONS))
    runners: int = 4
    desks: int = 1
    #: counter windows staffed, by number (None: every open counter, all day)
    counters: tuple[CounterHours, ...] | None = None
    closures: tuple[Closure, ...] = ()

    def __post_init__(self) -> None:
        for name in ("booked_share", "no_show_share", "late_share", "special_needs_share",
                     "diesel_share", "electric_share", "large_share", "commercial_share",
                     "fail_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.vehicles < 0 or self.runners < 1 or self.desks < 1:
            raise ValueError("vehicles ≥ 0, runners ≥ 1 and desks ≥ 1")
        if not self.hourly or any(not math.isfinite(w) or w < 0 for w in self.hourly.values()) \
                or not any(self.hourly.values()):
            raise ValueError("hourly weights must be finite, non-negative and not all zero")
        if self.day.weekday() >= 5:
            raise ValueError("the simulated day must be a weekday of the demo calendar")
        missing = {k.value for k in StationKind} - set(self.station_minutes)
        if missing:
            raise ValueError(f"station times missing for {sorted(missing)}")
        durations = [self.late_by, self.desk_minutes, self.counter_minutes, self.drive_minutes,
                     self.owner_delay_minutes, self.pickup_minutes, *self.station_minutes.values()]
        if any(d.low < 0 for d in durations):
            raise ValueError("durations cannot be negative (only booked_offset can)")
        if any(StationKind(k) is None or n < 1 for k, n in self.station_positions.items()):
            raise ValueError("a station has at least one test position")

    def positions(self, kind: StationKind) -> int:
        return self.station_positions.get(kind.value, 1)

    def scaled(self, factor: float) -> DayProfile:
        """The same day with ``factor`` times the vehicles (an overload day)."""
        return replace(self, vehicles=round(self.vehicles * factor))

    # -- JSON ---------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        for key in ("booked_offset", "late_by", "desk_minutes", "counter_minutes", "drive_minutes",
                    "owner_delay_minutes", "pickup_minutes"):
            out[key] = [out[key]["kind"], out[key]["a"], out[key]["b"]]
        out["station_minutes"] = {k: [d.kind, d.a, d.b] for k, d in self.station_minutes.items()}
        out["counters"] = None if self.counters is None else [
            {"number": c.number, "start": c.start.strftime("%H:%M"), "end": c.end.strftime("%H:%M")}
            for c in self.counters]
        out["closures"] = [{"lane": c.lane, "start": c.start.strftime("%H:%M"),
                            "end": c.end.strftime("%H:%M"), "station_position": c.station_position,
                            "reason": c.reason} for c in self.closures]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DayProfile:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown day profile keys: {sorted(unknown)}")
        values: dict[str, Any] = dict(data)
        if "day" in values:
            values["day"] = date.fromisoformat(values["day"])
        for key in ("booked_offset", "late_by", "desk_minutes", "counter_minutes", "drive_minutes",
                    "owner_delay_minutes", "pickup_minutes"):
            if key in values:
                values[key] = Duration.parse(values[key])
        if "station_minutes" in values:
            values["station_minutes"] = {**DEFAULT_STATION_MINUTES, **{
                StationKind(k).value: Duration.parse(v) for k, v in values["station_minutes"].items()}}
        if "station_positions" in values:
            values["station_positions"] = {StationKind(k).value: int(n)
                                           for k, n in values["station_positions"].items()}
        if "hourly" in values:
            values["hourly"] = {int(h): float(w) for h, w in values["hourly"].items()}
        if values.get("counters") is not None:
            values["counters"] = tuple(CounterHours(int(c["number"]), time.fromisoformat(c["start"]),
                                                    time.fromisoformat(c["end"]))
                                       for c in values["counters"])
        if "closures" in values:
            values["closures"] = tuple(Closure(int(c["lane"]), time.fromisoformat(c["start"]),
                                               time.fromisoformat(c["end"]),
                                               c.get("station_position"), c.get("reason", "维护"))
                                       for c in values["closures"])
        return cls(**values)

    @classmethod
    def load(cls, path: str | Path) -> DayProfile:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def stream(seed: int, vehicle: int, purpose: str) -> random.Random:
    """The random stream of one vehicle and one purpose (common random numbers)."""
    return random.Random(f"{seed}:{vehicle}:{purpose}")
