"""Choose the adapter's head without generator B: train on one generator, measure on the other.

    python -m training.efiqa.head_proxy --heads 0x1 128x3 [--epochs 6] [--set adapter.lr=...]

Reads the stage-2 training features `python -m training adapter` caches (computes
them when missing). The training photos are split in two by a hash of their
name; a head (HIDDEN x KERNEL, see `patch_head`) trains on the first half's clean,
DRIMDB-bad and generator-A images and is measured on the second half's generator-C
images (patch AUC as `evaluate.localisation_auc` counts it), then the same with A
and C swapped. The mean of both directions stands in for a generator never seen.
"""

from __future__ import annotations

import argparse
import hashlib
import time

import numpy as np
import torch
import yaml

from riqa_desktop.models.efiqa import patch_head
from riqa_desktop.models.registry import load_model
from training.common import data_root, load_config, start_run

from ..metrics import auc
from .adapter import build_adapter, features_and_labels, head_optimiser, train_epoch, targets_and_weights, training_plan
from .cli import CONFIG
from .common import repo_path
from .degraded import fov_patches
from .evaluate import NEG, POS


def image_meta(cfg: dict, root) -> tuple[np.ndarray, np.ndarray]:
    """(photo half 0/1, generator or '' for clean / DRIMDB bad) per cached image, flips included."""
    half, gen = [], []
    for _name, _seed, _high, items in training_plan(cfg, root):
        for p, g, _kind in items:
            h = int(hashlib.sha1(p.name.encode()).hexdigest()[:8], 16) % 2
            half += [h, h]
            gen += [g or "", g or ""]
    return np.array(half), np.array(gen)


@torch.no_grad()
def patch_auc(head, x: torch.Tensor, cov: np.ndarray, idx: np.ndarray) -> float:
    head.eval()
    s = torch.cat([torch.sigmoid(head(x[idx[i:i + 64]].float())).squeeze(1) for i in range(0, len(idx), 64)]).numpy()
    cv = cov[idx]
    keep = fov_patches(cv.shape[-1])[None] & ((cv >= POS) | (cv <= NEG))
    return auc(cv[keep] >= POS, s[keep])


def cross_generator(cfg: dict, heads: list[tuple[int, int]], epochs: int) -> dict:
    c = {**cfg["adapter"], "epochs": epochs}
    root = data_root(cfg)
    models_dir = repo_path(cfg["models_dir"])
    seg, _ = load_model("vessel_unet", models_dir)
    vuad, _ = load_model("efiqa_vuad", models_dir)
    model, _ = build_adapter(c)
    x, y, cov, ok = features_and_labels(model, cfg, root, seg, vuad, repo_path("runs/efiqa/adapter"))
    target, weight = targets_and_weights(y, cov, ok, c)
    half, gen = image_meta(cfg, root)
    if len(half) != len(x):
        raise RuntimeError(f"{len(x)} cached images, the plan has {len(half)}: delete the stale cache")
    xf = torch.from_numpy(x)
    out = {}
    for hidden, kernel in heads:
        t0, res = time.time(), {}
        for g_train, g_test in (("A", "C"), ("C", "A")):
            tr = np.flatnonzero((half == 0) & np.isin(gen, ["", g_train]))
            te = np.flatnonzero((half == 1) & (gen == g_test))
            torch.manual_seed(int(cfg["seed"]))
            head = patch_head(x.shape[1], hidden, kernel)
            yf, wf = torch.from_numpy(target[tr].astype(np.float32)), torch.from_numpy(weight[tr])
            pos_weight = float(((yf == 0) & (wf > 0)).sum() / max(1, (yf == 1).sum()))
            opt, sched = head_optimiser(head, c, len(tr))
            g = torch.Generator().manual_seed(int(cfg["seed"]))
            for _ in range(epochs):
                order = torch.randperm(len(tr), generator=g)
                train_epoch(head, opt, sched, (xf[tr], yf, wf), order, c["batch"], pos_weight, "cpu")
            res[f"{g_train}->{g_test}"] = round(patch_auc(head, xf, cov, te), 4)
        res["mean"] = round((res["A->C"] + res["C->A"]) / 2, 4)
        out[f"{hidden}x{kernel}"] = res
        print(f"head {hidden}x{kernel}, {epochs} epochs: {res} ({time.time() - t0:.0f} s)", flush=True)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heads", nargs="+", default=["0x1", "128x3"], help="HIDDEN x KERNEL, e.g. 0x1 (EFIQA's linear)")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    cfg = load_config(CONFIG, yaml.safe_load(CONFIG.read_text()), args.set)
    start_run(cfg, repo_path("runs/efiqa/head_proxy"))
    cross_generator(cfg, [tuple(int(v) for v in h.split("x")) for h in args.heads], args.epochs)


if __name__ == "__main__":
    main()
