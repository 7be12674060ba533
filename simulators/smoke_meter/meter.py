"""A byte-level Nanhua NHT-6 / NHT-1L opacity meter with fault switches.

The simulator answers request frames exactly as the meter does (fixed reply lengths, checksum,
NAK + error code) and keeps the meter's state: warm-up, zero calibration, filter (sensitivity)
calibration, the maximum registers (A6/A7), the manual-test result of the last three free
accelerations (B1) and control parameters (B2/B3). The engine in front of it is a
:class:`~simulators.smoke_meter.vehicle.EngineModel`; a test triggers free accelerations with
:meth:`SmokeMeterSimulator.free_acceleration`.

Its encoding is written independently of ``drivers.smoke_meter.protocol`` on purpose: the
driver tests then check the driver against a second reading of the protocol, not against itself.

The meter samples its optics every ``sample_period_s`` of test time, so the maximum registers
and B1 see the true peaks even when the host polls slowly. Error codes the simulator sends are
its own (the vendor's list is not public): see :class:`NakCode`.
"""

from __future__ import annotations

import enum
import math
import random
import struct
import threading
from collections import deque
from dataclasses import dataclass, fields, replace
from typing import Any

from simulators.smoke_meter.clock import ScaledClock, SimClock
from simulators.smoke_meter.vehicle import PROFILES, Acceleration, EngineModel, VehicleProfile
from station.emissions.opacity import k_from_n, n_from_k

NAK = 0x15
#: seconds of test time the meter warms up after power-on
DEFAULT_WARMUP_S = 300.0
#: opacity the uncalibrated meter shows in clean air until zeroed (% N)
DEFAULT_ZERO_DRIFT_PCT = 0.8
#: seconds of test time a zero calibration keeps the meter in status "calibrating"
DEFAULT_ZERO_DURATION_S = 1.0
#: the meter's internal sampling period (s of test time)
DEFAULT_SAMPLE_PERIOD_S = 0.01
#: the serial line's baud rate: replies take as long as their bytes need (0 = instant)
DEFAULT_LINE_BAUD = 9600
#: start bit + 8 data bits + stop bit
BITS_PER_BYTE = 10
#: wire scales: N is sent ×10 (%), k ×100 (m⁻¹), oil temperature as °C + 273
N_SCALE = 10
K_SCALE = 100
OIL_TEMP_OFFSET = 273
#: oil temperature word when no probe is fitted
NO_OIL_PROBE = 0xFFFF
#: the highest opacity the optics can report (% N)
MAX_OPACITY_PCT = 99.9
#: below this filter opacity a sensitivity calibration has nothing to scale (% N)
MIN_CALIBRATION_PCT = 1.0

#: request length (command byte … checksum) of every command the meter knows
REQUEST_LENGTHS = {
    0xA0: 3,
    0xA1: 2,
    0xA2: 2,
    0xA3: 2,
    0xA4: 2,
    0xA5: 2,
    0xA6: 2,
    0xA7: 2,
    0xAD: 2,
    0xB1: 2,
    0xB2: 4,
    0xB3: 2,
    0xC1: 2,
    0xC2: 4,
    0xC3: 2,
}
_ONLY_IN = {0xA0: "nht6", 0xA1: "nht6", 0xB1: "nht6", 0xAD: "nht1l"}
#: valid values of each B2 selector: engine stroke, rpm pickup, filter
CONTROL_VALUES = {1: {1, 2}, 2: {1, 2, 3}, 3: {1, 2, 3}}


#: other names the textual fault form accepts
_FAULT_ALIASES = {"timeout": "no_answer", "delay": "delay_s"}


class NakCode(enum.IntEnum):
    """Error codes this simulator sends after a NAK (0x15)."""

    UNKNOWN_COMMAND = 0x01
    BAD_CHECKSUM = 0x02
    NOT_NOW = 0x03  # not allowed in the current state (warming up, not calibrating …)
    BAD_PARAMETER = 0x04


class MeterStatusCode(enum.IntEnum):
    WARMING_UP = 0
    MEASURING = 1
    CALIBRATING = 2
    INTERNAL_FAULT = 3


@dataclass(frozen=True)
class Faults:
    """Fault switches, changeable at run time.

    Textual form (URL ``faults=``, CLI ``--faults``): a comma list of ``no_answer`` (alias
    ``timeout``), ``garbled``, ``bad_checksum``, ``stuck_warmup``, ``silent_after=N``,
    ``nak=CODE`` and ``delay=SECONDS``; ``none`` or an empty string clears all.
    """

    #: never answer
    no_answer: bool = False
    #: answer this many more requests, then go silent (a meter dying mid-test)
    silent_after: int | None = None
    #: answer noise of the right length that does not echo the command
    garbled: bool = False
    #: answer correctly but with a wrong checksum
    bad_checksum: bool = False
    #: refuse every request with NAK and this error code
    nak: int | None = None
    #: extra real seconds before each answer
    delay_s: float = 0.0
    #: stay in warm-up whatever the time or A2 says
    stuck_warmup: bool = False

    @classmethod
    def parse(cls, spec: str) -> Faults:
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            if item == "none":
                continue
            name, _, raw = item.partition("=")
            name = _FAULT_ALIASES.get(name, name)
            values[name] = cls._value(name, raw)
        return cls(**values)

    @classmethod
    def _value(cls, name: str, raw: str) -> Any:
        if name in ("no_answer", "garbled", "bad_checksum", "stuck_warmup"):
            if raw not in ("", "1", "true", "yes"):
                raise ValueError(f"fault {name} takes no value, not {raw!r}")
            return True
        if name in ("silent_after", "nak"):
            if not raw:
                raise ValueError(f"fault {name} needs a number")
            return int(raw, 0)
        if name == "delay_s":
            return float(raw)
        raise ValueError(f"unknown fault {name!r}")

    def describe(self) -> str:
        """The textual form :meth:`parse` reads back."""
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is f.default or (type(value) is type(f.default) and value == f.default):
                continue
            parts.append(f.name if value is True else f"{f.name}={value}")
        return ",".join(parts) or "none"


@dataclass(frozen=True)
class Outgoing:
    """An answer and how long (real seconds) until its last byte is on the wire."""

    delay_s: float
    data: bytes


class _Refused(Exception):
    def __init__(self, code: NakCode) -> None:
        super().__init__(code.name)
        self.code = code


def _seal(body: bytes) -> bytes:
    return body + bytes((-sum(body) & 0xFF,))


def _word(value: float) -> int:
    return min(max(round(value), 0), 0xFFFF)


class SmokeMeterSimulator:
    """One simulated meter; thread-safe. Reach it through a pty, TCP or ``nht6sim://``."""

    def __init__(
        self,
        *,
        profile: str | VehicleProfile = "clean",
        variant: str = "nht6",
        warmup_s: float = DEFAULT_WARMUP_S,
        clock: SimClock | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        zero_drift_pct: float = DEFAULT_ZERO_DRIFT_PCT,
        zero_duration_s: float = DEFAULT_ZERO_DURATION_S,
        sample_period_s: float = DEFAULT_SAMPLE_PERIOD_S,
        line_baud: int = DEFAULT_LINE_BAUD,
    ) -> None:
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise ValueError(f"unknown vehicle profile {profile!r}; known: {', '.join(PROFILES)}")
            profile = PROFILES[profile]
        if variant not in ("nht6", "nht1l"):
            raise ValueError(f"variant must be nht6 or nht1l, not {variant!r}")
        if sample_period_s <= 0 or line_baud < 0 or warmup_s < 0:
            raise ValueError("sample_period_s must be positive, line_baud and warmup_s ≥ 0")
        self.profile = profile
        self.variant = variant
        self.warmup_s = warmup_s
        self.clock: SimClock = clock or ScaledClock()
        self.engine = EngineModel(profile, seed)
        self.zero_duration_s = zero_duration_s
        self.sample_period_s = sample_period_s
        self.line_baud = line_baud
        self._lock = threading.RLock()
        self._noise = random.Random(seed + 1)
        self._faults = faults or Faults()
        self._answered_since_faults = 0
        self._started = self.clock.now()
        self._warmup_stopped = False
        self._zero_offset_pct = zero_drift_pct
        self._gain = 1.0
        self._calibrating_until = -math.inf
        self._filter_calibration = False
        self._filter_pct: float | None = None
        self._probe_in_exhaust = True
        self._alarms = 0
        self._internal_fault = False
        self._control = {1: 1, 2: 1, 3: 1}
        #: last status code set with A0 (its meaning is the vendor's; the simulator records it)
        self.status_code_set: int | None = None
        self._max = (0.0, 0.0, 0.0)
        self._sampled_until = self._started
        self._current: Acceleration | None = None
        self._current_peak_k = 0.0
        self._completed_peaks: deque[float] = deque(maxlen=3)
        self._idle_rpm = profile.idle_rpm
        #: request frames received / answers sent, for tests
        self.requests = 0
        self.answers = 0

    # -- control API for tests, the CLI and the benchmark ------------------------------------

    def free_acceleration(self, *, reach_governed: bool = True) -> Acceleration:
        """Press the pedal now: one free acceleration from idle to governed speed and back."""
        with self._lock:
            now = self.clock.now()
            self._advance(now)
            if self._current is not None:
                self._finish_current()
            self._current = self.engine.accelerate(now, reach_governed=reach_governed)
            self._current_peak_k = 0.0
            return self._current

    @property
    def busy_until(self) -> float:
        """Test time at which the engine is back at idle (now, if it already is)."""
        with self._lock:
            now = self.clock.now()
            return max(now, self._current.end) if self._current else now

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults | str) -> None:
        """Replace all fault switches (``silent_after`` counts from now)."""
        with self._lock:
            self._faults = Faults.parse(faults) if isinstance(faults, str) else faults
            self._answered_since_faults = 0

    def update_faults(self, **switches: Any) -> None:
        with self._lock:
            self.set_faults(replace(self._faults, **switches))

    def clear_faults(self) -> None:
        self.set_faults(Faults())

    def remove_probe(self) -> None:
        """Take the probe out of the tailpipe: the optics see clean air (for zeroing)."""
        with self._lock:
            self._probe_in_exhaust = False

    def insert_probe(self) -> None:
        """Put the probe back into the tailpipe."""
        with self._lock:
            self._probe_in_exhaust = True

    def insert_filter(self, n_pct: float) -> None:
        """Put a neutral-density filter of ``n_pct`` true opacity into the beam."""
        with self._lock:
            self._filter_pct = n_pct

    def remove_filter(self) -> None:
        with self._lock:
            self._filter_pct = None

    def set_alarms(self, word: int) -> None:
        with self._lock:
            self._alarms = word & 0xFFFF

    def set_internal_fault(self, fault: bool) -> None:
        with self._lock:
            self._internal_fault = fault

    def status(self) -> MeterStatusCode:
        with self._lock:
            return self._status(self.clock.now())

    def snapshot(self) -> dict[str, float]:
        """What the meter measures now: n_pct, k_m1, rpm."""
        with self._lock:
            now = self.clock.now()
            self._advance(now)
            n, k, rpm = self._measure(now)
            return {"n_pct": n, "k_m1": k, "rpm": rpm}

    @property
    def completed_peaks(self) -> tuple[float, ...]:
        """True-to-the-meter peak k of the last three finished accelerations (B1's K1..K3)."""
        with self._lock:
            self._advance(self.clock.now())
            return tuple(self._completed_peaks)

    # -- the byte level ------------------------------------------------------------------------

    @staticmethod
    def request_length(command: int) -> int | None:
        return REQUEST_LENGTHS.get(command)

    def respond(self, frame: bytes) -> Outgoing | None:
        """The answer to one request frame, with its fault switches applied; None = silence."""
        with self._lock:
            self.requests += 1
            faults = self._faults
            if faults.no_answer:
                return None
            if faults.silent_after is not None and self._answered_since_faults >= faults.silent_after:
                return None
            reply = self._process(frame)
            if faults.nak is not None:
                reply = bytes((NAK, faults.nak & 0xFF))
            elif faults.garbled:
                reply = self._garble(reply, frame[0])
            elif faults.bad_checksum and reply[0] != NAK:
                reply = reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
            self._answered_since_faults += 1
            self.answers += 1
            wire = len(reply) * BITS_PER_BYTE / self.line_baud if self.line_baud else 0.0
            return Outgoing(faults.delay_s + wire, reply)

    def _garble(self, reply: bytes, command: int) -> bytes:
        head = self._noise.choice([b for b in range(256) if b not in (command, NAK)])
        return bytes([head, *(self._noise.randrange(256) for _ in reply[1:])])

    def _process(self, frame: bytes) -> bytes:
        command = frame[0]
        if command not in REQUEST_LENGTHS or _ONLY_IN.get(command, self.variant) != self.variant:
            return bytes((NAK, NakCode.UNKNOWN_COMMAND))
        if len(frame) != REQUEST_LENGTHS[command] or sum(frame) & 0xFF:
            return bytes((NAK, NakCode.BAD_CHECKSUM))
        now = self.clock.now()
        self._advance(now)
        handler = getattr(self, f"_cmd_{command:02x}")
        try:
            return _seal(handler(now, frame[1:-1]))
        except _Refused as refusal:
            return bytes((NAK, refusal.code))

    # -- commands: each returns the reply body without its checksum ---------------------------

    def _cmd_a5(self, now: float, params: bytes) -> bytes:
        n, k, rpm = self._measure(now)
        oil = NO_OIL_PROBE if self.profile.oil_temp_c is None else self.profile.oil_temp_c + OIL_TEMP_OFFSET
        return struct.pack(">BHHHH", 0xA5, _word(n * N_SCALE), _word(k * K_SCALE), _word(rpm), oil)

    def _cmd_a6(self, now: float, params: bytes) -> bytes:
        n, k, rpm = self._max
        return struct.pack(">BHHH", 0xA6, _word(n * N_SCALE), _word(k * K_SCALE), _word(rpm))

    def _cmd_a7(self, now: float, params: bytes) -> bytes:
        self._max = (0.0, 0.0, 0.0)
        return b"\xa7"

    def _cmd_a1(self, now: float, params: bytes) -> bytes:
        return bytes((0xA1, self._status(now)))

    def _cmd_ad(self, now: float, params: bytes) -> bytes:
        return bytes((0xAD, self._status(now)))

    def _cmd_a0(self, now: float, params: bytes) -> bytes:
        if not 1 <= params[0] <= 4:
            raise _Refused(NakCode.BAD_PARAMETER)
        self.status_code_set = params[0]
        return b"\xa0"

    def _cmd_a2(self, now: float, params: bytes) -> bytes:
        self._warmup_stopped = True
        return b"\xa2"

    def _cmd_a3(self, now: float, params: bytes) -> bytes:
        return struct.pack(">BH", 0xA3, self._alarms)

    def _cmd_a4(self, now: float, params: bytes) -> bytes:
        if self._warming_up(now):
            raise _Refused(NakCode.NOT_NOW)
        self._zero_offset_pct = 0.0
        self._calibrating_until = now + self.zero_duration_s
        return b"\xa4"

    def _cmd_b1(self, now: float, params: bytes) -> bytes:
        peaks = list(self._completed_peaks)
        average = sum(peaks) / len(peaks) if peaks else 0.0
        padded = [0.0] * (3 - len(peaks)) + peaks
        words = [_word(k * K_SCALE) for k in (*padded, average)]
        return struct.pack(">BHHHHH", 0xB1, *words, _word(self._idle_rpm))

    def _cmd_b2(self, now: float, params: bytes) -> bytes:
        selector, value = params
        if value not in CONTROL_VALUES.get(selector, ()):
            raise _Refused(NakCode.BAD_PARAMETER)
        self._control[selector] = value
        return b"\xb2"

    def _cmd_b3(self, now: float, params: bytes) -> bytes:
        return bytes((0xB3, self._control[1], self._control[2], self._control[3]))

    def _cmd_c1(self, now: float, params: bytes) -> bytes:
        if self._warming_up(now):
            raise _Refused(NakCode.NOT_NOW)
        self._filter_calibration = True
        return b"\xc1"

    def _cmd_c2(self, now: float, params: bytes) -> bytes:
        if not self._filter_calibration:
            raise _Refused(NakCode.NOT_NOW)
        (value,) = struct.unpack(">H", params)
        target = value / N_SCALE
        raw = self._true_opacity(now)
        if target > MAX_OPACITY_PCT or raw < MIN_CALIBRATION_PCT:
            raise _Refused(NakCode.BAD_PARAMETER)
        self._gain = (target - self._zero_offset_pct) / raw
        return b"\xc2"

    def _cmd_c3(self, now: float, params: bytes) -> bytes:
        self._filter_calibration = False
        return b"\xc3"

    # -- the meter's inside ---------------------------------------------------------------------

    def _warming_up(self, now: float) -> bool:
        if self._faults.stuck_warmup:
            return True
        return not self._warmup_stopped and now - self._started < self.warmup_s

    def _status(self, now: float) -> MeterStatusCode:
        if self._internal_fault:
            return MeterStatusCode.INTERNAL_FAULT
        if self._warming_up(now):
            return MeterStatusCode.WARMING_UP
        if self._filter_calibration or now < self._calibrating_until:
            return MeterStatusCode.CALIBRATING
        return MeterStatusCode.MEASURING

    def _true_opacity(self, t: float) -> float:
        if self._filter_pct is not None:
            return self._filter_pct
        if not self._probe_in_exhaust:
            return 0.0
        _, k_true = self.engine.state(t, self._current)
        return n_from_k(k_true)

    def _measure(self, t: float) -> tuple[float, float, float]:
        """(N %, k m⁻¹, rpm) as the meter reports them at test time ``t``."""
        rpm, _ = self.engine.state(t, self._current)
        n = min(max(self._true_opacity(t) * self._gain + self._zero_offset_pct, 0.0), MAX_OPACITY_PCT)
        return n, k_from_n(n), rpm

    def _advance(self, now: float) -> None:
        """Run the meter's internal sampling up to ``now``."""
        t = self._sampled_until
        while t < now:
            active = self._current is not None and t < self._current.end
            t = min(t + self.sample_period_s, now) if active else now
            self._sample(t)
        self._sampled_until = max(self._sampled_until, now)

    def _sample(self, t: float) -> None:
        n, k, rpm = self._measure(t)
        max_n, max_k, max_rpm = self._max
        self._max = (max(max_n, n), max(max_k, k), max(max_rpm, rpm))
        current = self._current
        if current is None:
            self._idle_rpm = rpm
            return
        if t >= current.start:
            self._current_peak_k = max(self._current_peak_k, k)
        if t >= current.end:
            self._finish_current()

    def _finish_current(self) -> None:
        self._completed_peaks.append(round(self._current_peak_k, 2))
        self._current = None
        self._current_peak_k = 0.0
