"""The simulated engine and its smoke: idle, free accelerations, profiles, clocks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from simulators.smoke_meter import PROFILES, EngineModel, ScaledClock, SteppedClock
from station.emissions import smoke_limit


def curve(model: EngineModel, acceleration, until: float, step: float = 0.01):
    t = acceleration.start
    while t < until:
        yield t, *model.state(t, acceleration)
        t = round(t + step, 6)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_idle_speed_is_realistic(name: str) -> None:
    model = EngineModel(PROFILES[name])
    speeds = [model.state(t / 10, None)[0] for t in range(100)]
    assert 700 <= min(speeds) <= max(speeds) <= 800
    assert max(speeds) - min(speeds) > 5  # a living engine ripples a little


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_a_free_acceleration_reaches_governed_speed_within_a_second(name: str) -> None:
    profile = PROFILES[name]
    model = EngineModel(profile)
    acceleration = model.accelerate(10.0)
    points = list(curve(model, acceleration, acceleration.end))
    governed_at = next(t for t, rpm, _ in points if rpm >= profile.governed_rpm * 0.98)
    assert governed_at - acceleration.start <= 1.0
    assert 2500 <= profile.governed_rpm <= 4000
    peak_t, _, peak_k = max(points, key=lambda p: p[2])
    assert peak_k == pytest.approx(acceleration.peak_k_m1, rel=1e-6)
    assert peak_t == pytest.approx(acceleration.start + profile.rise_s, abs=0.011)
    # after the release the smoke decays and the engine returns to idle
    rpm_end, k_end = model.state(acceleration.end - 0.01, acceleration)
    assert k_end < profile.idle_k_m1 + 0.05 * (peak_k - profile.idle_k_m1)
    assert rpm_end == pytest.approx(profile.idle_rpm, abs=profile.rpm_ripple + 1)
    assert model.state(acceleration.end, acceleration) == model.state(acceleration.end, None)


@pytest.mark.parametrize("phase", [0.0, 0.02, 0.05, 0.08])
def test_a_ten_hertz_host_sees_the_peak_within_one_percent(phase: float) -> None:
    model = EngineModel(PROFILES["failing"])
    acceleration = model.accelerate(0.0)
    sampled = max(model.state(phase + i / 10, acceleration)[1] for i in range(50))
    assert 0.99 * acceleration.peak_k_m1 <= sampled <= acceleration.peak_k_m1


def test_a_half_hearted_acceleration_stays_below_governed_speed() -> None:
    profile = PROFILES["clean"]
    model = EngineModel(profile)
    acceleration = model.accelerate(0.0, reach_governed=False)
    top = max(rpm for _, rpm, _ in curve(model, acceleration, acceleration.end))
    assert not acceleration.reached_governed
    assert profile.idle_rpm + 500 < top < profile.governed_rpm * 0.8


def measured_peaks(name: str, seed: int = 0) -> list[float]:
    model = EngineModel(PROFILES[name], seed)
    peaks = [model.accelerate(i * 10.0).peak_k_m1 for i in range(6)]
    return peaks[3:]  # after three purge accelerations


def test_profiles_against_the_limits() -> None:
    a, b = smoke_limit("gb3847_2018_a").k_max_m1, smoke_limit("gb3847_2018_b").k_max_m1
    for seed in range(20):
        clean, borderline, failing = (measured_peaks(n, seed) for n in ("clean", "borderline", "failing"))
        assert max(clean) < b
        assert b < min(borderline) and max(borderline) < a
        assert min(failing) > a
        for peaks in (clean, borderline, failing):
            assert max(peaks) - min(peaks) < 0.25  # consistent engines
        erratic = measured_peaks("erratic", seed)
        assert max(erratic) - min(erratic) > 0.5


def test_purge_accelerations_blow_out_more_soot() -> None:
    model = EngineModel(replace(PROFILES["clean"], peak_jitter_m1=0.0))
    peaks = [model.accelerate(i * 10.0).peak_k_m1 for i in range(4)]
    assert peaks == sorted(peaks, reverse=True)
    assert peaks[0] - peaks[3] == pytest.approx(0.15 * (1 - 0.5**3))


def test_the_same_seed_gives_the_same_vehicle() -> None:
    assert measured_peaks("erratic", 5) == measured_peaks("erratic", 5)
    assert measured_peaks("erratic", 5) != measured_peaks("erratic", 6)


def test_clocks() -> None:
    fake = [100.0]
    scaled = ScaledClock(60.0, monotonic=lambda: fake[0])
    fake[0] += 0.5
    assert scaled.now() == pytest.approx(30.0)
    assert scaled.real_seconds(600.0) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        ScaledClock(0)
    stepped = SteppedClock(5.0)
    assert stepped.advance(1.5) == 6.5 == stepped.now()
    with pytest.raises(ValueError):
        stepped.advance(-1)
