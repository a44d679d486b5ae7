"""`python -m training evaluate` and `python -m training reproduce CONFIG`.

`evaluate` prints, from the shipped weights, every number the model cards
state, beside the target and the card's value. `reproduce` runs a family's
whole pipeline from one YAML config (the config's `family` key picks it).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .common import data_root, load_config, start_run

FAMILIES = {"multitask": "training.multitask", "efiqa": "training.efiqa"}


def add_commands(sub) -> None:
    e = sub.add_parser("evaluate", help="print every shipped model's validation numbers as a table")
    e.add_argument("--data-root", default=None)
    e.add_argument("--models-dir", default=None)
    e.add_argument("--only", choices=sorted(FAMILIES), default=None)
    e.set_defaults(func=_evaluate)
    r = sub.add_parser("reproduce", help="run a family's stages in order from one YAML config")
    r.add_argument("config")
    r.add_argument("--run-dir", default=None)
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    r.set_defaults(func=_reproduce)


def _evaluate(args) -> int:
    from riqa_desktop.resources import models_dir

    root = data_root({"data_root": args.data_root})
    mdir = Path(args.models_dir) if args.models_dir else models_dir()
    rows = []
    for fam, mod in FAMILIES.items():
        if args.only and fam != args.only:
            continue
        rows += [{"family": fam, **r} for r in importlib.import_module(f"{mod}.evaluate").evaluate_shipped(root, mdir)]
    print(format_table(rows))
    return 0


def format_table(rows: list[dict]) -> str:
    cols = ["family", "metric", "value", "target", "card"]

    def cell(v):
        if v is None:
            return "-"
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    table = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in table]
    return "\n".join(out)


def _reproduce(args) -> int:
    import yaml

    raw = yaml.safe_load(Path(args.config).read_text()) or {}
    fam = raw.get("family")
    if fam not in FAMILIES:
        raise SystemExit(f"config {args.config} must name family: one of {', '.join(FAMILIES)}")
    cfg = load_config(args.config, {}, args.set)
    run_dir = start_run(cfg, args.run_dir or f"runs/reproduce-{fam}")
    result = importlib.import_module(f"{FAMILIES[fam]}.pipeline").reproduce(cfg, run_dir)
    print(result)
    return 0
