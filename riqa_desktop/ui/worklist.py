"""The clinic day, newest first: one row per photo; re-shots of the same eye nest under the newest.

Which shots are one eye is decided once, by core.reshoot (its `eye_group`,
kept in the results store), not here. The newest shot of an eye is the
top-level row and shows the comparison ("Better: blur fixed…"); earlier shots
of that eye are its children. A comparison is shown only inside such a group.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTreeWidget,
                               QTreeWidgetItem, QWidget)

from ..core.assessment import Assessment
from .look import COLOURS, WORDS, advice_line, eye_word, icon, thumb_pixmap, verdict_key

ROLE = Qt.ItemDataRole.UserRole
LINES_ROLE = Qt.ItemDataRole.UserRole + 1
THUMB = 64


def eye_key(a: Assessment) -> str | None:
    """Which shots are re-shots of each other: the eye group the re-shot tracker gave them."""
    return a.eye_group if a.ok and a.eye_group else None


class _RowDelegate(QStyledItemDelegate):
    """Thumbnail, then verdict word (in its colour) · time · eye, file name, advice, comparison; each elided."""

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index) -> None:
        a: Assessment = index.data(ROLE)
        lines: list[str] = index.data(LINES_ROLE) or []
        p.save()
        style = option.widget.style() if option.widget else None
        if style is not None:  # selection background and the branch area come from the style
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text, opt.icon = "", QIcon()
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, p, option.widget)
        r = option.rect.adjusted(4, 4, -6, -4)
        p.drawPixmap(r.left(), r.top(), index.data(Qt.ItemDataRole.DecorationRole).pixmap(THUMB, THUMB)
                     if isinstance(index.data(Qt.ItemDataRole.DecorationRole), QIcon) else QPixmap())
        x, width = r.left() + THUMB + 10, r.width() - THUMB - 10
        fm = option.fontMetrics
        y = r.top() + fm.ascent()
        for i, text in enumerate(lines):
            font = QFont(option.font)
            colour = QColor("#57606a")
            if i == 0:
                font.setBold(True)
                colour = QColor(COLOURS[verdict_key(a)][0])
            elif i == 2 or text.startswith("↻"):
                colour = QColor("#24292f")
            p.setFont(font)
            p.setPen(colour)
            p.drawText(x, y, QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, width))
            y += fm.height() + 2
        p.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        n = len(index.data(LINES_ROLE) or [])
        return QSize(200, max(THUMB + 10, n * (option.fontMetrics.height() + 2) + 10))


class Worklist(QTreeWidget):
    """Signals: chosen(assessment) when the photographer (or a new photo) selects a row."""

    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setIndentation(18)
        self.setUniformRowHeights(False)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAccessibleName("Worklist of today's photos, newest first")
        self.setItemDelegate(_RowDelegate(self))
        self.currentItemChanged.connect(self._current_changed)
        self._by_eye: dict[tuple[str, str], QTreeWidgetItem] = {}

    def add(self, a: Assessment, when: datetime | None = None, select: bool = True) -> QTreeWidgetItem:
        """Put a new assessment at the top (nesting the eye's earlier shots under it)."""
        item = QTreeWidgetItem()
        key = eye_key(a)
        previous = self._by_eye.get(key) if key else None
        self._fill(item, a, when or datetime.now(), grouped=previous is not None)
        if previous is not None and previous.parent() is None:
            idx = self.indexOfTopLevelItem(previous)
            self.takeTopLevelItem(idx)
            older = previous.takeChildren()
            item.addChild(previous)
            item.addChildren(older)
        self.insertTopLevelItem(0, item)
        item.setExpanded(True)  # the group's earlier shots stay in sight, under the comparison
        if key:
            self._by_eye[key] = item
        if select:
            self.setCurrentItem(item)
        return item

    def update_thumbnail(self, path: str, frame: int, thumb) -> None:
        """Give a row restored from the store its thumbnail once it has been decoded."""
        for item in self._all_items():
            a = item.data(0, ROLE)
            if a.path == path and a.frame_index == frame and a.thumbnail is None:
                a.thumbnail = thumb
                item.setIcon(0, _badged_thumb(a))

    def count(self) -> int:
        return sum(1 for _ in self._all_items())

    def assessments(self) -> list[Assessment]:
        """Every photo in display order (top to bottom, re-shots after their newest)."""
        return [item.data(0, ROLE) for item in self._all_items()]

    def step(self, delta: int) -> None:
        """Move the selection to the next (+1, older) or previous (-1, newer) row."""
        cur = self.currentItem()
        if cur is None:
            nxt = self.topLevelItem(0)
        else:
            nxt = self.itemBelow(cur) if delta > 0 else self.itemAbove(cur)
        if nxt is not None:
            self.setCurrentItem(nxt)

    def clear(self) -> None:  # noqa: D102 (also forget the eye groups)
        self._by_eye.clear()
        super().clear()

    def _all_items(self):
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            yield top
            for j in range(top.childCount()):
                yield top.child(j)

    def _fill(self, item: QTreeWidgetItem, a: Assessment, when: datetime, grouped: bool) -> None:
        key = verdict_key(a)
        lines = [f"{WORDS[key]}  ·  {when:%H:%M}"]
        name = Path(a.path).name
        if a.metadata.n_frames > 1:
            name += f" (frame {a.frame_index + 1})"
        lines.append(f"{eye_word(a.eye()[0]).split(' (')[0]}  ·  {name}")
        line = advice_line(a)
        if line:
            lines.append(line)
        if a.comparison and grouped:
            lines.append("↻ " + a.comparison)
        item.setText(0, "\n".join(lines))
        item.setToolTip(0, "\n".join(lines))
        item.setIcon(0, _badged_thumb(a))
        item.setData(0, ROLE, a)
        item.setData(0, LINES_ROLE, lines)

    def _current_changed(self, cur: QTreeWidgetItem | None, _prev) -> None:
        if cur is not None:
            self.chosen.emit(cur.data(0, ROLE))


def _badged_thumb(a: Assessment) -> QPixmap:
    """The thumbnail with the verdict icon in its corner (so the list scans by shape too)."""
    base = QPixmap(THUMB, THUMB)
    base.fill(Qt.GlobalColor.transparent)
    thumb = thumb_pixmap(a, THUMB)
    p = QPainter(base)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    p.drawPixmap((THUMB - thumb.width()) // 2, (THUMB - thumb.height()) // 2, thumb)
    if a.thumbnail is not None:
        p.drawPixmap(THUMB - 26, THUMB - 26, icon(verdict_key(a)).pixmap(24, 24))
    p.end()
    return base
