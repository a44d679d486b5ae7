"""Re-measure the shipped `quality_multitask` (`report.measure_all`) beside its card and the issue's targets."""

from __future__ import annotations

from pathlib import Path

from riqa_desktop.models.registry import load_model

from .. import degradations_physical as B
from .report import measure_all

# Issue 18 targets: EyeQ (published 0.880-0.907), DRIMDB (Sevik et al. 2014), held-out generator, resolution, eye.
TARGETS = {"eyeq_accuracy": 0.88, "eyeq_macro_f1": 0.86, "drimdb_f1_good": 0.99, "drimdb_f1_bad": 0.97,
           "drimdb_f1_outlier": 0.90, "app_eyeq_accuracy": 0.88, "app_eyeq_macro_f1": 0.86, "app_drimdb_f1_good": 0.99,
           "app_drimdb_f1_bad": 0.97, "app_drimdb_f1_outlier": 0.90, "heldout_clean_left_alone": 0.85, "resolution_agreement": 0.95,
           "laterality_accuracy_answered": 0.95, "laterality_coverage": 0.90,
           "app_laterality_accuracy_answered": 0.95, "app_laterality_coverage": 0.90, "nonfundus_val_recall": 0.9, "outer_eye_val_recall": 0.9,
           **{f"heldout_{k}_detected": 0.9 for k in B.KINDS}}


def evaluate_shipped(data_root, models_dir=None) -> list[dict]:
    """Rows {metric, value, target, card} for `python -m training evaluate`."""
    model, card = load_model("quality_multitask", models_dir)
    m = measure_all(model, card, Path(data_root))
    rows = [{"metric": f"multitask.{k}", "value": v, "target": TARGETS.get(k), "card": card["metrics"].get(k)}
            for k, v in m.items()]
    base = card.get("single_task_baseline", {})
    for k, v in base.get("paired_bootstrap_multitask_minus_single", {}).items():
        rows.append({"metric": f"multitask_minus_single_task.{k}", "value": None, "target": None, "card": str(v)})
    return rows
