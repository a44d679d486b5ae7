"""The `riqa-desktop` command line and the threshold rule the app applies before advice."""

from __future__ import annotations

from riqa_desktop.app import build_parser
from riqa_desktop.core.assessment import Assessment
from riqa_desktop.ui.postprocess import apply_thresholds


def test_command_line():
    a = build_parser().parse_args(["--watch", "/cam", "--data-dir", "/d", "--device", "cpu", "x.jpg", "y.dcm"])
    assert (a.watch, a.data_dir, a.device, a.paths) == ("/cam", "/d", "cpu", ["x.jpg", "y.dcm"])
    assert build_parser().parse_args([]).paths == []


def _a(good, usable, reject, grade):
    return Assessment(path="x", grade=grade, grade_probs={"good": good, "usable": usable, "reject": reject,
                                                          "not_fundus": 0.0})


def test_thresholds_only_make_grades_stricter():
    a = _a(0.45, 0.35, 0.20, "good")
    apply_thresholds(a, reject_min=0.5, good_min=0.0)
    assert a.grade == "good"  # defaults keep the model's choice
    apply_thresholds(a, reject_min=0.5, good_min=0.5)
    assert a.grade == "usable"
    b = _a(0.5, 0.2, 0.3, "good")
    apply_thresholds(b, reject_min=0.3, good_min=0.0)
    assert b.grade == "reject" and abs(b.confidence - 0.3) < 1e-9
    c = _a(0.0, 0.0, 0.0, None)
    c.ok = False
    apply_thresholds(c, 0.1, 0.9)
    assert c.grade is None
