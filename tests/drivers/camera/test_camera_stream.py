"""Lobby stream: masks before encoding, MJPEG framing, one shared encode, throttling."""

from __future__ import annotations

import itertools
import re
import threading

import cv2
import numpy as np
import pytest

from drivers.camera import (
    MJPEG_MIMETYPE,
    MaskRegion,
    PlateFinderConfig,
    StreamBroadcaster,
    StreamConfig,
    apply_masks,
    encode_jpeg,
    find_plate_regions,
    mjpeg_part,
    mjpeg_stream,
    render_tile,
)
from drivers.camera.geometry import polygon_mask
from drivers.camera.stream import downscale
from simulators.camera import LaneScene, LaneSimulator, LightingSpec
from simulators.camera.scene import PLATE_BOX

RECT = {"roi": [0.10, 0.20, 0.40, 0.50], "label": "plate S1"}
TRIANGLE = {"roi": [[0.55, 0.30], [0.95, 0.30], [0.75, 0.90]], "label": "face S2"}


@pytest.fixture
def textured() -> np.ndarray:
    """A full-resolution frame full of fine detail (what a plate's characters look like)."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)


def test_masks_change_the_masked_pixels_and_only_those(textured):
    config = StreamConfig.from_dict({"width": 320, "masks": [RECT, TRIANGLE], "plates": {"enabled": False}})
    tile = render_tile(textured, config)
    plain = downscale(textured, 320)
    assert tile.shape == plain.shape == (180, 320, 3)

    masked = np.zeros(tile.shape[:2], bool)
    for region in config.masks:
        inside = polygon_mask(region.polygon, 320, 180)
        masked |= inside
        changed = np.any(tile != plain, axis=2)[inside].mean()
        assert changed > 0.9
        # the detail is gone: what is left is a few smooth cells
        assert tile[inside].std() < 0.3 * plain[inside].std()
    assert np.array_equal(tile[~masked], plain[~masked])

    # the masking happened before encoding: the decoded JPEG has no detail in the regions,
    # and elsewhere as much as the unmasked tile would have had
    def decoded(image):
        return cv2.imdecode(np.frombuffer(encode_jpeg(image, 80), np.uint8), cv2.IMREAD_COLOR)

    masked_jpeg, plain_jpeg = decoded(tile), decoded(plain)
    assert masked_jpeg[masked].std() < 0.3 * plain_jpeg[masked].std()
    assert masked_jpeg[~masked].std() > 0.9 * plain_jpeg[~masked].std()


def test_fill_mode_paints_the_configured_colour(textured):
    mask = MaskRegion.from_config({"roi": [0.5, 0.5, 1.0, 1.0], "mode": "fill"})
    out = apply_masks(textured, [mask], blur_cells=4, fill_colour=(1, 2, 3))
    assert np.all(out[180:, 320:] == (1, 2, 3))
    assert np.array_equal(out[:180], textured[:180]) and np.array_equal(out[:, :320], textured[:, :320])
    assert not np.shares_memory(out, textured)
    with pytest.raises(ValueError):
        MaskRegion.from_config({"roi": [0, 0, 1, 1], "mode": "smudge"})


def split_multipart(body: bytes, boundary: str = "frame") -> list[bytes]:
    """A strict reader of ``multipart/x-mixed-replace`` parts, as a browser reads them."""
    parts = []
    head = re.compile(rb"--" + re.escape(boundary.encode()) +
                      rb"\r\nContent-Type: image/jpeg\r\nContent-Length: (\d+)\r\n\r\n")
    position = 0
    while position < len(body):
        match = head.match(body, position)
        assert match, f"bad part header at byte {position}"
        length = int(match.group(1))
        start = match.end()
        parts.append(body[start:start + length])
        assert body[start + length:start + length + 2] == b"\r\n"
        position = start + length + 2
    return parts


def test_mjpeg_framing(textured):
    jpegs = [encode_jpeg(textured[:60, :80], 70), encode_jpeg(textured[60:120, :80], 70)]
    assert MJPEG_MIMETYPE == "multipart/x-mixed-replace; boundary=frame"
    body = b"".join(mjpeg_stream(iter(jpegs)))
    assert split_multipart(body) == jpegs
    assert all(j.startswith(b"\xff\xd8") and j.endswith(b"\xff\xd9") for j in jpegs)
    assert mjpeg_part(b"xyz", "b1") == b"--b1\r\nContent-Type: image/jpeg\r\nContent-Length: 3\r\n\r\nxyz\r\n"


def test_closing_the_body_closes_the_tile_source():
    closed = threading.Event()

    def tiles():
        try:
            while True:
                yield b"\xff\xd8\xff\xd9"
        finally:
            closed.set()

    body = mjpeg_stream(tiles())
    next(body)
    body.close()
    assert closed.is_set()


def test_plate_finder_masks_a_plate_anywhere_in_the_lane():
    scene = LaneScene()
    simulator = LaneSimulator(scene, [(3.0, "S1", 3.0)], LightingSpec.steady(), duration=12.0, seed=2)
    # driving away from S1, halfway to S2: outside every fixed mask
    t = simulator.plans[0].time_at((scene.stations[0].x + scene.stations[1].x) / 2)
    x = simulator.plans[0].x_at(t)
    assert all(abs(x - s.x) > 0.1 for s in scene.stations)
    frame = simulator.render(t)
    tile = downscale(frame, 480)
    x0, y0, x1, y1 = scene.box_at(PLATE_BOX, x)
    px0, py0, px1, py1 = x0 * 480, y0 * 270, x1 * 480, y1 * 270
    boxes = find_plate_regions(tile, PlateFinderConfig())
    assert any(b[0] <= px0 + 1 and b[1] <= py0 + 1 and b[2] >= px1 - 1 and b[3] >= py1 - 1 for b in boxes), boxes
    # and nothing is found in the empty lane
    assert find_plate_regions(downscale(simulator.render(0.0), 480), PlateFinderConfig()) == []
    masked = render_tile(frame, StreamConfig(width=480))
    plate = (slice(round(py0), round(py1)), slice(round(px0), round(px1)))
    assert detail(masked)[plate].mean() < 0.3 * detail(tile)[plate].mean()


def detail(image: np.ndarray) -> np.ndarray:
    """Fine detail (characters, edges): magnitude of the Laplacian of the grey image."""
    return np.abs(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_32F))


@pytest.fixture
def lane_camera(camera_factory):
    scene = LaneScene(width=320, height=180)
    simulator = LaneSimulator(scene, [(0.5, "S1", 2.0)], LightingSpec(switch_gain=0.0), duration=20.0, seed=6)
    return camera_factory({"name": "lane1", "source": simulator.source(fps=20), "fps": 20})


def test_viewers_share_one_throttled_encode(lane_camera, wait_s, monkeypatch):
    encoded = []

    def counting_encode(image, quality):
        jpeg = encode_jpeg(image, quality)
        encoded.append(jpeg)
        return jpeg

    monkeypatch.setattr("drivers.camera.stream.encode_jpeg", counting_encode)
    broadcaster = StreamBroadcaster(lane_camera, {"width": 160, "fps": 5.0})
    results: dict[int, list[bytes]] = {}
    ready = threading.Barrier(4, timeout=wait_s)

    enough = threading.Event()

    def viewer(n: int) -> None:
        body = broadcaster.mjpeg()
        parts: list[bytes] = []
        try:
            for part in body:
                parts.append(part)
                if len(parts) == 1:
                    ready.wait()
                if enough.is_set():
                    break
        finally:
            body.close()
        results[n] = parts

    with broadcaster:
        lane_camera.start()
        assert lane_camera.wait_frame(timeout=wait_s) is not None
        threads = [threading.Thread(target=viewer, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        ready.wait()  # all three viewers are connected
        tiles = []
        seq = broadcaster.latest().seq
        while len(tiles) < 6:
            tile = broadcaster.wait_next(seq, timeout=wait_s)
            assert tile is not None
            tiles.append(tile)
            seq = tile.seq
        enough.set()
        for thread in threads:
            thread.join(wait_s)
        assert broadcaster.viewers == 0

        # throttled to 5 tiles/s of camera time: 4 frames apart at 20 fps
        gaps = [b.frame_index - a.frame_index for a, b in itertools.pairwise(tiles)]
        assert all(gap >= 2 for gap in gaps) and 3 <= sum(gaps) / len(gaps) <= 6
        # one encode per tile, not one per viewer: the viewers received the very same bytes
        jpegs = [split_multipart(b"".join(parts)) for parts in results.values()]
        assert sum(len(j) for j in jpegs) > 2 * len(encoded) - 6
        assert set().union(*jpegs) <= set(encoded)
        assert len(set(jpegs[0]) & set(jpegs[1]) & set(jpegs[2])) >= 3
        decoded = cv2.imdecode(np.frombuffer(jpegs[0][0], np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (90, 160, 3)

        # nobody watching: no more encoding
        encodes = broadcaster.encodes
        last = lane_camera.latest().index
        assert lane_camera.wait_frame(after=last + 10, timeout=wait_s) is not None
        assert broadcaster.encodes == encodes


def test_no_viewer_no_encode_and_stop_ends_streams(lane_camera, wait_s):
    broadcaster = StreamBroadcaster(lane_camera, {"width": 160, "fps": 10.0})
    broadcaster.start()
    lane_camera.start()
    assert lane_camera.wait_frame(after=5, timeout=wait_s) is not None
    assert broadcaster.encodes == 0 and broadcaster.latest() is None

    got_one = threading.Event()
    finished = threading.Event()

    def viewer():
        for _ in broadcaster.jpeg_frames():
            got_one.set()
        finished.set()

    thread = threading.Thread(target=viewer)
    thread.start()
    assert got_one.wait(wait_s)
    broadcaster.stop()
    assert finished.wait(wait_s)
    thread.join(wait_s)
    assert broadcaster.viewers == 0


def test_stream_config_validation():
    with pytest.raises(ValueError, match="unknown stream setting"):
        StreamConfig.from_dict({"widht": 320})
    with pytest.raises(ValueError):
        StreamConfig(fps=0)
    config = StreamConfig.from_dict({"masks": [RECT], "fill_colour": [0, 0, 0], "plates": {"margin": 0.5}})
    assert config.masks[0].label == "plate S1" and config.plates.margin == 0.5
