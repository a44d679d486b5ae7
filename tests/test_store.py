"""The results store: append-only, survives a kill, finds repeats by hash."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from riqa_desktop.core.assessment import Assessment, AttributeResult
from riqa_desktop.core.store import ResultsStore


def _assessment(i: int) -> Assessment:
    a = Assessment(path=f"/cam/p{i}.jpg", grade="good", confidence=0.9, grade_probs={"good": 0.9},
                   attributes={"clarity": AttributeResult(True, 0.1)}, quality_score=0.8,
                   file_sha256=f"{i:064d}", file_size=100 + i)
    return a


def test_add_rows_and_seen(tmp_path):
    s = ResultsStore(tmp_path)
    s.add(_assessment(1), batch="b1")
    s.add(Assessment.failed("/cam/bad.jpg", "not an image"), batch="b1")
    rows = s.rows()
    assert [r["path"] for r in rows] == ["/cam/bad.jpg", "/cam/p1.jpg"]  # newest first
    assert rows[1]["grade"] == "good" and rows[0]["error"] == "not an image"
    assert s.seen(f"{1:064d}") and not s.seen(f"{2:064d}")
    assert s.done_paths("b1") == {"/cam/p1.jpg", "/cam/bad.jpg"}


def test_survives_sigkill_mid_batch(tmp_path):
    """A process killed while writing loses nothing it had committed and leaves no half row."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(tmp_path.parent)!r})
        from riqa_desktop.core.store import ResultsStore
        from riqa_desktop.core.assessment import Assessment
        s = ResultsStore({str(tmp_path)!r})
        for i in range(50):
            s.add(Assessment(path=f"/cam/{{i}}.jpg", grade="good", file_sha256=str(i)), batch="k")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode != 0
    s = ResultsStore(tmp_path)
    assert s.count() == 50
    assert len(s.done_paths("k")) == 50
