"""Write test DICOM files with pydicom (fixtures are generated, never downloaded)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    OphthalmicPhotography8BitImageStorage,
    OphthalmicPhotography16BitImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
    VLPhotographicImageStorage,
    generate_uid,
)

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
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    return ds


def _finish(ds: Dataset, path: Path) -> Path:
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
    ds.compress(RLELossless)
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
    """Claims JPEG-LS (the bytes are JPEG: only the transfer syntax matters for the check)."""
    ds = base_dataset("op8")
    ds.set_pixel_data(rgb, "RGB", 8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG")
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    return _finish(ds, path)


def write_no_pixels(path: Path) -> Path:
    ds = base_dataset("op8")
    ds.SOPInstanceUID = generate_uid()
    return _finish(ds, path)
