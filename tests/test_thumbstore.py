"""Thumbnails on disk and reports that stay light: one self-contained file for a small batch, linked
thumbnails and pages for a big one; the GUI table decodes thumbnails on demand into a bounded cache."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.test_ui_support import window  # noqa: F401  (fixture)

from riqa_desktop.core.assessment import Assessment, AttributeResult
from riqa_desktop.core.report import csv_row, write_report
from riqa_desktop.core.thumbstore import ThumbnailStore


def _assessment(i: int, side: int = 64) -> Assessment:
    rng = np.random.default_rng(i)
    a = Assessment(path=f"/archive/p{i:05d}.jpg", grade="good", confidence=0.9, quality_score=0.8,
                   grade_probs={"good": 0.9, "usable": 0.05, "reject": 0.05, "not_fundus": 0.0},
                   attributes={"illumination": AttributeResult(True, 0.1)})
    a.thumbnail = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    return a


def test_store_round_trip_reduced_and_missing(tmp_path):
    store = ThumbnailStore(tmp_path / "t")
    a = _assessment(1, side=256)
    store.put(a)
    assert store.get(a.path, 0).shape == (256, 256, 3)
    assert store.get(a.path, 0, reduce=2).shape == (128, 128, 3)
    assert store.get(a.path, 1) is None and store.jpeg("/elsewhere.jpg", 0) is None
    store.file(a.path, 0).write_bytes(b"not a jpeg")
    assert store.get(a.path, 0) is None  # a damaged cache file is a missing thumbnail, not a crash


def _report(tmp_path, n: int, beside: bool, **limits):
    out = tmp_path / "out"
    out.mkdir()
    store = ThumbnailStore(out / "thumbs" if beside else tmp_path / "session")
    items = [_assessment(i) for i in range(n)]
    for a in items:
        store.put(a)
    return out, write_report([csv_row(a) for a in items], out / "report.html", store, **limits)


def test_small_batch_report_is_one_self_contained_file(tmp_path):
    out, pages = _report(tmp_path, 4, beside=False, embed_limit=10)
    assert pages == [out / "report.html"]
    html = pages[0].read_text()
    assert html.count("data:image/jpeg;base64,") == 4 and html.count("<tr>") == 5
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_big_batch_report_links_a_thumbnail_folder_and_pages(tmp_path):
    out, pages = _report(tmp_path, 5, beside=False, embed_limit=3, page_rows=2)
    assert [p.name for p in pages] == ["report.html", "report_2.html", "report_3.html"]
    copied = out / "report_thumbs"
    assert len(list(copied.glob("*.jpg"))) == 5  # copied beside the report (the session store is elsewhere)
    rows = 0
    for p in pages:
        html = p.read_text()
        assert "data:image" not in html
        assert all(f"href='{q.name}'" in html for q in pages if q != p)  # every page links the others
        for src in [s.split("'")[0] for s in html.split("src='")[1:]]:
            assert (out / src).is_file()
        rows += html.count("<tr>") - 1
    assert rows == 5


def test_big_batch_report_reuses_the_thumbs_folder_beside_it(tmp_path):
    out, pages = _report(tmp_path, 5, beside=True, embed_limit=3, page_rows=10)
    assert pages == [out / "report.html"] and not (out / "report_thumbs").exists()
    assert "src='thumbs/" in pages[0].read_text()


def test_table_decodes_thumbnails_from_disk_into_a_bounded_cache(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from riqa_desktop.ui import batch_model
    from riqa_desktop.ui.batch_model import C_PHOTO, BatchModel

    store = ThumbnailStore(tmp_path)
    items = []
    for i in range(batch_model.THUMB_CACHE + 50):
        a = _assessment(i, side=128) if i < 3 else Assessment(path=f"/archive/p{i:05d}.jpg", grade="good")
        if i < 3:
            store.put(a)
            a.thumbnail = None  # as the analysis thread leaves batch rows
        items.append(a)
    model = BatchModel(thumbs=store)
    model.append(items)
    pixmaps = [model.index(r, C_PHOTO).data(Qt.ItemDataRole.DecorationRole) for r in range(model.rowCount())]
    assert all(not pm.isNull() for pm in pixmaps)
    assert max(pixmaps[0].width(), pixmaps[0].height()) == batch_model.THUMB
    assert len(model._thumbs) == batch_model.THUMB_CACHE  # oldest pixmaps dropped
    again = model.index(0, C_PHOTO).data(Qt.ItemDataRole.DecorationRole)  # decoded again from disk
    assert again.toImage() == pixmaps[0].toImage()


def test_gui_batch_rows_keep_their_thumbnails_on_disk(window, qtbot, tmp_path, retina_rgb):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(retina_rgb[::8, ::8], 9 * i, axis=1)).save(folder / f"p{i}.jpg")
    window.start_batch(str(folder))
    with qtbot.waitSignal(window.analysis.batch_done, timeout=60000):
        pass
    model = window.batch.model
    assert model.rowCount() == 3
    for r in range(3):
        a = model.assessment(r)
        assert a.thumbnail is None and window.thumbs.get(a.path, 0) is not None
    out = tmp_path / "report.html"
    window.export_html(str(out))
    qtbot.waitUntil(out.exists, timeout=30000)
    window.tasks.wait()
    assert out.read_text().count("data:image/jpeg;base64,") == 6  # photo + map for each, from the store
