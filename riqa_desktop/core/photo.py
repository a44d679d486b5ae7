"""The decoded photo and where it came from: the types `loading` and `dicom` share.

They live here, not in `loading`, so that the DICOM reader and the generic
loader depend on this small module instead of on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

MAX_PIXELS = 150_000_000  # about 15000 x 10000: far above any fundus camera


@dataclass
class PhotoMetadata:
    """What a photographer needs to know about where a photo came from."""

    source_format: str = ""
    patient_id: str = ""
    patient_name: str = ""
    laterality: str | None = None  # "R", "L" or None when unknown
    laterality_source: str = ""  # "dicom", "filename" or ""
    acquired: str = ""  # ISO 8601 when known
    device: str = ""
    sop_class: str = ""
    frame_index: int = 0
    n_frames: int = 1

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LoadedImage:
    """A decoded photo. `scale` maps decoded pixels to original pixels."""

    rgb: np.ndarray  # (H, W, 3) uint8
    original_size: tuple[int, int]  # (width, height) of the photo as stored
    path: str = ""
    metadata: PhotoMetadata = field(default_factory=PhotoMetadata)
    sha256: str = ""  # of the whole file: read once, decoded and hashed from the same bytes

    @property
    def scale(self) -> float:
        return self.original_size[0] / self.rgb.shape[1]


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to (H, W, 3) uint8, keeping exposure (no auto-contrast)."""
    mode = img.mode
    if mode in ("RGB",):
        arr = np.asarray(img)
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img)
        if mode == "I" and a.max(initial=0) <= 255:
            a8 = a.astype(np.uint8)
        else:
            a8 = (np.clip(a, 0, 65535).astype(np.uint32) >> 8).astype(np.uint8)
        arr = np.repeat(a8[..., None], 3, axis=2)
    elif mode == "F":
        a = np.asarray(img, dtype=np.float32)
        top = 1.0 if a.max(initial=0) <= 1.0 else 255.0
        a8 = np.clip(a / top * 255.0, 0, 255).astype(np.uint8)
        arr = np.repeat(a8[..., None], 3, axis=2)
    elif mode in ("RGBA", "LA", "PA"):
        bg = Image.new("RGBA", img.size, (0, 0, 0, 255))
        arr = np.asarray(Image.alpha_composite(bg, img.convert("RGBA")).convert("RGB"))
    elif mode == "P" and "transparency" in img.info:
        return to_rgb8(img.convert("RGBA"))
    else:
        arr = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(arr, dtype=np.uint8)
