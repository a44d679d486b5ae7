"""The main window: capture view (worklist | photo + map | verdict and advice) and batch review.

The GUI thread only arranges widgets: assessments run on the analysis thread,
file decoding and exports on the task pool, folder watching on the watcher's
threads. Problems become rows or status-bar text, never a cascade of dialogs.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QFileDialog, QLabel, QMainWindow, QMessageBox, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from ..core.assessment import Assessment
from ..core.thumbstore import ThumbnailStore
from . import exports
from . import settings as prefs_io
from .batch_view import BatchView
from .look import STYLE, icon
from .photo_view import PhotoView
from .postprocess import PostProcessor
from .receiver_bridge import ReceiverBridge
from .settings_dialog import SettingsDialog
from .verdict_panel import VerdictPanel
from .workers import CAPTURE, AnalysisThread, TaskRunner, WatchBridge
from .worklist import Worklist

OPEN_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.jp2 *.dcm *.dicom);;All files (*)"


def default_analyzer_factory(device: str) -> Callable[[], object]:
    """Build the shipped-model Analyzer on the analysis thread, leaving one core to the GUI."""
    def build():
        from ..core.analyzer import Analyzer

        # advice comes after the clinic's thresholds
        return Analyzer(device=device, advise=False, threads=max(1, (os.cpu_count() or 2) - 1))
    return build


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings, analyzer_factory: Callable[[], object] | None = None,
                 device: str | None = None, data_dir: str | None = None, watcher_options: dict | None = None,
                 receiver_options: dict | None = None):
        super().__init__()
        self.settings = settings
        self.prefs = prefs_io.load(settings)
        if device:
            self.prefs.device = device
        self.data_dir = data_dir or self.prefs.data_dir or None
        self.setWindowTitle("RIQA – fundus photo recapture assistant")
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)
        self.setStyleSheet(STYLE)
        self.tasks = TaskRunner(self)
        self.post = PostProcessor(self.prefs.reject_min, self.prefs.good_min)
        # Batch thumbnails live on disk for the session (a 20,000-photo review would hold GBs in memory).
        self._thumb_dir = tempfile.TemporaryDirectory(prefix="riqa-thumbs-")
        self.thumbs = ThumbnailStore(self._thumb_dir.name)
        self.analysis = AnalysisThread(analyzer_factory or default_analyzer_factory(self.prefs.device),
                                       self.data_dir, self.post, self, thumbs=self.thumbs)
        self.watch = WatchBridge(self.tasks, self, data_dir=self.data_dir, **(watcher_options or {}))
        self.receiver = ReceiverBridge(self, **(receiver_options or {}))
        self.batch_id: str | None = None
        self.device_in_use = ""
        self._shown: Assessment | None = None
        self._display_size = (1, 1)
        self._quality_overlay = self._quality_contour = None
        self._follow = "worklist"  # which list next/previous walks: "worklist" or "batch"
        # Batch results are shown in bunches, a few times a second: one repaint per bunch, not per photo.
        self._batch_inbox: list[Assessment] = []
        self._batch_progress: tuple[int, int] | None = None
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(400)
        self._flush_timer.timeout.connect(self._flush_batch)

        self._build_views()
        self._build_status_bar()
        self._build_actions()
        self._connect()
        self._restore_geometry()

    # -- construction ---------------------------------------------------------------
    def _build_views(self) -> None:
        self.worklist = Worklist()
        self.photo = PhotoView(self.prefs.colormap, self.prefs.overlay_opacity)
        self.verdict = VerdictPanel()
        worklist_box = QWidget()
        wl = QVBoxLayout(worklist_box)
        wl.setContentsMargins(6, 6, 0, 6)
        head = QLabel("Today")
        head.setObjectName("sectionHead")
        wl.addWidget(head)
        wl.addWidget(self.worklist, 1)
        worklist_box.setMinimumWidth(220)  # on a small screen the photo shrinks, not the list of today's photos
        self.capture_split = QSplitter(Qt.Orientation.Horizontal)
        self.capture_split.addWidget(worklist_box)
        self.capture_split.addWidget(self.photo)
        self.capture_split.addWidget(self.verdict)
        self.capture_split.setStretchFactor(1, 1)
        self.capture_split.setSizes([360, 740, 400])
        self.batch = BatchView(thumbs=self.thumbs)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.capture_split, "Capture")
        self.tabs.addTab(self.batch, "Batch review")
        self.setCentralWidget(self.tabs)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.watch_label = QLabel("Not watching")
        self.device_label = QLabel("Loading models…")
        self.models_label = QLabel("")
        self.timing_label = QLabel("")
        self.timing_label.setMinimumWidth(190)  # changing digits must not re-lay out the status bar
        for w in (self.watch_label, self.device_label, self.models_label, self.timing_label):
            w.setObjectName("statusItem")
            sb.addPermanentWidget(w)

    def _build_actions(self) -> None:
        def act(text, slot, keys=None, menu=None, checkable=False):
            a = QAction(text, self)
            if keys:
                a.setShortcuts([QKeySequence(k) for k in ([keys] if isinstance(keys, str) else keys)])
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            if menu is not None:
                menu.addAction(a)
            self.addAction(a)  # shortcuts work wherever focus is
            return a

        m = self.menuBar().addMenu("&File")
        act("Open photos…", self.choose_files, "Ctrl+O", m)
        act("Try it with sample photos", self.try_samples, None, m)
        act("Review a folder…", self.choose_batch_folder, "Ctrl+Shift+O", m)
        m.addSeparator()
        act("Export batch as CSV…", self.choose_csv, "Ctrl+E", m)
        act("Export batch report (HTML)…", self.choose_html, "Ctrl+Shift+E", m)
        m.addSeparator()
        act("Settings…", self.open_settings, "Ctrl+,", m)
        m.addSeparator()
        act("Quit", self.close, "Ctrl+Q", m)

        m = self.menuBar().addMenu("&Watch")
        act("Choose folder to watch…", self.choose_watch_folder, None, m)
        self.watch_action = act("Start watching", self.toggle_watching, "Ctrl+W", m)

        m = self.menuBar().addMenu("&View")
        act("Next photo", lambda: self.step(+1), ["N", "Ctrl+Down"], m)
        act("Previous photo", lambda: self.step(-1), ["P", "Ctrl+Up"], m)
        act("Show/hide quality map", self.photo.toggle_overlay, "M", m)
        act("Show/hide the map's contour", self.photo.toggle_contour, "C", m)
        act("Fit photo to window", self.photo.fit, "F", m)
        m.addSeparator()
        act("Capture view", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1", m)
        act("Batch review", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2", m)

        m = self.menuBar().addMenu("&Help")
        act("Keyboard shortcuts", self.show_shortcuts, "F1", m)
        act("About", self.show_about, None, m)

    def _connect(self) -> None:
        a = self.analysis
        a.ready.connect(self._models_ready)
        a.load_failed.connect(self._models_failed)
        a.result.connect(self._on_result)
        a.progress.connect(self._on_progress)
        a.batch_done.connect(self._on_batch_done)
        a.store_failed.connect(lambda msg: self.statusBar().showMessage(msg))
        a.explained.connect(self._explained)
        self.photo.source_changed.connect(self._overlay_source_changed)
        self.watch.ready.connect(lambda p: self.analysis.assess([p]))
        self.receiver.received.connect(lambda p: self.analysis.assess([p]))
        self.receiver.status.connect(lambda text: self.statusBar().showMessage(text))
        self.watch.problem.connect(lambda p, why: self._on_result(Assessment.failed(p, why), CAPTURE))
        self.watch.status.connect(self._watch_status)
        self.watch.running.connect(lambda on: self.watch_action.setText("Stop watching" if on else "Start watching"))
        self.worklist.chosen.connect(lambda x: self._show(x, "worklist"))
        self.batch.chosen.connect(self._open_from_batch)
        self.batch.open_folder.connect(self.choose_batch_folder)
        self.batch.cancel.connect(self.cancel_batch)
        self.batch.export_csv.connect(self.choose_csv)
        self.batch.export_html.connect(self.choose_html)
        self.photo.opacity_changed.connect(lambda v: self.settings.setValue("overlay/opacity", v))

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Load the models (on the analysis thread) and refill today's worklist; call after show()."""
        self.photo.show_message("Loading the quality models…", "This takes a few seconds. Photos that arrive "
                                "meanwhile are queued and assessed as soon as the models are ready.")
        self.analysis.start(AnalysisThread.Priority.LowPriority)
        self._apply_receiver()
        self.tasks.submit(exports.read_today, self.data_dir, on_done=self._restore_day,
                          on_failed=lambda msg: self.statusBar().showMessage(f"Could not read today's results: {msg}"))

    def closeEvent(self, event) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/split", self.capture_split.saveState())
        self.watch.stop_now()
        self.receiver.stop_now()
        self.analysis.stop()
        self.analysis.wait(10000)
        self.tasks.wait(5000)
        self._thumb_dir.cleanup()
        super().closeEvent(event)

    def _restore_geometry(self) -> None:
        geo = self.settings.value("window/geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(1500, 900)
        split = self.settings.value("window/split")
        if isinstance(split, QByteArray):
            self.capture_split.restoreState(split)

    # -- opening photos ---------------------------------------------------------------
    def try_samples(self) -> None:
        """The bundled sample photos (CC0 / CC BY, see resources/samples): see the app work at once."""
        from ..resources import samples_dir

        self.open_paths(sorted(str(p) for p in samples_dir().glob("*.jpg")))

    def open_paths(self, paths: list[str]) -> None:
        """Files go to the capture view; a folder goes to batch review."""
        files = [p for p in paths if not os.path.isdir(p)]
        folders = [p for p in paths if os.path.isdir(p)]
        if files:
            self.tabs.setCurrentIndex(0)
            self.analysis.assess(files)
        if folders:
            self.start_batch(folders[0])
            if len(folders) > 1:
                self.statusBar().showMessage("One folder at a time: reviewing " + folders[0])

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", self._last_dir(), OPEN_FILTER)
        if files:
            self.settings.setValue("open/last_dir", str(Path(files[0]).parent))
            self.open_paths(files)

    def choose_batch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Review a folder", self._last_dir())
        if folder:
            self.settings.setValue("open/last_dir", folder)
            self.start_batch(folder)

    def _last_dir(self) -> str:
        return str(self.settings.value("open/last_dir", "") or "")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # -- batch review ----------------------------------------------------------------
    def start_batch(self, folder: str) -> None:
        if self.batch_id:
            self.analysis.cancel(self.batch_id)
        self.tabs.setCurrentIndex(1)
        self._batch_inbox, self._batch_progress = [], None
        self.batch.begin(folder)
        self.batch_id = self.analysis.start_batch(folder)

    def cancel_batch(self) -> None:
        if self.batch_id:
            self.analysis.cancel(self.batch_id)
            self.batch.cancel_button.setEnabled(False)
            self.statusBar().showMessage("Cancelling after the current photo…")

    def choose_csv(self) -> None:
        self._choose_export("Export CSV", "results.csv", "CSV (*.csv)", self.export_csv)

    def choose_html(self) -> None:
        self._choose_export("Export report", "report.html", "HTML (*.html)", self.export_html)

    def _choose_export(self, caption: str, name: str, filt: str, do: Callable[[str], None]) -> None:
        if not self.batch.model.rowCount():
            self.statusBar().showMessage("Nothing to export yet: review a folder first.")
            return
        start = str(Path(self._last_dir() or Path.home()) / name)
        path, _ = QFileDialog.getSaveFileName(self, caption, start, filt)
        if path:
            do(path)

    def export_csv(self, path: str) -> None:
        self._export(exports.export_csv, path)

    def export_html(self, path: str) -> None:
        self._export(functools.partial(exports.export_html, thumbs=self.thumbs), path)

    def _export(self, fn: Callable, path: str) -> None:
        self.statusBar().showMessage(f"Exporting to {path}…")
        self.tasks.submit(fn, self.batch.model.assessments(), path,
                          on_done=lambda p: self.statusBar().showMessage(f"Saved {p}"),
                          on_failed=lambda msg: self.statusBar().showMessage(f"Export failed: {msg}"))

    # -- watching --------------------------------------------------------------------
    def choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Camera export folder to watch", self.prefs.watch_folder)
        if folder:
            self.start_watching(folder)

    def toggle_watching(self) -> None:
        if self.watch.is_running:
            self.watch.stop()
        elif self.prefs.watch_folder and os.path.isdir(self.prefs.watch_folder):
            self.start_watching(self.prefs.watch_folder)
        else:
            self.choose_watch_folder()

    def start_watching(self, folder: str) -> None:
        self.prefs.watch_folder = folder
        self.settings.setValue("watch/folder", folder)
        self.tabs.setCurrentIndex(0)
        self.watch.start(folder)

    def _watch_status(self, text: str) -> None:
        self.watch_label.setText({"stopped": "Not watching"}.get(text, text[:1].upper() + text[1:]))
        self.watch_label.setToolTip(text)

    # -- results ------------------------------------------------------------------------
    def _models_ready(self, device: str, versions: dict) -> None:
        self.device_in_use = device
        self.device_label.setText(f"Device: {device.upper()}")
        self.models_label.setText("Models: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
        if self._shown is None:
            self.photo.show_message("Ready", "Open photos with Ctrl+O, drop them here, or start watching the "
                                    "camera's export folder (Ctrl+W). New photos appear here as soon as they "
                                    "are saved.")

    def _models_failed(self, message: str) -> None:
        self.device_label.setText("Models not loaded")
        self.device_label.setToolTip(message)
        self.statusBar().showMessage(f"Cannot assess photos: {message}")
        self.photo.show_message("The quality models are not installed",
                                f"{message}.<br><br>Photos can still be opened, but they cannot be assessed "
                                "until the models are installed. Please reinstall the app or ask your "
                                "administrator.")
        self.verdict.show_message("No assessments until the models are installed.")

    def _on_result(self, a: Assessment, source: str) -> None:
        if source == CAPTURE:
            self._show_timing(a)
            self.worklist.add(a)  # selects it, which shows it
        elif source == self.batch_id:
            self._batch_inbox.append(a)
            if not self._flush_timer.isActive():
                self._flush_timer.start()

    def _show_timing(self, a: Assessment) -> None:
        total = a.timings_ms.get("total")
        if total is not None:
            self.timing_label.setText(f"Last inference: {total:.0f} ms")

    def _on_progress(self, batch_id: str, done: int, total: int) -> None:
        if batch_id == self.batch_id:
            self._batch_progress = (done, total)
            if not self._flush_timer.isActive():
                self._flush_timer.start()

    def _flush_batch(self) -> None:
        items, self._batch_inbox = self._batch_inbox, []
        self.batch.add(items)
        if items:
            self._show_timing(items[-1])
        if self._batch_progress is not None:
            self.batch.set_progress(*self._batch_progress)

    def _on_batch_done(self, batch_id: str, cancelled: bool) -> None:
        if batch_id == self.batch_id:
            self._flush_timer.stop()
            self._flush_batch()
            self.batch.finish(cancelled)
            n = self.batch.model.rowCount()
            self.statusBar().showMessage(f"Batch review {'cancelled' if cancelled else 'finished'}: {n} photos")

    def _restore_day(self, items: list) -> None:
        for a, when in items:
            self.worklist.add(a, when=when, select=False)
        if items:
            self.tasks.submit(exports.load_thumbnails, [a for a, _ in items], on_done=self._restored_thumbs)

    def _restored_thumbs(self, pairs: list) -> None:
        for a, thumb in pairs:
            self.worklist.update_thumbnail(a.path, a.frame_index, thumb)

    # -- showing one photo -------------------------------------------------------------
    def _open_from_batch(self, a: Assessment) -> None:
        self.tabs.setCurrentIndex(0)
        self._show(a, "batch")

    def _show(self, a: Assessment, follow: str) -> None:
        self._shown, self._follow = a, follow
        self.verdict.show_assessment(a)
        if not a.ok:
            self.photo.show_message("This file could not be assessed", a.error or "")
            return
        self.tasks.submit(exports.load_display, a, on_done=self._display_ready,
                          on_failed=lambda msg: self.photo.show_message("Cannot show this photo", msg))

    def _display_ready(self, loaded) -> None:
        a, rgb, qmap, contour = loaded
        if a is self._shown:  # ignore a slow decode of a photo the user has moved past
            self._display_size = (rgb.shape[1], rgb.shape[0])
            self._quality_overlay, self._quality_contour = qmap, contour
            self.photo.set_photo(rgb, qmap, contour)
            self._overlay_source_changed(self.photo.overlay_source())

    def _overlay_source_changed(self, kind: str) -> None:
        """The quality map is at hand; explanations are computed on the analysis thread."""
        if self._shown is None or not self._shown.ok:
            return
        if kind == "quality":
            self.photo.set_overlay(self._quality_overlay, self._quality_contour)
        else:
            self.statusBar().showMessage("Computing the overlay…", 3000)
            self.analysis.explain(self._shown, kind)

    def _explained(self, a: Assessment, kind: str, result) -> None:
        if a is not self._shown or kind != self.photo.overlay_source():
            return  # the user has moved on
        if isinstance(result, str):
            self.statusBar().showMessage(f"Overlay not available: {result}", 8000)
            return
        self.photo.set_overlay(result.full_size(self._display_size))

    def step(self, delta: int) -> None:
        if self._follow == "batch" or self.tabs.currentIndex() == 1:
            a = self.batch.step(delta)
            if a is not None:
                self._show(a, "batch")
        else:
            self.worklist.step(delta)

    # -- dialogs -----------------------------------------------------------------------
    def open_settings(self) -> None:
        dlg = SettingsDialog(self.prefs, self.device_in_use, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.apply_preferences(dlg.preferences(self.prefs))

    def apply_preferences(self, p: prefs_io.Preferences) -> None:
        """Save and apply what can change at once (thresholds, colours, watched folder)."""
        restart = p.device != self.prefs.device or p.data_dir != self.prefs.data_dir
        self.prefs = p
        prefs_io.save(self.settings, p)
        self.post.reject_min, self.post.good_min = p.reject_min, p.good_min
        self.photo.set_colormap(p.colormap)
        self._apply_receiver()
        if restart:
            self.statusBar().showMessage("Device and data directory apply the next time the app starts.")

    def _apply_receiver(self) -> None:
        """The DICOM receiver as Settings say (off at port 0); it writes into <data folder>/incoming."""
        from ..core.store import default_data_dir

        incoming = Path(self.data_dir or default_data_dir()) / "incoming"
        self.receiver.apply(self.prefs.receiver_port, self.prefs.receiver_ae_title, self.prefs.receiver_callers,
                            incoming)

    def show_shortcuts(self) -> None:
        rows = []
        for menu_action in self.menuBar().actions():
            for a in menu_action.menu().actions():
                keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts())
                if keys:
                    rows.append(f"<tr><td style='padding-right:24px'>{a.text().rstrip('…')}</td><td><b>{keys}</b></td></tr>")
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText("<table>" + "".join(rows) + "</table>")
        box.exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About RIQA", "<b>RIQA</b> – a recapture assistant for fundus photography.<br>"
                          "It grades each photo, shows where quality is poor and says how to retake it.<br>"
                          "It supports the photographer; it does not make a diagnosis.")
