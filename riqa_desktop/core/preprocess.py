"""Crop to the field of view, pad to a square, resize; and map model grids back.

Training (`training/`) and the app call the same functions, so a model sees at
run time exactly what it saw while learning. `Geometry` keeps the square's
place in the original photo so a quality map can be drawn over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import imageops
from .fov import FieldOfView, detect_fov

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Geometry:
    """The model's square in original-photo pixels: top-left (x0, y0), side length."""

    x0: float
    y0: float
    side: float
    orig_width: int
    orig_height: int

    def as_dict(self) -> dict:
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def to_original(self, grid: np.ndarray, out_size: tuple[int, int] | None = None) -> np.ndarray:
        """Draw a (h, w) map defined over the square onto the photo (float32, 0 outside).

        `out_size` (width, height) draws at a smaller scale than the original.
        """
        ow, oh = out_size or (self.orig_width, self.orig_height)
        s = ow / self.orig_width
        gh, gw = grid.shape
        # Map grid cell coordinates (pixel centres) to output pixels.
        m = np.array(
            [[self.side * s / gw, 0, self.x0 * s + 0.5 * self.side * s / gw - 0.5],
             [0, self.side * s / gh, self.y0 * s + 0.5 * self.side * s / gh - 0.5]],
            dtype=np.float64,
        )
        return imageops.warp_affine(grid.astype(np.float32), m, (ow, oh))


def square_crop(rgb: np.ndarray, fov: FieldOfView, size: int, mask_outside: bool = True) -> np.ndarray:
    """The FOV's bounding square of `rgb` (padded with black), resized to size x size.

    With `mask_outside`, pixels outside the circle are zeroed (burned-in text
    in the corners and frame borders). Text inside the circle, such as DRIMDB's
    timestamp, is the quality model's job (`models/multitask.suppress_green_text`).
    """
    h, w = rgb.shape[:2]
    side = max(2, int(round(2 * fov.r)))
    x0, y0 = int(round(fov.cx - fov.r)), int(round(fov.cy - fov.r))
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    inside = sx1 > sx0 and sy1 > sy0
    part = rgb[sy0:sy1, sx0:sx1] if inside else rgb[:0, :0]
    frame = (side, side, sy0 - y0, sx0 - x0) if inside else (side, side, 0, 0)
    out = imageops.resize_in_frame(part, frame, (size, size), "area" if side > size else "linear")
    if mask_outside and fov.found:
        out[~circle_mask(size)] = 0
    return out


def circle_mask(size: int, shrink: float = 1.0) -> np.ndarray:
    """The inscribed disc of a size x size square (the FOV after `square_crop`)."""
    yy, xx = np.ogrid[:size, :size]
    c = (size - 1) / 2
    return (xx - c) ** 2 + (yy - c) ** 2 <= (shrink * size / 2) ** 2


def square_geometry(fov: FieldOfView, scale: float, orig_size: tuple[int, int]) -> Geometry:
    """Geometry of `square_crop`'s square, in original pixels (scale = original/decoded)."""
    side = max(2, int(round(2 * fov.r)))
    x0, y0 = int(round(fov.cx - fov.r)), int(round(fov.cy - fov.r))
    return Geometry(x0 * scale, y0 * scale, side * scale, orig_size[0], orig_size[1])


@dataclass
class Prepared:
    """One photo cropped for the models: squares by size, its FOV and geometry."""

    fov: FieldOfView  # in decoded-image pixels
    geometry: Geometry
    squares: dict[int, np.ndarray]


def prepare(rgb: np.ndarray, sizes: tuple[int, ...], scale: float = 1.0,
            orig_size: tuple[int, int] | None = None, fov: FieldOfView | None = None) -> Prepared:
    """Detect the FOV once and crop a square for each model input size."""
    fov = fov or detect_fov(rgb)
    orig = orig_size or (int(round(rgb.shape[1] * scale)), int(round(rgb.shape[0] * scale)))
    big = max(sizes)
    squares = {big: square_crop(rgb, fov, big)}
    for s in sizes:
        if s not in squares:
            squares[s] = imageops.resize(squares[big], (s, s), "area")
    return Prepared(fov=fov, geometry=square_geometry(fov, scale, orig), squares=squares)


def normalize_batch(squares: list[np.ndarray], mean=IMAGENET_MEAN, std=IMAGENET_STD) -> np.ndarray:
    """uint8 (H, W, 3) squares -> normalised float32 (N, 3, H, W), without torch (the lean app).

    One transposing conversion, then in place: the same values, a quarter of the time.
    """
    x = np.stack(squares).transpose(0, 3, 1, 2).astype(np.float32, order="C")
    x *= np.float32(1 / 255.0)
    x -= np.asarray(mean, np.float32)[:, None, None]
    x /= np.asarray(std, np.float32)[:, None, None]
    return x


def to_tensor_batch(squares: list[np.ndarray], mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """uint8 (H, W, 3) squares -> normalised float tensor (N, 3, H, W)."""
    import torch

    x = torch.from_numpy(np.stack(squares)).permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (x - m) / s
