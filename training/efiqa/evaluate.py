"""Measure the EFIQA models on validation photos only (never trained on by any stage).

Image level: DRIMDB validation bad vs good, score = mean patch probability.
Localisation: held-out good photos with one seeded local degradation each;
patch AUC of degraded (region mask >= 0.5 of the patch) vs intact (<= 0.05)
patches inside the FOV; patches in between are left out as ambiguous.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from riqa_desktop.core.preprocess import to_tensor_batch
from training.splits import clean_sources, drimdb

from ..metrics import auc
from ..squares import fov_square
from .degraded import fov_patches, grid_mean, localisation_set

LOC_SEED = 2026
POS, NEG = 0.5, 0.05


@torch.no_grad()
def patch_probs(model, squares: list[np.ndarray], batch: int = 16) -> np.ndarray:
    """(N, G, G) probabilities of 'patch degraded' for uint8 FOV squares."""
    model.eval()
    out = [torch.sigmoid(model(to_tensor_batch(squares[i:i + batch]))).numpy() for i in range(0, len(squares), batch)]
    return np.concatenate(out)


def best_f1_threshold(scores, labels) -> tuple[float, float]:
    """EFIQA's threshold: argmax F1 over t in {0, 0.01, ..., 0.99} (bad = positive)."""
    s, y = np.asarray(scores), np.asarray(labels).astype(bool)
    best = (0.0, -1.0)
    for t in np.arange(0, 1, 0.01):
        pred = s >= t
        tp = (pred & y).sum()
        f1 = 2 * tp / max(1, pred.sum() + y.sum())
        if f1 > best[1]:
            best = (float(round(t, 2)), float(f1))
    return best


def drimdb_scores(model, card: dict, root: Path, split: str, cache_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """Image scores and bad labels of DRIMDB good/bad photos of one split (outliers excluded)."""
    items = [(p, lab) for p, lab in drimdb(root)[split] if lab in ("good", "bad")]
    sqs = [fov_square(p, card["input_size"], card["min_side"], cache_dir) for p, _ in items]
    scores = patch_probs(model, sqs).mean(axis=(1, 2))
    return scores, np.array([lab == "bad" for _, lab in items])


def image_level(model, card: dict, root: Path, cache_dir=None) -> dict:
    s, y = drimdb_scores(model, card, root, "val", cache_dir)
    pred = s >= card["image_threshold"]
    tp = (pred & y).sum()
    return {"drimdb_val_auc": auc(y, s), "drimdb_val_f1": float(2 * tp / max(1, pred.sum() + y.sum())),
            "drimdb_val_accuracy": float((pred == y).mean()), "drimdb_val_n": int(len(y))}


def localisation(model, card: dict, root: Path, cache_dir=None, vessel_min_side: int = 1024, gen: str = "A") -> dict:
    """Patch AUC on degraded validation photos, overall and per kind, for one defect generator.

    Generator A keeps the historic names (loc_patch_auc, loc_auc_<kind>); C and B
    (B: held out from every training and calibration) are prefixed loc_C_ / loc_B_.
    """
    g = card["grid"]
    items = localisation_set(clean_sources(root)["val"], card["input_size"], vessel_min_side, cache_dir, LOC_SEED,
                             gen=gen)
    probs = patch_probs(model, [it["square"] for it in items])
    m = localisation_auc(items, probs, g)
    return m if gen == "A" else {"loc_" + gen + "_" + k[4:]: v for k, v in m.items()}


def localisation_auc(items: list[dict], scores: np.ndarray, grid: int) -> dict:
    """AUC of per-patch `scores` (N, G, G) against the items' region masks."""
    fov = fov_patches(grid)
    by_kind: dict[str, list] = {}
    for it, sc in zip(items, scores):
        cov = grid_mean(it["mask"], grid)
        keep = fov & ((cov >= POS) | (cov <= NEG))
        by_kind.setdefault(it["kind"], []).append((sc[keep], cov[keep] >= POS))
    out = {}
    all_s, all_y = [], []
    for kind, parts in sorted(by_kind.items()):
        s, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        out[f"loc_auc_{kind}"] = auc(y, s)
        all_s.append(s), all_y.append(y)
    out = {"loc_patch_auc": auc(np.concatenate(all_y), np.concatenate(all_s)), **out}
    out["loc_n_images"] = len(items)
    return out


def evaluate_shipped(data_root, models_dir) -> list[dict]:
    """Rows (metric, value, target, card) for `python -m training evaluate`."""
    from riqa_desktop.models.registry import load_model

    from .vessels import drive_test, evaluate_drive

    root = Path(data_root)
    rows = []
    seg, seg_card = load_model("vessel_unet", models_dir)
    m = evaluate_drive(seg, drive_test(root), seg_card["threshold"])
    for k, target in (("drive_auc_obs2", 0.97), ("drive_acc_obs2", 0.947), ("drive_auc_obs1", None), ("drive_acc_obs1", None)):
        rows.append({"metric": f"vessel_unet {k}", "value": m[k], "target": target, "card": seg_card["metrics"].get(k)})
    model, card = load_model("efiqa_adapter", models_dir)
    vessel_min_side = card["config"].get("vessel_min_side", 1024)
    m = {**image_level(model, card, root), **localisation(model, card, root, None, vessel_min_side)}
    for gen in ("C", "B"):
        m.update(localisation(model, card, root, None, vessel_min_side, gen))
    for k, v in m.items():
        target = {"drimdb_val_auc": 0.97, "loc_patch_auc": 0.90, "loc_B_patch_auc": 0.90}.get(k)
        rows.append({"metric": f"efiqa_adapter {k}", "value": v, "target": target, "card": card["metrics"].get(k)})
    return rows
