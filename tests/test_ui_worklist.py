"""Worklist: re-shots of one eye (one eye group) nest under the newest; comparisons only inside a group."""

from __future__ import annotations

from datetime import datetime

from riqa_desktop.core.assessment import Assessment
from riqa_desktop.ui.worklist import ROLE, Worklist


def shot(name: str, group: str, comparison: str | None = None) -> Assessment:
    return Assessment(path=f"/cam/{name}.jpg", grade="usable", eye_group=group, comparison=comparison)


def test_groups_nest_reshots_and_only_groups_show_comparisons(qtbot):
    w = Worklist()
    qtbot.addWidget(w)
    when = datetime(2026, 3, 2, 9, 0)
    w.add(shot("a1", "eyeA"), when)
    w.add(shot("b1", "eyeB", comparison="Better: stale text from an old store"), when)
    w.add(shot("a2", "eyeA", comparison="Better: blur fixed."), when)
    w.add(shot("c1", ""), when)  # not grouped (e.g. unreadable or from an old store)
    assert w.topLevelItemCount() == 3
    tops = [w.topLevelItem(i) for i in range(3)]
    assert [t.data(0, ROLE).path for t in tops] == ["/cam/c1.jpg", "/cam/a2.jpg", "/cam/b1.jpg"]
    group = tops[1]
    assert group.childCount() == 1 and group.child(0).data(0, ROLE).path == "/cam/a1.jpg"
    assert group.isExpanded() and "↻ Better: blur fixed." in group.text(0)
    assert "↻" not in tops[2].text(0)  # a comparison outside a group is not shown
    assert [a.path for a in w.assessments()] == ["/cam/c1.jpg", "/cam/a2.jpg", "/cam/a1.jpg", "/cam/b1.jpg"]
