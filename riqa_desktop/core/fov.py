"""Find the circular (or cut-circle) field of view of a fundus photo.

Method (measured on every shared photo by tests/test_fov.py):
1. Work on a copy whose longer side is 512 px, on the brightest channel.
2. Background level = median of the four corner patches; the FOV is what is
   clearly brighter than it (an adaptive threshold, so grey borders and very dark
   photos work).
3. Keep the largest connected component (drops burned-in text such as
   DRIMDB's green timestamp, and specks), fill its holes. Also let it grow
   (hysteresis) into connected pixels just above the background's noise; when
   that changes the circle clearly, a lid shadow or dark crescent had cut the
   field, and the grown circle is used.
4. Fit a circle (least squares, with outlier rejection) to the component's
   boundary points that are not on the image border (cut circles: the flat top
   and bottom are skipped) and not on a straight horizontal cut.
If no plausible circle is found the whole frame is used and `found` is False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import imageops
from .pixels import brightest

WORK_SIDE = 512


@dataclass(frozen=True)
class FieldOfView:
    """A circle in the coordinates of the array it was found on."""

    cx: float
    cy: float
    r: float
    width: int
    height: int
    found: bool = True

    def scaled(self, f: float, width: int, height: int) -> "FieldOfView":
        return FieldOfView(self.cx * f, self.cy * f, self.r * f, width, height, self.found)

    def mask(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Boolean mask of the FOV, cut to the frame (shape defaults to the photo's)."""
        h, w = shape if shape else (self.height, self.width)
        yy, xx = np.ogrid[:h, :w]
        return (xx - self.cx) ** 2 + (yy - self.cy) ** 2 <= self.r**2

    @property
    def visible_fraction(self) -> float:
        """Share of the full circle that lies inside the frame (cut circles < 1).

        The pixels of `mask()`, counted per row from the chord instead of tested one by one.
        """
        half = np.sqrt(np.maximum(self.r**2 - (np.arange(self.height) - self.cy) ** 2, 0.0))
        lo = np.maximum(np.ceil(self.cx - half), 0)
        hi = np.minimum(np.floor(self.cx + half), self.width - 1)
        rows = np.abs(np.arange(self.height) - self.cy) <= self.r
        return float(np.maximum(hi - lo + 1, 0)[rows].sum()) / max(np.pi * self.r**2, 1.0)

    def as_dict(self) -> dict:
        return {"cx": round(self.cx, 2), "cy": round(self.cy, 2), "r": round(self.r, 2), "found": self.found}


def detect_fov(rgb: np.ndarray) -> FieldOfView:
    """The field of view of an (H, W, 3) uint8 photo, in its own pixel coordinates."""
    h, w = rgb.shape[:2]
    f = WORK_SIDE / max(h, w)
    small = imageops.shrink_to(rgb, f) if f < 1 else rgb
    f = small.shape[1] / w
    fov = _detect_small(small)
    return fov.scaled(1.0 / f, w, h)


def _thresholds(v: np.ndarray) -> tuple[float, float]:
    """(strong, weak): the strong level finds the field; the weak one lets it grow into dark parts."""
    sh, sw = v.shape
    c = max(4, min(sh, sw) // 20)
    corners = np.concatenate([v[:c, :c].ravel(), v[:c, -c:].ravel(), v[-c:, :c].ravel(), v[-c:, -c:].ravel()])
    bg = float(np.median(corners))
    noise = float(np.percentile(corners, 95)) - bg
    hi = float(np.percentile(v, 90))
    strong = bg + max(4.0, 0.2 * (hi - bg))
    weak = min(strong, bg + max(10.0, 3.0 * noise + 4.0))
    return strong, weak


def _detect_small(small: np.ndarray) -> FieldOfView:
    sh, sw = small.shape[:2]
    v = imageops.gaussian_blur(brightest(small), ksize=5).astype(np.float32)
    whole = FieldOfView(sw / 2, sh / 2, float(np.hypot(sw, sh) / 2), sw, sh, found=False)
    strong, weak = _thresholds(v)
    mask = imageops.opening((v > strong).astype(np.uint8), 5)
    n, labels = imageops.label(mask)
    if n <= 1:
        return whole
    areas = np.bincount(labels.ravel(), minlength=n)
    best = 1 + int(np.argmax(areas[1:]))
    if areas[best] < 0.05 * sh * sw:
        return whole
    strong_comp = (labels == best).astype(np.uint8)
    circle = _circle_of(strong_comp, sw, sh)
    # Hysteresis: grow into connected, darker parts of the field. The grown circle is used only
    # when it differs clearly (a lid shadow or dark crescent cut the strong field); otherwise the
    # strong circle stands, exactly as the shipped models were trained on. weak <= strong, so the
    # weak mask holds the strong component, all of it in one weak component: the one at its first pixel.
    low = imageops.opening((v > weak).astype(np.uint8), 5)
    _, low_labels = imageops.label(low)
    grown = (low_labels == low_labels.flat[int(np.argmax(strong_comp))]).astype(np.uint8)
    if np.count_nonzero(grown) > areas[best]:  # the same pixels give the same circle
        grown_circle = _circle_of(grown, sw, sh)
        if grown_circle is not None and (circle is None or _differs(circle, grown_circle)):
            circle = grown_circle
    if circle is None:
        return whole
    return FieldOfView(*circle, sw, sh)


def _differs(a: tuple[float, float, float], b: tuple[float, float, float], tol: float = 0.02) -> bool:
    """Circles whose centres or radii differ by more than `tol` of the radius."""
    r = max(a[2], b[2])
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2])) > tol * r


def _circle_of(comp: np.ndarray, sw: int, sh: int) -> tuple[float, float, float] | None:
    """A plausible circle fitted to a component's hull boundary (frame edges and straight cuts skipped)."""
    filled = imageops.fill_convex(imageops.mask_hull(comp), comp.shape)
    by, bx = np.divmod(np.flatnonzero(imageops.boundary(filled)), sw)  # np.nonzero is 10x slower in 2-D
    pts = np.column_stack([bx, by]).astype(np.float64)
    x, y = pts[:, 0], pts[:, 1]
    on_border = (x <= 1) | (y <= 1) | (x >= sw - 2) | (y >= sh - 2)
    pts = _drop_straight_cuts(pts[~on_border])
    if len(pts) < 20:
        return None
    circle = _robust_circle(pts)
    if circle is None:
        return None
    cx, cy, r = circle
    area = float(filled.sum())
    inside = FieldOfView(cx, cy, r, sw, sh).mask()
    overlap = float((inside & filled.astype(bool)).sum())
    plausible = (
        0.15 * min(sh, sw) < r < 0.75 * max(sh, sw)
        and -0.25 * sw < cx < 1.25 * sw
        and -0.25 * sh < cy < 1.25 * sh
        and overlap > 0.85 * area
        and overlap > 0.8 * float(inside.sum())
    )
    return (float(cx), float(cy), float(r)) if plausible else None


def _drop_straight_cuts(pts: np.ndarray) -> np.ndarray:
    """Remove long horizontal or vertical straight runs (cut circles, notches)."""
    keep = np.ones(len(pts), bool)
    for axis in (0, 1):
        vals, counts = np.unique(np.round(pts[:, 1 - axis]), return_counts=True)
        for v, c in zip(vals, counts):
            if c > 15:
                keep &= np.abs(pts[:, 1 - axis] - v) > 1.5
    return pts[keep]


def _fit(pts: np.ndarray) -> tuple[float, float, float] | None:
    x, y = pts[:, 0], pts[:, 1]
    a = np.column_stack([x, y, np.ones_like(x)])
    b = x**2 + y**2
    try:
        sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    except np.linalg.LinAlgError:
        return None
    cx, cy = sol[0] / 2, sol[1] / 2
    r2 = sol[2] + cx**2 + cy**2
    if r2 <= 0:
        return None
    return float(cx), float(cy), float(np.sqrt(r2))


def _robust_circle(pts: np.ndarray) -> tuple[float, float, float] | None:
    circle = _fit(pts)
    for _ in range(4):
        if circle is None:
            return None
        cx, cy, r = circle
        d = np.abs(np.hypot(pts[:, 0] - cx, pts[:, 1] - cy) - r)
        tol = max(2.0, 2.5 * float(np.median(d)))
        inl = pts[d < tol]
        if len(inl) < 20 or len(inl) == len(pts):
            break
        pts = inl
        circle = _fit(pts)
    return circle
