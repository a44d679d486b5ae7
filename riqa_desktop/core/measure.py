"""Brightness, sharpness and contrast per region of the field of view.

The advice engine reads these to say *where* a photo is too dark or blurred
in words a photographer uses. Measured on the FOV square (model input), so
they are independent of the camera's resolution.

Regions: upper, lower, left, right (of the picture), centre (inner 40 % of
the radius) and edge (outer ring beyond 80 %), plus the whole field.
Brightness is the mean of the brightest channel (0-255); sharpness is the
mean absolute Laplacian of the green channel (vessel detail); contrast is the
standard deviation of the green channel. `occluder` is the share of each
region covered by something in the light path (dust on the lens, lashes): see
`occluders`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import imageops
from .pixels import brightest


def region_masks(size: int) -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    c = (size - 1) / 2
    dx, dy = (xx - c) / (size / 2), (yy - c) / (size / 2)
    r = np.hypot(dx, dy)
    inside = r <= 0.97
    ang = np.degrees(np.arctan2(dy, dx))  # 0 = right, 90 = down (image y grows downwards)
    body = inside & (r > 0.4)
    return {
        "upper": body & (ang < -45) & (ang > -135),
        "lower": body & (ang > 45) & (ang < 135),
        "left": body & ((ang > 135) | (ang < -135)),
        "right": body & (ang > -45) & (ang < 45),
        "centre": r <= 0.4,
        "edge": inside & (r > 0.8),
        "whole": inside,
    }


@lru_cache(maxsize=4)
def _region_pixels(size: int) -> dict[str, np.ndarray]:
    """Flat pixel indices of each region: taking them is several times faster than a boolean mask."""
    return {name: np.flatnonzero(m) for name, m in region_masks(size).items() if m.any()}


def measure_regions(square: np.ndarray) -> dict:
    """{region: {"brightness", "sharpness", "contrast"}} plus glare and dark fractions."""
    regions = _region_pixels(square.shape[0])
    bright = brightest(square).astype(np.float32).ravel()
    green = square[..., 1].astype(np.float32)
    lap = np.abs(imageops.laplacian(imageops.gaussian_blur(green, ksize=3))).ravel()
    green = green.ravel()
    out: dict = {}
    for name, idx in regions.items():
        out[name] = {
            "brightness": round(float(bright[idx].mean()), 2),
            "sharpness": round(float(lap[idx].mean()), 3),
            "contrast": round(float(green[idx].std()), 2),
        }
    whole = bright[regions["whole"]]
    out["glare_fraction"] = round(float((whole >= 250).mean()), 4)
    out["dark_fraction"] = round(float((whole < 25).mean()), 4)
    out.update(occluders(square))
    return out


def visible_brightness(measurements: dict, visible_fraction: float | None) -> float:
    """The whole field's brightness over its visible part: a circle cut by the frame pads the square with black."""
    vis = float(visible_fraction or 1.0)
    return float(measurements["whole"]["brightness"]) / max(min(vis, 1.0), 0.3)


OCCLUDER_SIDE = 128  # measured on the square reduced to about this size
OCCLUDER_DARK = 0.8  # red at most this share of its surroundings' red
OCCLUDER_SIGMA = 10 / 256  # the surroundings: a Gaussian of this share of the square
OCCLUDER_WIDTH = 6 / 256  # structures narrower than this (the red channel's few vessels) are not counted
STREAK_ELONGATION = 3.0  # a component this many times longer than wide is a lash, not a speck


def occluders(square: np.ndarray) -> dict:
    """{"occluder": {region: share}, "occluder_streak": share}: dark, broad structures in the red channel.

    The retina shows little of its own detail in red (vessels and lesions are dark in
    green), while dust on the lens or a lash in the beam darkens every channel alike.
    So pixels whose red is well below their surroundings' (a normalised blur inside
    the field), in structures wider than a vessel, are something in the way.
    `occluder_streak` is the share of them in long thin components: lashes.
    """
    f = max(1, square.shape[0] // OCCLUDER_SIDE)  # specks stay several pixels wide; the blurs cost far less
    size = square.shape[0] // f
    sq = square[: size * f, : size * f]
    red = sum(sq[i::f, j::f, 0].astype(np.float32) for i in range(f) for j in range(f)) / (f * f) + 1.0
    field = imageops.erode((brightest(sq[::f, ::f]) > 20).astype(np.uint8) * _inner(size),
                           imageops.ellipse_kernel(5)).astype(np.float32)
    sigma = OCCLUDER_SIGMA * size
    inside = red[field > 0]
    capped = np.minimum(red, np.percentile(inside, 90)) if inside.size else red  # a reflex lights no surroundings
    around = imageops.gaussian_blur(capped * field, sigma) / (imageops.gaussian_blur(field, sigma) + 1e-3)
    dark = ((red < OCCLUDER_DARK * around) & (field > 0)).astype(np.uint8)
    k = max(3, int(round(OCCLUDER_WIDTH * size)) | 1)
    dark = imageops.opening(dark, imageops.ellipse_kernel(k))
    regions = _region_pixels(size)
    flat = dark.ravel()
    out = {"occluder": {name: round(float(flat[idx].mean()), 4) for name, idx in regions.items()}}
    n, labels = imageops.label(dark)
    streak = 0.0
    if n > 1 and flat.any():
        lab = labels.ravel()
        yy, xx = np.divmod(np.arange(lab.size, dtype=np.float64), size)
        area = np.bincount(lab, minlength=n)[1:].astype(np.float64)
        mom = [np.bincount(lab, weights=v, minlength=n)[1:] / area for v in (xx, yy, xx * xx, yy * yy, xx * yy)]
        vx, vy, cxy = mom[2] - mom[0] ** 2, mom[3] - mom[1] ** 2, mom[4] - mom[0] * mom[1]
        root = np.sqrt(((vx - vy) / 2) ** 2 + cxy ** 2)
        major, minor = (vx + vy) / 2 + root, np.maximum((vx + vy) / 2 - root, 0.25)
        streak = float(area[np.sqrt(major / minor) >= STREAK_ELONGATION].sum() / area.sum())
    out["occluder_streak"] = round(streak, 3)
    return out


@lru_cache(maxsize=4)
def _inner(size: int) -> np.ndarray:
    """The square's inscribed disc short of its rim (where the field's own edge darkens)."""
    yy, xx = np.mgrid[:size, :size]
    return (np.hypot(xx - (size - 1) / 2, yy - (size - 1) / 2) < 0.465 * size).astype(np.uint8)
