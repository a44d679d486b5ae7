"""The architecture's rules (docs/architecture.md) hold: import-linter's contracts and import-time checks."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.exists() else shutil.which("lint-imports")
    if not found:
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    return found


def test_import_linter_contracts_are_kept():
    r = subprocess.run([_lint_imports(), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_core_cli_and_lean_backend_import_neither_torch_nor_qt():
    """The lean app has no torch and no OpenCV, the CLI no window: importing them must not load them."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import riqa_desktop.core as c\n"
        "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('riqa_desktop.core.' + m.name)\n"
        "import riqa_desktop.cli, riqa_desktop.app, riqa_desktop.selftest, riqa_desktop.models.onnx_backend\n"
        "print(' '.join(m for m in ('torch', 'PySide6', 'pyqtgraph', 'cv2') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"loaded at import time: {r.stdout.strip()}"
