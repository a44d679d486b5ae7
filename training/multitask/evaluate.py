"""Re-measure the shipped `quality_multitask` on the validation sets and compare with its card and the targets."""

from __future__ import annotations

from pathlib import Path

from riqa_desktop.models.registry import load_model

from .validation import build_val_sets, collect_logits, ece_table, metrics

# Issue 3 targets (DRIMDB: Sevik et al. 2014 / Koenig et al.; details: AUC on synthetic validation).
TARGETS = {"drimdb_f1_good": 0.99, "drimdb_f1_bad": 0.97, "drimdb_f1_outlier": 0.90, "drimdb_accuracy": 0.981,
           "auc_illumination": 0.95, "auc_clarity": 0.95, "auc_contrast": 0.95}


def measure(model, card: dict, data_root) -> dict:
    cfg = card["config"]
    vs = build_val_sets(Path(data_root), card["input_size"], card["min_side"], cfg["val_versions"])
    logits = collect_logits(model, vs)
    m = metrics(vs, logits, card["calibration"], card["thresholds"])
    m["ece"] = ece_table(vs, logits, card["calibration"])
    return m


def evaluate_shipped(data_root, models_dir=None) -> list[dict]:
    """Rows {metric, value, target, card} for `python -m training evaluate`."""
    model, card = load_model("quality_multitask", models_dir)
    m = measure(model, card, data_root)
    rows = []
    for k, v in m.items():
        if k == "ece":
            continue
        rows.append({"metric": f"multitask.{k}", "value": v, "target": TARGETS.get(k), "card": card["metrics"].get(k)})
    for head, e in m["ece"].items():
        rows.append({"metric": f"multitask.ece_{head}_after", "value": e["after"], "target": None,
                     "card": card["metrics"]["ece"][head]["after"]})
    return rows + recorded_rows(card)


def recorded_rows(card: dict) -> list[dict]:
    """Numbers of training runs the card records (not re-measurable from the shipped weights):
    the single-task baseline beside the multitask run, and the recipe selection's out-of-fold scores."""
    rows = []
    base = card.get("single_task_baseline", {})
    for k, v in base.get("single_task", {}).items():
        rows.append({"metric": f"single_task_baseline.{k}", "value": None, "target": None, "card": v})
    sel = card.get("recipe_selection", {})
    for name, s in sel.get("candidates", {}).items():
        chosen = " (chosen)" if name == sel.get("chosen") else ""
        rows.append({"metric": f"cv_training_split.{name}.accuracy{chosen}", "value": None, "target": None,
                     "card": s["accuracy"]})
    return rows
