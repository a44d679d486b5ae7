"""Refit the not-a-fundus head with rendered outer-eye close-ups; the rest of the student stays as trained.

The student learned "not a fundus" from 8 DRIMDB outliers (mostly test charts and
dark frames) and scikit-image pictures, so an iris or a blurred lid inside the
camera's round field came out Reject. `training/outer_eye.py` renders such
pictures. Only the head's linear layer is refitted, on the student's own pooled
features, so grade, details and laterality keep every number they had; the
refit sees the training views of every group, weighted by the student's mix,
and the fundus photos' tune views decide nothing here (they are reported).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..outer_eye import pictures
from .bank import advance, head_map, trunk
from .data import square_of
from .eyeq import Bank
from .views import geometry


def outer_eye_squares(n: int, seed: int, size: int) -> np.ndarray:
    return np.stack([square_of(p, size) for p in pictures(n, seed)])


@torch.no_grad()
def pooled(model, feats: np.ndarray, start: int, batch: int = 256) -> np.ndarray:
    """The heads' input (pre-logits) for bank features after `start` stages."""
    model.eval()
    out = []
    for i in range(0, len(feats), batch):
        fmap = head_map(model, torch.from_numpy(np.asarray(feats[i:i + batch])), start)
        out.append(model.backbone.forward_head(fmap, pre_logits=True).numpy())
    return np.concatenate(out)


def refit_not_fundus(students: list, bank: Bank, cfg: dict) -> list[dict]:
    """Refit every student's `heads['not_fundus']` in place; returns what the card records for each.

    The rendered pictures, their trunk features and the rows drawn from the bank are made
    once and shared: only the pooled features differ between students.
    """
    rc, S = cfg["not_fundus_refit"], cfg["input_size"]
    rng = np.random.default_rng([int(cfg["seed"]), 0x0E7E])
    eyes = outer_eye_squares(rc["outer_eye_pictures"], int(cfg["seed"]), S)
    views = np.stack([geometry(s, rng)[0] for s in eyes for _ in range(rc["views"])])
    frozen = students[0]  # every student keeps the ImageNet stages the bank's features came from
    x_eye = advance(frozen, trunk(frozen, views), bank.start)
    rows, weights = [], []
    mix = cfg["student"]["mix"]
    for g, share in mix.items():
        idx = bank.where(g, "train")
        if len(idx) > rc["max_rows_per_group"]:
            idx = np.sort(rng.choice(idx, rc["max_rows_per_group"], replace=False))
        rows.append(idx)
        weights.append(np.full(len(idx), share / len(idx)))
    idx = np.concatenate(rows)
    y = np.concatenate([bank.nf[idx], np.ones(len(x_eye), np.float32)])
    w = np.concatenate(weights + [np.full(len(x_eye), rc["outer_eye_share"] / len(x_eye))])
    common = {"outer_eye_training_pictures": int(len(eyes)), "outer_eye_training_views": int(len(x_eye)),
              "rows_per_group": {g: int(len(r)) for g, r in zip(mix, rows)}}
    out = []
    for model in students:
        feats = np.concatenate([pooled(model, bank.feats[idx], bank.start), pooled(model, x_eye, bank.start)])
        out.append({**common, "training_accuracy": _fit_head(model.heads["not_fundus"], feats, y, w, rc)})
    return out


def _fit_head(head: torch.nn.Linear, feats: np.ndarray, y: np.ndarray, w: np.ndarray, rc: dict) -> float:
    """Weighted logistic regression by L-BFGS from the head's own weights; returns training accuracy."""
    lin = torch.nn.Linear(head.in_features, 1)
    lin.load_state_dict(head.state_dict())
    xt, yt = torch.from_numpy(feats).float(), torch.from_numpy(y).float()
    wt = torch.from_numpy(w / w.sum()).float()
    opt = torch.optim.LBFGS(lin.parameters(), max_iter=rc["lbfgs_iterations"], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (F.binary_cross_entropy_with_logits(lin(xt)[:, 0], yt, reduction="none") * wt).sum()
        loss = loss + rc["l2"] * (lin.weight ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        head.load_state_dict(lin.state_dict())
        train_pred = lin(xt)[:, 0] > 0
    return float((train_pred.numpy() == (y > 0.5)).mean())
