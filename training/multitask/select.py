"""`python -m training select`: choose the multitask recipe by k-fold cross-validation on DRIMDB *training* photos.

The validation split is what the model card reports and has been looked at, so it cannot
also choose between recipes. Each candidate in the config's `selection` section is trained
once per fold on the pool minus that fold of DRIMDB training photos (their degraded copies
too) and predicts the fold; the out-of-fold predictions of all folds are scored together.
The rule, fixed before any run: highest out-of-fold accuracy, then lowest log loss, then
the first candidate listed.
"""

from __future__ import annotations

import copy
import csv
import json
import random
from pathlib import Path

import numpy as np

from riqa_desktop.core.calibration import probabilities

from ..common import data_root, set_dotted
from ..metrics import f1_per_class
from ..splits import drimdb
from .data import load_squares
from .stages import run_multitask
from .validation import DRIMDB_CLASSES, drimdb_decision, predict

FOLD_SEED = 4242
FIELDS = ("path", "label", "pred", "p_good", "p_usable", "p_reject", "p_not_fundus")


def folds(train: list[tuple[Path, str]], k: int) -> list[list[tuple[Path, str]]]:
    """Stratified folds: each label shuffled (seeded) and dealt round-robin, remainders spread."""
    by_label: dict[str, list[Path]] = {}
    for p, lab in train:
        by_label.setdefault(lab, []).append(p)
    out: list[list[tuple[Path, str]]] = [[] for _ in range(k)]
    rng, offset = random.Random(FOLD_SEED), 0
    for lab in sorted(by_label):
        paths = sorted(by_label[lab])
        rng.shuffle(paths)
        for i, p in enumerate(paths):
            out[(i + offset) % k].append((p, lab))
        offset += len(paths)
    return out


def candidate_config(cfg: dict, name: str) -> dict:
    c = copy.deepcopy(cfg)
    for key, value in cfg["selection"]["candidates"][name].items():
        set_dotted(c, key, value)
    return c


def fold_predictions(model, holdout, squares: np.ndarray, nf_threshold: float) -> list[dict]:
    logits = predict(model, squares)
    gp, nfp = probabilities(logits["grade"]), probabilities(logits["not_fundus"])
    pred = drimdb_decision(gp, nfp, nf_threshold)
    return [{"path": str(p), "label": lab, "pred": pr, "p_good": float(g[0]), "p_usable": float(g[1]),
             "p_reject": float(g[2]), "p_not_fundus": float(nf)}
            for (p, lab), pr, g, nf in zip(holdout, pred, gp, nfp)]


def score(rows: list[dict]) -> dict:
    """Accuracy, F1 per DRIMDB class and log loss of the DRIMDB label (gradable = Good + Usable)."""
    y, pred = [r["label"] for r in rows], [r["pred"] for r in rows]
    p_true = []
    for r in rows:
        nf = float(r["p_not_fundus"])
        p = {"outlier": nf, "good": (1 - nf) * (float(r["p_good"]) + float(r["p_usable"])),
             "bad": (1 - nf) * float(r["p_reject"])}[r["label"]]
        p_true.append(max(p, 1e-6))
    f1 = f1_per_class(y, pred, DRIMDB_CLASSES)
    return {"n": len(rows), "accuracy": float(np.mean([a == b for a, b in zip(y, pred)])),
            "log_loss": float(-np.mean(np.log(p_true))), **{f"f1_{c}": f1[c] for c in DRIMDB_CLASSES},
            "errors": [f"{Path(r['path']).name}: {r['label']} -> {r['pred']}" for r in rows if r["label"] != r["pred"]]}


def run_fold(cfg: dict, name: str, fold: int, run_root: Path, pool_dir) -> list[dict]:
    c = candidate_config(cfg, name)
    root = data_root(c)
    holdout = folds(drimdb(root)["train"], int(c["selection"]["folds"]))[fold]
    squares = load_squares([p for p, _ in holdout], c["input_size"], c["min_side"])
    nf_t = c["calibration"]["not_fundus_threshold"]

    def validate(model):
        s = score(fold_predictions(model, holdout, squares, nf_t))
        return {"fold_accuracy": s["accuracy"], "fold_log_loss": s["log_loss"]}

    run = Path(run_root) / name / f"fold{fold}"
    model, _ = run_multitask(c, run, pool_dir, holdout=holdout, validate=validate)
    rows = fold_predictions(model, holdout, squares, nf_t)
    with open(run / "oof.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    return rows


def report(cfg: dict, run_root: Path) -> dict:
    """Score every candidate whose folds are all done, pick by the rule, write summary.json."""
    k = int(cfg["selection"]["folds"])
    table = {}
    for name in cfg["selection"]["candidates"]:
        paths = [Path(run_root) / name / f"fold{f}" / "oof.csv" for f in range(k)]
        if not all(p.exists() for p in paths):
            print(f"{name}: {sum(p.exists() for p in paths)}/{k} folds done")
            continue
        rows = [r for p in paths for r in csv.DictReader(open(p, newline=""))]
        table[name] = {"overrides": cfg["selection"]["candidates"][name], **score(rows)}
    if not table:
        return {}
    order = list(cfg["selection"]["candidates"])
    chosen = min(table, key=lambda n: (-table[n]["accuracy"], table[n]["log_loss"], order.index(n)))
    print(f"{'candidate':<14} {'n':>4} {'accuracy':>9} {'log loss':>9} {'F1 good':>8} {'F1 bad':>7} {'F1 outl.':>8}")
    for name, s in table.items():
        print(f"{name:<14} {s['n']:>4} {s['accuracy']:>9.4f} {s['log_loss']:>9.4f} {s['f1_good']:>8.3f} "
              f"{s['f1_bad']:>7.3f} {s['f1_outlier']:>8.3f}  {'<- chosen' if name == chosen else ''}")
        for e in s["errors"]:
            print(f"{'':<16}{e}")
    summary = {"protocol": f"{k}-fold stratified CV on the DRIMDB training photos (fold seed {FOLD_SEED}); "
                           "rule: highest out-of-fold accuracy, then lowest log loss, then first listed",
               "candidates": table, "chosen": chosen}
    (Path(run_root) / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def select(cfg: dict, run_root, pool_dir, candidate: str | None = None, fold: int | None = None) -> dict:
    """Run the missing (candidate, fold) trainings, optionally just one, then report."""
    names = [candidate] if candidate else list(cfg["selection"]["candidates"])
    fold_ids = [fold] if fold is not None else range(int(cfg["selection"]["folds"]))
    for name in names:
        for f in fold_ids:
            if not (Path(run_root) / name / f"fold{f}" / "oof.csv").exists():
                run_fold(cfg, name, f, Path(run_root), pool_dir)
    return report(cfg, Path(run_root))
