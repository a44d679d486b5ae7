"""`reproduce`: bank -> teacher -> student + single-task baseline -> not-fundus head refit -> tune-split calibration -> card.

Every stage resumes from its checkpoint under the run folder, so an interrupted run
continues where it stopped; a finished stage is only reloaded.
"""

from __future__ import annotations

from pathlib import Path

from ..common import data_root
from .eyeq import advanced, build_bank, run_student, run_teacher
from .not_fundus import refit_not_fundus
from .release import eyeq_val_predictions, make_card, paired_bootstrap, ship
from .tune import calibrate_on_tune

STAGES = ("bank", "teacher", "student", "single_task", "ship")


def run_stage(cfg: dict, run_dir, stage: str):
    """One stage (the earlier ones it needs are reloaded from their checkpoints)."""
    run = Path(run_dir)
    bank = advanced(build_bank(cfg, run / "bank"), cfg, run / "bank")
    if stage == "bank":
        return None
    if stage == "single_task":
        return run_student(cfg, run / "single_task", bank, None, single_task=True)
    teacher, _ = run_teacher(cfg, run / "teacher", bank)
    if stage == "teacher":
        return teacher
    student, result = run_student(cfg, run / "student", bank, teacher)
    if stage == "student":
        return student
    single, _ = run_student(cfg, run / "single_task", bank, None, single_task=True)
    root = data_root(cfg)
    refit = refit_not_fundus(student, bank, cfg) if cfg.get("not_fundus_refit") else None
    card = make_card(cfg, calibrate_on_tune(student, bank, cfg), result, root, student)
    if refit:
        card["not_fundus_refit"] = refit
    single_card = {**card, **calibrate_on_tune(single, bank, cfg)}
    y, pred_multi = eyeq_val_predictions(student, card, root)
    _, pred_single = eyeq_val_predictions(single, single_card, root)
    card["single_task_baseline"] = {
        "protocol": "same bank views, steps, seed, mix and initialisation; single-task = grade + not-fundus heads only; "
                    "each calibrated on the tune split the same way; EyeQ validation patients",
        "multitask_val_accuracy": float((pred_multi == y).mean()),
        "single_task_val_accuracy": float((pred_single == y).mean()),
        "paired_bootstrap_multitask_minus_single": paired_bootstrap(y, pred_multi, pred_single),
    }
    return ship(card, student, run / "student", cfg["ship"]["models_dir"])


def reproduce(cfg: dict, run_dir) -> dict:
    return run_stage(cfg, run_dir, "ship")
