"""Make `resources/samples/dicom/`: one fundus photo in each DICOM syntax clinics send, for the self-test.

From scikit-image's retina photo (CC0, `resources/samples/retina_skimage.jpg`)
at 256 px: a PNG reference, then the same pixels as JPEG-LS (lossless and
near-lossless), JPEG Lossless SV1 (8-bit colour and 16-bit red-free), HTJ2K
(lossless and lossy) and Deflated. The self-test decodes each and compares it
with the reference within its codec's error (`expected.json` there). Needs the
test extra (imagecodecs encodes SV1 and HTJ2K): `python tools/make_dicom_samples.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.dicom_fixtures import SYNTAXES, write_syntax  # noqa: E402

OUT = ROOT / "resources" / "samples" / "dicom"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rgb = np.asarray(Image.open(ROOT / "resources" / "samples" / "retina_skimage.jpg").convert("RGB"))
    small = np.ascontiguousarray(cv2.resize(rgb, (256, 256), interpolation=cv2.INTER_AREA))
    Image.fromarray(small).save(OUT / "retina_256.png")
    files = {}
    for syntax, (_, max_error) in sorted(SYNTAXES.items()):
        write_syntax(OUT / f"retina_{syntax}.dcm", small, syntax)
        files[f"retina_{syntax}.dcm"] = {"max_error": max_error, "channel": None}
    write_syntax(OUT / "retina_red_free_16bit_jpeg_lossless_sv1.dcm", small[..., 1].astype(np.uint16) * 257,
                 "jpeg_lossless_sv1")
    files["retina_red_free_16bit_jpeg_lossless_sv1.dcm"] = {"max_error": 0, "channel": 1}
    (OUT / "expected.json").write_text(json.dumps({"reference": "retina_256.png", "files": files}, indent=2) + "\n")
    print(f"wrote {len(files)} DICOM files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
