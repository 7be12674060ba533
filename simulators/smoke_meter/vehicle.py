"""The diesel engine and its smoke during free accelerations, as functions of test time.

At idle the engine turns ~700–800 r/min with a little ripple and hardly smokes. A free
acceleration (pedal fully down) takes it to governed speed in well under a second; opacity
rises with it, peaks when the governor cuts in, sags while the pedal is held, and after the
release decays exponentially while the engine falls back to idle. The curves are smooth at the
peak, so a host sampling at 10 Hz sees the peak within about 1 %.

Each acceleration's peak k follows the profile: a typical value, a seeded jitter, the extra
soot the first (purge) accelerations blow out, and for the erratic profile an alternating swing.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: period of the small rpm ripple at idle and at governed speed (s)
RPM_RIPPLE_PERIOD_S = 0.7
#: opacity is within ~2 % of idle after this many smoke decay time constants
SETTLE_TIME_CONSTANTS = 4


@dataclass(frozen=True)
class VehicleProfile:
    name: str
    idle_rpm: float
    governed_rpm: float
    #: typical true peak k of a free acceleration once the exhaust is purged (m⁻¹)
    peak_k_m1: float
    #: each peak is off the typical one by a uniform random amount within ± this (m⁻¹)
    peak_jitter_m1: float
    #: erratic engines: peaks swing by ± this share of the typical peak, alternately
    alternation: float = 0.0
    #: extra peak k of the first acceleration (soot blown out of the exhaust) (m⁻¹)
    purge_excess_m1: float = 0.15
    #: the extra shrinks by this factor with every further acceleration
    purge_decay: float = 0.5
    #: k at idle (m⁻¹)
    idle_k_m1: float = 0.03
    #: idle → governed speed (s); the pedal goes down "within about 1 s"
    rise_s: float = 0.8
    #: pedal held at governed speed (s)
    hold_s: float = 1.5
    #: governed speed → idle after the release (s)
    fall_s: float = 1.5
    #: time constant of the smoke decay after the release (s)
    smoke_decay_s: float = 0.6
    #: share of the peak smoke left when the pedal is released
    hold_ratio: float = 0.8
    #: amplitude of the rpm ripple (r/min)
    rpm_ripple: float = 8.0
    #: an acceleration that misses governed speed gets this share of the way (and of the smoke)
    partial_fraction: float = 0.6
    #: engine oil temperature (°C); None = no oil probe fitted
    oil_temp_c: int | None = 85

    @property
    def duration_s(self) -> float:
        """From pedal down until speed and smoke are back at idle."""
        settle = max(self.fall_s, SETTLE_TIME_CONSTANTS * self.smoke_decay_s)
        return self.rise_s + self.hold_s + settle


PROFILES: dict[str, VehicleProfile] = {
    profile.name: profile
    for profile in (
        # a healthy engine: far below limit b
        VehicleProfile("clean", idle_rpm=750, governed_rpm=3000, peak_k_m1=0.35, peak_jitter_m1=0.03),
        # just under limit a (passes a, fails b)
        VehicleProfile(
            "borderline", idle_rpm=720, governed_rpm=2800, peak_k_m1=1.15, peak_jitter_m1=0.02, oil_temp_c=88
        ),
        # worn injectors: well above limit a, but consistent
        VehicleProfile(
            "failing", idle_rpm=780, governed_rpm=3200, peak_k_m1=2.10, peak_jitter_m1=0.06, oil_temp_c=91
        ),
        # unstable fuelling: peaks swing from acceleration to acceleration; no oil probe
        VehicleProfile(
            "erratic",
            idle_rpm=760,
            governed_rpm=2600,
            peak_k_m1=1.0,
            peak_jitter_m1=0.05,
            alternation=0.45,
            oil_temp_c=None,
        ),
    )
}


@dataclass(frozen=True)
class Acceleration:
    """One free acceleration of the simulated engine."""

    #: 1-based count since the simulator started
    number: int
    start: float
    peak_k_m1: float
    top_rpm: float
    reached_governed: bool
    end: float


def _smooth(x: float) -> float:
    """0 → 1 with zero slope at both ends."""
    x = min(max(x, 0.0), 1.0)
    return 0.5 - 0.5 * math.cos(math.pi * x)


class EngineModel:
    """Engine speed and true smoke k of one vehicle over test time."""

    def __init__(self, profile: VehicleProfile, seed: int = 0) -> None:
        self.profile = profile
        self._rng = random.Random(seed)
        self._count = 0

    def accelerate(self, start: float, *, reach_governed: bool = True) -> Acceleration:
        p = self.profile
        index = self._count
        self._count += 1
        swing = p.alternation if index % 2 == 0 else -p.alternation
        peak = (
            p.peak_k_m1 * (1 + swing)
            + p.purge_excess_m1 * p.purge_decay**index
            + self._rng.uniform(-p.peak_jitter_m1, p.peak_jitter_m1)
        )
        top = p.governed_rpm
        if not reach_governed:
            top = p.idle_rpm + p.partial_fraction * (p.governed_rpm - p.idle_rpm)
            peak = p.idle_k_m1 + p.partial_fraction * (peak - p.idle_k_m1)
        return Acceleration(
            number=index + 1,
            start=start,
            peak_k_m1=max(peak, p.idle_k_m1),
            top_rpm=top,
            reached_governed=reach_governed,
            end=start + p.duration_s,
        )

    def state(self, t: float, acceleration: Acceleration | None) -> tuple[float, float]:
        """(engine speed r/min, true k m⁻¹) at test time ``t``."""
        p = self.profile
        ripple = p.rpm_ripple * math.sin(2 * math.pi * t / RPM_RIPPLE_PERIOD_S)
        if acceleration is None or not acceleration.start <= t < acceleration.end:
            return p.idle_rpm + ripple, p.idle_k_m1
        tau = t - acceleration.start
        top, peak = acceleration.top_rpm, acceleration.peak_k_m1
        released_k = p.idle_k_m1 + p.hold_ratio * (peak - p.idle_k_m1)
        release = p.rise_s + p.hold_s
        if tau < p.rise_s:
            x = _smooth(tau / p.rise_s)
            return p.idle_rpm + x * (top - p.idle_rpm), p.idle_k_m1 + x * (peak - p.idle_k_m1)
        if tau < release:
            x = _smooth((tau - p.rise_s) / p.hold_s)
            return top + ripple, peak + x * (released_k - peak)
        since = tau - release
        rpm = top - _smooth(since / p.fall_s) * (top - p.idle_rpm)
        if since >= p.fall_s:
            rpm += ripple
        return rpm, p.idle_k_m1 + (released_k - p.idle_k_m1) * math.exp(-since / p.smoke_decay_s)
