"""Batch review: real photos fill the table and export; the GUI thread stays responsive throughout."""

from __future__ import annotations

import csv
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QTimer

from riqa_desktop.ui.batch_model import ASSESSMENT_ROLE, C_SCORE, C_VERDICT, BatchFilterProxy, BatchModel
from tests.test_ui_support import window  # noqa: F401  (fixture)


def _fingerprint(folder) -> dict:
    import hashlib
    import os

    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns)
            for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.shared_data
def test_batch_of_real_photos_fills_table_and_exports(window, qtbot, qtmodeltester, shared_data, tmp_path):
    folder = shared_data / "DRIMDB" / "Outlier"
    n_files = sum(1 for p in folder.iterdir() if p.is_file())
    before = _fingerprint(folder)
    window.start_batch(str(folder))
    with qtbot.waitSignal(window.analysis.batch_done, timeout=60000) as done:
        pass
    assert done.args[1] is False  # not cancelled
    model = window.batch.model
    assert model.rowCount() == n_files
    qtmodeltester.check(model)
    qtmodeltester.check(window.batch.proxy)
    assert all(model.assessment(r).ok for r in range(model.rowCount()))
    assert "of" in window.batch.progress.format() and not window.batch.progress.isVisible()

    # Sort by score, filter by verdict, double-click opens the capture view.
    window.batch.table.sortByColumn(C_SCORE, Qt.SortOrder.AscendingOrder)
    first = window.batch.proxy.index(0, C_VERDICT).data(ASSESSMENT_ROLE)
    assert first.quality_score == min(model.assessment(r).quality_score for r in range(model.rowCount()))
    window.batch.filter.setCurrentText("Unreadable")
    assert window.batch.proxy.rowCount() == 0
    window.batch.filter.setCurrentText("All photos")
    window.batch.table.doubleClicked.emit(window.batch.proxy.index(0, 1))
    assert window.tabs.currentIndex() == 0 and window.verdict.title.text()

    out_csv, out_html = tmp_path / "results.csv", tmp_path / "report.html"
    window.export_csv(str(out_csv))
    window.export_html(str(out_html))
    qtbot.waitUntil(lambda: out_csv.exists() and out_html.exists(), timeout=30000)
    window.tasks.wait()
    rows = list(csv.DictReader(open(out_csv, encoding="utf-8")))
    assert _fingerprint(folder) == before  # reviewing and exporting never touch a camera file
    assert len(rows) == n_files and {r["grade"] for r in rows} <= {"good", "usable", "reject", "not_fundus"}
    page = out_html.read_text(encoding="utf-8")
    assert page.count("<tr>") == n_files + 1 and "data:image/jpeg;base64," in page


def test_model_checks_with_errors_and_filters(qtmodeltester, qtbot):
    from riqa_desktop.core.assessment import Assessment

    model = BatchModel()
    proxy = BatchFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    model.append([Assessment.failed("/x/broken.jpg", "image data is corrupt")])
    model.append([Assessment(path="/x/ok.jpg", grade="good", confidence=0.9, quality_score=0.8)])
    qtmodeltester.check(model)
    proxy.set_verdicts({"error"})
    assert proxy.rowCount() == 1 and proxy.index(0, 9).data() is None
    assert "corrupt" in proxy.index(0, model.columnCount() - 3).data()
    proxy.set_verdicts(None)
    proxy.set_text("ok.jpg")
    assert proxy.rowCount() == 1


@pytest.fixture()
def one_torch_thread():
    """As the app does on two cores: inference keeps one core, the GUI the other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_gui_thread_keeps_running_during_500_photo_batch(one_torch_thread, window, qtbot, tmp_path, retina_rgb):
    """A 10 ms heartbeat on the GUI thread never stops for long while 500 photos are assessed.

    Models on the GUI thread would stop it for seconds; how short the stalls are is a
    performance figure, measured by `python -m bench --only gui`, not asserted here.
    """
    folder = tmp_path / "batch"
    folder.mkdir()
    small = retina_rgb[::6, ::6]
    for k in range(4):  # a few distinct photos, copied to 500 files (plus unreadable ones)
        Image.fromarray(np.roll(small, 7 * k, axis=1)).save(tmp_path / f"src{k}.jpg", quality=85)
    for i in range(495):
        shutil.copy(tmp_path / f"src{i % 4}.jpg", folder / f"p{i:03d}_{'OD' if i % 2 else 'OS'}.jpg")
    for i in range(5):
        (folder / f"broken{i}.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")

    gaps, when, last = [], [], [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        when.append(now)
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(beat)
    timer.start()
    t0 = time.perf_counter()
    window.start_batch(str(folder))
    with qtbot.waitSignal(window.analysis.batch_done, timeout=120000):
        pass
    elapsed = time.perf_counter() - t0
    timer.stop()
    assert window.batch.model.rowCount() == 500
    assert sum(not window.batch.model.assessment(r).ok for r in range(500)) == 5
    worst = max(gaps)
    print(f"\n500-photo batch: {elapsed:.1f} s, {len(gaps)} heartbeats, worst GUI-thread gap {worst * 1000:.1f} ms, "
          f"p99 {np.percentile(gaps, 99) * 1000:.1f} ms; worst at",
          [(round(g * 1000), round(t - t0, 1)) for g, t in sorted(zip(gaps, when), reverse=True)[:5]])
    assert worst < 1.0
