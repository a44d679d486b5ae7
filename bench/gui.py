"""GUI measurements, run in a fresh process: `python -m bench.gui N`.

Time to a shown window, time to the first verdict with the shipped models,
and the longest GUI-thread stall (10 ms heartbeat) while N real photos are
reviewed in a batch. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
T0 = time.perf_counter()


def main() -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from riqa_desktop.ui.main_window import MainWindow

    from .inputs import batch_inputs

    root = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    app = QApplication.instance() or QApplication([])
    out: dict = {}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "photos"
        folder.mkdir()
        for i, p in enumerate(batch_inputs(root, n)):
            (folder / f"{i:03d}_{p.name}").symlink_to(p)
        w = MainWindow(QSettings(os.path.join(d, "s.ini"), QSettings.Format.IniFormat), data_dir=d)
        w.show()
        app.processEvents()
        out["window_ms"] = (time.perf_counter() - T0) * 1000
        w.start()
        first = {}
        w.analysis.result.connect(lambda a, src: first.setdefault("ms", (time.perf_counter() - T0) * 1000))
        w.open_paths([str(root / "DRIMDB" / "Good" / "drimdb_good (1).jpg")])
        while "ms" not in first:
            app.processEvents()
            time.sleep(0.005)
        out["first_verdict_ms"] = first["ms"]
        gaps, last = [], [time.perf_counter()]

        def beat():
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now

        timer = QTimer()
        timer.timeout.connect(beat)
        timer.start(10)
        done = {}
        w.analysis.batch_done.connect(lambda bid, cancelled: done.setdefault("t", time.perf_counter()))
        t = time.perf_counter()
        w.start_batch(str(folder))
        while "t" not in done:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        out["batch_photos"] = n
        out["batch_s"] = done["t"] - t
        out["max_stall_ms"] = max(gaps) - 10
        out["p99_stall_ms"] = sorted(gaps)[int(0.99 * (len(gaps) - 1))] - 10
        w.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
