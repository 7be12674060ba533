"""Regions in normalised image coordinates, shared by presence detection and privacy masks.

A region is written once in configuration as fractions of the frame (0–1, x to the right,
y downwards) so that it survives a change of camera resolution or of the analysis/tile size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

Point = tuple[float, float]
Polygon = tuple[Point, ...]


def parse_region(value: Sequence) -> Polygon:
    """Parse ``[x0, y0, x1, y1]`` (a rectangle) or ``[[x, y], …]`` (a polygon, ≥ 3 vertices).

    Raises ``ValueError`` when the shape is wrong or a coordinate lies outside 0–1.
    """
    items = list(value)
    if len(items) == 4 and all(isinstance(v, int | float) for v in items):
        x0, y0, x1, y1 = (float(v) for v in items)
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"rectangle {items} must have x0 < x1 and y0 < y1")
        polygon: Polygon = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    else:
        try:
            polygon = tuple((float(p[0]), float(p[1])) for p in items)
        except (TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"region {value!r} is neither [x0, y0, x1, y1] nor a list of [x, y]") from exc
        if len(polygon) < 3 or any(len(p) != 2 for p in items):
            raise ValueError(f"polygon {value!r} needs at least 3 [x, y] vertices")
    for x, y in polygon:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValueError(f"region {value!r} has a vertex outside the normalised range 0–1")
    return polygon


def is_axis_rectangle(polygon: Polygon) -> bool:
    xs = {p[0] for p in polygon}
    ys = {p[1] for p in polygon}
    return len(polygon) == 4 and len(xs) == 2 and len(ys) == 2


def polygon_mask(polygon: Polygon, width: int, height: int) -> np.ndarray:
    """Boolean mask (height × width) of the pixels covered by a normalised polygon.

    Axis-aligned rectangles are rounded outwards (a privacy mask must rather cover one pixel
    too many than one too few); other polygons are filled by ``cv2.fillPoly`` on rounded vertices.
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    if is_axis_rectangle(polygon):
        x0, y0, x1, y1 = rectangle_pixels(polygon, width, height)
        mask[y0:y1, x0:x1] = 1
    else:
        pts = np.array([[round(x * (width - 1)), round(y * (height - 1))] for x, y in polygon], dtype=np.int32)
        cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)


def rectangle_pixels(polygon: Polygon, width: int, height: int) -> tuple[int, int, int, int]:
    """Bounding box of a normalised polygon in pixels, ``(x0, y0, x1, y1)`` with exclusive ends."""
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    x0 = max(0, math.floor(min(xs) * width))
    y0 = max(0, math.floor(min(ys) * height))
    x1 = min(width, max(x0 + 1, math.ceil(max(xs) * width)))
    y1 = min(height, max(y0 + 1, math.ceil(max(ys) * height)))
    return x0, y0, x1, y1
