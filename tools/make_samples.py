"""Make `resources/samples/`: the only photos the repository holds (see ATTRIBUTION.md there).

scikit-image's retina photo (CC0) and three HRF photos (CC BY 4.0, Budai et al.
2013) downscaled to 1200 px wide; plus two derivatives of HRF photos with a
synthetic defect (labelled as modified), so the "try it" mode shows what the
app says about a photo that needs a re-shoot. Run once:
`python tools/make_samples.py --data-root ../shared/data`; after the shipped
models change, `python tools/make_samples.py --expected-only` rewrites the
self-test's reference results (`expected.json`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from riqa_desktop.core.fov import detect_fov  # noqa: E402
from riqa_desktop.core.loading import read_image  # noqa: E402
from training import degradations  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "resources" / "samples"
HRF = {"hrf_02_h.jpg": "02_h.jpg", "hrf_07_dr.jpg": "07_dr.JPG", "hrf_12_g.jpg": "12_g.jpg"}
DERIVED = {"hrf_02_h_lid_shadow.jpg": ("02_h.jpg", "lid_shadow", 0.9),
           "hrf_07_dr_defocus.jpg": ("07_dr.JPG", "defocus", 0.8)}
WIDTH = 1200


def _small(path: Path) -> np.ndarray:
    rgb = read_image(path, min_side=900).rgb
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (WIDTH, round(h * WIDTH / w)), interpolation=cv2.INTER_AREA)


def _degrade_in_place(rgb: np.ndarray, kind: str, severity: float) -> np.ndarray:
    """Apply a degradation to the FOV's square and paste it back into the frame."""
    fov = detect_fov(rgb)
    side = int(round(2 * fov.r))
    x0, y0 = int(round(fov.cx - fov.r)), int(round(fov.cy - fov.r))
    h, w = rgb.shape[:2]
    sq = np.zeros((side, side, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    sq[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    out_sq = degradations.apply(sq, kind, severity, np.random.default_rng(0))
    out = rgb.copy()
    region = out_sq[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0]
    inside = fov.mask((h, w))[sy0:sy1, sx0:sx1]
    out[sy0:sy1, sx0:sx1][inside] = region[inside]
    return out


def _save(name: str, rgb: np.ndarray) -> None:
    cv2.imwrite(str(OUT / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


def write_expected(tolerance: float = 0.05) -> Path:
    """Record what the shipped models say about each sample: the self-test's reference.

    The tolerance covers the torch/ONNX Runtime difference (measured far smaller,
    see the cards' `onnx.parity_with_torch`) and decoder differences between builds.
    """
    import json

    from riqa_desktop.core.analyzer import Analyzer
    from riqa_desktop.resources import models_dir

    an = Analyzer(device="cpu", backend="torch")
    photos = {}
    for p in sorted(OUT.glob("*.jpg")):
        (a,) = an.assess_path(p)
        photos[p.name] = {"grade": a.grade, "grade_probs": {k: round(v, 4) for k, v in a.grade_probs.items()},
                          "quality_score": round(a.quality_score, 4),
                          "advice": [f"{x.title}: {x.action}" for x in a.advice]}
    models = {n: json.loads((models_dir() / f"{n}.json").read_text())["sha256"]
              for n in ("quality_multitask", "efiqa_adapter")}
    out = OUT / "expected.json"
    out.write_text(json.dumps({"tolerance": tolerance, "models": models, "photos": photos}, indent=2) + "\n")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-root", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data"))
    ap.add_argument("--expected-only", action="store_true", help="only (re)write expected.json from the shipped models")
    args = ap.parse_args()
    if args.expected_only:
        print(f"wrote {write_expected()}")
        return 0
    from skimage import data

    OUT.mkdir(parents=True, exist_ok=True)
    _save("retina_skimage.jpg", np.ascontiguousarray(data.retina()))
    hrf = Path(args.data_root) / "HRF" / "images"
    for name, src in HRF.items():
        _save(name, _small(hrf / src))
    for name, (src, kind, sev) in DERIVED.items():
        _save(name, _degrade_in_place(_small(hrf / src), kind, sev))
    print(f"samples written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
