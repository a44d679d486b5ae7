"""Memory and output against photo count, in a fresh process: `python -m bench.memory N`.

GUI: N synthetic batch rows (copies of one real assessment of a bundled sample, each with its own
thumbnail files, as the analysis thread leaves them) fill the batch table while it scrolls, so
thumbnails are decoded and evicted as in a review; RSS is read at checkpoints. The same rows with
their thumbnails held in memory (as before the thumbnail store) run up to 2,000 rows for contrast.
Report: the size of `riqa batch`'s report (first page, all pages, thumbnails folder) per photo count.
Prints one JSON line.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return int(next(l for l in fh if l.startswith("VmRSS")).split()[1]) / 1024


def template():
    from riqa_desktop.core.analyzer import Analyzer
    from riqa_desktop.resources import samples_dir

    (a,) = Analyzer(device="cpu").assess_path(samples_dir() / "hrf_02_h_lid_shadow.jpg")
    return a


def fill_table(a0, store, n: int, on_disk: bool, checkpoints: list[int]) -> dict[int, float]:
    from PySide6.QtWidgets import QApplication

    from riqa_desktop.ui.batch_view import BatchView

    app = QApplication.instance() or QApplication([])
    view = BatchView(thumbs=store if on_disk else None)
    view.resize(1200, 800)
    view.show()
    out, bunch = {0: rss_mb()}, []
    for i in range(1, n + 1):
        a = copy.deepcopy(a0)
        a.path = f"/archive/{'disk' if on_disk else 'mem'}/photo_{i:06d}.jpg"
        if on_disk:
            store.put(a)
            a.thumbnail = None
        bunch.append(a)
        if len(bunch) == 200 or i == n:
            view.add(bunch)
            bunch = []
            view.table.scrollToBottom()
            app.processEvents()
        if i in checkpoints:
            out[i] = rss_mb()
    view.close()
    view.deleteLater()
    app.processEvents()
    return out


def report_sizes(a0, store, counts: list[int]) -> list[dict]:
    from riqa_desktop.core.report import csv_row, write_report
    from riqa_desktop.core.thumbstore import ThumbnailStore

    rows = []
    for n in counts:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d)
            beside = ThumbnailStore(out / "thumbs")  # as `riqa batch` writes it
            batch = []
            for i in range(1, n + 1):
                a = copy.deepcopy(a0)
                a.path = f"/archive/report/photo_{i:06d}.jpg"
                for overlay in (False, True):
                    src = store.file(f"/archive/disk/photo_{1 + (i - 1) % 50:06d}.jpg", 0, overlay)
                    beside.file(a.path, 0, overlay).write_bytes(src.read_bytes())
                batch.append(csv_row(a))
            pages = write_report(batch, out / "report.html", beside)
            thumbs_mb = sum(f.stat().st_size for f in beside.folder.iterdir()) / 1e6
            rows.append({"photos": n, "pages": len(pages), "first_page_mb": pages[0].stat().st_size / 1e6,
                         "all_pages_mb": sum(p.stat().st_size for p in pages) / 1e6,
                         "thumbs_mb": thumbs_mb if len(pages) > 1 or n > 200 else 0.0})
    return rows


def main() -> int:
    from riqa_desktop.core.thumbstore import ThumbnailStore

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    a0 = template()
    result = {"start_rss_mb": rss_mb()}
    with tempfile.TemporaryDirectory() as d:
        store = ThumbnailStore(d)
        marks = sorted({m for m in (1000, 2000, 5000, 10000, 20000, n) if m <= n})
        result["disk"] = fill_table(a0, store, n, True, marks)
        result["memory"] = fill_table(a0, store, min(n, 2000), False, [m for m in (1000, 2000) if m <= n])
        result["report"] = report_sizes(a0, store, [50, 200, 201, 1000, 5000, 20000])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
