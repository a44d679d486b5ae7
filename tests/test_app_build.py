"""Build the lean double-click app from this checkout and run its self-test (`make app-test`).

Cheap enough for CI (about a minute for the build once .venv-lean exists, plus its install
the first time): it proves the bundle holds the models, samples and texts it needs, and
runs without torch, from a copy in an empty folder with an almost empty environment (no
virtual environment, no PYTHONPATH), as on a clinic PC.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is needed to build the app")
def test_lean_app_builds_and_passes_its_self_test():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(["make", "app-test"], cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "self-test passed" in proc.stdout
    assert "models loaded (onnx)" in proc.stdout  # the lean bundle runs without torch
    internal = REPO / "dist" / "lean" / "riqa-desktop" / "_internal"
    assert not (internal / "torch").exists()
    # what tools/bundle_trim.py leaves out stays out, and the size is said
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    assert not (internal / "PySide6" / "Qt" / "plugins" / "platformthemes" / "libqgtk3.so").exists()
    assert re.search(r"^bundle size: \d+ MB", proc.stdout, re.M)
