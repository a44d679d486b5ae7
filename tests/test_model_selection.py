"""Recipe selection by cross-validation on the DRIMDB training photos (training/multitask/select.py)."""

from __future__ import annotations

import csv
import math
from collections import Counter

import pytest

from training.common import load_config
from training.multitask.cli import DEFAULT_CONFIG
from training.multitask.select import FIELDS, folds, report, score
from training.multitask.stages import pool_keep, pool_sources
from training.splits import drimdb


def test_folds_partition_the_training_photos_stratified(shared_data):
    train = drimdb(shared_data)["train"]
    fs = folds(train, 3)
    assert sorted(map(str, (p for f in fs for p, _ in f))) == sorted(str(p) for p, _ in train)
    assert folds(train, 3) == fs  # seeded
    val = {p for p, _ in drimdb(shared_data)["val"]}
    assert not val & {p for f in fs for p, _ in f}
    for label in ("good", "bad", "outlier"):
        counts = [Counter(lab for _, lab in f)[label] for f in fs]
        assert max(counts) - min(counts) <= 1, (label, counts)


def test_a_held_out_photo_leaves_the_pool_with_its_degraded_copies(shared_data):
    cfg = load_config(DEFAULT_CONFIG, {})
    sources = pool_sources(shared_data, cfg)
    versions = cfg["pseudolabel"]["versions_per_photo"]
    train = drimdb(shared_data)["train"]
    good = next(p for p, lab in train if lab == "good")
    bad = next(p for p, lab in train if lab == "bad")
    keep = pool_keep(shared_data, cfg, len(sources), {good, bad})
    assert (~keep).sum() == 1 + versions + 1  # good: real + degraded copies; bad: real only
    assert pool_keep(shared_data, cfg, len(sources), set()).all()
    with pytest.raises(ValueError, match="rebuild"):
        pool_keep(shared_data, cfg, len(sources) + 1, {good})


def _row(label, pred, good=0.0, usable=0.0, reject=0.0, nf=0.0):
    return {"path": f"/x/{label}.jpg", "label": label, "pred": pred, "p_good": good, "p_usable": usable,
            "p_reject": reject, "p_not_fundus": nf}


def test_score_counts_usable_as_gradable():
    s = score([_row("good", "good", usable=0.5, good=0.5), _row("bad", "good", good=0.9, reject=0.1)])
    assert s["accuracy"] == 0.5 and s["errors"] == ["bad.jpg: bad -> good"]
    assert s["log_loss"] == pytest.approx(-math.log(0.1) / 2)


def test_report_picks_accuracy_then_log_loss(tmp_path):
    cfg = {"selection": {"folds": 1, "candidates": {"a": {}, "b": {"x": 1}, "c": {"x": 2}}}}
    fold_rows = {"a": [_row("bad", "good", good=0.6, reject=0.4)],
                 "b": [_row("bad", "bad", reject=0.6, good=0.4)],
                 "c": [_row("bad", "bad", reject=0.9, good=0.1)]}
    for name, rows in fold_rows.items():
        d = tmp_path / name / "fold0"
        d.mkdir(parents=True)
        with open(d / "oof.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(rows)
    summary = report(cfg, tmp_path)
    assert summary["chosen"] == "c"
    assert (tmp_path / "summary.json").exists()
