"""Write test DICOM files with pydicom (fixtures are generated, never downloaded)."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    HTJ2K,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    MPEG4HP41,
    OphthalmicPhotography8BitImageStorage,
    OphthalmicPhotography16BitImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
    VLPhotographicImageStorage,
    generate_uid,
)

_uid_count = itertools.count()


def _uid() -> str:
    """A unique UID that is the same on every run (the fuzzer's seeds must reproduce their mutants)."""
    return generate_uid(entropy_srcs=["riqa-desktop tests", str(next(_uid_count))])


SOP = {
    "op8": OphthalmicPhotography8BitImageStorage,
    "op16": OphthalmicPhotography16BitImageStorage,
    "vl": VLPhotographicImageStorage,
    "sc": SecondaryCaptureImageStorage,
}


def base_dataset(sop: str = "op8", laterality: str = "R") -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP[sop]
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SOP[sop]
    ds.Modality = "OP"
    ds.PatientID = "TEST-0042"
    ds.PatientName = "Doe^Jane"
    ds.ImageLaterality = laterality
    ds.AcquisitionDateTime = "20261122101530"
    ds.Manufacturer = "TestCam"
    ds.ManufacturerModelName = "FC-1"
    ds.StudyInstanceUID = _uid()
    ds.SeriesInstanceUID = _uid()
    return ds


def _finish(ds: Dataset, path: Path) -> Path:
    ds.SOPInstanceUID = _uid()  # not pydicom's random one
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    return path


def write_raw(path: Path, rgb: np.ndarray, sop: str = "op8", frames: int = 1, laterality: str = "R") -> Path:
    ds = base_dataset(sop, laterality)
    arr = np.stack([rgb] * frames) if frames > 1 else rgb
    ds.set_pixel_data(arr, "RGB", 8)
    ds.NumberOfFrames = frames
    return _finish(ds, path)


def write_mono16(path: Path, gray16: np.ndarray) -> Path:
    ds = base_dataset("op16")
    ds.set_pixel_data(gray16.astype(np.uint16), "MONOCHROME2", 16)
    ds.NumberOfFrames = 1
    return _finish(ds, path)


def write_rle(path: Path, rgb: np.ndarray) -> Path:
    ds = base_dataset("op8")
    ds.set_pixel_data(rgb, "RGB", 8)
    ds.compress(RLELossless, encoding_plugin="pydicom")  # GDCM's RLE encoder aborts on odd sizes
    ds.NumberOfFrames = 1
    return _finish(ds, path)


def write_encapsulated(path: Path, rgb: np.ndarray, kind: str) -> Path:
    """JPEG Baseline or JPEG 2000 Lossless, compressed by Pillow, wrapped by pydicom."""
    ds = base_dataset("op8")
    ds.set_pixel_data(rgb, "RGB", 8)
    buf = io.BytesIO()
    if kind == "jpeg":
        Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
    else:
        Image.fromarray(rgb).save(buf, format="JPEG2000", irreversible=False, no_jp2=True)
        ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
        ds.PhotometricInterpretation = "YBR_RCT"
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.NumberOfFrames = 1
    return _finish(ds, path)


def write_unsupported(path: Path, rgb: np.ndarray) -> Path:
    """Claims MPEG-4 video (the bytes are JPEG: only the transfer syntax matters for the check)."""
    ds = base_dataset("op8")
    ds.set_pixel_data(rgb, "RGB", 8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG")
    ds.file_meta.TransferSyntaxUID = MPEG4HP41
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    return _finish(ds, path)


def write_no_pixels(path: Path) -> Path:
    return _finish(base_dataset("op8"), path)


# The syntaxes clinics send beyond the ones Pillow writes: each encoded by a
# permissive library (pyjpegls through pydicom; imagecodecs for JPEG Lossless
# SV1 and HTJ2K, whose encoders pydicom lacks), decoded by the app's plug-ins.
SYNTAXES = {
    "jpegls": (JPEGLSLossless, 0),
    "jpegls_near": (JPEGLSNearLossless, 2),  # the encoder's stated bound, NEAR=2
    "jpeg_lossless_sv1": (JPEGLosslessSV1, 0),
    "htj2k_lossless": (HTJ2KLossless, 0),
    "htj2k": (HTJ2K, 8),  # irreversible wavelet, default quality (measured max 4 on this photo)
    "deflated": (DeflatedExplicitVRLittleEndian, 0),
}


def write_syntax(path: Path, pixels: np.ndarray, syntax: str, sop: str = "op8") -> Path:
    """`pixels`: (H, W, 3) uint8 RGB, or (H, W) uint16 red-free (OP 16 bit)."""
    import imagecodecs

    ts = SYNTAXES[syntax][0]
    ds = base_dataset("op16" if pixels.dtype == np.uint16 else sop)
    colour = pixels.ndim == 3
    ds.set_pixel_data(pixels, "RGB" if colour else "MONOCHROME2", 8 if colour else 16)
    ds.NumberOfFrames = 1
    if syntax == "deflated":
        ds.file_meta.TransferSyntaxUID = ts
    elif syntax.startswith("jpegls"):
        ds.compress(ts, jls_error=SYNTAXES[syntax][1])
    else:
        if syntax == "jpeg_lossless_sv1":
            data = imagecodecs.jpeg8_encode(pixels, lossless=True, predictor=1, bitspersample=8 if colour else 16,
                                            **({"colorspace": "RGB", "outcolorspace": "RGB"} if colour else {}))
        else:
            data = imagecodecs.htj2k_encode(pixels, reversible=syntax == "htj2k_lossless")
            if colour:
                ds.PhotometricInterpretation = "YBR_RCT" if syntax == "htj2k_lossless" else "YBR_ICT"
        ds.file_meta.TransferSyntaxUID = ts
        ds.PixelData = encapsulate([data])
        ds["PixelData"].VR = "OB"
        if SYNTAXES[syntax][1]:
            ds.LossyImageCompression = "01"
    return _finish(ds, path)


def write_other_modality(path: Path, gray: np.ndarray, sop_class: str, modality: str, **extra) -> Path:
    """A 16-bit grayscale object of another kind (CT, MR, ultrasound, ...), as their scanners write it."""
    ds = base_dataset("op8")
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.Modality = modality
    for k, v in extra.items():
        setattr(ds, k, v)
    ds.set_pixel_data(gray.astype(np.uint16), "MONOCHROME2", 16)
    return _finish(ds, path)
