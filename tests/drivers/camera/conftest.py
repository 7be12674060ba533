"""Fixtures for the camera driver tests: numbered video files and cameras that always stop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera import Camera

#: generous waits: CI machines are loaded; the tests wait on events, never on fixed sleeps
WAIT_S = 15.0


@pytest.fixture
def wait_s() -> float:
    return WAIT_S


@dataclass
class NumberedVideos:
    """Makes MJPG .avi files of uniform frames; frame i is painted grey level 10 + 20·i."""

    folder: Path
    size: tuple[int, int] = (160, 120)

    @staticmethod
    def level_of(index: int) -> int:
        return 10 + 20 * index

    @staticmethod
    def index_of(image: np.ndarray) -> int:
        return round((float(image.mean()) - 10) / 20)

    def make(self, count: int = 10, fps: float = 10.0, name: str = "numbered.avi") -> Path:
        assert self.level_of(count - 1) <= 255, "too many frames to number by grey level"
        path = self.folder / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, self.size)
        assert writer.isOpened()
        for i in range(count):
            writer.write(np.full((self.size[1], self.size[0], 3), self.level_of(i), np.uint8))
        writer.release()
        return path


@pytest.fixture
def numbered(tmp_path: Path) -> NumberedVideos:
    return NumberedVideos(tmp_path)


@pytest.fixture
def camera_factory() -> Iterator[Callable[..., Camera]]:
    """Factory for cameras that are stopped at teardown, whatever the test did."""
    cameras: list[Camera] = []

    def make(config: dict, **kwargs) -> Camera:
        camera = Camera(config, **kwargs)
        cameras.append(camera)
        return camera

    yield make
    for camera in cameras:
        camera.stop()
