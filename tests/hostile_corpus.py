"""Make a corpus of broken, hostile and odd files: `python -m tests.hostile_corpus DIR`.

Each entry says whether a photo must come out of it ("ok") or a one-line
reason ("error"); tests/test_reliability.py checks every one.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _photo(w: int = 320, h: int = 240) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    disc = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) < (0.45 * h) ** 2
    img = np.zeros((h, w, 3), np.uint8)
    img[disc] = (170, 80, 30)
    img[..., 1] += (xx % 17).astype(np.uint8)
    return img


def _encode(img: np.ndarray | Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_declaring(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + _chunk(b"IEND", b"")


def _jpeg_declaring(w: int, h: int) -> bytes:
    data = bytearray(_encode(_photo(64, 64), "JPEG"))
    i = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, i + 5, h, w)
    return bytes(data)


def _dicoms(folder: Path) -> list[tuple[str, str]]:
    from tests import dicom_fixtures as df

    rgb = _photo()
    out = []
    df.write_no_pixels(folder / "dicom_no_pixels.dcm")
    out.append(("dicom_no_pixels.dcm", "error"))
    df.write_unsupported(folder / "dicom_video.dcm", rgb)
    out.append(("dicom_video.dcm", "error"))
    good = df.write_raw(folder / "dicom_ok.dcm", rgb)
    out.append(("dicom_ok.dcm", "ok"))
    raw = good.read_bytes()
    for frac in (0.1, 0.5, 0.9):
        name = f"dicom_truncated_{int(frac * 100)}.dcm"
        (folder / name).write_bytes(raw[: int(len(raw) * frac)])
        out.append((name, "error"))
    # Lying headers: claims 4x the rows the pixel data holds; claims 60000x60000.
    import pydicom

    ds = pydicom.dcmread(good)
    ds.Rows = ds.Rows * 4
    ds.save_as(folder / "dicom_lying_rows.dcm")
    out.append(("dicom_lying_rows.dcm", "error"))
    ds = pydicom.dcmread(good)
    ds.Rows, ds.Columns = 60000, 60000
    ds.save_as(folder / "dicom_lying_huge.dcm")
    out.append(("dicom_lying_huge.dcm", "error"))
    ds = pydicom.dcmread(good)
    ds.NumberOfFrames = 50
    ds.save_as(folder / "dicom_lying_frames.dcm")
    out.append(("dicom_lying_frames.dcm", "error"))
    (folder / "dicom_preamble_only.dcm").write_bytes(b"\0" * 128 + b"DICM")
    out.append(("dicom_preamble_only.dcm", "error"))
    (folder / "dicom_garbage_after_header.dcm").write_bytes(b"\0" * 128 + b"DICM" + os.urandom(3000))
    out.append(("dicom_garbage_after_header.dcm", "error"))
    return out


def make_corpus(folder: str | Path) -> list[tuple[str, str]]:
    """Write the corpus into `folder`; returns [(file name, "ok" | "error")]."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    photo = _photo()
    jpeg, png = _encode(photo, "JPEG", quality=90), _encode(photo, "PNG")
    files: dict[str, tuple[bytes, str]] = {}
    for ext in ("jpg", "png", "dcm", "tif", "bmp", "noext"):
        files[f"zero_bytes.{ext}"] = (b"", "error")
    for frac in (0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        files[f"jpeg_truncated_{int(frac * 100)}.jpg"] = (jpeg[: int(len(jpeg) * frac)], "error")
    for frac in (0.1, 0.5, 0.95):
        files[f"png_truncated_{int(frac * 100)}.png"] = (png[: int(len(png) * frac)], "error")
    for i, ext in enumerate(("jpg", "png", "dcm", "tif", "bmp", "jpeg")):
        files[f"random_bytes_{i}.{ext}"] = (rng.bytes(5000 + 997 * i), "error")
    mid = bytearray(jpeg)
    mid[len(mid) // 3 : len(mid) // 3 + 400] = rng.bytes(400)
    files["jpeg_corrupt_middle.jpg"] = (bytes(mid), "ok_or_error")
    files["jpeg_soi_eoi_only.jpg"] = (b"\xff\xd8\xff\xd9", "error")
    files["jpeg_header_then_eoi.jpg"] = (jpeg[:600] + b"\xff\xd9", "error")
    bad_crc = bytearray(png)
    bad_crc[29] ^= 0xFF  # inside the IHDR CRC
    files["png_bad_crc.png"] = (bytes(bad_crc), "error")
    files["bomb_png_40000.png"] = (_png_declaring(40000, 40000), "error")
    files["bomb_jpeg_40000.jpg"] = (_jpeg_declaring(40000, 40000), "error")
    files["png_declares_zero.png"] = (_png_declaring(0, 0), "error")
    files["cmyk.jpg"] = (_encode(Image.fromarray(photo).convert("CMYK"), "JPEG"), "ok")
    files["sixteen_bit.png"] = (_encode(Image.fromarray((photo[..., 0].astype(np.uint16) * 257)), "PNG"), "ok")
    files["sixteen_bit.tif"] = (_encode(Image.fromarray((photo[..., 1].astype(np.uint16) * 257)), "TIFF"), "ok")
    files["grayscale.png"] = (_encode(Image.fromarray(photo).convert("L"), "PNG"), "ok")
    files["palette.png"] = (_encode(Image.fromarray(photo).convert("P"), "PNG"), "ok")
    files["rgba.png"] = (_encode(Image.fromarray(photo).convert("RGBA"), "PNG"), "ok")
    files["jpeg_named.png"] = (jpeg, "ok")
    files["tiny_1x1.png"] = (_encode(Image.new("RGB", (1, 1)), "PNG"), "error")
    files["tiny_10x10.jpg"] = (_encode(Image.new("RGB", (10, 10)), "JPEG"), "error")
    files["sliver_8000x40.png"] = (_encode(Image.new("RGB", (8000, 40), (120, 40, 20)), "PNG"), "ok")
    frames = [Image.fromarray(photo), Image.fromarray(255 - photo)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated.gif"] = (buf.getvalue(), "error")
    files["still.gif"] = (_encode(photo, "GIF"), "error")
    files["document.pdf"] = (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "error")
    files["drawing.svg"] = (b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", "error")
    files["drawing_xml.svg"] = (b"<?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'/>", "error")
    files["photo.webp"] = (_encode(photo, "WEBP"), "error")
    files["page.html"] = (b"<!doctype html><html><body>hello</body></html>", "error")
    files["notes.txt"] = ("Patient notes: 🙂 ünïcödé\n".encode() * 50, "error")
    files["archive.zip"] = (b"PK\x03\x04" + rng.bytes(2000), "error")
    files["program.exe"] = (b"MZ\x90\x00" + rng.bytes(2000), "error")
    files["elf_binary"] = (b"\x7fELF" + rng.bytes(2000), "error")
    files["tiff_bogus_ifd.tif"] = (b"II*\x00" + struct.pack("<I", 0xFFFFFF00) + rng.bytes(500), "error")
    files["bmp_lying_header.bmp"] = (b"BM" + struct.pack("<IHHI", 99999999, 0, 0, 54) + rng.bytes(300), "error")
    files["j2k_truncated.jp2"] = (_encode(photo, "JPEG2000")[:300], "error")
    files["jpeg2000.jp2"] = (_encode(photo, "JPEG2000"), "ok")
    files["bmp_ok.bmp"] = (_encode(photo, "BMP"), "ok")
    files["tiff_ok.tif"] = (_encode(photo, "TIFF"), "ok")
    files["jpeg_with_trailing_zeros.jpg"] = (jpeg + b"\0" * 2000, "ok")
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    out = [(n, e) for n, (_, e) in files.items()]
    out += _dicoms(folder)
    # File-system oddities.
    weird = os.fsencode(folder) + b"/latin1_\xe9\xe8_name.jpg"
    with open(weird, "wb") as fh:
        fh.write(jpeg)
    out.append((os.fsdecode(weird).rsplit("/", 1)[1], "ok"))
    (folder / "unreadable.jpg").write_bytes(jpeg)
    os.chmod(folder / "unreadable.jpg", 0)
    out.append(("unreadable.jpg", "ok" if os.geteuid() == 0 else "error"))  # root reads anything
    loop = folder / "symlink_loop.jpg"
    loop.symlink_to(loop)
    out.append(("symlink_loop.jpg", "error"))
    (folder / "dangling.jpg").symlink_to(folder / "does_not_exist.jpg")
    out.append(("dangling.jpg", "error"))
    (folder / "a_folder.jpg").mkdir()
    out.append(("a_folder.jpg", "error"))
    os.mkfifo(folder / "fifo.jpg")
    out.append(("fifo.jpg", "error"))
    return out


if __name__ == "__main__":
    entries = make_corpus(sys.argv[1] if len(sys.argv) > 1 else "hostile_corpus")
    print(f"{len(entries)} files")
