"""Photos are read by content, converted to 8-bit RGB, and every failure has a one-line reason."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from riqa_desktop.core import errors
from riqa_desktop.core.loading import laterality_from_name, read_image, sniff


@pytest.fixture(scope="module")
def photo(retina_rgb):
    import cv2

    return cv2.resize(retina_rgb, (300, 200), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("fmt,name", [("JPEG", "x.png"), ("PNG", "x.jpg"), ("TIFF", "x"), ("BMP", "x.dat")])
def test_format_by_content_not_extension(tmp_path, photo, fmt, name):
    p = tmp_path / name
    Image.fromarray(photo).save(p, format=fmt)
    img = read_image(p)
    assert img.rgb.shape == (200, 300, 3) and img.rgb.dtype == np.uint8
    tol = 12 if fmt == "JPEG" else 0
    assert np.abs(img.rgb.astype(int) - photo.astype(int)).mean() <= tol


def test_exif_orientation_applied(tmp_path, photo):
    p = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(photo).save(p, exif=exif, quality=95)
    img = read_image(p)
    assert img.rgb.shape == (300, 200, 3)
    assert img.original_size == (200, 300)


def test_sixteen_bit_png_keeps_exposure(tmp_path):
    a = np.full((64, 64), 32768, np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(a).save(p)
    img = read_image(p)
    assert img.rgb.shape == (64, 64, 3)
    assert abs(int(img.rgb[0, 0, 0]) - 128) <= 1  # half scale stays half, no auto-contrast


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA"])
def test_modes_become_rgb(tmp_path, photo, mode):
    p = tmp_path / f"m.{'tif' if mode == 'CMYK' else 'png'}"
    Image.fromarray(photo).convert(mode).save(p)
    img = read_image(p)
    assert img.rgb.shape == (200, 300, 3) and img.rgb.dtype == np.uint8


def test_reduced_size_jpeg_decoding(tmp_path, retina_rgb):
    p = tmp_path / "big.jpg"
    Image.fromarray(retina_rgb).save(p, quality=90)
    img = read_image(p, min_side=300)
    assert 300 <= min(img.rgb.shape[:2]) < 1411  # DCT scaling: 1/2 or 1/4, never below the request
    assert img.original_size == (1411, 1411)
    assert img.scale == pytest.approx(1411 / img.rgb.shape[1])


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "content,error,reason",
    [
        (b"", errors.FileIncompleteError, "empty file"),
        (b"\x00\x01garbage" * 100, errors.NotAnImageError, "not an image"),
        (b"%PDF-1.7\n" + b"0" * 600, errors.UnsupportedFormatError, "PDF"),
        (b"GIF89a" + b"\x00" * 600, errors.UnsupportedFormatError, "GIF"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'></svg>" + b" " * 500,
         errors.UnsupportedFormatError, "SVG"),
        (_png_header_only(40000, 40000), errors.ImageTooLargeError, "40000x40000"),
    ],
)
def test_bad_content_reasons(tmp_path, content, error, reason):
    p = tmp_path / "camera.jpg"
    p.write_bytes(content)
    with pytest.raises(error, match=reason):
        read_image(p)


def test_truncated_jpeg_is_still_being_written(tmp_path, photo):
    p = tmp_path / "half.jpg"
    Image.fromarray(photo).save(p, quality=90)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.FileIncompleteError, match="still being written"):
        read_image(p)


def test_missing_and_directory(tmp_path):
    with pytest.raises(errors.FileAccessError, match="not found"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(errors.NotAnImageError):
        read_image(tmp_path)


def test_symlink_loop_reason(tmp_path):
    a = tmp_path / "loop"
    a.symlink_to(a)
    with pytest.raises(errors.FileAccessError, match="link loop"):
        read_image(a)


def test_reading_never_modifies_the_file(tmp_path, photo):
    import hashlib
    import os

    p = tmp_path / "cam.jpg"
    Image.fromarray(photo).save(p)
    before = (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns)
    read_image(p, min_side=64)
    assert (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) == before


def test_sniff_kinds():
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff(b"\x00" * 128 + b"DICM") == "dicom"
    assert sniff(b"hello") == ""


@pytest.mark.parametrize("name,eye", [
    ("Image_01L.jpg", "L"), ("Image_11R.jpg", "R"), ("123_left.jpeg", "L"), ("p7_right.png", "R"),
    ("scan OD 2.jpg", "R"), ("scan_OS.jpg", "L"), ("photos_1.jpg", None), ("drimdb_good (1).jpg", None),
    ("01_dr.JPG", None),
])
def test_laterality_from_name(name, eye):
    assert laterality_from_name(name) == eye
