"""A second, independent generator of local defects, held out from calibration.

`training.degradations.apply_local` (generator A) calibrates the advice's map
thresholds; this one only reports, so the figures say how the advice does on
defects drawn differently from anything it was tuned on. Written separately:
shapes are drawn as polygons / ellipses with OpenCV and blended in linear
light, none of generator A's helpers are used.

`apply_b(square, kind, rng)` -> (uint8 square, float32 mask in [0, 1]); the mask
is how strongly each pixel was changed, 0 outside the FOV circle.
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS_B = ("lid_shadow", "edge_crescent", "glare_spot", "local_blur", "lash_shadow", "dust")


def _fov(size: int) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    cv2.circle(m, (size // 2, size // 2), size // 2 - 1, 1, -1)
    return m.astype(np.float32)


def _feather(mask: np.ndarray, frac: float) -> np.ndarray:
    k = max(1.0, frac * mask.shape[0])
    return cv2.GaussianBlur(mask, (0, 0), k)


def _lid(size: int, rng) -> np.ndarray:
    """Upper lid: a polygon whose lower edge sags like a lid margin."""
    depth = rng.uniform(0.3, 0.5) * size
    xs = np.linspace(-0.1 * size, 1.1 * size, 24)
    sag = depth + rng.uniform(0.05, 0.15) * size * np.cos((xs / size - 0.5 + rng.uniform(-0.1, 0.1)) * np.pi)
    pts = np.concatenate([[[xs[0], 0]], np.stack([xs, sag], 1), [[xs[-1], 0]]]).astype(np.int32)
    m = np.zeros((size, size), np.float32)
    cv2.fillPoly(m, [pts], 1.0)
    return _feather(m, 0.03) * rng.uniform(0.7, 0.9)


def _crescent(size: int, rng) -> np.ndarray:
    """Pupil misaligned: the FOV minus an ellipse pushed away from one side."""
    ang = rng.uniform(0, 2 * np.pi)
    shift = rng.uniform(0.3, 0.5) * size
    lit = np.zeros((size, size), np.float32)
    centre = (int(size / 2 - np.cos(ang) * shift), int(size / 2 - np.sin(ang) * shift))
    axes = (int(size * rng.uniform(0.62, 0.75)), int(size * rng.uniform(0.62, 0.75)))
    cv2.ellipse(lit, centre, axes, np.degrees(ang), 0, 360, 1.0, -1)
    return _feather(1.0 - lit, 0.04) * rng.uniform(0.75, 0.92)


def _spot(size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Reflex: a saturated ellipse with a fainter halo; returns (mask, whiteness weight)."""
    c = (rng.uniform(0.25, 0.75, 2) * size).astype(int)
    a = int(rng.uniform(0.07, 0.14) * size)
    core = np.zeros((size, size), np.float32)
    cv2.ellipse(core, (int(c[0]), int(c[1])), (a, int(a * rng.uniform(0.6, 1.0))), rng.uniform(0, 180), 0, 360, 1.0, -1)
    halo = _feather(core, 0.06)
    m = np.clip(np.maximum(_feather(core, 0.01), 1.6 * halo), 0, 1)
    return m, m


def _patch(size: int, rng) -> np.ndarray:
    """Local blur: a feathered ellipse somewhere in the field."""
    m = np.zeros((size, size), np.float32)
    c = (rng.uniform(0.3, 0.7, 2) * size).astype(int)
    axes = (int(rng.uniform(0.15, 0.25) * size), int(rng.uniform(0.12, 0.22) * size))
    cv2.ellipse(m, (int(c[0]), int(c[1])), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    return _feather(m, 0.03)


def _lashes(size: int, rng) -> np.ndarray:
    """Curved dark lashes from the top edge (quadratic curves, thick at the root)."""
    m = np.zeros((size, size), np.float32)
    for _ in range(int(rng.integers(5, 12))):
        x0 = rng.uniform(0.2, 0.8) * size
        bend = rng.uniform(-0.2, 0.2) * size
        length = rng.uniform(0.35, 0.6) * size
        t = np.linspace(0, 1, 20)
        pts = np.stack([x0 + bend * t**2, length * t], 1).astype(np.int32)
        cv2.polylines(m, [pts], False, 1.0, max(2, int(size * 0.02)), cv2.LINE_AA)
    return np.clip(_feather(m, 0.012) * 2.0, 0, 1) * rng.uniform(0.7, 0.85)


def _dust(size: int, rng) -> np.ndarray:
    """Dust on the lens: a cluster of out-of-focus grey discs in one part of the field."""
    m = np.zeros((size, size), np.float32)
    c = rng.uniform(0.3, 0.7, 2) * size
    for _ in range(int(rng.integers(4, 9))):
        p = c + rng.normal(0, 0.08, 2) * size
        cv2.circle(m, (int(p[0]), int(p[1])), int(rng.uniform(0.025, 0.05) * size), float(rng.uniform(0.6, 0.9)), -1)
    return np.clip(_feather(m, 0.008), 0, 1)


def apply_b(square: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Generator B: one local defect of `kind` on a uint8 FOV square -> (square, mask)."""
    size = square.shape[0]
    fov = _fov(size)
    lin = (square.astype(np.float32) / 255.0) ** 2.2  # blend in linear light
    if kind == "lid_shadow":
        mask = _lid(size, rng)
        out = lin * (1 - mask)[..., None]
    elif kind == "edge_crescent":
        mask = _crescent(size, rng) * fov
        out = lin * (1 - mask)[..., None]
    elif kind == "glare_spot":
        mask, w = _spot(size, rng)
        white = np.array([1.0, 0.98, 0.96], np.float32)
        out = lin * (1 - w[..., None]) + white * w[..., None]
    elif kind == "local_blur":
        mask = _patch(size, rng)
        sigma = size * rng.uniform(0.012, 0.02)
        soft = cv2.GaussianBlur(lin * fov[..., None], (0, 0), sigma) / np.maximum(
            cv2.GaussianBlur(fov, (0, 0), sigma), 1e-3)[..., None]
        out = lin * (1 - mask[..., None]) + soft * mask[..., None]
    elif kind == "lash_shadow":
        mask = _lashes(size, rng)
        out = lin * (1 - mask)[..., None]
    elif kind == "dust":
        mask = _dust(size, rng)
        out = lin * (1 - 0.8 * mask)[..., None]
    else:
        raise ValueError(f"unknown generator-B defect '{kind}' (known: {', '.join(KINDS_B)})")
    res = np.clip(out, 0, 1) ** (1 / 2.2) * 255.0 + 0.5
    inside = fov > 0
    final = square.copy()
    final[inside] = res[inside].astype(np.uint8)
    return final, (np.clip(mask, 0, 1) * fov).astype(np.float32)
