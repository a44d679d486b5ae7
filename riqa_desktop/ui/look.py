"""How verdicts look: icon + word + colour together (never colour alone, WCAG 1.4.1)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QImage, QPixmap

from ..core.assessment import GRADE_WORDS, Assessment
from ..core.laterality import METADATA_SOURCES
from ..resources import resources_dir

# Strong colour for text/icons and a light tint for card backgrounds.
COLOURS = {
    "good": ("#1a7f37", "#e9f6ec"),
    "usable": ("#8a5a00", "#fdf3dc"),
    "reject": ("#b42318", "#fdeceb"),
    "not_fundus": ("#4a4f8c", "#eeeff8"),
    "error": ("#57606a", "#f0f1f3"),
    "pending": ("#57606a", "#f6f7f8"),
}
WORDS = {**GRADE_WORDS, "error": "Unreadable", "pending": "Assessing…"}
STYLE = """
QMainWindow, QWidget { font-size: 11pt; color: #24292f; }
QMainWindow { background: #f6f7f8; }
QTabBar::tab { padding: 8px 22px; font-size: 11pt; }
QTabBar::tab:selected { font-weight: 600; }
QLabel#sectionHead { font-size: 12pt; font-weight: 600; color: #57606a; padding: 4px 2px; }
QLabel#muted { color: #57606a; }
QLabel#comparison { font-size: 13pt; color: #24292f; background: #eef3f8; border-radius: 6px; padding: 8px; }
QLabel#statusItem { color: #57606a; padding: 0 10px; }
QFrame#attrBox { background: #ffffff; border: 1px solid #d0d7de; border-radius: 8px; }
QTreeWidget, QTableView { background: #ffffff; border: 1px solid #d0d7de; border-radius: 6px; }
QTreeWidget::item { padding: 4px 2px; border-bottom: 1px solid #eaeef2; }
QTreeWidget::item:selected, QTableView::item:selected { background: #dbe9f7; color: #1b1f24; }
QLabel#calmMessage { background: #101418; }
"""
EYE_WORDS = {"R": "Right eye (OD)", "L": "Left eye (OS)"}


def verdict_key(a: Assessment | None) -> str:
    """The look to use for an assessment: its grade, 'error' when unreadable, 'pending' when none."""
    if a is None:
        return "pending"
    if not a.ok:
        return "error"
    return a.grade or "error"


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """A verdict or app icon from resources/icons (SVG, crisp at any size)."""
    return QIcon(str(resources_dir() / "icons" / f"{name}.svg"))


def eye_word(laterality: str | None, source: str = "metadata") -> str:
    """'Right eye (OD)'; 'Right eye (OD), from the photo' when neither the file nor its name said so."""
    word = EYE_WORDS.get(laterality or "", "Eye unknown")
    return word + ", from the photo" if laterality and source not in METADATA_SOURCES else word


def to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 -> QImage that owns its pixels (safe after `rgb` is gone)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def thumb_pixmap(a: Assessment, side: int) -> QPixmap:
    """The photo's thumbnail scaled to fit `side`, or the verdict icon when there is none."""
    if a.thumbnail is None:
        return icon(verdict_key(a)).pixmap(side, side)
    pm = QPixmap.fromImage(to_qimage(a.thumbnail))
    return pm.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                     Qt.TransformationMode.SmoothTransformation)


def advice_line(a: Assessment) -> str:
    """One line for lists: the error, the first advice, or a calm default."""
    if not a.ok:
        return a.error or "cannot read this file"
    if a.advice:
        first = a.advice[0]
        return f"{first.title}: {first.action}" if first.action else first.title
    return "No recapture needed." if a.grade == "good" else ""

