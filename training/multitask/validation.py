"""Validation sets (never trained on) and the numbers every stage and the shipped card report.

- DRIMDB validation photos (real): good -> Good, bad -> Reject, outlier -> not a fundus photo.
- Synthetic: seeded degradations of the clean-source validation photos, kinds cycled so each
  appears equally; labels and grades from `training.degradations`.
- Non-fundus: held-out scikit-image pictures and dark frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from riqa_desktop.core.calibration import probabilities
from riqa_desktop.core.preprocess import to_tensor_batch
from riqa_desktop.models.multitask import DETAILS

from .. import degradations as D
from ..splits import clean_sources, drimdb
from .data import load_squares, non_fundus_squares, split_non_fundus
from ..metrics import auc, ece, f1_per_class

DRIMDB_CLASSES = ("good", "bad", "outlier")
VAL_SEED = 777


@dataclass
class ValSets:
    drimdb_x: np.ndarray
    drimdb_y: list[str]
    synth_x: np.ndarray
    synth_details: np.ndarray  # (N, 3) 1 = bad
    synth_grade: np.ndarray
    nonfundus_x: np.ndarray


def build_val_sets(root, size: int, min_side: int, versions: int = 3) -> ValSets:
    d = drimdb(root)["val"]
    clean = load_squares(clean_sources(root)["val"], size, min_side)
    rng = np.random.default_rng(VAL_SEED)
    xs, det, grade = [], [], []
    k = 0
    for sq in clean:
        xs.append(sq), det.append([0, 0, 0]), grade.append(0)
        for _ in range(versions):
            kind = D.GLOBAL_KINDS[k % len(D.GLOBAL_KINDS)]
            k += 1
            s = D.sample_severity(kind, rng)
            lab = D.labels(kind, s)
            xs.append(D.apply(sq, kind, s, rng))
            det.append([int(lab[a]) for a in DETAILS])
            grade.append(D.synthetic_grade(kind, s))
    return ValSets(
        drimdb_x=load_squares([p for p, _ in d], size, min_side),
        drimdb_y=[lab for _, lab in d],
        synth_x=np.stack(xs),
        synth_details=np.array(det),
        synth_grade=np.array(grade),
        nonfundus_x=split_non_fundus(non_fundus_squares(size))["val"],
    )


@torch.no_grad()
def predict(model, squares: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    model.eval()
    outs: dict[str, list] = {}
    for i in range(0, len(squares), batch):
        o = model(to_tensor_batch(list(squares[i : i + batch])))
        for k, v in o.items():
            outs.setdefault(k, []).append(v.float().numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def drimdb_decision(grade_p: np.ndarray, nf_p: np.ndarray, nf_threshold: float) -> list[str]:
    """DRIMDB label from the model: outlier if not-fundus, bad if Reject is the top grade, else good.

    DRIMDB "bad" means ungradable, so both Good and Usable count as DRIMDB "good" (gradable).
    """
    return ["outlier" if nf >= nf_threshold else ("bad" if g.argmax() == 2 else "good") for g, nf in zip(grade_p, nf_p)]


def collect_logits(model, vs: ValSets) -> dict[str, np.ndarray]:
    return {"drimdb": predict(model, vs.drimdb_x), "synth": predict(model, vs.synth_x), "nonfundus": predict(model, vs.nonfundus_x)}


def calibration_targets(vs: ValSets, logits: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(validation logits, labels) per head, as used to fit and to measure its temperature."""
    dl, sl, nl = logits["drimdb"], logits["synth"], logits["nonfundus"]
    real = np.array([lab != "outlier" for lab in vs.drimdb_y])
    dgrade = np.array([0 if lab == "good" else 2 for lab in vs.drimdb_y])
    out = {
        "grade": (np.concatenate([dl["grade"][real], sl["grade"]]), np.concatenate([dgrade[real], vs.synth_grade])),
        "not_fundus": (
            np.concatenate([dl["not_fundus"], sl["not_fundus"], nl["not_fundus"]]),
            np.concatenate([~real, np.zeros(len(vs.synth_x), bool), np.ones(len(vs.nonfundus_x), bool)]).astype(int),
        ),
    }
    for j, a in enumerate(DETAILS):
        out[a] = (sl[a], vs.synth_details[:, j])
    return out


def metrics(vs: ValSets, logits: dict, temps: dict | None = None, thresholds: dict | None = None, details: bool = True) -> dict:
    """Validation numbers: DRIMDB F1 per class + accuracy, detail AUCs, synthetic grade accuracy."""
    temps = temps or {}
    nf_t = (thresholds or {}).get("not_fundus", 0.5)
    dl, sl = logits["drimdb"], logits["synth"]
    gp = probabilities(dl["grade"], temps.get("grade", 1.0))
    nfp = probabilities(dl["not_fundus"], temps.get("not_fundus", 1.0))
    pred = drimdb_decision(gp, nfp, nf_t)
    f1 = f1_per_class(vs.drimdb_y, pred, DRIMDB_CLASSES)
    m = {f"drimdb_f1_{c}": f1[c] for c in DRIMDB_CLASSES}
    m["drimdb_accuracy"] = float(np.mean([p == y for p, y in zip(pred, vs.drimdb_y)]))
    m["drimdb_usable_predictions"] = int(sum(g.argmax() == 1 for g, p in zip(gp, pred) if p != "outlier"))
    m["synthetic_grade_accuracy"] = float(np.mean(sl["grade"].argmax(1) == vs.synth_grade))
    m["synthetic_grade_macro_f1"] = float(np.mean(list(f1_per_class(vs.synth_grade, sl["grade"].argmax(1), (0, 1, 2)).values())))
    if details:
        for j, a in enumerate(DETAILS):
            m[f"auc_{a}"] = auc(vs.synth_details[:, j], sl[a])
    nf_all = np.concatenate([probabilities(logits["nonfundus"]["not_fundus"], temps.get("not_fundus", 1.0))])
    m["nonfundus_val_recall"] = float(np.mean(nf_all >= nf_t)) if len(nf_all) else float("nan")
    return m


def ece_table(vs: ValSets, logits: dict, temps: dict) -> dict[str, dict[str, float]]:
    out = {}
    for head, (z, y) in calibration_targets(vs, logits).items():
        out[head] = {"before": ece(probabilities(z), y), "after": ece(probabilities(z, temps[head]), y)}
    return out
