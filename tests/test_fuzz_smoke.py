"""A short run of the loader fuzzer (the long run is `python tools/fuzz_loaders.py --seconds 120`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_fuzzer_finds_nothing_in_a_short_run():
    proc = subprocess.run([sys.executable, "tools/fuzz_loaders.py", "--seconds", "8", "--seed", "3"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert " 0 findings" in proc.stdout and "mutants" in proc.stdout
