"""A third, independent generator of local defects (generator C), for training the EFIQA adapter.

Generator A (`training.degradations.apply_local`) and C train and calibrate;
generator B (`training.local_defects_b`) stays held out and only reports, so the
figures say how the map does on defects drawn by a model it never saw.
Written apart from A and B (none of their helpers): each defect is a small
optical model evaluated on a normalised coordinate grid in linear light.

- lid_shadow: an opaque smooth occluder (a lid margin modelled as a tilted
  parabola) whose shadow edge has a penumbra (the erf of the signed distance,
  width set by the defocus of the lid), with a warm cast of light through skin;
- edge_crescent: a decentred pupil: the illumination is the overlap of the
  camera's annulus with a shifted pupil disc, so one rim darkens in a
  crescent, and the opposite rim may get a hazy orange reflex from the iris;
- glare_spot: a corneal / lens reflex added in light and saturated
  (1 - (1 - x) exp(-k I)), I a Gaussian core with an optional ring and streak;
- local_blur: a depth-of-field model: the blur radius varies smoothly across
  the field (a tilted focus plane or a defocused bump), rendered by blending a
  stack of PSF (pillbox) convolutions per pixel;
- lash_shadow: eyelashes in front of the pupil: thin dark curved strokes
  (cubic Bezier curves), strongly out of focus, so each is a soft dark band;
- dust: specks on the lens: small dark (absorbing) or bright (scattering)
  blobs, out of focus (ring-shaped bokeh for the larger ones), in a patch of
  the field.

`apply_c(square, kind, rng)` -> (uint8 square, float32 mask in [0, 1]); the mask
is how strongly each pixel was changed, 0 outside the FOV circle.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

KINDS_C = ("lid_shadow", "edge_crescent", "glare_spot", "local_blur", "lash_shadow", "dust")
GAMMA = 2.2


def _grid(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised coordinates in [-1, 1] (x right, y down) and the FOV indicator r <= 1."""
    t = (np.arange(n, dtype=np.float32) + 0.5) / n * 2.0 - 1.0
    x, y = np.meshgrid(t, t)
    return x, y, (x * x + y * y <= 1.0).astype(np.float32)


def _erf(z: np.ndarray) -> np.ndarray:
    """Vectorised erf (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7)."""
    s = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def _rotate(x, y, ang):
    c, s = math.cos(ang), math.sin(ang)
    return c * x + s * y, -s * x + c * y


def _lid(x, y, rng):
    """Transmission of a lid (upper most often, lower sometimes) with a defocused penumbra."""
    side = 0.0 if rng.random() < 0.75 else math.pi  # 0: from the top
    tilt = rng.normal(0.0, 0.25)
    u, v = _rotate(x, y, side + tilt)  # v < 0 towards the lid
    margin = -1.0 + rng.uniform(0.35, 0.85)  # how far the lid reaches into the field
    curve = rng.uniform(0.15, 0.55)
    edge = margin + curve * (u - rng.uniform(-0.3, 0.3)) ** 2  # margin sags in the middle
    pen = rng.uniform(0.04, 0.14)  # penumbra half-width (normalised units)
    occl = 0.5 * (1.0 - _erf((v - edge) / pen))  # 1 behind the lid, 0 in the clear
    floor = rng.uniform(0.05, 0.3)  # light leaking through the lid
    trans = 1.0 - (1.0 - floor) * occl
    tint = np.array([1.0, rng.uniform(0.7, 0.9), rng.uniform(0.55, 0.8)], np.float32)  # skin passes red
    gain = trans[..., None] * (1.0 - occl[..., None] * (1.0 - tint) * 0.5)
    return gain, 1.0 - trans


def _crescent(x, y, rng):
    """Decentred pupil: illuminated share of each point falls off beyond a shifted rim."""
    ang = rng.uniform(0, 2 * math.pi)
    shift = rng.uniform(0.25, 0.6)
    cx, cy = shift * math.cos(ang), shift * math.sin(ang)
    radius = rng.uniform(0.95, 1.15)  # pupil image radius, in FOV radii
    soft = rng.uniform(0.04, 0.1)
    d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    lit = 1.0 / (1.0 + np.exp((d - radius) / soft))  # logistic rim of the overlap
    lit = lit / max(float(lit.max()), 1e-6)
    depth = rng.uniform(0.85, 0.98)
    dark = depth * (1.0 - lit)
    gain = (1.0 - dark)[..., None] * np.ones(3, np.float32)
    add = np.zeros(x.shape + (3,), np.float32)
    if rng.random() < 0.4:  # iris reflex on the far rim
        far = np.sqrt((x + cx) ** 2 + (y + cy) ** 2)
        haze = np.exp(-np.clip(1.05 - far, 0, None) / 0.08) * (far <= 1.0) * rng.uniform(0.03, 0.08)
        add = haze[..., None] * np.array([1.0, 0.55, 0.25], np.float32)
    return gain, add, dark


def _reflex(x, y, rng):
    """Intensity of a reflex: Gaussian core, sometimes a ring and a streak."""
    cx, cy = rng.uniform(-0.6, 0.6, 2)
    sx, sy = rng.uniform(0.05, 0.16), rng.uniform(0.05, 0.16)
    u, v = _rotate(x - cx, y - cy, rng.uniform(0, math.pi))
    inten = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    if rng.random() < 0.5:
        r0, w = rng.uniform(1.3, 2.2) * max(sx, sy), rng.uniform(0.02, 0.05)
        inten = inten + 0.5 * np.exp(-0.5 * ((np.sqrt(u * u + v * v) - r0) / w) ** 2)
    if rng.random() < 0.3:
        inten = inten + 0.35 * np.exp(-0.5 * ((v / 0.015) ** 2 + (u / (4 * sx)) ** 2))
    return inten.astype(np.float32)


def _pillbox(radius: float) -> np.ndarray:
    r = max(radius, 0.5)
    n = int(math.ceil(r)) * 2 + 1
    t = np.arange(n, dtype=np.float32) - n // 2
    xx, yy = np.meshgrid(t, t)
    k = np.clip(r + 0.5 - np.sqrt(xx * xx + yy * yy), 0, 1)
    return (k / k.sum()).astype(np.float32)


def _dof_blur(lin, fov, x, y, rng):
    """Blur radius field (pixels) and the image rendered through it."""
    n = lin.shape[0]
    rmax = rng.uniform(0.012, 0.025) * n
    if rng.random() < 0.5:  # tilted focus plane: sharp on one side, blurred towards the other
        ang = rng.uniform(0, 2 * math.pi)
        u = x * math.cos(ang) + y * math.sin(ang)
        start = rng.uniform(-0.1, 0.4)
        field = np.clip((u - start) / rng.uniform(0.3, 0.6), 0, 1)
    else:  # a defocused bump (a local bulge out of the focal plane)
        cx, cy = rng.uniform(-0.5, 0.5, 2)
        s = rng.uniform(0.2, 0.4)
        field = np.exp(-0.5 * ((x - cx) ** 2 + (y - cy) ** 2) / s**2)
        field = np.clip((field - 0.15) / 0.85, 0, 1)
    radius = field * rmax
    levels = np.linspace(0, rmax, 6)
    stack = [lin]
    for r in levels[1:]:
        k = _pillbox(r)
        num = cv2.filter2D(lin * fov[..., None], -1, k, borderType=cv2.BORDER_CONSTANT)
        den = cv2.filter2D(fov, -1, k, borderType=cv2.BORDER_CONSTANT)
        stack.append(num / np.maximum(den, 1e-3)[..., None])
    pos = radius / (levels[1] - levels[0])
    lo = np.clip(np.floor(pos).astype(int), 0, len(levels) - 2)
    frac = (pos - lo)[..., None]
    st = np.stack(stack)
    rows, cols = np.indices(lo.shape)
    out = st[lo, rows, cols] * (1 - frac) + st[lo + 1, rows, cols] * frac
    return out, field


def _bezier(p: np.ndarray, m: int = 40) -> np.ndarray:
    t = np.linspace(0, 1, m)[:, None]
    return ((1 - t) ** 3) * p[0] + 3 * ((1 - t) ** 2) * t * p[1] + 3 * (1 - t) * t * t * p[2] + t**3 * p[3]


def _lashes(n: int, rng) -> np.ndarray:
    """Opacity of out-of-focus lashes entering from the top (or bottom) edge."""
    m = np.zeros((n, n), np.float32)
    from_top = rng.random() < 0.8
    count = int(rng.integers(3, 9))
    base = rng.uniform(0.2, 0.8)
    for _ in range(count):
        x0 = np.clip(base + rng.normal(0, 0.15), 0.05, 0.95)
        length = rng.uniform(0.3, 0.65)
        lean = rng.normal(0, 0.15)
        curl = rng.normal(0, 0.12)
        pts = np.array([[x0, 0.0], [x0 + lean * 0.3 + curl, length * 0.35],
                        [x0 + lean * 0.7 - curl, length * 0.7], [x0 + lean, length]])
        pts[:, 1] -= 0.03
        if not from_top:
            pts[:, 1] = 1.0 - pts[:, 1]
        xy = (_bezier(pts) * n).astype(np.int32)
        width = max(1, int(rng.uniform(0.004, 0.012) * n))
        cv2.polylines(m, [xy.reshape(-1, 1, 2)], False, float(rng.uniform(0.6, 1.0)), width, cv2.LINE_AA)
    sigma = rng.uniform(0.012, 0.03) * n  # strongly defocused: each thin lash spreads to a soft band
    soft = cv2.GaussianBlur(m, (0, 0), sigma)
    peak = float(soft.max())
    return np.clip(soft / max(peak, 1e-6), 0, 1) * rng.uniform(0.6, 0.9)


def _dust(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(absorption, scatter) maps of out-of-focus specks around one point of the field."""
    dark = np.zeros((n, n), np.float32)
    bright = np.zeros((n, n), np.float32)
    ang, rad = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.55)
    cx, cy = 0.5 + 0.5 * rad * math.cos(ang), 0.5 + 0.5 * rad * math.sin(ang)
    spread = rng.uniform(0.04, 0.12)
    bright_share = rng.uniform(0.0, 0.4)
    for _ in range(int(rng.integers(3, 12))):
        px, py = (np.array([cx, cy]) + rng.normal(0, spread, 2)) * n
        r = rng.uniform(0.012, 0.035) * n
        layer = np.zeros((n, n), np.float32)
        if r > 0.022 * n and rng.random() < 0.5:  # bokeh: a ring with a fainter centre
            cv2.circle(layer, (int(px), int(py)), int(r), 1.0, max(1, int(r * 0.35)), cv2.LINE_AA)
            cv2.circle(layer, (int(px), int(py)), int(r * 0.7), 0.5, -1, cv2.LINE_AA)
        else:
            cv2.circle(layer, (int(px), int(py)), int(r), 1.0, -1, cv2.LINE_AA)
        layer = cv2.GaussianBlur(layer, (0, 0), max(0.8, r * rng.uniform(0.2, 0.5)))
        strength = rng.uniform(0.5, 0.85)
        if rng.random() < bright_share:
            bright = np.maximum(bright, layer * strength * 0.6)
        else:
            dark = np.maximum(dark, layer * strength)
    return dark, bright


def apply_c(square: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Generator C: one local defect of `kind` on a uint8 FOV square -> (square, mask)."""
    n = square.shape[0]
    x, y, fov = _grid(n)
    lin = np.power(square.astype(np.float32) / 255.0, GAMMA)
    if kind == "lid_shadow":
        gain, change = _lid(x, y, rng)
        out = lin * gain
    elif kind == "edge_crescent":
        gain, add, change = _crescent(x, y, rng)
        out = lin * gain + add
        change = np.maximum(change, np.clip(add.max(axis=2) * 8, 0, 1))
    elif kind == "glare_spot":
        inten = _reflex(x, y, rng)
        k = rng.uniform(2.0, 5.0)
        tint = np.array([rng.uniform(0.9, 1.0), rng.uniform(0.93, 1.0), 1.0], np.float32)
        veil = 1.0 - np.exp(-k * inten)  # saturating: the reflex can only push towards white
        out = lin + (tint - lin) * veil[..., None]
        change = np.clip(veil / 0.7, 0, 1)
    elif kind == "local_blur":
        out, field = _dof_blur(lin, fov, x, y, rng)
        change = field
    elif kind == "lash_shadow":
        op = _lashes(n, rng)
        out = lin * (1.0 - op)[..., None]
        change = np.clip(op / 0.6, 0, 1)
    elif kind == "dust":
        dark, bright = _dust(n, rng)
        out = lin * (1.0 - dark)[..., None] + bright[..., None] * (0.9 - lin) * 0.8
        change = np.clip(np.maximum(dark, bright) / 0.45, 0, 1)
    else:
        raise ValueError(f"unknown generator-C defect '{kind}' (known: {', '.join(KINDS_C)})")
    res = np.power(np.clip(out, 0, 1), 1.0 / GAMMA) * 255.0
    inside = fov > 0
    final = square.copy()
    final[inside] = np.clip(np.rint(res[inside]), 0, 255).astype(np.uint8)
    return final, (np.clip(change, 0, 1) * fov).astype(np.float32)
