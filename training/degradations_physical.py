"""A second, independent degradation generator: image formation in linear light.

`training/degradations.py` (generator "A") edits display values with hand-made
curves and kernels. This generator ("B") follows the degradation model of
Shen et al., "Modeling and enhancing low-quality retinal fundus images"
(IEEE TMI 2020): a photo is the retina's reflectance seen through the
illumination (gain field, exposure), the optics (a Gaussian point-spread
function, loss of resolution) and the media (a scattering veil, I = J t + A (1 - t)),
plus light spots added by reflections. Written from the paper's description
only, with its own parameters, so a model trained on one generator can be
tested on the other (leave-one-generator-out, `training/multitask/heldout.py`).

Same contract as generator A: uint8 (S, S, 3) FOV square in, only pixels in the
inscribed circle change, deterministic given the Generator and the severity;
attribute A is bad when severity >= THRESHOLDS[kind][A].
"""

from __future__ import annotations

import cv2
import numpy as np

ATTRIBUTES = ("illumination", "clarity", "contrast")
GAMMA = 2.2  # display <-> linear light

KINDS = {  # kind -> (family, {attribute: severity threshold})
    "vignette": ("illumination", {"illumination": 0.35}),  # light falls off from an off-centre pupil
    "exposure_clip": ("illumination", {"illumination": 0.35}),  # over-exposed in linear light, clipped, desaturated
    "reflex_spot": ("illumination", {"illumination": 0.35}),  # a flat-topped white reflection, anywhere
    "gaussian_psf": ("clarity", {"clarity": 0.3}),  # optics out of focus: Gaussian point-spread function
    "resolution_loss": ("clarity", {"clarity": 0.35}),  # detail lost to a small sensor / strong downscale
    "scatter_veil": ("contrast", {"contrast": 0.35, "clarity": 0.5}),  # cataract: I = J t + A (1 - t)
    "luminance_flat": ("contrast", {"contrast": 0.5}),  # local luminance contrast compressed
}
BAND = 0.07


def labels(kind: str, severity: float) -> dict[str, bool]:
    t = KINDS[kind][1]
    return {a: (a in t and severity >= t[a]) for a in ATTRIBUTES}


def bad_severity(kind: str, rng: np.random.Generator) -> float:
    """A severity clearly above the kind's first threshold (the defect is meant to be seen)."""
    t = min(KINDS[kind][1].values())
    return float(rng.uniform(t + BAND, 1.0))


def mild_severity(kind: str, rng: np.random.Generator) -> float:
    """A severity clearly below every threshold (the photo should still pass)."""
    t = min(KINDS[kind][1].values())
    return float(rng.uniform(0.0, t - BAND))


def _grid(size: int):
    v = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    return np.meshgrid(v, v)


def _inside(size: int) -> np.ndarray:
    x, y = _grid(size)
    return x * x + y * y <= 1.0


def _to_linear(u8: np.ndarray) -> np.ndarray:
    return (u8.astype(np.float32) / 255.0) ** GAMMA


def _to_u8(lin: np.ndarray) -> np.ndarray:
    return (np.clip(lin, 0, 1) ** (1 / GAMMA) * 255.0 + 0.5).astype(np.uint8)


def _smooth_noise(size: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    g = rng.normal(0, 1, (cells + 2, cells + 2)).astype(np.float32)
    f = cv2.resize(g, (size, size), interpolation=cv2.INTER_LINEAR)
    f = cv2.GaussianBlur(f, (0, 0), size / (2 * cells))
    return (f - f.mean()) / (f.std() + 1e-6)


def _blur_inside(lin: np.ndarray, inside: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the field only, renormalised so the black surround does not darken the rim."""
    w = inside.astype(np.float32)
    num = cv2.GaussianBlur(lin * w[..., None], (0, 0), sigma).reshape(lin.shape)  # cv2 drops a 1-channel axis
    den = cv2.GaussianBlur(w, (0, 0), sigma)
    return num / np.maximum(den, 1e-4)[..., None]


def _luma(lin: np.ndarray) -> np.ndarray:
    return lin @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def apply(square: np.ndarray, kind: str, severity: float, rng: np.random.Generator) -> np.ndarray:
    s = float(np.clip(severity, 0, 1))
    size = square.shape[0]
    inside = _inside(size)
    J = _to_linear(square)
    x, y = _grid(size)
    if kind == "vignette":
        cx, cy = rng.uniform(-0.6, 0.6, 2)
        d2 = (x - cx) ** 2 + (y - cy) ** 2
        gain = np.exp(-d2 * (0.3 + 5.0 * s)) * (1 - 0.75 * s) + 0.02
        I = J * gain[..., None]
    elif kind == "exposure_clip":
        I = J * (1 + 9 * s)  # exposure in linear light saturates the sensor
        grey = _luma(np.clip(I, 0, 1))[..., None]
        I = np.clip(I, 0, 1) * (1 - 0.6 * s) + grey * 0.6 * s
    elif kind == "reflex_spot":
        cx, cy = rng.uniform(-0.6, 0.6, 2)
        r = 0.15 + 0.4 * s
        d = np.sqrt(((x - cx) / r) ** 2 + ((y - cy) / (r * rng.uniform(0.7, 1.3))) ** 2)
        profile = 1 / (1 + d ** 6)  # flat top, soft shoulder
        tint = np.array([1.0, 0.97, 0.9], np.float32)
        I = J + (0.3 + 1.2 * s) * profile[..., None] * tint
    elif kind == "gaussian_psf":
        I = _blur_inside(J, inside, 0.3 + s * size / 45)
    elif kind == "resolution_loss":
        side = max(8, int(round(size / (1 + 9 * s))))
        small = cv2.resize(J, (side, side), interpolation=cv2.INTER_AREA)
        I = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    elif kind == "scatter_veil":
        density = np.clip(0.6 + 0.25 * _smooth_noise(size, rng, 3), 0.1, 1.0)
        t = np.exp(-density * 2.5 * s)[..., None]
        A = np.array([0.75, 0.62, 0.42], np.float32) * rng.uniform(0.5, 0.8)
        I = _blur_inside(J, inside, 0.5 + s * size / 120) * t + A * (1 - t)
    elif kind == "luminance_flat":
        L = _luma(J)[..., None]
        local = _blur_inside(L, inside, size / 12)
        k = 1 - 0.85 * s
        I = J / np.maximum(L, 1e-4) * np.maximum(local + (L - local) * k, 0) * (1 - 0.3 * s) + 0.3 * s * local
    else:
        raise ValueError(f"unknown degradation kind '{kind}' (known: {', '.join(KINDS)})")
    out = square.copy()
    out[inside] = _to_u8(I)[inside]
    return out
