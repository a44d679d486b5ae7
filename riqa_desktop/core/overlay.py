"""Draw a quality map over a photo so it reads at a glance, the same way everywhere.

- smooth: the 16 x 16 grid is upsampled bicubically and softened by half a cell,
  inside the field of view only, so no squares show and nothing bleeds outside;
- colour-blind-safe (cividis) and never colour alone: transparency rises with
  the value (fine areas stay untouched) and an optional contour, a light line on
  a dark one, outlines where the map crosses the decision threshold;
- used by the HTML report, `riqa assess --maps` and the GUI (which draws the
  same values and contour with its own LUT).
"""

from __future__ import annotations

import numpy as np

from . import imageops

FINE = 8  # smooth-grid samples per grid cell


def smooth_grid(grid: np.ndarray) -> np.ndarray:
    """(G, G) patch grid -> (8G, 8G) smooth field in [0, 1], 0 outside the inscribed circle."""
    g = np.nan_to_num(np.asarray(grid, np.float32), nan=0.0)
    n = g.shape[0] * FINE
    up = imageops.resize(g, (n, g.shape[1] * FINE), "cubic")
    up = imageops.gaussian_blur(up, FINE / 2)
    yy, xx = np.mgrid[:n, :n]
    c = (n - 1) / 2
    inside = np.clip((n / 2 - np.hypot(xx - c, yy - c)) / 2.0, 0.0, 1.0)  # a soft rim, two samples wide
    return (np.clip(up, 0.0, 1.0) * inside).astype(np.float32)


def contour_mask(values: np.ndarray, level: float, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(light line, dark outline) boolean masks where `values` crosses `level`."""
    h, w = values.shape[:2]
    width = width or max(1, round(max(h, w) / 400))
    # The region's edge pixels (outer and hole borders, and where it meets the frame), widened to a line.
    edge = imageops.boundary(values >= level).astype(np.uint8)

    def line(t: int) -> np.ndarray:
        return imageops.dilate(edge, imageops.ellipse_kernel(2 * (t // 2) + 1)) > 0

    return line(width), line(width + 2)


def colorize(values: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> (H, W, 3) uint8 RGB with OpenCV's cividis map."""
    v = np.clip(values * 255.0, 0, 255).astype(np.uint8)
    return imageops.CIVIDIS[v]


def blend(rgb: np.ndarray, values: np.ndarray, opacity: float = 0.65, level: float | None = None) -> np.ndarray:
    """Photo with the map on top (alpha = opacity * value) and, with `level`, its contour."""
    if values.shape != rgb.shape[:2]:
        values = imageops.resize(values, (rgb.shape[1], rgb.shape[0]), "linear")
    alpha = (np.clip(values, 0, 1) * opacity)[..., None]
    out = rgb.astype(np.float32) * (1 - alpha) + colorize(values).astype(np.float32) * alpha
    out = np.clip(out, 0, 255).astype(np.uint8)
    if level is not None:
        light, dark = contour_mask(values, level)
        out[dark] = (20, 20, 20)
        out[light] = (255, 255, 255)
    return out


def decision_level() -> float:
    """The map level the advice calls "marked degraded" (calibrated, see core/mapregions)."""
    from .mapregions import thresholds

    return float(thresholds()["cell"])


def contour_rgba(values: np.ndarray, level: float) -> np.ndarray:
    """The contour alone as an RGBA layer (transparent elsewhere), for the GUI to stack on its map."""
    light, dark = contour_mask(values, level)
    out = np.zeros((*values.shape[:2], 4), np.uint8)
    out[dark] = (20, 20, 20, 230)
    out[light] = (255, 255, 255, 255)
    return out
