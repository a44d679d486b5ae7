"""The photos the benchmarks run on, all real: an HRF 3504x2336 JPEG, the same photo at 1752x1168
(a common camera size: the issue's target), a DRIMDB 760x570 JPEG, a JPEG 2000 DICOM made from the
HRF photo, and a 200-photo folder list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def latency_inputs(root: Path, tmp: Path) -> dict[str, Path]:
    hrf = root / "HRF" / "images" / "01_h.jpg"
    drimdb = root / "DRIMDB" / "Good" / "drimdb_good (1).jpg"
    return {"HRF JPEG 3504x2336": hrf, "HRF JPEG 1752x1168": half_size(hrf, tmp / "hrf_1752.jpg"),
            "DRIMDB JPEG 760x570": drimdb, "DICOM JPEG 2000 3504x2336": j2k_dicom(hrf, tmp / "hrf_j2k.dcm")}


def half_size(src: Path, out: Path) -> Path:
    """`src` at half its width and height, JPEG quality 95 (a camera's own compression)."""
    if not out.exists():
        im = Image.open(src).convert("RGB")
        im.resize((im.width // 2, im.height // 2), Image.LANCZOS).save(out, "JPEG", quality=95)
    return out


def j2k_dicom(src: Path, out: Path) -> Path:
    """An Ophthalmic Photography DICOM holding `src` as JPEG 2000 (lossless), as some cameras export."""
    from tests.dicom_fixtures import write_encapsulated

    if not out.exists():
        write_encapsulated(out, np.asarray(Image.open(src).convert("RGB")), "j2k")
    return out


def batch_inputs(root: Path, n: int = 200) -> list[Path]:
    """All DRIMDB (110), HRF (37), DRIVE (40) photos, then CHASE_DB1 up to n."""
    paths = sorted((root / "DRIMDB").glob("*/*.jpg")) + sorted((root / "HRF" / "images").glob("*"))
    paths += sorted(root.glob("DRIVE/*/images/*")) + sorted(root.glob("CHASEDB1/*/images/*"))
    return paths[:n]
