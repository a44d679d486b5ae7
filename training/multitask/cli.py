"""`python -m training multitask --stage bank|teacher|student|single_task|ship|recalibrate`: method A, one stage at a time.

`python -m training reproduce training/configs/multitask.yaml` runs them all in order. Stages
resume from their checkpoints, so the single-task baseline can run beside teacher and student.
"""

from __future__ import annotations

from pathlib import Path

from ..common import load_config

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "multitask.yaml"


def add_commands(sub) -> None:
    from .pipeline import STAGES

    p = sub.add_parser("multitask", help="train the multi-task quality model (EyeQ + DRIMDB + synthetic), one stage")
    p.add_argument("--stage", choices=STAGES, default="ship")
    p.add_argument("--config", default=str(DEFAULT_CONFIG))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    p.add_argument("--run-dir", default="runs/multitask/eyeq")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from .pipeline import run_stage

    cfg = load_config(args.config, {}, args.set)
    out = run_stage(cfg, args.run_dir, args.stage)
    if isinstance(out, dict):
        print({k: v for k, v in out.get("metrics", {}).items()})
    return 0
