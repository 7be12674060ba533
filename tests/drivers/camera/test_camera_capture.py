"""Camera capture: latest-frame semantics, looping, pacing, reconnects with backoff."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from drivers.camera import (
    Camera,
    CameraConfig,
    CameraState,
    SourceKind,
    backoff_delay,
    describe_source,
    source_kind,
)
from simulators.camera import LaneScene, LaneSimulator, LightingSpec

FAST_BACKOFF = {"reconnect_backoff_s": 0.05, "reconnect_backoff_max_s": 0.2}


def test_file_is_read_to_the_end_and_only_the_latest_frame_is_kept(numbered, camera_factory, wait_s):
    path = numbered.make(count=12)
    seen: list[int] = []
    camera = camera_factory({"name": "lane1", "source": str(path), "fps": 60})
    camera.subscribe(lambda frame: seen.append(frame.index))
    camera.start()

    assert camera.wait_state(CameraState.ENDED, timeout=wait_s)
    latest = camera.latest()
    assert latest is not None and latest.index == 11
    assert numbered.index_of(latest.image) == 11
    # no backlog: asking for "anything after frame 3" gives the newest frame, not frame 4
    assert camera.wait_frame(after=3, timeout=wait_s).index == 11
    assert seen == list(range(12))
    status = camera.status()
    assert status.frames == 12 and status.state is CameraState.ENDED and status.reason == "end of stream"
    assert (status.width, status.height) == numbered.size


def test_frames_are_read_only_snapshots(numbered, camera_factory, wait_s):
    camera = camera_factory({"name": "lane1", "source": numbered.make(count=2), "fps": 60})
    camera.start()
    frame = camera.wait_frame(timeout=wait_s)
    assert frame is not None
    with pytest.raises(ValueError):
        frame.image[0, 0] = 0


def test_looping_file_keeps_counting_and_wraps_content(numbered, camera_factory, wait_s):
    path = numbered.make(count=5)
    camera = camera_factory({"name": "lane1", "source": path, "fps": 100, "loop_file": True})
    camera.start()
    frame = camera.wait_frame(after=12, timeout=wait_s)
    assert frame is not None and frame.index > 12
    # every frame of every pass is delivered, so content = index modulo the file length
    assert numbered.index_of(frame.image) == frame.index % 5
    assert camera.state is CameraState.LIVE


def test_file_is_paced_at_the_configured_rate(numbered, camera_factory, wait_s):
    fps = 25.0
    stamps: list[float] = []
    done = threading.Event()

    def record(frame):
        stamps.append(time.monotonic())
        if len(stamps) == 11:
            done.set()

    camera = camera_factory({"name": "lane1", "source": numbered.make(count=12), "fps": fps})
    camera.subscribe(record)
    camera.start()
    assert done.wait(wait_s)
    # never faster than configured (a loaded machine may only make it slower)
    assert stamps[10] - stamps[0] >= 10 / fps * 0.9
    assert camera.status().fps <= fps * 1.2


def test_reconnects_when_the_file_disappears_and_comes_back(numbered, camera_factory, wait_s):
    path = numbered.make(count=5)
    hidden = path.with_name("hidden.avi")
    camera = camera_factory({"name": "lane1", "source": path, "fps": 50, "loop_file": True, **FAST_BACKOFF})
    camera.start()
    assert camera.wait_frame(after=2, timeout=wait_s) is not None

    path.rename(hidden)  # the camera vanishes: the next pass cannot reopen it
    assert camera.wait_state(CameraState.OFFLINE, timeout=wait_s)
    status = camera.status()
    assert status.error_code == "not_found" and "no such video file" in status.reason
    assert camera.last_error is not None and camera.last_error.device == "lane1"

    hidden.rename(path)
    assert camera.wait_state(CameraState.LIVE, timeout=wait_s)
    before = camera.latest().index
    assert camera.wait_frame(after=before, timeout=wait_s) is not None
    status = camera.status()
    assert status.reconnects >= 1 and status.error_code is None


@pytest.fixture
def small_simulator() -> LaneSimulator:
    scene = LaneScene(width=160, height=90)
    return LaneSimulator(scene, [], LightingSpec.steady(), duration=5.0, seed=3)


def test_in_process_source_faults_offline_and_back(small_simulator, camera_factory, wait_s):
    source = small_simulator.source(fps=50)
    source.faults.fail_opens = 2
    camera = camera_factory({"name": "sim", "source": source, **FAST_BACKOFF})
    assert camera.config.kind is SourceKind.IN_PROCESS
    camera.start()
    assert camera.wait_frame(timeout=wait_s) is not None
    assert source.opens == 3  # two refused connections, then success
    assert camera.status().reconnects == 2

    source.faults.offline = True  # the stream stops mid-session and reconnects fail
    assert camera.wait_state(CameraState.OFFLINE, timeout=wait_s)
    assert camera.status().error_code in {"timeout", "not_found"}

    source.faults.offline = False
    assert camera.wait_state(CameraState.LIVE, timeout=wait_s)
    assert camera.wait_frame(after=camera.latest().index, timeout=wait_s) is not None


def test_dropped_session_is_reopened(small_simulator, camera_factory, wait_s):
    source = small_simulator.source(fps=100)
    source.faults.drop_after_frames = 3
    camera = camera_factory({"name": "sim", "source": source, **FAST_BACKOFF})
    camera.start()
    frame = camera.wait_frame(after=10, timeout=wait_s)
    assert frame is not None
    assert source.opens >= 4  # at most 3 frames per session


def test_stop_interrupts_a_long_backoff(tmp_path, camera_factory, wait_s):
    camera = camera_factory({"name": "gone", "source": str(tmp_path / "missing.avi"),
                             "reconnect_backoff_s": 60.0, "reconnect_backoff_max_s": 60.0})
    camera.start()
    assert camera.wait_state(CameraState.OFFLINE, timeout=wait_s)
    assert camera.status().error_code == "not_found"
    started = time.monotonic()
    camera.stop()
    assert time.monotonic() - started < 5.0
    assert camera.state is CameraState.STOPPED
    assert camera.wait_frame(timeout=0.01) is None


def test_backoff_doubles_and_is_capped():
    assert [backoff_delay(n, 0.5, 3.0) for n in range(0, 6)] == [0.0, 0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(10_000, 1.0, 30.0) == 30.0


def test_config_validation_and_source_kinds(tmp_path):
    assert source_kind(0) is SourceKind.DEVICE
    assert source_kind("rtsp://cam/1") is SourceKind.STREAM
    assert source_kind(tmp_path / "a.avi") is SourceKind.FILE
    assert source_kind(lambda: iter(())) is SourceKind.IN_PROCESS
    with pytest.raises(ValueError, match="unknown camera setting"):
        CameraConfig.from_dict({"name": "a", "source": 0, "fsp": 10})
    with pytest.raises(ValueError):
        CameraConfig(name="a", source=0, fps=0)
    with pytest.raises(ValueError):
        CameraConfig(name="", source=0)
    assert describe_source("rtsp://admin:secret@10.0.0.5:554/ch1") == "rtsp://***@10.0.0.5:554/ch1"


def test_start_twice_is_an_error_stop_is_idempotent_and_restart_works(numbered, wait_s):
    camera = Camera({"name": "lane1", "source": numbered.make(count=3), "fps": 60})
    try:
        camera.start()
        with pytest.raises(RuntimeError):
            camera.start()
        assert camera.wait_state(CameraState.ENDED, timeout=wait_s)
        with pytest.raises(RuntimeError):
            camera.start()
        camera.stop()
        camera.stop()
        assert camera.state is CameraState.STOPPED
        camera.start()  # a stopped camera can be started again; frame numbers go on
        assert camera.wait_frame(after=2, timeout=wait_s).index == 3
    finally:
        camera.stop()
    assert camera.state is CameraState.STOPPED


def test_gray_frames_from_in_process_sources_become_bgr(camera_factory, wait_s):
    def source():
        yield np.full((20, 30), 77, np.uint8)

    camera = camera_factory({"name": "grey", "source": source, "fps": 50})
    camera.start()
    assert camera.wait_state(CameraState.ENDED, timeout=wait_s)
    assert camera.latest().image.shape == (20, 30, 3)
