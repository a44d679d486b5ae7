"""DICOM photos: Ophthalmic Photography 8/16 bit, VL Photographic, Secondary Capture.

Decoders are pydicom's own (uncompressed, RLE, Deflated), Pillow (JPEG
Baseline/Extended, JPEG 2000, HTJ2K), pyjpegls (JPEG-LS), python-gdcm (JPEG
Lossless) and pylibjpeg-openjpeg (HTJ2K); no GPL plug-ins. Anything else is
reported by name. The header is checked first (core/modality.py): a CT or an
ultrasound is never decoded.
"""

from __future__ import annotations

import re
import threading
from typing import BinaryIO

import numpy as np

from . import errors
from .modality import refusal
from .photo import MAX_PIXELS, LoadedImage, PhotoMetadata, to_rgb8

SUPPORTED_TS = {
    "1.2.840.10008.1.2": "Implicit VR Little Endian",
    "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
    "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
    "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
    "1.2.840.10008.1.2.5": "RLE Lossless",
    "1.2.840.10008.1.2.4.50": "JPEG Baseline",
    "1.2.840.10008.1.2.4.51": "JPEG Extended 12-bit",
    "1.2.840.10008.1.2.4.57": "JPEG Lossless",
    "1.2.840.10008.1.2.4.70": "JPEG Lossless (SV1)",
    "1.2.840.10008.1.2.4.80": "JPEG-LS",
    "1.2.840.10008.1.2.4.81": "JPEG-LS (near-lossless)",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.201": "HTJ2K Lossless",
    "1.2.840.10008.1.2.4.202": "HTJ2K Lossless (RPCL)",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
}
_SHORT_NAMES = {
    "1.2.840.10008.1.2.4.100": "MPEG-2 video",
    "1.2.840.10008.1.2.4.102": "MPEG-4 video",
    "1.2.840.10008.1.2.4.103": "MPEG-4 video",
    "1.2.840.10008.1.2.4.107": "HEVC video",
    "1.2.840.10008.1.2.4.108": "HEVC video",
    "1.2.840.10008.1.2.4.110": "JPEG XL",
    "1.2.840.10008.1.2.4.111": "JPEG XL",
    "1.2.840.10008.1.2.4.112": "JPEG XL",
}


# python-gdcm lets some C++ exceptions end the whole process (seen in its RLE
# codec on an odd image size, and in JPEG Lossless on corrupt data), so it
# decodes only JPEG Lossless, for which no other permissive decoder exists,
# and does that in a child process (codec_sandbox); pydicom, Pillow and
# pyjpegls do the rest.
_GDCM_ONLY_FOR = {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}
_plugins_chosen = False
_plugins_lock = threading.Lock()  # loader threads may open their first DICOM files together


def _choose_plugins() -> None:
    global _plugins_chosen
    with _plugins_lock:
        if _plugins_chosen:
            return
        from pydicom.pixels import get_decoder
        from pydicom.uid import AllTransferSyntaxes

        for uid in set(AllTransferSyntaxes) - _GDCM_ONLY_FOR:
            try:
                decoder = get_decoder(uid)
            except NotImplementedError:
                continue
            if "gdcm" in decoder.available_plugins:
                decoder.remove_plugin("gdcm")
        _plugins_chosen = True


def read_dicom(source: BinaryIO, min_side: int | None = None) -> list[LoadedImage]:
    """The frames of a DICOM file, given its bytes as a file object."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    _choose_plugins()

    try:
        ds = pydicom.dcmread(source, force=True)
    except (InvalidDicomError, EOFError):
        raise errors.FileIncompleteError("DICOM file is cut short (still being written?)") from None
    except Exception:  # pydicom raises many types on garbage input
        raise errors.NotAnImageError("DICOM file is corrupt") from None
    try:
        has_pixels = "PixelData" in ds
        ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "1.2.840.10008.1.2")
        meta = _metadata(ds)
    except Exception:
        raise errors.NotAnImageError("DICOM header is corrupt") from None
    if not has_pixels:
        if "DirectoryRecordSequence" in ds:
            raise errors.UnsupportedFormatError("a DICOMDIR index: open the folder instead")
        raise errors.DicomNoPixelsError()
    reason = refusal(ds)
    if reason:
        raise errors.NotAFundusPhotoError(reason)
    if ts not in SUPPORTED_TS:
        raise errors.UnsupportedCompressionError(f"unsupported compression: {_ts_name(ts)}")
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        n_frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
        photometric = str(getattr(ds, "PhotometricInterpretation", "RGB"))
        bits = int(getattr(ds, "BitsStored", 8) or 8)
    except Exception:
        raise errors.NotAnImageError("DICOM header lacks the image size") from None
    if rows < 32 or cols < 32 or n_frames < 1:
        raise errors.NotAnImageError(f"DICOM image is too small ({cols}x{rows})")
    if rows * cols * n_frames > MAX_PIXELS:
        raise errors.ImageTooLargeError(f"DICOM image is too large to open safely ({cols}x{rows}x{n_frames})")
    if min_side and ts in _REDUCIBLE:
        fast = _decode_reduced(ds, ts, n_frames, min_side, (cols, rows), meta)
        if fast:
            return fast
    try:
        if ts in _GDCM_ONLY_FOR:
            from .codec_sandbox import pixel_array

            source.seek(0)
            arr = pixel_array(source.read())
        else:
            arr = ds.pixel_array
    except (ValueError, AttributeError, KeyError, IndexError, TypeError, EOFError, OSError) as exc:
        text = str(exc)
        if "plugin" in text.lower() or "decoder" in text.lower() or "missing required" in text.lower():
            raise errors.UnsupportedCompressionError(
                f"unsupported compression: {SUPPORTED_TS.get(ts, ts)} could not be decoded here"
            ) from None
        raise errors.NotAnImageError("DICOM pixel data does not match its header") from None
    except errors.InputError:
        raise
    except Exception:
        raise errors.NotAnImageError("DICOM pixel data is corrupt") from None
    frames = arr if n_frames > 1 else arr[None]
    out = []
    for i, frame in enumerate(frames):
        rgb = _to_rgb8(np.asarray(frame), photometric, bits)
        h, w = rgb.shape[:2]
        if min_side and min(h, w) > min_side:
            from .imageops import shrink_to

            rgb = shrink_to(rgb, min_side / min(h, w))
        m = PhotoMetadata(**{**meta.as_dict(), "frame_index": i, "n_frames": len(frames)})
        out.append(LoadedImage(rgb=rgb, original_size=(w, h), metadata=m))
    return out


_REDUCIBLE = {"1.2.840.10008.1.2.4.50": "jpeg", "1.2.840.10008.1.2.4.90": "j2k", "1.2.840.10008.1.2.4.91": "j2k",
              "1.2.840.10008.1.2.4.201": "j2k", "1.2.840.10008.1.2.4.202": "j2k", "1.2.840.10008.1.2.4.203": "j2k"}


def _decode_reduced(ds, ts: str, n_frames: int, min_side: int, size: tuple[int, int],
                    meta: PhotoMetadata) -> list[LoadedImage] | None:
    """Decode compressed frames at reduced resolution (JPEG 2000 / HTJ2K levels, JPEG DCT scaling).

    A 3504x2336 JPEG 2000 frame decodes several times faster at a quarter of the
    size, which is all the models need. Returns None (full decode) on any surprise.
    """
    import io

    from PIL import Image
    from pydicom.encaps import generate_frames

    out = []
    try:
        for i, data in enumerate(generate_frames(ds.PixelData, number_of_frames=n_frames)):
            im = Image.open(io.BytesIO(data))
            if _REDUCIBLE[ts] == "j2k":
                level = 0
                while min(im.size) >> (level + 1) >= min_side:
                    level += 1
                im.reduce = level  # Pillow's J2K plugin: resolution levels OpenJPEG skips decoding
            else:
                im.draft("RGB", (min_side, min_side))
            rgb = to_rgb8(im)
            m = PhotoMetadata(**{**meta.as_dict(), "frame_index": i, "n_frames": n_frames})
            out.append(LoadedImage(rgb=rgb, original_size=size, metadata=m))
    except Exception:  # unusual encodings: pydicom's full decode handles (or reports) them
        return None
    return out if len(out) == n_frames else None


def _to_rgb8(a: np.ndarray, photometric: str, bits: int) -> np.ndarray:
    if a.dtype != np.uint8:
        top = float((1 << min(max(bits, 1), 16)) - 1)
        a = np.clip(a.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        if photometric == "MONOCHROME1":
            a = 255 - a
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.ndim != 3 or a.shape[2] != 3:
        raise errors.NotAnImageError("DICOM pixel layout is not a photo")
    return np.ascontiguousarray(a)


def _metadata(ds) -> PhotoMetadata:
    def text(tag: str) -> str:
        try:  # a corrupt element (unknown VR, bad length) must not sink the whole photo
            v = ds.get(tag, "")
            return str(v).strip() if v is not None else ""
        except Exception:
            return ""

    lat = (text("ImageLaterality") or text("Laterality")).upper()[:1]
    acquired = text("AcquisitionDateTime")
    if not acquired:
        date, time = text("ContentDate") or text("StudyDate"), text("ContentTime") or text("StudyTime")
        acquired = date + time
    device = " ".join(x for x in (text("Manufacturer"), text("ManufacturerModelName")) if x)
    sop = text("SOPClassUID")
    return PhotoMetadata(
        source_format="dicom",
        patient_id=text("PatientID"),
        patient_name=text("PatientName").replace("^", " ").strip(),
        laterality=lat if lat in ("R", "L") else None,
        laterality_source="dicom" if lat in ("R", "L") else "",
        acquired=_iso(acquired),
        device=device,
        sop_class=_uid_name(sop) if sop else "",
    )


def _iso(dicom_dt: str) -> str:
    """'20261122153012.5' -> '2026-11-22T15:30:12' (best effort; '' when absent)."""
    d = "".join(ch for ch in dicom_dt.split(".")[0].split("+")[0] if ch.isdigit())
    if len(d) < 8:
        return ""
    iso = f"{d[0:4]}-{d[4:6]}-{d[6:8]}"
    if len(d) >= 12:
        iso += f"T{d[8:10]}:{d[10:12]}:{d[12:14] or '00'}"
    return iso


def _ts_name(ts: str) -> str:
    """A transfer syntax as a short, printable name (a corrupt header can hold any bytes)."""
    if not re.fullmatch(r"[0-9.]{1,64}", ts):
        return "unrecognised transfer syntax"
    return _SHORT_NAMES.get(ts) or _uid_name(ts)


def _uid_name(uid: str) -> str:
    from pydicom.uid import UID

    try:
        name = UID(uid).name
    except Exception:
        name = uid
    return name or uid
