"""Synthetic, physically motivated degradations of a good fundus photo's FOV square.

No shared dataset has real illumination / clarity / contrast labels, so the
detail labels come from controlled degradations of good photos: the label is a
documented function of the degradation's kind and continuous severity.

Every function takes a uint8 (S, S, 3) FOV square as made by
`riqa_desktop.core.preprocess.prepare` (black outside the inscribed circle),
changes only pixels inside the circle, and is deterministic given its
`np.random.Generator` and severity. numpy + cv2 only; ~1 ms per 256 px square.

Label rule (`LABEL_THRESHOLDS`): attribute A is bad when `severity >= t[kind][A]`;
kinds not listed for A never make A bad. Severities within `AMBIGUOUS_BAND` of a
threshold are visually borderline: samplers used for training and evaluation
(`sample_severity`) skip them so labels are unambiguous.
Overall grade of a synthetic photo (`synthetic_grade`): Good when no attribute
is bad, Reject when `severity >= REJECT_SEVERITY` for a kind that makes something
bad, Usable in between (one defect, clearly visible, photo still readable).
"""

from __future__ import annotations

import cv2
import numpy as np

ATTRIBUTES = ("illumination", "clarity", "contrast")

GLOBAL_KINDS = (
    "underexposure",  # too little light / short exposure: darker, crushed shadows
    "overexposure",  # too much flash: washed out towards white, clipped highlights
    "edge_crescent",  # pupil misalignment: dark crescent entering from one edge
    "lid_shadow",  # upper lid hangs into the beam: dark band from the top, ragged edge
    "lash_shadow",  # lashes in the beam: soft dark stripes from the top
    "central_glare",  # corneal / lens reflex: bright bluish-white haze at the centre
    "defocus",  # wrong focus: disc point-spread function
    "motion",  # eye or camera moved during exposure: line point-spread function
    "haze",  # cataract / media opacity: milky veil plus scatter blur
    "low_contrast",  # flat exposure: values compressed towards the mean
    "dust",  # dust or smudges on the lens: soft dark blobs
)

# kind -> {attribute: severity threshold at and above which it is "bad"}.
LABEL_THRESHOLDS: dict[str, dict[str, float]] = {
    "underexposure": {"illumination": 0.35},
    "overexposure": {"illumination": 0.35, "contrast": 0.7},
    "edge_crescent": {"illumination": 0.35},
    "lid_shadow": {"illumination": 0.35},
    "lash_shadow": {"illumination": 0.45},
    "central_glare": {"illumination": 0.35},
    "defocus": {"clarity": 0.3},
    "motion": {"clarity": 0.3},
    "haze": {"clarity": 0.35, "contrast": 0.35},
    "low_contrast": {"contrast": 0.35},
    "dust": {"clarity": 0.5},
}
AMBIGUOUS_BAND = 0.07
REJECT_SEVERITY = 0.75

LOCAL_KINDS = ("sector_shadow", "blur_region", "glare_spot", "lash_shadow", "edge_crescent")


def labels(kind: str, severity: float) -> dict[str, bool]:
    """{attribute: bad?} for a degradation of `kind` at `severity` (see LABEL_THRESHOLDS)."""
    t = LABEL_THRESHOLDS[kind]
    return {a: (a in t and severity >= t[a]) for a in ATTRIBUTES}


def synthetic_grade(kind: str | None, severity: float) -> int:
    """Overall grade 0 Good / 1 Usable / 2 Reject of a synthetic degradation."""
    if kind is None or not any(labels(kind, severity).values()):
        return 0
    return 2 if severity >= REJECT_SEVERITY else 1


def sample_severity(kind: str, rng: np.random.Generator) -> float:
    """A severity in [0, 1] outside the ambiguous band around each of the kind's thresholds."""
    while True:
        s = float(rng.uniform(0.0, 1.0))
        if all(abs(s - t) >= AMBIGUOUS_BAND for t in LABEL_THRESHOLDS[kind].values()):
            return s


# ---------------------------------------------------------------- helpers

def _disc(size: int) -> np.ndarray:
    yy, xx = np.ogrid[:size, :size]
    c = (size - 1) / 2
    return ((xx - c) ** 2 + (yy - c) ** 2 <= (size / 2) ** 2).astype(np.float32)


def _coords(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1] (x right, y down)."""
    v = (np.arange(size, dtype=np.float32) - (size - 1) / 2) / (size / 2)
    return np.meshgrid(v, v)


def _smoothstep(e0, e1, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / np.maximum(e1 - e0, 1e-6), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _masked_filter(img: np.ndarray, disc: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve inside the FOV only (normalised), so the black surround does not bleed in."""
    k = kernel / kernel.sum()
    num = cv2.filter2D(img * disc[..., None], -1, k, borderType=cv2.BORDER_CONSTANT)
    den = cv2.filter2D(disc, -1, k, borderType=cv2.BORDER_CONSTANT)
    return num / np.maximum(den, 1e-4)[..., None]


def _masked_gauss(img: np.ndarray, disc: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return img
    num = cv2.GaussianBlur(img * disc[..., None], (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    den = cv2.GaussianBlur(disc, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return num / np.maximum(den, 1e-4)[..., None]


def _disc_kernel(radius: float) -> np.ndarray:
    r = max(radius, 0.5)
    n = int(np.ceil(r)) * 2 + 1
    yy, xx = np.mgrid[:n, :n] - n // 2
    # Anti-aliased edge: coverage falls linearly over one pixel.
    return np.clip(r + 0.5 - np.sqrt(xx**2 + yy**2), 0, 1).astype(np.float32)


def _line_kernel(length: float, angle: float) -> np.ndarray:
    n = int(np.ceil(length)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    dx, dy = np.cos(angle) * (length - 1) / 2, np.sin(angle) * (length - 1) / 2
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
    if k.sum() == 0:
        k[c, c] = 1
    return k


def _lowfreq(size: int, rng: np.random.Generator, cells: int = 4) -> np.ndarray:
    """Smooth random field in [0, 1]."""
    g = rng.uniform(0, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _edge_gain(size: int, angle: float, reach: float, depth: float, softness: float) -> np.ndarray:
    """Multiplicative gain of a crescent: the lit area is a disc shifted away from `angle`.

    A misaligned pupil lights a disc that no longer covers the FOV; the part it
    misses (reach ~ how far the shadow enters along `angle`, in FOV radii) goes dark.
    """
    xx, yy = _coords(size)
    ux, uy = np.cos(angle), np.sin(angle)
    dist = np.sqrt((xx + reach * ux) ** 2 + (yy + reach * uy) ** 2)
    return 1.0 - depth * _smoothstep(1.0 - softness, 1.0 + 0.2 * softness, dist)


def _stripes(size: int, rng: np.random.Generator, n: int, length: float) -> np.ndarray:
    """Soft dark-stripe map in [0, 1]: lashes hanging from the top edge."""
    m = np.zeros((size, size), np.float32)
    for _ in range(n):
        x0 = rng.uniform(0.15, 0.85) * size
        ang = np.pi / 2 + rng.uniform(-0.5, 0.5)
        ln = rng.uniform(0.5, 1.0) * length * size
        x1, y1 = x0 + np.cos(ang) * ln, np.sin(ang) * ln
        th = max(1, int(rng.uniform(0.012, 0.03) * size))
        cv2.line(m, (int(x0), 0), (int(x1), int(y1)), float(rng.uniform(0.6, 1.0)), th, cv2.LINE_AA)
    return cv2.GaussianBlur(m, (0, 0), size / 60).clip(0, 1)


# ---------------------------------------------------------------- global kinds

def _apply_float(x: np.ndarray, disc: np.ndarray, kind: str, s: float, rng: np.random.Generator) -> np.ndarray:
    size = x.shape[0]
    if kind == "underexposure":
        return (x * (1.0 - 0.75 * s)) ** (1.0 + 1.0 * s)
    if kind == "overexposure":
        y = 1.0 - (1.0 - x) ** (1.0 + 3.0 * s)
        return y + (1.0 - y) * 0.45 * s
    if kind == "edge_crescent":
        g = _edge_gain(size, rng.uniform(0, 2 * np.pi), 0.1 + 0.8 * s, 0.55 + 0.4 * s, 0.3)
        return x * g[..., None]
    if kind == "lid_shadow":
        xx, yy = _coords(size)
        # Lid margin: a gently curved, slightly tilted edge coming down from the top.
        edge = -1.0 + 1.1 * s + 0.25 * xx**2 + rng.uniform(-0.2, 0.2) * xx
        edge = edge + 0.04 * np.sin(xx * rng.uniform(3, 7) + rng.uniform(0, 6.3))
        shade = 1 - _smoothstep(edge - 0.25, edge + 0.05, yy)
        return x * (1.0 - (0.6 + 0.35 * s) * shade)[..., None]
    if kind == "lash_shadow":
        m = _stripes(size, rng, 3 + int(8 * s), 0.35 + 0.5 * s)
        return x * (1.0 - (0.35 + 0.55 * s) * m)[..., None]
    if kind == "central_glare":
        xx, yy = _coords(size)
        cx, cy = rng.uniform(-0.25, 0.25, 2)
        sig = 0.2 + 0.25 * s
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sig**2))
        tint = np.array([0.9, 0.95, 1.0], np.float32)
        a = (0.95 * s * blob)[..., None]
        return x * (1 - a) + a * tint
    if kind == "defocus":
        return _masked_filter(x, disc, _disc_kernel(0.5 + s * size / 40))
    if kind == "motion":
        return _masked_filter(x, disc, _line_kernel(1 + s * size / 16, rng.uniform(0, np.pi)))
    if kind == "haze":
        y = _masked_gauss(x, disc, s * size / 150)
        veil = (0.45 + 0.3 * _lowfreq(size, rng))[..., None] * np.array([1.0, 0.88, 0.62], np.float32)
        a = 0.8 * s
        return y * (1 - a) + veil * a
    if kind == "low_contrast":
        mean = (x * disc[..., None]).sum((0, 1)) / max(disc.sum(), 1)
        return mean + (x - mean) * (1.0 - 0.85 * s)
    if kind == "dust":
        m = np.zeros((size, size), np.float32)
        for _ in range(2 + int(round(16 * s))):
            c = rng.uniform(0.15, 0.85, 2) * size
            cv2.circle(m, (int(c[0]), int(c[1])), max(1, int(rng.uniform(0.012, 0.04) * size)),
                       float(rng.uniform(0.4, 0.8)), -1, cv2.LINE_AA)
        m = cv2.GaussianBlur(m, (0, 0), size / 120).clip(0, 1)
        return x * (1 - m)[..., None]
    raise ValueError(f"unknown degradation kind '{kind}' (known: {', '.join(GLOBAL_KINDS)})")


def _finish(x: np.ndarray, square: np.ndarray, disc: np.ndarray) -> np.ndarray:
    out = np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
    inside = disc > 0
    res = square.copy()
    res[inside] = out[inside]
    return res


def apply(square: np.ndarray, kind: str, severity: float, rng: np.random.Generator) -> np.ndarray:
    """Degrade the FOV of a uint8 (S, S, 3) square; severity 0 is (almost) the identity."""
    s = float(np.clip(severity, 0.0, 1.0))
    disc = _disc(square.shape[0])
    x = square.astype(np.float32) / 255.0
    return _finish(_apply_float(x, disc, kind, s, rng), square, disc)


def sample(square: np.ndarray, rng: np.random.Generator, kinds=GLOBAL_KINDS, p_clean: float = 0.2):
    """One random training example: (square, kind or None, severity, labels, grade)."""
    if rng.uniform() < p_clean:
        return square, None, 0.0, {a: False for a in ATTRIBUTES}, 0
    kind = kinds[int(rng.integers(len(kinds)))]
    s = sample_severity(kind, rng)
    return apply(square, kind, s, rng), kind, s, labels(kind, s), synthetic_grade(kind, s)


# ---------------------------------------------------------------- local kinds (EFIQA maps)

def apply_local(square: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A clearly visible degradation in one region: (uint8 square, float32 (S, S) mask in [0, 1]).

    The mask is how strongly each pixel was degraded (1 = fully), 0 outside the FOV.
    """
    size = square.shape[0]
    disc = _disc(size)
    x = square.astype(np.float32) / 255.0
    xx, yy = _coords(size)
    if kind == "sector_shadow":
        centre, width = rng.uniform(-np.pi, np.pi), rng.uniform(0.6, 1.6)
        ang = np.angle(np.exp(1j * (np.arctan2(yy, xx) - centre)))
        sector = 1 - _smoothstep(width / 2 - 0.25, width / 2 + 0.25, np.abs(ang))
        radial = _smoothstep(0.15, 0.5, np.sqrt(xx**2 + yy**2))
        deg = sector * radial * rng.uniform(0.75, 0.95)
        y = x * (1 - deg)[..., None]
    elif kind == "blur_region":
        cx, cy = rng.uniform(-0.45, 0.45, 2)
        r = rng.uniform(0.25, 0.45)
        deg = 1 - _smoothstep(r * 0.7, r, np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2))
        blurred = _masked_filter(x, disc, _disc_kernel(size / 35))
        y = x * (1 - deg)[..., None] + blurred * deg[..., None]
    elif kind == "glare_spot":
        cx, cy = rng.uniform(-0.55, 0.55, 2)
        sig = rng.uniform(0.08, 0.18)
        deg = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sig**2))
        y = x * (1 - 0.95 * deg[..., None]) + 0.95 * deg[..., None] * np.array([0.92, 0.95, 1.0], np.float32)
    elif kind == "lash_shadow":
        deg = _stripes(size, rng, int(rng.integers(4, 10)), rng.uniform(0.5, 0.9)) * 0.85
        y = x * (1 - deg)[..., None]
    elif kind == "edge_crescent":
        deg = 1 - _edge_gain(size, rng.uniform(0, 2 * np.pi), rng.uniform(0.4, 0.8), 1.0, 0.25)
        deg *= rng.uniform(0.75, 0.95)
        y = x * (1 - deg)[..., None]
    else:
        raise ValueError(f"unknown local degradation '{kind}' (known: {', '.join(LOCAL_KINDS)})")
    mask = (np.clip(deg, 0, 1) * disc).astype(np.float32)
    return _finish(y, square, disc), mask
