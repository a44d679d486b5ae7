"""Open photos by content (JPEG, PNG, TIFF, BMP, JPEG 2000, DICOM) as 8-bit RGB.

Cameras name files oddly (DICOMDIR members have no extension), so the format
is sniffed from the first bytes. Every failure is an `InputError` subclass with
a one-line reason. Camera files are only ever opened for reading.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from . import errors
from .dicom import read_dicom
from .photo import MAX_PIXELS, LoadedImage, PhotoMetadata, to_rgb8

# We do our own, clearer size check; Pillow's bomb warning would only be a warning.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

MAX_FILE_BYTES = 1 << 30

_RASTER_KINDS = {"jpeg", "png", "tiff", "bmp", "jpeg2000"}


def display_path(path: str | os.PathLike) -> str:
    """A path as printable text: undecodable bytes of a file name become \\xNN escapes.

    File names from a camera share need not be UTF-8; outputs (CSV, JSON,
    SQLite, terminal) must never fail on them, and the same file always maps
    to the same text.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in 1 MB chunks (photos, weights, exports)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sniff(head: bytes) -> str:
    """Name the file kind from its first bytes ('' when unknown)."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    text = head[:256].lstrip().lower()
    if text.startswith(b"<?xml") or text.startswith(b"<svg"):
        return "svg" if b"<svg" in head.lower() else "xml"
    # DICOM written without the 128-byte preamble starts with a group 0x0002/0x0008 tag.
    if head[:2] in (b"\x02\x00", b"\x08\x00") and head[3:4] == b"\x00":
        return "dicom"
    return ""


_UNSUPPORTED = {
    "gif": "GIF is not a photo format we read: export the photo as JPEG, PNG, TIFF or DICOM",
    "pdf": "a PDF document, not a photo",
    "webp": "WebP is not supported: export the photo as JPEG, PNG, TIFF or DICOM",
    "svg": "an SVG drawing, not a photo",
    "xml": "an XML file, not a photo",
}


def _read_head(path: Path) -> tuple[bytes, int]:
    try:
        st = path.stat()
        if not path.is_file():
            raise errors.NotAnImageError("not a file")
        with open(path, "rb") as fh:
            head = fh.read(512)
    except errors.InputError:
        raise
    except PermissionError:
        raise errors.FileAccessError("permission denied: cannot open the file") from None
    except FileNotFoundError:
        raise errors.FileAccessError("file not found (moved or deleted)") from None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            raise errors.FileAccessError("symbolic link loop") from None
        raise errors.FileAccessError(f"file cannot be opened ({exc.strerror or exc})") from None
    return head, st.st_size


def _check_complete(data: bytes, kind: str) -> None:
    """JPEG must end with EOI and PNG with IEND; otherwise the copy is unfinished."""
    if kind not in ("jpeg", "png"):
        return
    tail = data[-4096:]
    stripped = tail.rstrip(b"\x00")
    ok = b"\xff\xd9" in stripped[-64:] if kind == "jpeg" else b"IEND" in tail[-64:]
    if not ok:
        raise errors.FileIncompleteError()


def read_file(path: str | os.PathLike, min_side: int | None = None) -> list[LoadedImage]:
    """Decode every frame of a photo file.

    `min_side`: the decoder may shrink the photo (JPEG DCT scaling, area
    resampling otherwise) as long as its shorter side stays at least this long.
    """
    p = Path(path)
    head, size = _read_head(p)
    if size == 0:
        raise errors.FileIncompleteError("empty file (0 bytes): still being written?")
    if size > MAX_FILE_BYTES:
        raise errors.ImageTooLargeError(f"file is too large ({size >> 20} MB)")
    kind = sniff(head)
    if kind in _UNSUPPORTED:
        raise errors.UnsupportedFormatError(_UNSUPPORTED[kind])
    if kind not in _RASTER_KINDS and kind != "dicom":
        raise errors.NotAnImageError()
    data = _read_all(p)
    if kind == "dicom":
        frames = read_dicom(io.BytesIO(data), min_side=min_side)
    else:
        _check_complete(data, kind)
        frames = [_read_raster(data, kind, min_side)]
    digest = hashlib.sha256(data).hexdigest()
    for f in frames:
        f.path, f.sha256 = str(p), digest
        if f.metadata.laterality is None:
            lat = laterality_from_name(p.name)
            if lat:
                f.metadata.laterality, f.metadata.laterality_source = lat, "filename"
    return frames


def read_image(path: str | os.PathLike, min_side: int | None = None) -> LoadedImage:
    """The first frame of a photo file (see `read_file`)."""
    return read_file(path, min_side)[0]


def _read_all(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise errors.FileAccessError(f"file cannot be read ({exc.strerror or exc})") from None


def _read_raster(data: bytes, kind: str, min_side: int | None) -> LoadedImage:
    try:
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise errors.ImageTooLargeError(f"image is too large to open safely ({w}x{h} pixels)")
        if w < 32 or h < 32:
            raise errors.NotAnImageError(f"image is too small to be a fundus photo ({w}x{h} pixels)")
        orientation = img.getexif().get(0x0112, 1)
        if kind == "jpeg" and min_side and img.mode in ("RGB", "L", "CMYK", "YCbCr"):
            img.draft(img.mode if img.mode != "CMYK" else "RGB", (min_side, min_side))
        ImageOps.exif_transpose(img, in_place=True)  # no copy of the photo when it is upright
        if orientation in (5, 6, 7, 8):
            w, h = h, w
        rgb = to_rgb8(img)
    except errors.InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise errors.NotAnImageError("not a readable image (corrupt or unknown content)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        msg = str(exc).lower()
        if "truncated" in msg or "end of file" in msg or "premature" in msg:
            raise errors.FileIncompleteError() from None
        raise errors.NotAnImageError("image data is corrupt") from None
    if min_side and kind != "jpeg":
        rgb = _shrink(rgb, min_side)
    return LoadedImage(rgb=rgb, original_size=(w, h), metadata=PhotoMetadata(source_format=kind))


def _shrink(rgb: np.ndarray, min_side: int) -> np.ndarray:
    from .imageops import shrink_to

    h, w = rgb.shape[:2]
    f = min_side / min(h, w)
    if f >= 0.999:
        return rgb
    return shrink_to(rgb, f)


_LAT_TOKEN = re.compile(r"(?:^|[_\-\s.])(od|os|re|le|right|left|r|l)(?=$|[_\-\s.])", re.I)
_LAT_SUFFIX = re.compile(r"\d(l|r)$", re.I)


def laterality_from_name(name: str) -> str | None:
    """'R' or 'L' from tokens such as OD/OS/RIGHT/LEFT/_R/_L or a trailing 01L."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    hits = {m.group(1).lower() for m in _LAT_TOKEN.finditer(stem)}
    m = _LAT_SUFFIX.search(stem)
    if m:
        hits.add(m.group(1).lower())
    right = hits & {"od", "re", "right", "r"}
    left = hits & {"os", "le", "left", "l"}
    if right and not left:
        return "R"
    if left and not right:
        return "L"
    return None
