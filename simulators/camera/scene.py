"""The lane as a side-looking camera sees it: hall wall, floor, stations, and a car sprite.

All positions are normalised (x: 0 left → 1 right, y: 0 top → 1 bottom); cars drive from
left to right and stop with their centre on a station's ``x``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

#: car body colours (BGR): white, silver, black, red, blue, dark grey, champagne, green
CAR_COLOURS: tuple[tuple[int, int, int], ...] = (
    (232, 232, 230), (188, 190, 194), (38, 38, 42), (42, 40, 182),
    (150, 78, 28), (92, 92, 98), (150, 182, 204), (58, 112, 48),
)

# Car sprite layout in car-local coordinates: u along the car (0 rear … 1 front),
# v down the car (0 roof … 1 bottom of the wheels).
_BODY = [(0.0, 0.47), (0.04, 0.40), (0.24, 0.37), (0.83, 0.37), (0.97, 0.45), (1.0, 0.55),
         (1.0, 0.80), (0.0, 0.80)]
_CABIN = [(0.21, 0.38), (0.33, 0.04), (0.67, 0.04), (0.84, 0.38)]
_REAR_WINDOW = [(0.27, 0.35), (0.36, 0.09), (0.48, 0.09), (0.48, 0.35)]
_FRONT_WINDOW = [(0.51, 0.35), (0.51, 0.09), (0.65, 0.09), (0.78, 0.35)]
_WHEELS = ((0.20, 0.80), (0.80, 0.80))
_WHEEL_RADIUS = 0.19  # × car height: the wheels end at the sprite's bottom edge
PLATE_BOX = (0.81, 0.51, 0.94, 0.59)  # u0, v0, u1, v1: the plate-like rectangle, clear of the wheel
FACE_BOX = (0.51, 0.09, 0.78, 0.35)  # the front side window, where the runner's face shows


@dataclass(frozen=True)
class StationSpec:
    """A station (工位) along the lane: where the car stops and the width of its ROI."""

    name: str
    x: float
    roi_width: float = 0.13


@dataclass(frozen=True)
class LaneScene:
    """Geometry and appearance of one simulated lane camera."""

    width: int = 640
    height: int = 360
    stations: tuple[StationSpec, ...] = field(default_factory=lambda: (
        StationSpec("S1", 0.18), StationSpec("S2", 0.50), StationSpec("S3", 0.82)))
    #: car length (× frame width) and height (× frame height)
    car_length: float = 0.22
    car_height: float = 0.22
    #: where the wheels touch the floor (× frame height)
    ground_y: float = 0.80
    #: where the hall wall meets the floor
    floor_y: float = 0.46
    #: cruise speed of a moving car, frame widths per second
    speed: float = 0.30
    #: a hold position between stations may overlap a station ROI by at most this share
    max_hold_overlap: float = 0.25
    #: minimum gap between two cars, × frame width
    min_car_gap: float = 0.03

    def __post_init__(self) -> None:
        names = [s.name for s in self.stations]
        if not names or len(set(names)) != len(names):
            raise ValueError("scene needs stations with distinct names")
        xs = [s.x for s in self.stations]
        if xs != sorted(xs):
            raise ValueError("stations must be listed in lane order (increasing x)")
        for a, b in zip(self.stations, self.stations[1:], strict=False):
            hold = (a.x + b.x) / 2
            for s in (a, b):
                if overlap_share(hold, self.car_length, s) > self.max_hold_overlap:
                    raise ValueError(f"stations {a.name} and {b.name} are too close for a hold position")

    def station(self, name: str) -> StationSpec:
        return self.stations[self.station_order(name)]

    def station_order(self, name: str) -> int:
        names = [s.name for s in self.stations]
        if name not in names:
            raise ValueError(f"no station {name!r} in the scene ({', '.join(names)})")
        return names.index(name)

    @property
    def car_top(self) -> float:
        return self.ground_y - self.car_height

    def roi(self, station: StationSpec) -> tuple[float, float, float, float]:
        """The station's ROI: its width around the stop, the car body band vertically."""
        half = station.roi_width / 2
        return (round(station.x - half, 4), round(self.car_top + 0.30 * self.car_height, 4),
                round(station.x + half, 4), round(self.ground_y - 0.10 * self.car_height, 4))

    def stations_config(self) -> list[dict[str, Any]]:
        """Station ROIs in the form ``drivers.camera.presence`` takes."""
        return [{"name": s.name, "roi": list(self.roi(s))} for s in self.stations]

    def box_at(self, box: tuple[float, float, float, float], centre_x: float,
               margin: float = 0.0) -> tuple[float, float, float, float]:
        """A car-local box (u0, v0, u1, v1) in frame coordinates for a car centred at ``centre_x``."""
        u0, v0, u1, v1 = box
        left = centre_x - self.car_length / 2
        x0 = left + u0 * self.car_length - margin
        x1 = left + u1 * self.car_length + margin
        y0 = self.car_top + v0 * self.car_height - margin
        y1 = self.car_top + v1 * self.car_height + margin
        return (round(max(0.0, x0), 4), round(max(0.0, y0), 4), round(min(1.0, x1), 4), round(min(1.0, y1), 4))

    def privacy_masks(self, margin: float = 0.01) -> list[dict[str, Any]]:
        """Fixed mask regions: the plate and the driver's window of a car stopped at each station."""
        masks = []
        for s in self.stations:
            masks.append({"label": f"plate {s.name}", "roi": list(self.box_at(PLATE_BOX, s.x, margin)),
                          "mode": "blur"})
            masks.append({"label": f"face {s.name}", "roi": list(self.box_at(FACE_BOX, s.x, margin)),
                          "mode": "blur"})
        return masks


def overlap_share(centre_x: float, car_length: float, station: StationSpec) -> float:
    """Share of the station ROI's width covered by a car centred at ``centre_x``."""
    a = station.x - station.roi_width / 2
    b = station.x + station.roi_width / 2
    covered = min(b, centre_x + car_length / 2) - max(a, centre_x - car_length / 2)
    return max(0.0, covered) / (b - a)


def _px(scene: LaneScene, x: float, y: float, pad: int = 0) -> tuple[int, int]:
    return round(x * scene.width) + pad, round(y * scene.height) + pad


def render_background(scene: LaneScene, seed: int, pad: int) -> np.ndarray:
    """The empty lane, float32 BGR, ``pad`` pixels larger on every side (room for jitter)."""
    rng = np.random.default_rng(seed)
    w, h = scene.width + 2 * pad, scene.height + 2 * pad
    img = np.zeros((h, w, 3), np.uint8)  # drawn in 8 bit (putText needs it), textured in float
    floor_top = round(scene.floor_y * scene.height) + pad

    # wall: light panels with seams, a band of high windows
    img[:floor_top] = (150, 152, 148)
    for x in np.arange(0.0, 1.0, 0.08):
        px = _px(scene, x, 0)[0] + pad
        cv2.line(img, (px, 0), (px, floor_top), (128, 130, 127), 2)
    y0, y1 = _px(scene, 0, 0.05, pad)[1], _px(scene, 0, 0.17, pad)[1]
    for x in np.arange(0.03, 1.0, 0.16):
        a, b = _px(scene, x, 0, pad)[0], _px(scene, x + 0.11, 0, pad)[0]
        cv2.rectangle(img, (a, y0), (b, y1), (212, 214, 205), -1)
        cv2.rectangle(img, (a, y0), (b, y1), (95, 95, 95), 2)

    img[floor_top:] = (116, 119, 121)  # concrete floor
    cv2.line(img, (0, floor_top), (w, floor_top), (70, 72, 74), 3)
    for y in (scene.floor_y + 0.05, 0.95):
        py = _px(scene, 0, y, pad)[1]
        cv2.line(img, (0, py), (w, py), (40, 190, 215), 4)  # yellow lane edges

    for i, s in enumerate(scene.stations):
        # equipment cabinet and station sign on the wall
        a = _px(scene, s.x - 0.07, 0.24, pad)
        b = _px(scene, s.x + 0.07, scene.floor_y, pad)
        cv2.rectangle(img, a, b, (112, 96, 80), -1)
        cv2.rectangle(img, a, b, (60, 50, 45), 2)
        for k, colour in enumerate(((60, 200, 60), (40, 160, 230), (60, 60, 210))):
            cv2.circle(img, (a[0] + 10 + 12 * k, a[1] + 12), 4, colour, -1)
        sign_a = _px(scene, s.x - 0.04, 0.19, pad)
        sign_b = _px(scene, s.x + 0.04, 0.24, pad)
        cv2.rectangle(img, sign_a, sign_b, (235, 235, 235), -1)
        cv2.putText(img, s.name, (sign_a[0] + 6, sign_b[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (30, 30, 160), 1, cv2.LINE_AA)
        # painted station box on the floor and a stop line in front of it
        _x0, y0, _x1, y1 = scene.roi(s)
        box_a = _px(scene, s.x - scene.car_length / 2, scene.ground_y - 0.07, pad)
        box_b = _px(scene, s.x + scene.car_length / 2, scene.ground_y + 0.07, pad)
        cv2.rectangle(img, box_a, box_b, (225, 228, 228), 3)
        stop = _px(scene, s.x + scene.car_length / 2 + 0.012, scene.ground_y - 0.08, pad)
        cv2.line(img, stop, (stop[0], box_b[1] + 6), (225, 228, 228), 5)
        cv2.putText(img, str(i + 1), (box_a[0] + 6, box_b[1] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (220, 222, 222), 2, cv2.LINE_AA)
        if i % 3 == 1:  # a roller brake tester: dark roller plates under the wheels
            for u, _ in _WHEELS:
                cx = s.x + (u - 0.5) * scene.car_length
                ra = _px(scene, cx - 0.035, scene.ground_y - 0.015, pad)
                rb = _px(scene, cx + 0.035, scene.ground_y + 0.03, pad)
                cv2.rectangle(img, ra, rb, (58, 60, 62), -1)
                for k in range(ra[0] + 4, rb[0], 7):
                    cv2.line(img, (k, ra[1]), (k, rb[1]), (88, 90, 92), 2)
        elif i % 3 == 2:  # an inspection pit edge with hazard stripes
            pa = _px(scene, s.x - scene.car_length / 2, scene.ground_y + 0.075, pad)
            pb = _px(scene, s.x + scene.car_length / 2, scene.ground_y + 0.11, pad)
            cv2.rectangle(img, pa, pb, (30, 170, 210), -1)
            for k in range(pa[0], pb[0], 14):
                cv2.line(img, (k, pb[1]), (k + 8, pa[1]), (25, 25, 25), 4)
    # concrete texture under the paint: large-scale blotches and fine grain
    out = img.astype(np.float32)
    blotch = cv2.resize(rng.normal(0, 9, (8, 14)).astype(np.float32), (w, h - floor_top),
                        interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.normal(0, 6, (h - floor_top, w)).astype(np.float32), (3, 3), 0)
    out[floor_top:] += (blotch + grain)[..., None]
    return np.clip(out, 0, 255)


@dataclass(frozen=True)
class CarSprite:
    """A pre-rendered car: BGR float32, alpha (0–1), and a soft floor shadow (darkening 0–1)."""

    image: np.ndarray
    alpha: np.ndarray
    shadow: np.ndarray
    shadow_offset: tuple[int, int]  # shadow's top-left relative to the sprite's top-left


def _poly(points: Sequence[tuple[float, float]], length: int, height: int) -> np.ndarray:
    return np.array([[round(u * (length - 1)), round(v * (height - 1))] for u, v in points], np.int32)


def render_car(scene: LaneScene, colour: tuple[int, int, int], plate_text_seed: int) -> CarSprite:
    length = round(scene.car_length * scene.width)
    height = round(scene.car_height * scene.height)
    img = np.zeros((height, length, 3), np.float32)
    alpha = np.zeros((height, length), np.float32)
    body = _poly(_BODY, length, height)
    cabin = _poly(_CABIN, length, height)
    for poly in (body, cabin):
        cv2.fillPoly(img, [poly], colour, cv2.LINE_AA)
        cv2.fillPoly(alpha, [poly], 1.0, cv2.LINE_AA)
    # paint shading: lighter roof, darker sills, a highlight crease along the body
    shade = np.linspace(1.15, 0.78, height, dtype=np.float32)[:, None, None]
    img *= shade
    crease = round(0.46 * (height - 1))
    cv2.line(img, (round(0.03 * length), crease), (round(0.97 * length), crease),
             tuple(min(255.0, c * 1.25 + 20) for c in colour), 2, cv2.LINE_AA)
    glass = (70, 58, 48)
    for window in (_REAR_WINDOW, _FRONT_WINDOW):
        cv2.fillPoly(img, [_poly(window, length, height)], glass, cv2.LINE_AA)
    # the runner's head behind the front side window
    head = (round(0.60 * length), round(0.22 * height))
    cv2.ellipse(img, head, (max(2, round(0.035 * length)), max(3, round(0.10 * height))), 0, 0, 360,
                (120, 150, 200), -1, cv2.LINE_AA)
    cv2.ellipse(img, (head[0], head[1] - round(0.05 * height)),
                (max(2, round(0.037 * length)), max(2, round(0.06 * height))), 0, 180, 360, (25, 25, 30), -1)
    door = round(0.50 * (length - 1))
    cv2.line(img, (door, round(0.38 * height)), (door, round(0.76 * height)), (20, 20, 20), 1)
    cv2.rectangle(img, (round(0.95 * length), round(0.47 * height)), (length - 1, round(0.54 * height)),
                  (170, 235, 245), -1)  # headlamp
    cv2.rectangle(img, (0, round(0.47 * height)), (round(0.035 * length), round(0.54 * height)),
                  (40, 40, 200), -1)  # tail lamp
    # plate-like rectangle: blue with white character strokes (a Chinese small-car plate)
    u0, v0, u1, v1 = PLATE_BOX
    pa = (round(u0 * (length - 1)), round(v0 * (height - 1)))
    pb = (round(u1 * (length - 1)), round(v1 * (height - 1)))
    cv2.rectangle(img, pa, pb, (165, 70, 20), -1)
    rng = np.random.default_rng(plate_text_seed)
    step = max(2, (pb[0] - pa[0] - 2) // 7)
    for k in range(7):
        x = pa[0] + 2 + k * step
        if rng.random() < 0.5:
            cv2.line(img, (x, pa[1] + 2), (x, pb[1] - 2), (240, 240, 240), 1)
        else:
            cv2.rectangle(img, (x, pa[1] + 2), (x + max(1, step - 2), pb[1] - 2), (240, 240, 240), 1)
    for cu, cv_ in _WHEELS:
        centre = (round(cu * (length - 1)), round(cv_ * (height - 1)))
        radius = max(3, round(_WHEEL_RADIUS * height))
        cv2.circle(img, centre, radius, (24, 24, 26), -1, cv2.LINE_AA)
        cv2.circle(img, centre, max(2, radius * 11 // 20), (150, 152, 155), -1, cv2.LINE_AA)
        cv2.circle(alpha, centre, radius, 1.0, -1, cv2.LINE_AA)
    # soft shadow on the floor under and behind the car
    sw, sh = round(length * 1.2), max(6, round(height * 0.35))
    shadow = np.zeros((sh, sw), np.float32)
    cv2.ellipse(shadow, (sw // 2, sh // 2), (round(length * 0.55), max(2, round(sh * 0.3))), 0, 0, 360,
                0.55, -1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, sh * 0.18))
    offset = (round((length - sw) / 2), round(height * 0.80) - sh // 2)
    return CarSprite(image=img, alpha=np.clip(alpha, 0, 1), shadow=shadow, shadow_offset=offset)


def blend_region(canvas: np.ndarray, layer: np.ndarray, x: int, y: int) -> tuple[slice, slice, slice, slice] | None:
    """Clip a layer placed at (x, y) to the canvas: (canvas rows, cols, layer rows, cols)."""
    h, w = layer.shape[:2]
    ch, cw = canvas.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(cw, x + w), min(ch, y + h)
    if x0 >= x1 or y0 >= y1:
        return None
    return slice(y0, y1), slice(x0, x1), slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)


def draw_car(canvas: np.ndarray, sprite: CarSprite, x: int, y: int) -> None:
    """Composite a car (shadow first) with its sprite's top-left at canvas pixel (x, y)."""
    sx, sy = x + sprite.shadow_offset[0], y + sprite.shadow_offset[1]
    region = blend_region(canvas, sprite.shadow, sx, sy)
    if region:
        cr, cc, lr, lc = region
        canvas[cr, cc] *= (1.0 - sprite.shadow[lr, lc])[..., None]
    region = blend_region(canvas, sprite.alpha, x, y)
    if region:
        cr, cc, lr, lc = region
        a = sprite.alpha[lr, lc][..., None]
        canvas[cr, cc] = canvas[cr, cc] * (1.0 - a) + sprite.image[lr, lc] * a
