"""Presence detection: scripted visits on simulated video, immunity to light and noise, debounce."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from drivers.camera import (
    CameraState,
    PresenceConfig,
    PresenceDetector,
    PresenceEvent,
    StationRoi,
    StationWatcher,
)
from simulators.camera import LaneScene, LaneSimulator, LightingSpec, LightSwitch

TOLERANCE_S = 1.0


def match_events(truth, events, tolerance=TOLERANCE_S):
    """Pair detector events with ground-truth events (same station and direction, within
    ``tolerance``); returns (unmatched truth, unmatched detector events)."""
    missed = list(truth)
    false = []
    for event in events:
        candidates = [t for t in missed if t.station == event.station and t.present == event.present
                      and abs(t.t - event.at) <= tolerance]
        if candidates:
            missed.remove(min(candidates, key=lambda t: abs(t.t - event.at)))
        else:
            false.append(event)
    return missed, false


def test_scripted_visits_are_detected_within_a_second_on_mjpg_video(tmp_path):
    scene = LaneScene()
    script = [  # (t_enter, station, dwell_s): two cars, the second while lights change
        (2.0, "S1", 5.0), (9.0, "S2", 12.0), (23.0, "S3", 4.0),
        (11.0, "S1", 11.0), (24.0, "S2", 5.0), (31.0, "S3", 5.0),
    ]
    # sudden switches while stations are occupied and while they are empty, on top of the
    # seeded random ones, clouds, flicker, noise and jitter
    switches = (LightSwitch(13.0, "hall", False), LightSwitch(15.5, "left", False),
                LightSwitch(20.0, "hall", True), LightSwitch(27.0, "right", False))
    lighting = LightingSpec(switch_gain=0.35, noise_sigma=4.0, jitter_px=1)
    simulator = LaneSimulator(scene, script, lighting, duration=40.0, seed=11, extra_switches=switches)
    assert len(simulator.truth) == 12 and all(e.scripted for e in simulator.truth)

    video = tmp_path / "lane.avi"
    simulator.write_video(video, fps=10)
    capture = cv2.VideoCapture(str(video))
    detector = PresenceDetector(scene.stations_config(), camera="lane1")
    events: list[PresenceEvent] = []
    brightness = []
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            brightness.append(float(image.mean()))
            events += detector.process(image, index / 10)
            index += 1
    finally:
        capture.release()

    assert index == 400
    assert max(brightness) / min(brightness) > 1.3, "the video must really contain lighting changes"
    missed, false = match_events(simulator.truth, events)
    assert missed == [] and false == []
    assert all(e.camera == "lane1" and 0.5 <= e.confidence <= 1.0 and e.since <= e.at for e in events)
    assert detector.states() == {"S1": False, "S2": False, "S3": False}


def test_lighting_changes_noise_and_jitter_alone_raise_no_event():
    scene = LaneScene()
    harsh = LightingSpec(cloud_amplitude=0.3, cloud_period_s=15.0, switch_min_interval_s=1.5,
                         switch_max_interval_s=4.0, switch_gain=0.5, flicker_amplitude=0.08,
                         noise_sigma=8.0, jitter_px=2)
    simulator = LaneSimulator(scene, [], harsh, duration=30.0, seed=5)
    assert len(simulator.lighting.switches) >= 6
    detector = PresenceDetector(scene.stations_config())
    events = []
    peak = 0.0
    means = []
    for t, image in simulator.frames(10):
        means.append(float(image.mean()))
        events += detector.process(image, t)
        if detector.ready:
            peak = max(peak, *detector.scores().values())
    assert max(means) / min(means) > 1.6
    assert events == []
    assert peak < detector.config.absent_threshold


def _floor(rng: np.random.Generator) -> np.ndarray:
    texture = cv2.GaussianBlur(rng.normal(120, 25, (120, 160)).astype(np.float32), (5, 5), 0)
    return np.clip(np.repeat(texture[..., None], 3, axis=2), 0, 255).astype(np.uint8)


def test_hysteresis_and_debounce():
    rng = np.random.default_rng(1)
    empty = _floor(rng)
    occupied = empty.copy()
    occupied[40:100, 40:120] = (30, 30, 200)  # a red "car" filling most of the ROI
    config = PresenceConfig(work_width=40, warmup_frames=3, present_frames=3, absent_frames=4)
    detector = PresenceDetector([StationRoi.from_config({"name": "S1", "roi": [0.25, 0.33, 0.75, 0.83]})], config)
    sequence = ([empty] * 5            # warm-up and settle
                + [occupied] * 2 + [empty] * 3   # a two-frame glitch: no event
                + [occupied] * 6               # a car: present on its third frame
                + [empty] * 3 + [occupied]     # three empty frames are not enough to leave
                + [empty] * 6)                 # left on the fourth consecutive empty frame
    events = []
    for i, image in enumerate(sequence):
        for event in detector.process(image, float(i)):
            events.append((i, event))
    assert [(i, e.present) for i, e in events] == [(12, True), (23, False)]
    arrived, left = events[0][1], events[1][1]
    assert arrived.since == 10.0 and arrived.at == 12.0
    assert left.since == 20.0 and left.at == 23.0
    assert arrived.confidence == 1.0 and left.confidence == 1.0


def test_a_stored_empty_reference_skips_warm_up():
    rng = np.random.default_rng(2)
    empty = _floor(rng)
    occupied = empty.copy()
    occupied[30:110, 30:130] = 240
    detector = PresenceDetector([{"name": "S1", "roi": [0.2, 0.25, 0.8, 0.9]}],
                                {"work_width": 40, "present_frames": 1})
    detector.set_reference(empty)
    assert detector.ready
    events = detector.process(occupied, 0.0)
    assert [(e.station, e.present) for e in events] == [("S1", True)]


def test_station_and_config_validation():
    assert StationRoi.from_config({"name": "S1", "roi": [0.1, 0.2, 0.3, 0.4]}).polygon[2] == (0.3, 0.4)
    triangle = StationRoi.from_config({"name": "S2", "roi": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]})
    assert len(triangle.polygon) == 3
    for bad in ([0.3, 0.2, 0.1, 0.4], [0.1, 0.2, 1.3, 0.4], [[0.1, 0.1], [0.2, 0.2]]):
        with pytest.raises(ValueError):
            StationRoi.from_config({"name": "S", "roi": bad})
    with pytest.raises(ValueError, match="unknown presence setting"):
        PresenceConfig.from_dict({"present_treshold": 0.5})
    with pytest.raises(ValueError):
        PresenceConfig(present_threshold=0.2, absent_threshold=0.3)
    with pytest.raises(ValueError, match="duplicate"):
        PresenceDetector([{"name": "S1", "roi": [0, 0, 1, 1]}, {"name": "S1", "roi": [0, 0, 1, 1]}])


def test_station_watcher_follows_a_camera(camera_factory, wait_s):
    scene = LaneScene(width=320, height=180)
    script = [(1.0, "S1", 2.0), (4.5, "S2", 2.0), (8.0, "S3", 2.0)]
    simulator = LaneSimulator(scene, script, LightingSpec(switch_gain=0.0), duration=11.0, seed=4)
    # the camera replays the simulated 10 fps lane four times faster than real time
    camera = camera_factory({"name": "lane1", "source": simulator.source(fps=10, loop=False), "fps": 40})
    watcher = StationWatcher(camera, scene.stations_config())
    events: list[PresenceEvent] = []
    all_done = threading.Event()

    def collect(event):
        events.append(event)
        if len(events) == len(simulator.truth):
            all_done.set()

    watcher.subscribe(collect)
    with watcher:
        camera.start()
        assert all_done.wait(wait_s), f"only {events} of {simulator.truth}"
        assert camera.wait_state(CameraState.ENDED, timeout=wait_s)
    assert [(e.station, e.present) for e in events] == [(t.station, t.present) for t in simulator.truth]
    assert all(e.camera == "lane1" for e in events)
    assert watcher.frames_processed > 0
    assert watcher.states() == {"S1": False, "S2": False, "S3": False}
