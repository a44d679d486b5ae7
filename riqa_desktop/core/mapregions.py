"""Where the EFIQA map says a photo is degraded, and what the photo looks like there.

The shipped EFIQA map is high on every photo's macula and disc (few vessels
there), so the advice reads it against a clean photo's map and together with
the photo's own look per cell: a logistic combination (weights calibrated by
`python -m training.advice_calibrate` on held-out photos, stored in
`resources/advice/map_thresholds.json`, never set by hand) of the map, its
excess over the clean baseline, and the cell's darkness, whiteness and loss of
detail against the rest of the field. Each region's score is the peak of the
3x3-smoothed combination inside it (a small spot counts as much as a wide
band; one noisy cell does not), compared with that region's threshold. The
look of the marked cells then tells a shadow from a reflex from blur.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import imageops, pixels
from .measure import region_masks

if TYPE_CHECKING:  # annotations only: assessment -> overlay -> mapregions must not loop back
    from .assessment import Assessment

REGIONS = ("upper", "lower", "left", "right", "centre")
SIDES = ("upper", "lower", "left", "right")


@lru_cache(maxsize=1)
def thresholds() -> dict:
    """The calibrated thresholds: {"region": {r: t}, "cell": t, "large_share": f, ...}."""
    from ..resources import resources_dir

    return json.loads((resources_dir() / "advice" / "map_thresholds.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _masks(g: int) -> dict[str, np.ndarray]:
    m = region_masks(g)
    return {r: m[r] for r in (*REGIONS, "edge", "whole")}


@lru_cache(maxsize=4)
def _radius(g: int) -> np.ndarray:
    c = (g - 1) / 2
    yy, xx = np.mgrid[:g, :g]
    return np.hypot(xx - c, yy - c) / (g / 2)


def smoothed(grid: np.ndarray, field: np.ndarray | None = None) -> np.ndarray:
    """3x3 mean of the grid over the field's cells only (black corners and padding do not dilute the rim)."""
    g = np.nan_to_num(np.asarray(grid, np.float32), nan=0.0)
    inside = (_masks(g.shape[0])["whole"] if field is None else field).astype(np.float32)
    num = imageops.box_blur(g * inside, 3)
    den = imageops.box_blur(inside, 3)
    return np.where(inside > 0, num / np.maximum(den, 1e-3), 0.0).astype(np.float32)


@dataclass
class MapEvidence:
    """Per-region scores of one photo's map, and the share of its field marked degraded."""

    smooth: np.ndarray
    score: dict[str, float]
    excess: dict[str, float]  # score / threshold: > 1 means the region is marked degraded
    degraded_share: float  # of the FOV cells where the EFIQA map itself is over the contour level
    cal: dict
    looks: "Looks | None"

    def marked(self) -> list[str]:
        """Regions over their threshold, most degraded first: by score, a probability comparable across
        regions (the thresholds differ by region, so excess would put a low-threshold region first)."""
        return sorted((r for r in REGIONS if self.excess[r] > 1.0), key=lambda r: (-self.score[r], REGIONS.index(r)))

    def worst(self) -> str:
        return max(REGIONS, key=lambda r: (self.excess[r], -REGIONS.index(r)))

    def hot_cells(self, region: str) -> np.ndarray:
        """Cells of `region` the map marks (at least its peak cell)."""
        m = _masks(self.smooth.shape[0])[region] & field_cells(self.looks, self.smooth.shape[0])
        if not m.any():
            m = _masks(self.smooth.shape[0])[region]
        t = self.cal["region"][region]
        hot = m & (self.smooth > t)
        if not hot.any():
            hot = m & (self.smooth >= self.smooth[m].max())
        return hot

    def ring_round(self) -> bool:
        """Marked all round the rim (three or more sides), not in one place."""
        edge = _masks(self.smooth.shape[0])["edge"]
        hot_edge = edge & (self.smooth > min(self.cal["region"].values()))
        return sum(bool((hot_edge & _masks(self.smooth.shape[0])[s]).any()) for s in SIDES) >= 3 \
            and hot_edge.sum() >= 0.5 * edge.sum()


def evidence(a: Assessment, cal: dict | None = None) -> MapEvidence | None:
    """Region scores of the photo's map (None without a usable one); `cal` overrides the file."""
    if a.quality_map is None or a.quality_map.grid is None:
        return None
    g = np.nan_to_num(np.asarray(a.quality_map.grid, np.float32), nan=0.0)
    cal = cal or thresholds()
    if g.ndim != 2 or g.shape != np.asarray(cal["baseline"]).shape:
        return None
    lk = looks(a, g.shape[0])
    field = field_cells(lk, g.shape[0])
    s = smoothed(combined(g, lk, cal), field)
    masks = _masks(g.shape[0])
    score = {r: float(s[masks[r] & field].max()) if (masks[r] & field).any() else 0.0 for r in REGIONS}
    excess = {r: score[r] / max(float(cal["region"][r]), 1e-3) for r in REGIONS}
    share = float((smoothed(g, field)[field] > cal["cell"]).mean()) if field.any() else 0.0
    return MapEvidence(s, score, excess, share, cal, lk)


@dataclass
class Looks:
    """The photo resampled onto the map's grid: brightest channel and whiteness per cell."""

    bright: np.ndarray  # 0-255
    white: np.ndarray  # min channel over max channel: ~1 for a white reflex, low on a red fundus
    sharp: np.ndarray  # mean |Laplacian| of green per unit brightness (vessel detail)
    darkest: np.ndarray  # the cell's darkest 2x2 sample block (lashes, dust darken only part of a cell)
    visible: np.ndarray  # cells that hold photo, not the padding of a cut circle beyond the photo's edge


def looks(a: Assessment, g: int) -> Looks | None:
    """Cell statistics from the thumbnail, placed with the map's geometry (None without them)."""
    th = a.thumbnail
    if th is None or th.ndim != 3 or th.shape[2] != 3 or a.quality_map is None:
        return None
    geo = a.quality_map.geometry
    f = th.shape[1] / max(geo.orig_width, 1)
    n = 8 * g  # 8x8 samples per cell: enough for the larger vessels
    scale = geo.side * f / n
    if scale <= 0:
        return None
    m = np.array([[scale, 0, geo.x0 * f], [0, scale, geo.y0 * f]], np.float64)
    sq = imageops.warp_affine(th.astype(np.float32), m, (n, n), inverse=True)
    mx, mn = pixels.brightest(sq), pixels.darkest(sq)
    photo = (mx > 0).astype(np.float32)  # padding beyond a cut circle's edge is exactly black
    area = np.maximum(imageops.resize(photo, (g, g)), 1e-3)
    bright = imageops.resize(mx, (g, g)) / area  # mean over the photo's samples only
    white = imageops.resize(mn, (g, g)) / area / np.maximum(bright, 1.0)
    lap = np.abs(imageops.laplacian(sq[..., 1]))
    sharp = imageops.resize(lap, (g, g)) / np.maximum(bright, 8.0) * 100
    # Each cell's darkest 4x4 block of quarter-cell samples, about its first sample (a min filter, every 4th).
    quarter = imageops.resize(np.where(mx > 0, mx, bright.max()), (4 * g, 4 * g))
    darkest = imageops.resize(imageops.erode(quarter, 4), (g, g), "nearest")
    visible = area > 0.5
    return Looks(bright, white, sharp, darkest, visible)


def field_cells(lk: Looks | None, g: int) -> np.ndarray:
    """The FOV cells that show the photo (all FOV cells when the photo is not at hand)."""
    whole = _masks(g)["whole"]
    return whole & lk.visible if lk is not None else whole


NEAR_WHITE = 0.65  # whiteness (min channel over max) of a reflex; the optic disc, yellow, stays near 0.5
FEATURES = ("map", "map_over_clean", "darker", "whiter", "less_detail", "rim", "near_white", "dark_part")


def features(grid: np.ndarray, lk: Looks | None, baseline: np.ndarray) -> np.ndarray:
    """(G, G, len(FEATURES)) per-cell evidence; without the photo's look, those terms are 0."""
    g = grid.shape[0]
    whole = field_cells(lk, g)
    s = smoothed(grid, whole)
    f = np.zeros((g, g, len(FEATURES)), np.float32)
    f[..., 0] = s
    f[..., 1] = s - baseline
    f[..., 5] = np.clip(_radius(g) - 0.7, 0, None)
    if lk is not None and whole.any():
        b = np.log((lk.bright + 4) / (np.median(lk.bright[whole]) + 4))
        f[..., 2] = np.clip(-b, 0, None)
        f[..., 3] = np.clip(lk.white - np.median(lk.white[whole]), 0, None) * (b > 0)
        sh = np.log((lk.sharp + 0.5) / (np.median(lk.sharp[whole]) + 0.5))
        f[..., 4] = np.clip(-sh, 0, None)
        f[..., 6] = np.clip(lk.white - NEAR_WHITE, 0, None) * (b > 0)
        f[..., 7] = np.clip(-np.log((lk.darkest + 4) / (np.median(lk.bright[whole]) + 4)), 0, None)
    return f * whole[..., None]


def combined(grid: np.ndarray, lk: Looks | None, cal: dict) -> np.ndarray:
    """Per-cell probability that the photo is degraded there (logistic over `features`)."""
    f = features(grid, lk, np.asarray(cal["baseline"], np.float32))
    z = f @ np.asarray(cal["weights"], np.float32) + float(cal["bias"])
    p = 1 / (1 + np.exp(-np.clip(z, -30, 30)))
    return (p * field_cells(lk, grid.shape[0])).astype(np.float32)


def cause(ev: MapEvidence, region: str) -> str:
    """"dark" (shadow, crescent, lashes, dust), "bright" (glare, reflex) or "blur" in a marked region."""
    lk = ev.looks
    if lk is None:
        return "blur"
    cal = ev.cal
    whole = field_cells(lk, ev.smooth.shape[0])
    hot = ev.hot_cells(region)
    rest = whole & ~(ev.smooth > min(cal["region"].values()))
    if rest.sum() < 8:
        rest = whole & ~hot
    ref_b = float(np.median(lk.bright[rest])) if rest.any() else float(np.median(lk.bright[whole]))
    ref_w = float(np.median(lk.white[rest])) if rest.any() else float(np.median(lk.white[whole]))
    b = float(np.quantile(lk.bright[hot], 0.3))  # the darker cells: lashes darken only stripes
    w = float(lk.white[hot].max())
    if w > max(ref_w + cal["white_gain"], NEAR_WHITE) and b > ref_b:
        return "bright"
    if b < cal["dark_ratio"] * ref_b:
        return "dark"
    return "blur"


def at_rim(ev: MapEvidence, region: str) -> bool:
    """The marked cells reach the edge of the field (a crescent), rather than lying inside it."""
    hot = ev.hot_cells(region)
    return bool(_radius(ev.smooth.shape[0])[hot].mean() > 0.62)
