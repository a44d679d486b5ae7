"""The photos the benchmarks run on, all real: an HRF 3504x2336 JPEG, a DRIMDB 760x570 JPEG,
a JPEG 2000 DICOM made from the HRF photo, and a 200-photo folder list."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def latency_inputs(root: Path, tmp: Path) -> dict[str, Path]:
    hrf = root / "HRF" / "images" / "01_h.jpg"
    drimdb = root / "DRIMDB" / "Good" / "drimdb_good (1).jpg"
    return {"HRF JPEG 3504x2336": hrf, "DRIMDB JPEG 760x570": drimdb,
            "DICOM JPEG 2000 3504x2336": j2k_dicom(hrf, tmp / "hrf_j2k.dcm")}


def j2k_dicom(src: Path, out: Path) -> Path:
    """An Ophthalmic Photography DICOM holding `src` as JPEG 2000 (lossless), as some cameras export."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless, OphthalmicPhotography8BitImageStorage, generate_uid

    if out.exists():
        return out
    rgb = np.asarray(Image.open(src).convert("RGB"))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = OphthalmicPhotography8BitImageStorage
    meta.TransferSyntaxUID = JPEG2000Lossless
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = OphthalmicPhotography8BitImageStorage
    ds.Modality, ds.ImageLaterality = "OP", "R"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.set_pixel_data(rgb, "RGB", 8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG2000", irreversible=False, no_jp2=True)
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PhotometricInterpretation = "YBR_RCT"
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.NumberOfFrames = 1
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(out, enforce_file_format=True)
    return out


def batch_inputs(root: Path, n: int = 200) -> list[Path]:
    """All DRIMDB (110), HRF (37), DRIVE (40) photos, then CHASE_DB1 up to n."""
    paths = sorted((root / "DRIMDB").glob("*/*.jpg")) + sorted((root / "HRF" / "images").glob("*"))
    paths += sorted(root.glob("DRIVE/*/images/*")) + sorted(root.glob("CHASEDB1/*/images/*"))
    return paths[:n]
