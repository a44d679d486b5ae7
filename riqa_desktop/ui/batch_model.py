"""The batch review table: one row per photo (or DICOM frame), filled as results arrive.

Rows are only ever appended (beginInsertRows), in bunches, so sorting and
filtering in the proxy stay cheap during a 500-photo batch. Cell texts and
sort keys are computed once per row (painting asks for them thousands of
times). Thumbnails are decoded when a row is painted, from the `ThumbnailStore` on
disk, into a bounded cache: memory stays flat however many photos the batch has.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QPixmap

from ..core.assessment import ATTRIBUTES, Assessment
from .look import COLOURS, WORDS, advice_line, icon, thumb_pixmap, to_qimage, verdict_key

COLUMNS = ["Photo", "File", "Verdict", "Confidence", *[a.capitalize() for a in ATTRIBUTES], "Score", "Advice",
           "Patient", "Eye"]
C_PHOTO, C_FILE, C_VERDICT, C_CONF = 0, 1, 2, 3
C_ATTR0 = 4
C_SCORE, C_ADVICE, C_PATIENT, C_EYE = C_ATTR0 + len(ATTRIBUTES), C_ATTR0 + len(ATTRIBUTES) + 1, \
    C_ATTR0 + len(ATTRIBUTES) + 2, C_ATTR0 + len(ATTRIBUTES) + 3
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ASSESSMENT_ROLE = Qt.ItemDataRole.UserRole + 2
THUMB = 56
THUMB_CACHE = 600  # pixmaps kept (a few screens of rows); the rest are decoded again when scrolled to
_VERDICT_ORDER = {"reject": 0, "not_fundus": 1, "error": 2, "usable": 3, "good": 4}  # worst first


class BatchModel(QAbstractTableModel):
    def __init__(self, parent=None, thumbs=None):
        super().__init__(parent)
        self._rows: list[Assessment] = []
        self._cells: list[list] = []
        self._keys: list[list] = []
        self._store = thumbs  # ThumbnailStore of rows whose thumbnail went to disk
        self._thumbs: OrderedDict[int, QPixmap] = OrderedDict()

    # -- editing --------------------------------------------------------------------
    def append(self, items: list[Assessment]) -> None:
        if not items:
            return
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n + len(items) - 1)
        for a in items:
            self._rows.append(a)
            self._cells.append([_display(a, c) for c in range(len(COLUMNS))])
            self._keys.append([_sort_key(a, c) for c in range(len(COLUMNS))])
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._cells.clear()
        self._keys.clear()
        self._thumbs.clear()
        self.endResetModel()

    def assessments(self) -> list[Assessment]:
        return list(self._rows)

    def assessment(self, row: int) -> Assessment:
        return self._rows[row]

    # -- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._cells[row][col]
        if role == SORT_ROLE:
            return self._keys[row][col]
        a = self._rows[row]
        if role == ASSESSMENT_ROLE:
            return a
        if role == Qt.ItemDataRole.DecorationRole:
            if col == C_PHOTO:
                return self._thumb(index.row())
            if col == C_VERDICT:
                return icon(verdict_key(a))
            if C_ATTR0 <= col < C_SCORE and a.ok:
                r = a.attributes.get(ATTRIBUTES[col - C_ATTR0])
                return None if r is None else icon("good" if r.ok else "reject")
        if role == Qt.ItemDataRole.ForegroundRole and col == C_VERDICT:
            return QColor(COLOURS[verdict_key(a)][0])
        if role == Qt.ItemDataRole.ToolTipRole and col in (C_FILE, C_ADVICE):
            return a.path if col == C_FILE else _all_advice(a)
        return None

    def _thumb(self, row: int) -> QPixmap:
        pm = self._thumbs.get(row)
        if pm is not None:
            self._thumbs.move_to_end(row)
            return pm
        a = self._rows[row]
        rgb = None if (a.thumbnail is not None or self._store is None) else \
            self._store.get(a.path, a.frame_index, reduce=2)  # 256 px stored, 128 decoded (DCT scaling)
        if rgb is None:
            pm = thumb_pixmap(a, THUMB)
        else:
            pm = QPixmap.fromImage(to_qimage(rgb)).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                          Qt.TransformationMode.SmoothTransformation)
        self._thumbs[row] = pm
        if len(self._thumbs) > THUMB_CACHE:
            self._thumbs.popitem(last=False)
        return pm


def _display(a: Assessment, col: int):
    if col == C_FILE:
        name = Path(a.path).name
        return name + (f" (frame {a.frame_index + 1})" if a.metadata.n_frames > 1 else "")
    if col == C_VERDICT:
        return WORDS[verdict_key(a)]
    if not a.ok:
        return a.error if col == C_ADVICE else None
    if col == C_CONF:
        return None if a.confidence is None else f"{a.confidence:.0%}"
    if C_ATTR0 <= col < C_SCORE:
        r = a.attributes.get(ATTRIBUTES[col - C_ATTR0])
        return None if r is None else ("OK" if r.ok else "Poor")
    if col == C_SCORE:
        return None if a.quality_score is None else f"{a.quality_score:.2f}"
    if col == C_ADVICE:
        return advice_line(a)
    if col == C_PATIENT:
        return a.metadata.patient_id or None
    if col == C_EYE:
        return {"R": "Right", "L": "Left"}.get(a.metadata.laterality or "")
    return None


def _sort_key(a: Assessment, col: int):
    """Sort keys of one type per column (numbers or strings), unreadable rows last for numbers."""
    if col == C_VERDICT:
        return _VERDICT_ORDER.get(verdict_key(a), 9)
    if col == C_CONF:
        return -1.0 if a.confidence is None else a.confidence
    if C_ATTR0 <= col < C_SCORE:
        r = a.attributes.get(ATTRIBUTES[col - C_ATTR0])
        return -1.0 if r is None else r.p_bad
    if col == C_SCORE:
        return -1.0 if a.quality_score is None else a.quality_score
    if col in (C_PHOTO, C_FILE):
        return a.path.lower()
    return str(_display(a, col) or "").lower()


def _all_advice(a: Assessment) -> str:
    if not a.ok:
        return a.error or ""
    return "\n".join(f"{x.title}: {x.action}" for x in a.advice) or advice_line(a)


FILTERS = {
    "All photos": None,
    "Needs recapture": {"reject", "not_fundus", "error"},
    "Good": {"good"},
    "Usable": {"usable"},
    "Reject": {"reject"},
    "Not a fundus photo": {"not_fundus"},
    "Unreadable": {"error"},
}


class BatchFilterProxy(QSortFilterProxyModel):
    """Filter by verdict group and by text in file name, advice or patient."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._verdicts: set[str] | None = None
        self._text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_verdicts(self, verdicts: set[str] | None) -> None:
        self._refilter(lambda: setattr(self, "_verdicts", verdicts))

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().lower()))

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        a = self.sourceModel().assessment(source_row)
        if self._verdicts is not None and verdict_key(a) not in self._verdicts:
            return False
        if self._text:
            hay = " ".join([Path(a.path).name, advice_line(a), a.metadata.patient_id]).lower()
            return self._text in hay
        return True
