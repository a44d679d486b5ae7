"""`python -m training splits`: print the fixed train/validation splits."""

from __future__ import annotations

from .common import data_root
from .splits import clean_sources, drimdb


def add_commands(sub) -> None:
    p = sub.add_parser("splits", help="print the fixed train/validation splits of the shared photos")
    p.add_argument("--data-root", default=None)
    p.set_defaults(func=_run)


def _run(args) -> int:
    root = data_root({"data_root": args.data_root})
    d = drimdb(root)
    for split in ("train", "val"):
        counts = {}
        for _, lab in d[split]:
            counts[lab] = counts.get(lab, 0) + 1
        print(f"DRIMDB {split}: {counts}")
    c = clean_sources(root)
    print(f"clean sources: train {len(c['train'])}, val {len(c['val'])}")
    return 0
