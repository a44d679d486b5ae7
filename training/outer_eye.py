"""Rendered outer-eye and anterior-segment close-ups: negatives for the not-a-fundus head.

The only real ones we have are a handful of DRIMDB outliers, and the model
learned "a test chart or a dark frame is not a fundus" from them and from the
scikit-image pictures, while a photographer who forgot to focus through the
pupil gets an iris, a lid or a lash fringe, often inside the camera's round
field. These pictures draw that: skin with lids and lashes around an almond
opening, sclera with red vessels, an iris with radial fibres and a limbal ring,
a pupil with the flash's reflex, at zooms from the whole eye to the iris alone,
sometimes inside a black round field, defocused, dimmed or over-exposed.
Nothing here is a retina: no optic disc, no vessel tree on an orange ground.
"""

from __future__ import annotations

import cv2
import numpy as np

SKIN = ((224, 172, 140), (198, 134, 100), (150, 100, 70), (96, 64, 44), (236, 196, 170))
IRIS = ((110, 70, 35), (70, 45, 25), (120, 110, 60), (80, 110, 140), (100, 130, 110))
SIDE = 512


def _noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Smooth noise in [-1, 1] with features about `scale` px across."""
    small = rng.normal(0, 1, (max(2, int(shape[0] / scale)), max(2, int(shape[1] / scale)))).astype(np.float32)
    big = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return big / (np.abs(big).max() + 1e-6)


def render(rng: np.random.Generator, side: int = SIDE) -> np.ndarray:
    """One (side, side, 3) uint8 outer-eye picture."""
    h = w = side
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    zoom = rng.uniform(0.6, 2.6)  # 0.6: the whole eye and brow; 2.6: iris and lids fill the frame
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.35, 0.65)
    r_iris = side * 0.16 * zoom
    skin = np.array(SKIN[rng.integers(len(SKIN))], np.float32) * rng.uniform(0.85, 1.1)
    img = skin[None, None, :] * (1 + 0.12 * _noise(rng, (h, w), side / 6)[..., None]) \
        * (1 + 0.04 * _noise(rng, (h, w), 3)[..., None])
    # the opening: between two parabolic lids
    half_w = r_iris * rng.uniform(1.9, 2.6)
    open_up, open_dn = r_iris * rng.uniform(0.5, 1.15), r_iris * rng.uniform(0.6, 1.1)
    tilt = rng.uniform(-0.15, 0.15)
    u = (xx - cx) * np.cos(tilt) + (yy - cy) * np.sin(tilt)
    v = -(xx - cx) * np.sin(tilt) + (yy - cy) * np.cos(tilt)
    t = np.clip(1 - (u / half_w) ** 2, 0, 1)
    upper, lower = -open_up * t, open_dn * t
    opening = (v > upper) & (v < lower)
    sclera = np.array((235, 225, 220), np.float32) * rng.uniform(0.8, 1.0)
    red = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(6, 25))):  # conjunctival vessels: wandering red lines
        p = np.array([cx + rng.uniform(-1, 1) * half_w, cy + rng.uniform(-1, 1) * open_dn])
        ang = rng.uniform(0, 2 * np.pi)
        pts = []
        for _ in range(int(rng.integers(8, 30))):
            ang += rng.normal(0, 0.35)
            p = p + 6 * zoom * np.array([np.cos(ang), np.sin(ang)])
            pts.append(p.copy())
        cv2.polylines(red, [np.int32(pts)], False, float(rng.uniform(0.3, 1.0)), max(1, int(zoom * rng.uniform(0.5, 2))))
    red = cv2.GaussianBlur(red, (0, 0), 0.8)
    sclera_img = sclera[None, None, :] * (1 - red[..., None] * np.array([0.05, 0.55, 0.55], np.float32))
    img = np.where(opening[..., None], sclera_img, img)
    # iris: radial fibres, a darker limbal ring, crypts; pupil with the flash reflex
    ix, iy = cx + rng.uniform(-0.3, 0.3) * r_iris, cy + rng.uniform(-0.2, 0.2) * r_iris
    rr = np.hypot(xx - ix, yy - iy)
    theta = np.arctan2(yy - iy, xx - ix)
    colour = np.array(IRIS[rng.integers(len(IRIS))], np.float32) * rng.uniform(0.7, 1.2)
    fibres = np.sin(theta * rng.integers(40, 120) + 3 * _noise(rng, (h, w), side / 20)) * 0.15
    ring = np.clip((rr / r_iris - 0.8) / 0.2, 0, 1) * rng.uniform(0.3, 0.6)
    iris_img = colour * (1 + fibres[..., None] - ring[..., None] + 0.15 * _noise(rng, (h, w), r_iris / 6)[..., None])
    iris = (rr < r_iris) & opening
    img = np.where(iris[..., None], iris_img, img)
    r_pupil = r_iris * rng.uniform(0.25, 0.6)
    pupil = (rr < r_pupil) & opening
    img = np.where(pupil[..., None], np.float32(rng.uniform(5, 30)), img)
    for _ in range(int(rng.integers(1, 3))):  # the flash's corneal reflex
        sx, sy = ix + rng.uniform(-0.6, 0.6) * r_iris, iy + rng.uniform(-0.6, 0.6) * r_iris
        spot = np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * (r_iris * rng.uniform(0.04, 0.15)) ** 2))
        img = img + 255 * spot[..., None] * opening[..., None]
    # lid margins shade the opening; lashes along the upper (and sometimes lower) lid
    edge = np.minimum(np.abs(v - upper), np.abs(v - lower))
    img = img * (1 - 0.5 * np.exp(-edge / (3 * zoom)) * opening)[..., None]
    lash = np.zeros((h, w), np.float32)
    for lid, sign, n in ((upper, -1, int(rng.integers(20, 70))), (lower, 1, int(rng.integers(0, 30)))):
        for _ in range(n):
            uu = rng.uniform(-0.95, 0.95) * half_w
            base_v = (-open_up if sign < 0 else open_dn) * (1 - (uu / half_w) ** 2)
            length = r_iris * rng.uniform(0.3, 0.9)
            bend = rng.uniform(-0.4, 0.4)
            s = np.linspace(0, 1, 8)
            pu, pv = uu + bend * length * s ** 2, base_v + sign * length * s
            px = cx + pu * np.cos(tilt) - pv * np.sin(tilt)
            py = cy + pu * np.sin(tilt) + pv * np.cos(tilt)
            cv2.polylines(lash, [np.int32(np.stack([px, py], 1))], False, 1.0, max(1, int(zoom * 1.5)))
    img = img * (1 - 0.85 * lash[..., None])
    img = _camera(img, rng)
    return np.clip(img, 0, 255).astype(np.uint8)


def _camera(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What the fundus camera does to it: defocus, exposure, vignetting, sometimes a round black field."""
    h, w = img.shape[:2]
    if rng.random() < 0.6:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 12))
    img = img * rng.uniform(0.35, 1.5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot(xx - w / 2, yy - h / 2) / (0.5 * np.hypot(h, w))
    img = img * (1 - rng.uniform(0, 0.6) * d ** 2)[..., None]
    if rng.random() < 0.5:
        r = 0.5 * min(h, w) * rng.uniform(0.85, 1.15)
        inside = np.hypot(xx - w / 2, yy - h / 2) < r
        img = np.where(inside[..., None], img, rng.uniform(0, 8))
    img = img + rng.normal(0, rng.uniform(0.5, 4), img.shape)
    if rng.random() < 0.5:  # the wide frames cameras save (4:3 or 3:2 around the square)
        pad = int(w * rng.uniform(0.1, 0.3))
        img = np.pad(img, ((0, 0), (pad, pad), (0, 0)), constant_values=float(rng.uniform(0, 6)))
    return img


def pictures(n: int, seed: int = 0) -> list[np.ndarray]:
    """`n` outer-eye pictures, the same ones for the same seed."""
    rng = np.random.default_rng([seed, 0x0E7E])
    return [render(rng) for _ in range(n)]
