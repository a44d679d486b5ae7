"""pydicom's public test corpus (pydicom's own files + the `pydicom-data` package), as a new user would try it.

Every file gets a result or a one-line reason, nothing is printed to stderr
(no traceback, no library warning: those go to the log file), and nothing that
is not an eye is graded. The files are installed with the test extra; nothing is
fetched here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def corpus_files() -> list[Path]:
    import pydicom

    try:
        import data_store  # the pydicom-data package
    except ImportError:
        pytest.fail("pydicom-data is missing: install the test extra (pip install -e '.[test]')")
    roots = [Path(pydicom.__file__).parent / "data" / "test_files", Path(data_store.__file__).parent / "data"]
    return sorted(p for r in roots for p in r.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


@pytest.mark.slow
def test_pydicom_corpus_every_file_answered_quietly_and_no_non_eye_graded(tmp_path):
    files = corpus_files()
    assert len(files) > 200
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "riqa_desktop.cli", "assess", *map(str, files), "--json",
                        "--device", "cpu", "--no-store", "--data-dir", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 2, r.stderr[-2000:]  # some inputs unreadable, reported; no internal error
    assert r.stderr == "", r.stderr[-2000:]
    records = [json.loads(line) for line in r.stdout.splitlines()]
    answered = {rec["path"] for rec in records}
    assert answered == {str(p) for p in files}
    for rec in records:
        if rec["ok"]:
            assert rec["grade"] == "not_fundus", (rec["path"], rec["grade"])  # no fundus photo in this corpus
        else:
            assert rec["error"] and "\n" not in rec["error"] and "Traceback" not in rec["error"], rec
    refused = [rec for rec in records if not rec["ok"] and rec["error"].startswith("not a fundus photo: ")]
    assert any(rec["error"] == "not a fundus photo: a CT image" for rec in refused)
    log = (tmp_path / "logs" / "riqa.log").read_text()
    assert "pydicom" in log  # the library's warnings were kept, in the log file
