"""Render the real riqa-desktop window on given photos and save PNG screenshots.

    python tools/screenshots.py PHOTO [PHOTO ...] --out DIR [--batch FOLDER] [--preview-models]

One capture-view PNG per photo (the window as a photographer sees it after the
photo arrived) and, with --batch, one of the batch review. Uses the shipped
models; --preview-models uses the tests' tiny random models instead, for
layout work only (their verdicts mean nothing). README screenshots must come
from license-clean photos only (skimage.data.retina(), resources/samples).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_SCALE_FACTOR", "1")


def wait(app, cond, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", help="also review this folder and grab the table")
    ap.add_argument("--size", default="1500x900")
    ap.add_argument("--preview-models", action="store_true", help="tiny random models (layout only)")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from riqa_desktop.ui.main_window import MainWindow

    app = QApplication([])
    app.setStyle("Fusion")
    tmp = Path(tempfile.mkdtemp(prefix="riqa-shots-"))
    factory = None
    if args.preview_models:
        from tests.test_ui_support import tiny_factory as factory
    win = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), analyzer_factory=factory,
                     data_dir=str(tmp / "data"))
    w, h = (int(v) for v in args.size.split("x"))
    win.resize(w, h)
    win.show()
    win.start()
    wait(app, lambda: win.device_in_use or win.analysis.load_error)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if not args.photos and not args.batch:
        win.grab().save(str(out / "empty.png"))
    for i, photo in enumerate(args.photos):
        win.open_paths([photo])
        wait(app, lambda: win.worklist.count() == i + 1)
        shown = win.worklist.assessments()[0]
        if shown.ok:
            wait(app, lambda: win.photo.stack.currentWidget() is win.photo.graphics or "Cannot" in win.photo.message.text())
        settle(app)
        path = out / f"capture_{i:02d}_{Path(photo).stem}.png"
        win.grab().save(str(path))
        print(path)
    if args.batch:
        win.start_batch(args.batch)
        wait(app, lambda: not win.batch.progress.isVisible(), 600)
        settle(app)
        path = out / "batch_review.png"
        win.grab().save(str(path))
        print(path)
    win.close()
    return 0


def settle(app, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
