"""Hall lighting and sensor imperfections for the lane simulator.

The hall is lit by daylight through the entrance door (left of the picture: clouds make it
swing slowly, strongest near the door) and by banks of lamps (the whole hall, its left half,
its right half) that are switched on and off at random moments: a *sudden* change of up to
``switch_gain``. Mains flicker beating with the camera's frame rate adds a small fast
oscillation; the sensor adds Gaussian noise and the mount a little jitter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: lamp banks: name → centre and softness of the lit region along x (None: the whole hall)
BANKS: dict[str, tuple[float, float] | None] = {"hall": None, "left": (0.0, 0.45), "right": (1.0, 0.45)}


@dataclass(frozen=True)
class LightingSpec:
    #: relative swing of daylight (clouds), and its main period
    cloud_amplitude: float = 0.15
    cloud_period_s: float = 40.0
    #: daylight falls off with distance from the door at x = 0 over this length
    door_falloff: float = 0.5
    #: a lamp bank is switched every so often (uniform random within these bounds)
    switch_min_interval_s: float = 8.0
    switch_max_interval_s: float = 20.0
    #: a bank that is off darkens its region by this share
    switch_gain: float = 0.30
    #: flicker: relative amplitude and beat frequency
    flicker_amplitude: float = 0.03
    flicker_hz: float = 3.3
    #: sensor noise (8-bit levels, standard deviation) and mount jitter (pixels, ±)
    noise_sigma: float = 3.0
    jitter_px: int = 1

    @classmethod
    def steady(cls) -> LightingSpec:
        """No lighting changes, no noise, no jitter: for tests of geometry."""
        return cls(cloud_amplitude=0.0, switch_gain=0.0, flicker_amplitude=0.0, noise_sigma=0.0,
                   jitter_px=0, switch_min_interval_s=1e9, switch_max_interval_s=1e9)


@dataclass(frozen=True)
class LightSwitch:
    t: float
    bank: str
    on: bool


class Lighting:
    """Deterministic lighting for one simulated camera (seeded)."""

    def __init__(self, spec: LightingSpec, duration: float, seed: int,
                 extra_switches: tuple[LightSwitch, ...] = ()) -> None:
        self.spec = spec
        rng = np.random.default_rng(seed)
        self._phases = rng.uniform(0, 2 * math.pi, 3)
        switches: list[LightSwitch] = list(extra_switches)
        state = dict.fromkeys(BANKS, True)
        t = float(rng.uniform(spec.switch_min_interval_s, spec.switch_max_interval_s)) / 2
        names = list(BANKS)
        while spec.switch_gain > 0 and t < duration:
            bank = names[int(rng.integers(len(names)))]
            state[bank] = not state[bank]
            switches.append(LightSwitch(round(t, 3), bank, state[bank]))
            t += float(rng.uniform(spec.switch_min_interval_s, spec.switch_max_interval_s))
        self.switches = tuple(sorted(switches, key=lambda s: s.t))

    def bank_states(self, t: float) -> dict[str, bool]:
        state = dict.fromkeys(BANKS, True)
        for switch in self.switches:
            if switch.t > t:
                break
            state[switch.bank] = switch.on
        return state

    def gain_row(self, t: float, xs: np.ndarray) -> np.ndarray:
        """Multiplicative gain per column at time ``t`` (``xs``: normalised column positions)."""
        spec = self.spec
        p = self._phases
        cloud = spec.cloud_amplitude * (0.65 * math.sin(2 * math.pi * t / spec.cloud_period_s + p[0])
                                        + 0.35 * math.sin(2 * math.pi * t / (0.37 * spec.cloud_period_s) + p[1]))
        gain = 1.0 + cloud * np.exp(-xs / spec.door_falloff)
        for bank, on in self.bank_states(t).items():
            if on or spec.switch_gain == 0:
                continue
            region = BANKS[bank]
            if region is None:
                gain = gain * (1.0 - spec.switch_gain)
            else:
                centre, softness = region
                profile = np.exp(-(((xs - centre) / softness) ** 2))
                gain = gain * (1.0 - spec.switch_gain * profile)
        flicker = 1.0 + spec.flicker_amplitude * math.sin(2 * math.pi * spec.flicker_hz * t + p[2])
        return (gain * flicker).astype(np.float32)
