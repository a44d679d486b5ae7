"""`reproduce`: bank -> teacher -> students + single-task baseline -> not-fundus head refit -> ensemble -> tune-split
calibration -> card.
`recalibrate` sets the shipped weights' laterality abstention again (a changed target needs no retraining).

The students differ only in their draw of batches and dropout (`seed`, then each of `student.ensemble_seeds`);
the single-task baseline is trained like the first of them and compared with it at the same budget.

Every stage resumes from its checkpoint under the run folder, so an interrupted run
continues where it stopped; a finished stage is only reloaded.
"""

from __future__ import annotations

from pathlib import Path

from ..common import data_root
from .ensemble import ensemble_of
from .eyeq import advanced, build_bank, run_student, run_teacher
from .not_fundus import refit_not_fundus
from .release import eyeq_val_predictions, make_card, paired_bootstrap, recalibrate_laterality, ship
from .tune import calibrate_on_tune

STAGES = ("bank", "teacher", "student", "single_task", "ship", "recalibrate")


def run_stage(cfg: dict, run_dir, stage: str):
    """One stage (the earlier ones it needs are reloaded from their checkpoints)."""
    run = Path(run_dir)
    bank = advanced(build_bank(cfg, run / "bank"), cfg, run / "bank")
    if stage == "bank":
        return None
    if stage == "recalibrate":  # the shipped weights' laterality abstention only (release.recalibrate_laterality)
        return recalibrate_laterality(cfg, bank, data_root(cfg))
    if stage == "single_task":
        return run_student(cfg, run / "single_task", bank, None, single_task=True)
    teacher, _ = run_teacher(cfg, run / "teacher", bank)
    if stage == "teacher":
        return teacher
    first, result = run_student(cfg, run / "student", bank, teacher)
    if stage == "student":
        return first
    seeds = [int(k) for k in cfg["student"].get("ensemble_seeds", [])]
    students = [first] + [run_student(_with_data_seed(cfg, k), run / f"student_seed{k}", bank, teacher)[0] for k in seeds]
    single, _ = run_student(cfg, run / "single_task", bank, None, single_task=True)
    root = data_root(cfg)
    refits = refit_not_fundus(students, bank, cfg) if cfg.get("not_fundus_refit") else None
    student = ensemble_of(students, cfg) if seeds else first
    card = make_card(cfg, calibrate_on_tune(student, bank, cfg), result, root, student)
    if refits:
        card["not_fundus_refit"] = refits[0] if not seeds else {"per_student": refits}
    # Multi- vs single-task at the same budget: the first student (one seed) against the baseline.
    first_card = card if student is first else {**card, **calibrate_on_tune(first, bank, cfg)}
    single_card = {**card, **calibrate_on_tune(single, bank, cfg)}
    y, preds = eyeq_val_predictions([(first, first_card), (single, single_card)] + ([(student, card)] if seeds else []),
                                    root)
    pred_multi, pred_single = preds[:2]
    card["single_task_baseline"] = {
        "protocol": "same bank views, steps, seed, mix and initialisation; single-task = grade + not-fundus heads only; "
                    "each calibrated on the tune split the same way; EyeQ validation patients"
                    + ("; multi-task = the ensemble's first student alone" if seeds else ""),
        "multitask_val_accuracy": float((pred_multi == y).mean()),
        "single_task_val_accuracy": float((pred_single == y).mean()),
        "paired_bootstrap_multitask_minus_single": paired_bootstrap(y, pred_multi, pred_single),
    }
    if seeds:
        card["ensemble"] = {"data_seeds": [int(cfg["seed"])] + seeds,
                            "paired_bootstrap_ensemble_minus_first_student": paired_bootstrap(y, preds[2], pred_multi)}
    return ship(card, student, run / "student", cfg["ship"]["models_dir"])


def _with_data_seed(cfg: dict, seed: int) -> dict:
    return {**cfg, "student": {**cfg["student"], "data_seed": int(seed)}}


def reproduce(cfg: dict, run_dir) -> dict:
    return run_stage(cfg, run_dir, "ship")
