"""Thumbnails on disk, so a 100,000-photo review does not hold 100,000 thumbnails in memory.

One folder of JPEGs: `<stem>.jpg` (the photo) and `<stem>_map.jpg` (the quality map over it), the stem
a hash of (path, frame). `riqa batch` keeps them in `out/thumbs` beside the report; the desktop app
keeps a temporary folder and decodes on demand the few rows on screen.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from . import imageops

from .assessment import Assessment
from .loading import display_path

QUALITY = 82


def stem(path: str, frame: int) -> str:
    """The file-name stem of a photo's (or DICOM frame's) thumbnails."""
    return hashlib.sha1(f"{display_path(path)}#{frame}".encode("utf-8")).hexdigest()[:16]


class ThumbnailStore:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def file(self, path: str, frame: int, overlay: bool = False) -> Path:
        return self.folder / f"{stem(path, frame)}{'_map' if overlay else ''}.jpg"

    def put(self, a: Assessment) -> None:
        """Write the thumbnail of `a` and its map overlay (nothing when it has no thumbnail)."""
        from .report import map_thumbnail

        if a.thumbnail is None:
            return
        self._write(self.file(a.path, a.frame_index), a.thumbnail)
        over = map_thumbnail(a)
        if over is not None:
            self._write(self.file(a.path, a.frame_index, overlay=True), over)

    def get(self, path: str, frame: int, overlay: bool = False, reduce: int = 1) -> np.ndarray | None:
        """The RGB thumbnail, decoded at 1/`reduce` (1, 2, 4, 8: JPEG DCT scaling), or None."""
        if reduce not in (1, 2, 4, 8):
            raise KeyError(reduce)
        try:
            data = self.file(path, frame, overlay).read_bytes()
        except OSError:
            return None
        return imageops.decode_jpeg(data, reduce) if data else None

    def jpeg(self, path: str, frame: int, overlay: bool = False) -> bytes | None:
        try:
            return self.file(path, frame, overlay).read_bytes()
        except OSError:
            return None

    @staticmethod
    def _write(target: Path, rgb: np.ndarray) -> None:
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(imageops.encode_jpeg(rgb, QUALITY))
        os.replace(tmp, target)
