"""The Qt side of `riqa-desktop`: open the main window, or time it for the self-test.

Here rather than in `app.py` so that only `riqa_desktop.ui` imports Qt (an
import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import os
import sys
import time


def run_window(args) -> int:
    """Show the main window at once, then load the models and open what `args` asks for."""
    from PySide6.QtCore import QCoreApplication, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from . import settings as prefs_io
    from .main_window import MainWindow

    QCoreApplication.setOrganizationName(prefs_io.ORG)
    QCoreApplication.setApplicationName(prefs_io.APP)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    settings = QSettings()
    chosen = prefs_io.load(settings).data_dir
    if chosen and not args.data_dir:
        from ..core.applog import configure

        configure(chosen)  # the log file lives in the data folder chosen in Settings
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


def window_startup_ms() -> float:
    """Time to a shown main window (offscreen), the part of start-up a photographer waits for."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    t = time.perf_counter()  # Qt's own import is part of what a photographer waits for
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as d:
        settings = QSettings(os.path.join(d, "selftest.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings, analyzer_factory=lambda: None, data_dir=d)
        window.show()
        app.processEvents()
        ms = (time.perf_counter() - t) * 1000
        window.close()
    return ms
