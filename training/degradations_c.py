"""A third, independent generator of whole-photo defects ("C"), trained on beside generator A.

A model that saw one generator learns that generator. Generator A
(`degradations.py`) edits display values with hand-made curves and kernels;
generator B (`degradations_physical.py`) follows Shen et al.'s image-formation
model and is held out from every training step. C is written separately again,
with other shape and physics models, so the detail heads learn each family from
two unlike implementations and are measured on a third they never saw:

- illumination: flash energy lost in linear light with sensor noise and a lifted
  black level; a filmic shoulder of over-exposure that drains colour; a tilted
  gain plane (the beam entering off-axis); a bright ring halo from the pupil edge.
- clarity: an annular (doughnut) defocus kernel as aberrated optics make; a
  random-walk camera-shake kernel; a pyramid round trip that loses fine detail.
- contrast: a milky veil made of the photo's own low frequencies (forward
  scatter); faded luminance about a local mean with colour loss; a flattened
  tone curve on a lifted floor.

Contract as A and B: uint8 (S, S, 3) FOV square in, only pixels inside the
inscribed circle change, deterministic given the Generator and the severity;
attribute X is bad when severity >= KINDS[kind][1][X]. `sample` matches
`degradations.sample`: (square, kind or None, severity, labels, grade).
"""

from __future__ import annotations

import cv2
import numpy as np

ATTRIBUTES = ("illumination", "clarity", "contrast")

KINDS = {  # kind -> (family, {attribute: severity threshold})
    "flash_loss": ("illumination", {"illumination": 0.35}),
    "filmic_wash": ("illumination", {"illumination": 0.35, "contrast": 0.75}),
    "tilted_beam": ("illumination", {"illumination": 0.35}),
    "pupil_halo": ("illumination", {"illumination": 0.4}),
    "ring_defocus": ("clarity", {"clarity": 0.3}),
    "shake": ("clarity", {"clarity": 0.3}),
    "detail_loss": ("clarity", {"clarity": 0.35}),
    "milky_scatter": ("contrast", {"contrast": 0.35, "clarity": 0.55}),
    "faded": ("contrast", {"contrast": 0.4}),
    "flat_tone": ("contrast", {"contrast": 0.4}),
}
BAND = 0.07  # severities this close to a threshold are borderline: never sampled
REJECT_SEVERITY = 0.75


def labels(kind: str, severity: float) -> dict[str, bool]:
    t = KINDS[kind][1]
    return {a: bool(a in t and severity >= t[a]) for a in ATTRIBUTES}


def grade(kind: str | None, severity: float) -> int:
    """0 Good / 1 Usable / 2 Reject, by the same rule as generator A's photos."""
    if kind is None or not any(labels(kind, severity).values()):
        return 0
    return 2 if severity >= REJECT_SEVERITY else 1


def sample_severity(kind: str, rng: np.random.Generator) -> float:
    while True:
        s = float(rng.uniform(0.0, 1.0))
        if all(abs(s - t) >= BAND for t in KINDS[kind][1].values()):
            return s


def sample(square: np.ndarray, rng: np.random.Generator, p_clean: float = 0.2):
    if rng.uniform() < p_clean:
        return square, None, 0.0, {a: False for a in ATTRIBUTES}, 0
    kind = list(KINDS)[int(rng.integers(len(KINDS)))]
    s = sample_severity(kind, rng)
    return apply(square, kind, s, rng), kind, s, labels(kind, s), grade(kind, s)


# ---------------------------------------------------------------- helpers

def _field(size: int) -> np.ndarray:
    """1 inside the inscribed circle, else 0 (float32)."""
    r = np.hypot(*np.meshgrid(np.arange(size) - (size - 1) / 2, np.arange(size) - (size - 1) / 2))
    return (r <= size / 2).astype(np.float32)


def _polar(size: int):
    """Radius in field radii and angle, per pixel."""
    v = (np.arange(size, dtype=np.float32) - (size - 1) / 2) / (size / 2)
    x, y = np.meshgrid(v, v)
    return np.hypot(x, y), np.arctan2(y, x), x, y


def _convolve_in_field(img: np.ndarray, field: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Normalised convolution: the black surround contributes no light."""
    k = (kernel / kernel.sum()).astype(np.float32)
    num = cv2.filter2D(img * field[..., None], -1, k, borderType=cv2.BORDER_CONSTANT)
    den = cv2.filter2D(field, -1, k, borderType=cv2.BORDER_CONSTANT)
    return num / np.maximum(den, 1e-4)[..., None]


def _field_blur(img: np.ndarray, field: np.ndarray, sigma: float) -> np.ndarray:
    num = cv2.GaussianBlur(img * field[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(field, (0, 0), sigma)
    return num / np.maximum(den, 1e-4)[..., None]


def _luma(x: np.ndarray) -> np.ndarray:
    return x @ np.array([0.299, 0.587, 0.114], np.float32)


def _with_luma(x: np.ndarray, new_luma: np.ndarray, chroma_keep: float = 1.0) -> np.ndarray:
    """Replace luminance, keep (a share of) each pixel's colour difference."""
    y = _luma(x)[..., None]
    return new_luma[..., None] + chroma_keep * (x - y)


# ---------------------------------------------------------------- kinds

def _flash_loss(x, s, rng, field):
    lin = x ** 2.4
    lin = lin * (0.02 + 0.98 * (1 - s) ** 2.5)
    noise = rng.normal(0, 1, x.shape).astype(np.float32) * np.sqrt(np.maximum(lin, 0) * 0.002 * s + 1e-5 * s)
    out = np.clip(lin + noise, 0, 1) ** (1 / 2.4)
    return out * (1 - 0.06 * s) + 0.05 * s  # the sensor's floor shows once the signal is weak


def _filmic_wash(x, s, rng, field):
    exposure = 1 + 12 * s ** 2
    lin = x ** 2.4 * exposure
    shoulder = lin / (1 + lin) * (1 + 1 / exposure)  # filmic roll-off, white at the top
    out = np.clip(shoulder, 0, 1) ** (1 / 2.4)
    return _with_luma(out, _luma(out), chroma_keep=1 - 0.7 * s)


def _tilted_beam(x, s, rng, field):
    size = x.shape[0]
    _, _, xx, yy = _polar(size)
    a = rng.uniform(0, 2 * np.pi)
    d = xx * np.cos(a) + yy * np.sin(a)  # -1 .. 1 across the field
    gain = np.clip(1 - min(0.97, 1.6 * s) * np.clip((d + 1) / 2, 0, 1) ** 1.3, 0.03, 1)
    return x * gain[..., None]


def _pupil_halo(x, s, rng, field):
    r, th, _, _ = _polar(x.shape[0])
    r0 = rng.uniform(0.55, 0.85)
    width = rng.uniform(0.08, 0.18)
    ring = np.exp(-((r - r0) / width) ** 2)
    arc = 0.5 + 0.5 * np.cos(th - rng.uniform(-np.pi, np.pi))  # brighter on one side of the ring
    light = (ring * (0.4 + 0.6 * arc) * 0.9 * s ** 1.5)[..., None] * np.array([0.95, 0.9, 1.0], np.float32)
    return 1 - (1 - x) * np.exp(-light * 2.2)  # screen-like: adds light, never darkens


def _ring_defocus(x, s, rng, field):
    radius = 0.6 + 5.2 * s * x.shape[0] / 256
    n = int(np.ceil(radius)) * 2 + 3
    c = (n - 1) / 2
    rr = np.hypot(*np.meshgrid(np.arange(n) - c, np.arange(n) - c))
    k = np.clip(radius + 0.5 - rr, 0, 1) * (0.35 + 0.65 * np.clip(rr / max(radius, 1e-3), 0, 1))  # brighter rim
    return _convolve_in_field(x, field, k)


def _shake(x, s, rng, field):
    length = 1 + 14 * s * x.shape[0] / 256
    steps = 24
    heading = rng.uniform(0, 2 * np.pi)
    pts = [np.zeros(2)]
    for _ in range(steps):
        heading += rng.normal(0, 0.35)
        pts.append(pts[-1] + length / steps * np.array([np.cos(heading), np.sin(heading)]))
    pts = np.array(pts) - np.mean(pts, axis=0)
    n = int(np.ceil(np.abs(pts).max())) * 2 + 3
    k = np.zeros((n, n), np.float32)
    for px, py in pts:
        cv2.circle(k, (int(round(px + n // 2)), int(round(py + n // 2))), 0, 1.0, -1)
    return _convolve_in_field(x, field, cv2.GaussianBlur(k, (0, 0), 0.5))


def _detail_loss(x, s, rng, field):
    size = x.shape[0]
    levels = 1 + s * 2.6  # 2 ** levels times smaller, then back
    small = max(8, int(round(size / 2 ** levels)))
    filled = _field_blur(x, field, 1.0) * (1 - field[..., None]) + x * field[..., None]
    down = cv2.resize(filled, (small, small), interpolation=cv2.INTER_AREA)
    return cv2.resize(down, (size, size), interpolation=cv2.INTER_CUBIC)


def _milky_scatter(x, s, rng, field):
    glow = _field_blur(x, field, x.shape[0] * 0.12)
    veil = np.array([0.82, 0.78, 0.72], np.float32) * (0.6 + 0.4 * _luma(glow)[..., None])
    a = 0.78 * s
    return (1 - a) * _field_blur(x, field, 0.2 + 1.8 * s) + a * (0.5 * veil + 0.5 * glow)


def _faded(x, s, rng, field):
    mean = _field_blur(x, field, x.shape[0] * 0.25)
    k = 1 - 0.85 * s
    y = _luma(mean) + k * (_luma(x) - _luma(mean))
    return _with_luma(x, y, chroma_keep=1 - 0.6 * s)


def _flat_tone(x, s, rng, field):
    floor = 0.22 * s
    gamma = 1 + 1.4 * s  # shadows lifted, highlights kept: a flat, low-slope tone curve
    y = _luma(x)
    ny = floor + (1 - floor) * (1 - (1 - np.clip(y, 0, 1)) ** gamma) * (1 - 0.45 * s)
    return _with_luma(x, ny, chroma_keep=1 - 0.4 * s)


_APPLY = {"flash_loss": _flash_loss, "filmic_wash": _filmic_wash, "tilted_beam": _tilted_beam,
          "pupil_halo": _pupil_halo, "ring_defocus": _ring_defocus, "shake": _shake, "detail_loss": _detail_loss,
          "milky_scatter": _milky_scatter, "faded": _faded, "flat_tone": _flat_tone}


def apply(square: np.ndarray, kind: str, severity: float, rng: np.random.Generator) -> np.ndarray:
    field = _field(square.shape[0])
    x = square.astype(np.float32) / 255.0
    y = _APPLY[kind](x, float(severity), rng, field)
    y = np.clip(y, 0, 1) * field[..., None] + x * (1 - field[..., None])
    return (y * 255 + 0.5).astype(np.uint8)
