"""Batch review: a folder in a sortable, filterable table with progress, cancel and exports."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSizePolicy, QTableView, QVBoxLayout, QWidget)

from ..core.assessment import Assessment
from .batch_model import (ASSESSMENT_ROLE, C_ADVICE, C_FILE, C_PHOTO, C_VERDICT, FILTERS, THUMB, BatchFilterProxy,
                          BatchModel)
from .look import verdict_key


class BatchView(QWidget):
    """Signals: open_folder(), cancel(), export_csv(), export_html(), chosen(assessment) on double-click."""

    open_folder = Signal()
    cancel = Signal()
    export_csv = Signal()
    export_html = Signal()
    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None, thumbs=None):
        super().__init__(parent)
        self.model = BatchModel(self, thumbs)
        self.proxy = BatchFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.folder_button = QPushButton("Review a folder…")
        self.folder_button.clicked.connect(self.open_folder)
        self.folder_label = QLabel("No folder chosen")
        self.folder_label.setObjectName("muted")
        self.filter = QComboBox()
        self.filter.addItems(list(FILTERS))
        self.filter.setAccessibleName("Show")
        self.filter.currentTextChanged.connect(lambda t: self.proxy.set_verdicts(FILTERS[t]))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find file, patient or advice")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self.export_csv)
        self.html_button = QPushButton("Export report…")
        self.html_button.clicked.connect(self.export_html)

        top = QHBoxLayout()
        top.addWidget(self.folder_button)
        top.addWidget(self.folder_label, 1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        top.addWidget(self.search)
        top.addWidget(self.csv_button)
        top.addWidget(self.html_button)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(C_FILE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 6)
        self.table.setIconSize(QSize(22, 22))  # verdict icons; thumbnails are pixmaps at their own size
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(False)
        for col, width in {C_PHOTO: THUMB + 10, C_FILE: 220, C_VERDICT: 150, C_ADVICE: 420}.items():
            self.table.setColumnWidth(col, width)
        hh.setSectionResizeMode(C_ADVICE, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._double_clicked)

        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m photos")
        self.progress.setMinimumWidth(260)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        # A growing summary must not re-lay out the row (each layout repaints the progress bar).
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(bottom)
        self._set_exports_enabled()

    # -- driven by the main window ------------------------------------------------
    def begin(self, folder: str) -> None:
        self.model.clear()
        self.folder_label.setText(folder)
        self.progress.setRange(0, 0)  # busy until the folder has been listed
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.summary.setText("Listing photos…")
        self._set_exports_enabled()

    def add(self, items: list[Assessment]) -> None:
        self.model.append(items)

    def set_progress(self, done: int, total: int) -> None:
        if self.progress.maximum() != total:
            self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.summary.setText(self._summary_text())

    def finish(self, cancelled: bool) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.summary.setText(self._summary_text() + ("   (cancelled)" if cancelled else ""))
        self._set_exports_enabled()

    def step(self, delta: int) -> Assessment | None:
        """Select the next/previous row in the table's current order; returns its assessment."""
        n = self.proxy.rowCount()
        if n == 0:
            return None
        cur = self.table.currentIndex()
        row = 0 if not cur.isValid() else max(0, min(n - 1, cur.row() + delta))
        idx = self.proxy.index(row, C_FILE)
        self.table.setCurrentIndex(idx)
        return idx.data(ASSESSMENT_ROLE)

    def _double_clicked(self, index: QModelIndex) -> None:
        self.chosen.emit(index.data(ASSESSMENT_ROLE))

    def _summary_text(self) -> str:
        counts: dict[str, int] = {}
        for a in self.model.assessments():
            k = verdict_key(a)
            counts[k] = counts.get(k, 0) + 1
        order = [("good", "good"), ("usable", "usable"), ("reject", "reject"), ("not_fundus", "not fundus"),
                 ("error", "unreadable")]
        return "   ".join(f"{counts[k]} {w}" for k, w in order if counts.get(k))

    def _set_exports_enabled(self) -> None:
        has = self.model.rowCount() > 0
        self.csv_button.setEnabled(has)
        self.html_button.setEnabled(has)
