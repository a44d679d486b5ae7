"""Capture view: watched-folder photos reach the worklist; errors become rows; missing models stay calm."""

from __future__ import annotations

import hashlib
import os
import shutil

from PIL import Image
from PySide6.QtWidgets import QMessageBox
from tests.test_ui_support import make_window, window  # noqa: F401  (fixture)

from riqa_desktop.core.assessment import GRADE_WORDS
from riqa_desktop.core.errors import ModelMissingError


def _no_dialogs(monkeypatch):
    for name in ("critical", "warning", "information", "question", "exec"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: (_ for _ in ()).throw(AssertionError("dialog")))


def test_watched_photo_appears_with_verdict_and_advice(window, qtbot, tmp_path, retina_jpeg, retina_rgb,
                                                       monkeypatch):
    _no_dialogs(monkeypatch)
    camera = tmp_path / "camera"
    camera.mkdir()
    window.start_watching(str(camera))
    qtbot.waitUntil(lambda: window.watch_label.text().startswith("Watching"), timeout=30000)
    shutil.copy(retina_jpeg, camera / "p001_OD.jpg")
    first_mtime = os.stat(camera / "p001_OD.jpg").st_mtime_ns
    qtbot.waitUntil(lambda: window.worklist.count() == 1, timeout=30000)

    a = window.worklist.assessments()[0]
    assert a.ok and a.grade in GRADE_WORDS and a.metadata.laterality == "R"
    text = window.worklist.topLevelItem(0).text(0)
    assert GRADE_WORDS[a.grade] in text and "Right eye" in text
    if a.advice:  # the advice engine is present: its first advice is the row's one line
        assert a.advice[0].title in text
        assert a.advice[0].title in window.verdict.advice.text()
    assert window.verdict.card.word.text() == GRADE_WORDS[a.grade]
    qtbot.waitUntil(lambda: window.photo.photo.image is not None, timeout=30000)
    assert window.photo.map.image is not None and window.photo.map.image.shape == window.photo.photo.image.shape[:2]

    # A re-shot of the same eye (new bytes: the watcher hands identical copies over once) nests the
    # first shot under the newest one.
    Image.fromarray(retina_rgb[::2, ::2]).save(camera / "p001_OD_2.jpg", quality=80)
    qtbot.waitUntil(lambda: window.worklist.count() == 2, timeout=30000)
    assert window.worklist.topLevelItemCount() == 1 and window.worklist.topLevelItem(0).childCount() == 1
    window.watch.stop()
    qtbot.waitUntil(lambda: window.watch_label.text() == "Not watching", timeout=30000)
    # The camera's files are as the camera wrote them: same bytes, same modification time.
    assert hashlib.sha256((camera / "p001_OD.jpg").read_bytes()).digest() == hashlib.sha256(
        retina_jpeg.read_bytes()).digest()
    assert os.stat(camera / "p001_OD.jpg").st_mtime_ns == first_mtime


def test_errors_are_rows_not_dialogs(window, qtbot, tmp_path, monkeypatch):
    _no_dialogs(monkeypatch)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 400)
    window.open_paths([str(tmp_path / "notes.txt"), str(tmp_path / "cut.jpg"), str(tmp_path / "missing.png")])
    qtbot.waitUntil(lambda: window.worklist.count() == 3, timeout=30000)
    rows = window.worklist.assessments()
    assert all(not a.ok and a.error for a in rows)
    assert all("Unreadable" in window.worklist.topLevelItem(i).text(0) for i in range(3))
    assert window.verdict.card.word.text() == "Unreadable"
    assert rows[0].error in window.verdict.card.detail.text()


def test_missing_models_are_reported_calmly(qtbot, tmp_path, retina_jpeg, monkeypatch):
    _no_dialogs(monkeypatch)

    def missing():
        raise ModelMissingError("model 'quality_multitask' is not installed (resources/models)")

    w = make_window(qtbot, tmp_path, factory=missing, wait_ready=False)
    qtbot.waitUntil(lambda: w.device_label.text() == "Models not loaded", timeout=30000)
    assert "quality_multitask" in w.statusBar().currentMessage()
    assert "not installed" in w.photo.message.text()
    w.open_paths([str(retina_jpeg)])
    qtbot.waitUntil(lambda: w.worklist.count() == 1, timeout=30000)
    assert "quality_multitask" in w.worklist.assessments()[0].error
    w.close()


def test_keyboard_overlay_and_navigation(window, qtbot, tmp_path, retina_jpeg):
    second = tmp_path / "second_OS.jpg"
    shutil.copy(retina_jpeg, second)
    window.open_paths([str(retina_jpeg), str(second)])
    qtbot.waitUntil(lambda: window.worklist.count() == 2, timeout=30000)
    newest = window.worklist.currentItem()
    window.step(+1)
    assert window.worklist.currentItem() is not newest
    window.step(-1)
    assert window.worklist.currentItem() is newest
    assert window.photo.toggle.isChecked()
    qtbot.waitUntil(lambda: window.photo.contour.image is not None, timeout=30000)
    assert window.photo.contour.isVisible() == window.photo.contour_on
    window.photo.toggle_contour()  # the outline alone goes; the map stays
    assert not window.photo.contour.isVisible() and window.photo.map.isVisible()
    window.photo.toggle_contour()
    window.photo.toggle_overlay()
    assert not window.photo.toggle.isChecked() and not window.photo.map.isVisible()
    assert not window.photo.contour.isVisible()
    menus = [m.text() for m in window.menuBar().actions()]
    assert "&Help" in menus


def test_window_fits_a_1280_pixel_laptop_screen(window, qtbot, retina_jpeg):
    """Worklist, photo with its controls and verdict column together stay narrower than 1280 px."""
    window.resize(1000, 700)
    window.open_paths([str(retina_jpeg)])
    qtbot.waitUntil(lambda: window.worklist.count() == 1, timeout=30000)
    for i in range(window.photo.source.count()):  # longest legend words too
        window.photo.source.setCurrentIndex(i)
        assert window.minimumSizeHint().width() <= 1280, window.photo.source.currentText()
    assert window.worklist.width() >= 200
