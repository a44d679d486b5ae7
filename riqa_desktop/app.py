"""`riqa-desktop`: the window appears first; torch and the models load afterwards, on a worker thread.

riqa-desktop [--watch DIR] [--data-dir DIR] [--device auto|cpu|cuda] [PATH ...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="riqa-desktop", description="Recapture assistant for fundus photography.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="photos to assess, or a folder to review")
    p.add_argument("--watch", metavar="DIR", help="watch this camera export folder from the start")
    p.add_argument("--data-dir", metavar="DIR", help="where the results store lives (default: per user)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the models run (default: setting)")
    p.add_argument("--try-it", action="store_true", help="open the bundled sample photos (also on first run)")
    p.add_argument("--self-test", action="store_true",
                   help="assess the bundled samples offscreen, check them, exit 0 (passed) or 1 (failed)")
    return p


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # first: bundled builds re-enter main in worker processes
    args = build_parser().parse_args(argv)
    if args.self_test:
        from .selftest import run

        return run()

    from . import qt_platform

    problem = qt_platform.check()  # else Qt aborts with a page of text that names no package
    if problem:
        print(problem, file=sys.stderr)
        return 1

    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QApplication

    from .ui import settings as prefs_io

    QCoreApplication.setOrganizationName(prefs_io.ORG)
    QCoreApplication.setApplicationName(prefs_io.APP)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")

    from PySide6.QtCore import QSettings

    from .ui.main_window import MainWindow

    settings = QSettings()
    window = MainWindow(settings, device=args.device, data_dir=args.data_dir)
    window.show()
    first_run = not settings.value("tried_samples", False, type=bool)

    def after_show():
        window.start()
        if args.watch:
            window.start_watching(args.watch)
        if args.paths:
            window.open_paths(args.paths)
        elif args.try_it or (first_run and not args.watch):
            window.try_samples()
            settings.setValue("tried_samples", True)

    QTimer.singleShot(0, after_show)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
