"""`python -m training teacher | pseudolabel | multitask | select`: the stages of method A, one command each."""

from __future__ import annotations

import json
from pathlib import Path

from ..common import load_config

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "multitask.yaml"


def add_commands(sub) -> None:
    for name, help_ in (("teacher", "train the detail Teacher on synthetic degradations"),
                        ("pseudolabel", "build the pool and the Teacher's soft detail labels"),
                        ("multitask", "fine-tune the multi-task model (detail_weight=0: single-task baseline)")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--config", default=str(DEFAULT_CONFIG))
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
        p.add_argument("--run-dir", default=f"runs/multitask/{name}")
        if name == "pseudolabel":
            p.add_argument("--teacher-dir", default="runs/multitask/teacher")
        if name == "multitask":
            p.add_argument("--pool-dir", default="runs/multitask/pseudolabel")
            p.add_argument("--ship", action="store_true", help="calibrate and write resources/models/quality_multitask")
            p.add_argument("--baseline-dir", default=None, help="single-task run whose final metrics go beside ours in the card")
            p.add_argument("--selection", default=None, help="summary.json of `select`, recorded in the card")
        p.set_defaults(func=_run, stage=name)
    p = sub.add_parser("select", help="choose the multitask recipe by k-fold CV on the DRIMDB training photos")
    p.add_argument("--config", default=str(DEFAULT_CONFIG))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--run-dir", default="runs/multitask/select")
    p.add_argument("--pool-dir", default="runs/multitask/pseudolabel")
    p.add_argument("--candidate", default=None, help="run only this candidate (parallel jobs)")
    p.add_argument("--fold", type=int, default=None, help="run only this fold")
    p.set_defaults(func=_select)


def _select(args) -> int:
    from .select import select

    cfg = load_config(args.config, {}, args.set)
    select(cfg, args.run_dir, args.pool_dir, args.candidate, args.fold)
    return 0


def _run(args) -> int:
    from . import stages

    cfg = load_config(args.config, {}, args.set)
    if args.stage == "teacher":
        stages.run_teacher(cfg, args.run_dir)
    elif args.stage == "pseudolabel":
        stages.run_pseudolabel(cfg, args.run_dir, args.teacher_dir)
    else:
        model, result = stages.run_multitask(cfg, args.run_dir, args.pool_dir)
        if args.ship:
            from .pipeline import comparison, last_row
            from .ship import calibrate_and_save

            baseline = comparison(result, last_row(args.baseline_dir)) if args.baseline_dir else None
            selection = json.loads(Path(args.selection).read_text()) if args.selection else None
            calibrate_and_save(cfg, model, result, args.run_dir, baseline=baseline, selection=selection)
    return 0
