"""Evidence snapshots: full-resolution, unmasked JPEG with a name, size and sha256."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import cv2
import numpy as np
import pytest

from drivers.camera import CameraState, Frame, snapshot_name, take_snapshot
from drivers.errors import DeviceTimeout

MOMENT = datetime(2026, 11, 22, 8, 15, 30, 250000, tzinfo=UTC)


@pytest.fixture
def frame() -> Frame:
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    return Frame(camera="lane1", index=42, at=1_795_000_000.0, image=image)


def test_snapshot_file_name_size_and_hash(frame, tmp_path):
    shot = take_snapshot(frame, tmp_path / "evidence", station="S2", visit="V20261122-0007", now=lambda: MOMENT)
    assert shot.path == tmp_path / "evidence" / "V20261122-0007_S2_20261122T081530_250000Z.jpg"
    data = shot.path.read_bytes()
    assert shot.size == len(data) > 0
    assert shot.sha256 == hashlib.sha256(data).hexdigest()
    assert (shot.width, shot.height, shot.camera, shot.frame_at) == (1280, 720, "lane1", frame.at)
    assert shot.taken_at == MOMENT
    # full resolution and unmasked: the decoded photo is the frame, up to JPEG loss
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == frame.image.shape
    assert np.abs(decoded.astype(int) - frame.image.astype(int)).mean() < 4


def test_existing_evidence_is_never_overwritten(frame, tmp_path):
    first = take_snapshot(frame, tmp_path, station="S1", visit="V1", now=lambda: MOMENT)
    second = take_snapshot(frame, tmp_path, station="S1", visit="V1", now=lambda: MOMENT)
    assert first.path != second.path and second.path.name.endswith("Z-1.jpg")
    assert first.path.read_bytes() == second.path.read_bytes()


def test_names_are_sanitised_and_in_utc():
    shanghai = timezone(timedelta(hours=8))
    name = snapshot_name("外观 S1/../x", "../../etc/passwd", datetime(2026, 11, 22, 16, 0, tzinfo=shanghai))
    assert name == "etc-passwd_S1-x_20261122T080000_000000Z.jpg"
    with pytest.raises(ValueError):
        snapshot_name("S1", "V1", datetime(2026, 11, 22, 16, 0))
    with pytest.raises(ValueError):
        snapshot_name("///", "V1", MOMENT)


def test_camera_without_a_fresh_frame_gives_device_timeout(numbered, camera_factory, tmp_path, wait_s):
    camera = camera_factory({"name": "lane1", "source": numbered.make(count=2), "fps": 60})
    with pytest.raises(DeviceTimeout):
        take_snapshot(camera, tmp_path, station="S1", visit="V1")
    camera.start()
    assert camera.wait_state(CameraState.ENDED, timeout=wait_s)
    latest = camera.latest()
    shot = take_snapshot(camera, tmp_path, station="S1", visit="V1", clock=lambda: latest.at + 1.0)
    assert shot.path.exists() and shot.frame_at == latest.at
    with pytest.raises(DeviceTimeout, match="old"):
        take_snapshot(camera, tmp_path, station="S1", visit="V1", clock=lambda: latest.at + 60.0)
    assert sorted(p.name for p in tmp_path.glob("*.jpg")) == [shot.path.name]
