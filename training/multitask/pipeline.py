"""`reproduce`: teacher -> pseudolabel -> recipe selection -> multitask + single-task baseline -> calibration -> ship.

Selection (k-fold CV on the DRIMDB training photos, `select.py`) runs when the config has a
`selection` section (`--set selection=null` skips it and trains the config as written).
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

from . import stages
from .select import candidate_config, select
from .ship import calibrate_and_save

COMPARED = ("drimdb_f1_good", "drimdb_f1_bad", "drimdb_f1_outlier", "drimdb_accuracy",
            "synthetic_grade_accuracy", "synthetic_grade_macro_f1", "nonfundus_val_recall")
PROTOCOL = ("same pool, seed, steps, batch mix and backbone init; validation after the final epoch, uncalibrated "
            "(T=1), not-fundus threshold 0.5; single-task = grade + not-fundus heads only (detail_weight 0)")


def last_row(run_dir) -> dict:
    """Final-epoch validation row of a stage's metrics.csv."""
    with open(Path(run_dir) / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: float(v) for k, v in rows[-1].items()}


def comparison(multitask: dict, single_task: dict) -> dict:
    return {"multitask": {k: float(multitask[k]) for k in COMPARED},
            "single_task": {k: float(single_task[k]) for k in COMPARED}, "protocol": PROTOCOL}


def reproduce(cfg: dict, run_dir) -> dict:
    run = Path(run_dir)
    stages.run_teacher(cfg, run / "teacher")
    stages.run_pseudolabel(cfg, run / "pseudolabel", run / "teacher")
    selection = None
    if cfg.get("selection"):
        selection = select(cfg, run / "select", run / "pseudolabel")
        cfg = candidate_config(cfg, selection["chosen"])
    model, result = stages.run_multitask(cfg, run / "multitask", run / "pseudolabel")
    baseline = None
    if cfg["ship"].get("baseline", True):
        single = copy.deepcopy(cfg)
        single["multitask"]["detail_weight"] = 0.0
        stages.run_multitask(single, run / "single_task", run / "pseudolabel")
        baseline = comparison(result, last_row(run / "single_task"))
    return calibrate_and_save(cfg, model, result, run / "multitask", baseline=baseline, selection=selection)
