"""Lane camera simulator: script → motion → ground truth, rendering, video file, live source."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from drivers.errors import DeviceNotFound, DeviceTimeout
from simulators.camera import (
    ARRIVED,
    LEFT,
    NAMED_SCRIPTS,
    LaneScene,
    LaneSimulator,
    LightingSpec,
    LightSwitch,
    named_script,
    parse_script,
    truth_path,
)
from simulators.camera.__main__ import main
from simulators.camera.scene import overlap_share

SCRIPT = [(2.0, "S1", 4.0), (8.0, "S2", 3.0), (13.5, "S3", 2.5)]


def test_ground_truth_is_the_script_and_matches_the_geometry():
    scene = LaneScene()
    simulator = LaneSimulator(scene, SCRIPT, LightingSpec.steady(), duration=20.0)
    expected = sorted([(t, s, ARRIVED) for t, s, _ in SCRIPT] + [(t + d, s, LEFT) for t, s, d in SCRIPT])
    assert [(e.t, e.station, e.kind) for e in simulator.truth] == [
        (pytest.approx(t), s, k) for t, s, k in expected]
    assert all(e.scripted and e.car == 0 for e in simulator.truth)
    plan = simulator.plans[0]
    for event in simulator.truth:
        station = scene.station(event.station)
        before = overlap_share(plan.x_at(event.t - 0.05), scene.car_length, station)
        after = overlap_share(plan.x_at(event.t + 0.05), scene.car_length, station)
        # at an arrival the car passes from under half to over half of the ROI, and back
        assert (before < 0.5 < after) if event.present else (before > 0.5 > after)


def test_a_car_waits_between_stations_without_entering_them():
    scene = LaneScene()
    simulator = LaneSimulator(scene, [(1.0, "S1", 2.0), (9.0, "S2", 2.0)], LightingSpec.steady(), duration=14)
    plan = simulator.plans[0]
    for t in np.arange(3.5, 8.5, 0.25):
        assert max(overlap_share(plan.x_at(t), scene.car_length, s) for s in scene.stations) <= scene.max_hold_overlap


def test_impossible_scripts_are_rejected():
    scene = LaneScene()
    with pytest.raises(ValueError, match="dwell"):
        LaneSimulator(scene, [(1.0, "S1", 0.2)], duration=5)
    with pytest.raises(ValueError, match="cannot get"):
        LaneSimulator(scene, [(1.0, "S1", 2.0), (3.1, "S2", 2.0)], duration=8)
    with pytest.raises(ValueError, match="runs into"):
        LaneSimulator(scene, [(1.0, "S2", 9.0, 0), (2.0, "S1", 2.0, 1), (4.5, "S2", 2.0, 1)], duration=15)
    with pytest.raises(ValueError, match="no station 'S9'"):
        LaneSimulator(scene, [(1.0, "S9", 2.0)], duration=5)
    with pytest.raises(ValueError, match="every script entry"):
        parse_script([(1.0, "S1", 2.0, 0), (5.0, "S2", 2.0)])


@pytest.mark.parametrize("name", NAMED_SCRIPTS)
def test_named_scripts_plan_and_leave_stations_empty_between_cars(name):
    scene = LaneScene()
    simulator = LaneSimulator(scene, named_script(name, scene, 90.0, seed=3), duration=90.0, seed=3)
    assert simulator.truth and all(e.scripted for e in simulator.truth)
    for station in scene.stations:
        events = [e for e in simulator.truth if e.station == station.name]
        assert [e.kind for e in events] == [ARRIVED, LEFT] * (len(events) // 2)
        gaps = [b.t - a.t for a, b in zip(events[1::2], events[2::2], strict=False)]
        assert all(gap >= 1.5 - 1e-6 for gap in gaps)
    assert all(plan.t_last <= 90.0 for plan in simulator.plans)


def test_rendering_is_deterministic_and_noisy():
    simulator = LaneSimulator(LaneScene(width=320, height=180), SCRIPT, duration=20.0, seed=4)
    a, b = simulator.render(3.0), simulator.render(3.0)
    assert a.shape == (180, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, simulator.render(3.1))  # noise, flicker, jitter
    noisy = LaneSimulator(LaneScene(width=320, height=180), SCRIPT,
                          dataclasses.replace(LightingSpec.steady(), noise_sigma=3.0), duration=20.0, seed=4)
    difference = np.abs(noisy.render(3.0).astype(int) - noisy.render(3.1).astype(int))
    assert 1.0 < difference.mean() < 6.0  # the same scene, fresh sensor noise (σ 3 → mean |Δ| ≈ 3.4)


def test_a_light_switch_changes_brightness_suddenly():
    lighting = LightingSpec(cloud_amplitude=0.0, switch_gain=0.3, switch_min_interval_s=1e9,
                            switch_max_interval_s=1e9, flicker_amplitude=0.0, noise_sigma=0.0, jitter_px=0)
    simulator = LaneSimulator(LaneScene(width=320, height=180), [], lighting, duration=10.0,
                              extra_switches=[LightSwitch(5.0, "hall", False)])
    before, after = simulator.render(4.95).mean(), simulator.render(5.0).mean()
    assert after == pytest.approx(before * 0.7, rel=0.03)


def test_the_car_is_where_the_plan_says(tmp_path):
    scene = LaneScene(width=320, height=180)
    simulator = LaneSimulator(scene, SCRIPT, LightingSpec.steady(), duration=20.0)
    empty = simulator.render(0.0).astype(int)
    parked = simulator.render(4.0).astype(int)  # the car stands at S1
    changed = np.any(np.abs(parked - empty) > 30, axis=2)
    _ys, xs = np.nonzero(changed)
    centre = (xs.min() + xs.max()) / 2 / scene.width
    assert centre == pytest.approx(scene.station("S1").x, abs=0.03)


def test_cli_writes_a_readable_video_and_its_truth(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    out = tmp_path / "lane1.avi"
    assert main(["--out", str(out), "--duration", "18", "--script", str(script), "--width", "320",
                 "--height", "180", "--seed", "2"]) == 0
    capture = cv2.VideoCapture(str(out))
    try:
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
        frames = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            assert image.shape == (180, 320, 3)
            frames += 1
    finally:
        capture.release()
    assert frames == 180
    truth = json.loads(truth_path(out).read_text())
    assert truth["frame_size"] == [320, 180] and truth["fps"] == 10.0
    assert [s["name"] for s in truth["stations"]] == ["S1", "S2", "S3"]
    assert len(truth["events"]) == 6 and truth["script"] == [list(entry) for entry in SCRIPT]
    assert {m["label"] for m in truth["privacy_masks"]} >= {"plate S1", "face S3"}
    assert main(["--out", str(tmp_path / "x.mp4"), "--duration", "5"]) == 2


def test_live_source_faults_and_timeline():
    simulator = LaneSimulator(LaneScene(width=160, height=90), [], LightingSpec.steady(), duration=1.0)
    source = simulator.source(fps=10, loop=True)
    session = source()
    frames = [next(session) for _ in range(12)]  # 10 frames per pass: wraps around
    assert np.array_equal(frames[0], frames[10])
    source.faults.offline = True
    with pytest.raises(DeviceTimeout):
        next(session)
    with pytest.raises(DeviceNotFound):
        source()
    source.faults.offline = False
    source.faults.drop_after_frames = 2
    session = source()
    next(session), next(session)
    with pytest.raises(DeviceTimeout):
        next(session)
    finite = simulator.source(fps=10, loop=False)
    assert len(list(finite())) == 10
