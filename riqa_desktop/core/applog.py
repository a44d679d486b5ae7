"""The app's log file: library warnings and tracebacks go here, never to the terminal or the GUI.

pydicom, pynetdicom and the image codecs warn about odd files in Python's
`logging` and `warnings`; a photographer should see only the one-line reason
(the Assessment's error). Their words are kept, for support, in
`<data folder>/logs/riqa.log`, rotated at 1 MB, three old files kept.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path

CODEC_LOG = logging.getLogger("riqa.codecs")  # what C decoders printed; INFO, so silent until configured
LIBRARY_LOGGERS = ("riqa.codecs", "pydicom", "pynetdicom", "py.warnings", "openjpeg", "pylibjpeg", "libjpeg", "PIL")
_handler: logging.Handler | None = None


def configure(data_dir: str | os.PathLike) -> Path | None:
    """Route library loggers and Python warnings to the rotating log file; returns its path (None: not writable)."""
    global _handler
    path = Path(data_dir) / "logs" / "riqa.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    except OSError:
        handler, path = logging.NullHandler(), None  # an unwritable data folder silences, never crashes
    for name in LIBRARY_LOGGERS:
        lg = logging.getLogger(name)
        if _handler is not None:
            lg.removeHandler(_handler)
        lg.addHandler(handler)
        lg.propagate = False
    CODEC_LOG.setLevel(logging.INFO)
    if _handler is not None:
        _handler.close()
    _handler = handler
    logging.captureWarnings(True)
    return path


_fd_lock = threading.Lock()


@contextmanager
def c_stderr_to_log():
    """Catch what C libraries print straight to stderr (GDCM's libjpeg: "Corrupt JPEG data") into the log."""
    with _fd_lock, tempfile.TemporaryFile() as tmp:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real stderr (a windowed app): nothing to catch
            yield
            return
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace").strip()
            if text:
                CODEC_LOG.info("decoder said: %s", text)
