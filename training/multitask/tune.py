"""Calibration on the EyeQ tune split (never on validation): temperatures, grade offsets, abstention.

- Grade: a temperature, then per-class logit offsets that maximise macro-F1 on the
  tune photos (EyeQ's Usable is a minority class); the offsets are folded into the grade
  head's bias (every student's, in an ensemble), so every backend (torch, ONNX) gives the
  same decision with no extra rule.
- Details: a temperature each, on generator-A defects of the tune photos (engine labels).
- Laterality: a temperature, then the lowest confidence at which the answered tune photos
  are right at least `laterality_target_accuracy` of the time; below it the eye is unknown.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from riqa_desktop.core.calibration import probabilities
from riqa_desktop.models.multitask import DETAILS

from .bank import top_predict
from .calibrate import fit_temperature
from .eyeq import Bank, macro_f1

OFFSETS = np.round(np.arange(-0.6, 1.21, 0.1), 2)


def _grade_offsets(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    best, best_f1 = np.zeros(3), macro_f1(y, z.argmax(1))
    for du, dr in itertools.product(OFFSETS, OFFSETS):
        d = np.array([0.0, du, dr])
        f1 = macro_f1(y, (z + d).argmax(1))
        if f1 > best_f1 + 1e-9:
            best, best_f1 = d, f1
    return best, best_f1


def calibrate_laterality(z: np.ndarray, eye: np.ndarray, target: float) -> tuple[float, float, dict]:
    """(temperature, threshold, tune figures): the lowest confidence (0.01 steps) whose answered
    tune photos are right at least `target` of the time; 0.99 when none is."""
    temp = fit_temperature(z, eye)
    p = probabilities(z, temp)
    conf, right = np.maximum(p, 1 - p), (p >= 0.5).astype(int) == eye
    threshold = 0.99
    for t in np.arange(0.5, 0.995, 0.01):
        ans = conf >= t
        if ans.any() and right[ans].mean() >= target:
            threshold = float(round(t, 2))
            break
    ans = conf >= threshold
    return temp, threshold, {"tune_laterality_coverage": float(ans.mean()),
                             "tune_laterality_accuracy_answered": float(right[ans].mean()) if ans.any() else float("nan")}


def calibrate_on_tune(model, bank: Bank, cfg: dict) -> dict:
    c = cfg["calibration"]
    tune = bank.where("eyeq", "tune")
    out = top_predict(model, bank.feats[tune], bank.start)
    y = bank.grade[tune]
    t0 = fit_temperature(out["grade"], y)
    offsets, f1 = _grade_offsets(out["grade"] / t0, y)
    with torch.no_grad():
        for heads in model.all_heads():  # an ensemble's mean moves by the same offsets
            heads["grade"].bias += torch.as_tensor(offsets * t0, dtype=heads["grade"].bias.dtype)
    out = top_predict(model, bank.feats[tune], bank.start)
    temps = {"grade": fit_temperature(out["grade"], y), "not_fundus": 1.0}
    synth = bank.where("synthetic", "tune")
    sout = top_predict(model, bank.feats[synth], bank.start)
    for j, a in enumerate(DETAILS):
        temps[a] = fit_temperature(sout[a], bank.det[synth, j])
    thresholds = {"not_fundus": c["not_fundus_threshold"], **{a: c["detail_threshold"] for a in DETAILS}}
    info = {"grade_offsets_folded_into_bias": [float(v) for v in offsets], "tune_macro_f1_after_offsets": f1,
            "tune_photos": int(len(tune)), "tune_synthetic_views": int(len(synth))}
    if "laterality" in out:
        temps["laterality"], thresholds["laterality"], lat = calibrate_laterality(
            out["laterality"], bank.eye[tune], c["laterality_target_accuracy"])
        info.update(lat)
    return {"calibration": temps, "thresholds": thresholds, "tuning": info}
