"""Library warnings go to the rotating log file, never to the terminal (run in a fresh interpreter: it sets up logging)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_library_warnings_and_logs_land_in_the_log_file_not_on_stderr(tmp_path):
    r = _run("import logging, warnings\n"
             "from riqa_desktop.core.applog import configure\n"
             f"print(configure({str(tmp_path)!r}))\n"
             "warnings.warn('odd element in a header')\n"
             "logging.getLogger('pydicom').error('a traceback from a decoder')\n"
             "logging.getLogger('pynetdicom.acse').warning('association rejected')\n")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    log = tmp_path / "logs" / "riqa.log"
    assert r.stdout.strip() == str(log)
    text = log.read_text()
    for words in ("odd element in a header", "a traceback from a decoder", "association rejected"):
        assert words in text


def test_an_unwritable_data_folder_silences_instead_of_crashing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = _run("import logging\n"
             "from riqa_desktop.core.applog import configure\n"
             f"print(configure({str(blocker)!r}))\n"
             "logging.getLogger('pydicom').error('nowhere to go')\n")
    assert r.returncode == 0 and r.stderr == "" and r.stdout.strip() == "None"
