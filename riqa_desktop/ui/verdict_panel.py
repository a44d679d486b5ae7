"""Beside the photo: the verdict card, the three attributes, the advice in large type.

Each verdict carries an icon, a word and a colour, so it reads the same in
greyscale and for colour-blind photographers.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from ..core.assessment import ATTRIBUTES, Assessment
from .look import COLOURS, WORDS, eye_word, icon, verdict_key

_SEVERITY_MARK = {"critical": "✕", "warning": "!", "info": "i"}


class VerdictCard(QFrame):
    """Big icon + word + confidence on a tinted card."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("verdictCard")
        self.icon = QLabel()
        self.icon.setFixedSize(72, 72)
        self.word = QLabel()
        self.word.setObjectName("verdictWord")
        self.word.setWordWrap(True)  # "No photo yet" in 26 pt must not set the column's minimum width
        self.detail = QLabel()
        self.detail.setObjectName("verdictDetail")
        self.detail.setWordWrap(True)
        lay = QGridLayout(self)
        lay.setContentsMargins(18, 14, 18, 14)
        lay.setHorizontalSpacing(16)
        lay.addWidget(self.icon, 0, 0, 2, 1, Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.word, 0, 1, Qt.AlignmentFlag.AlignBottom)
        lay.addWidget(self.detail, 1, 1, Qt.AlignmentFlag.AlignTop)
        lay.setColumnStretch(1, 1)
        self.show_assessment(None)

    def show_assessment(self, a: Assessment | None) -> None:
        key = verdict_key(a)
        strong, tint = COLOURS[key]
        self.setStyleSheet(f"#verdictCard{{background:{tint};border:2px solid {strong};border-radius:10px}}"
                           f"#verdictWord{{color:{strong};font-size:26pt;font-weight:600}}"
                           f"#verdictDetail{{color:#24292f;font-size:12pt}}")
        self.icon.setPixmap(icon(key).pixmap(72, 72))
        self.word.setText(WORDS[key] if a is not None else "No photo yet")
        if a is None:
            self.detail.setText("")
        elif not a.ok:
            self.detail.setText(a.error or "")
        elif a.measurements.get("grade_floor"):  # core.grade_floor: darker than any photo graders passed
            self.detail.setText("too dark to grade")
        elif a.measurements.get("grade_cap"):  # core.grade_cap: the map marks a large part of the field
            self.detail.setText("a large part of the field is degraded")
        elif a.confidence is not None:
            self.detail.setText(f"{a.confidence:.0%} confident")
        self.setAccessibleName(f"Verdict: {self.word.text()}. {self.detail.text()}")


class AttributeRow(QWidget):
    """One attribute as icon + 'OK'/'Poor' word + how likely it is poor."""

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.label = QLabel(name.capitalize())
        self.label.setMinimumWidth(110)
        self.icon = QLabel()
        self.icon.setFixedSize(22, 22)
        self.value = QLabel()
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 2, 0, 2)
        lay.addWidget(self.label, 0, 0)
        lay.addWidget(self.icon, 0, 1)
        lay.addWidget(self.value, 0, 2)
        lay.setColumnStretch(2, 1)

    def show_result(self, r) -> None:
        if r is None:
            self.icon.clear()
            self.value.setText("—")
            self.value.setStyleSheet("color:#57606a")
            return
        key = "good" if r.ok else "reject"
        self.icon.setPixmap(icon(key).pixmap(22, 22))
        self.value.setText("OK" if r.ok else f"Poor  ({r.p_bad:.0%} likely)")
        self.value.setStyleSheet(f"color:{COLOURS[key][0]};font-weight:600")


class VerdictPanel(QWidget):
    """The right-hand column of the capture view."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumWidth(340)
        self.title = QLabel()
        self.title.setObjectName("photoTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card = VerdictCard()
        self.attrs = {n: AttributeRow(n) for n in ATTRIBUTES}
        attr_box = QFrame()
        attr_box.setObjectName("attrBox")
        ab = QVBoxLayout(attr_box)
        ab.setContentsMargins(4, 4, 4, 4)
        for row in self.attrs.values():
            ab.addWidget(row)
        self.comparison = QLabel()
        self.comparison.setObjectName("comparison")
        self.comparison.setWordWrap(True)
        self.advice_head = QLabel("What to do")
        self.advice_head.setObjectName("sectionHead")
        self.advice = QLabel()
        self.advice.setObjectName("advice")
        self.advice.setWordWrap(True)
        self.advice.setTextFormat(Qt.TextFormat.RichText)
        self.advice.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.advice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 12, 14, 12)
        lay.setSpacing(10)
        lay.addWidget(self.title)
        lay.addWidget(self.card)
        lay.addWidget(attr_box)
        lay.addWidget(self.comparison)
        lay.addWidget(self.advice_head)
        lay.addWidget(self.advice, 1)
        self.show_assessment(None)

    def show_assessment(self, a: Assessment | None) -> None:
        self.card.show_assessment(a)
        for name, row in self.attrs.items():
            row.show_result(a.attributes.get(name) if a is not None and a.ok else None)
        self.title.setText(_title_html(a))
        self.comparison.setVisible(bool(a is not None and a.comparison))
        self.comparison.setText(f"↻ {html.escape(a.comparison)}" if a is not None and a.comparison else "")
        self.advice.setText(_advice_html(a))
        self.advice_head.setVisible(a is not None)

    def show_message(self, text: str) -> None:
        """A calm note in the advice area (e.g. models not installed)."""
        self.advice_head.setVisible(False)
        self.advice.setText(f"<p style='color:#57606a'>{html.escape(text)}</p>")


def _title_html(a: Assessment | None) -> str:
    if a is None:
        return ""
    m = a.metadata
    name = html.escape(Path(a.path).name)
    if m.n_frames > 1:
        name += f" · frame {m.frame_index + 1} of {m.n_frames}"
    bits = [eye_word(*a.eye())]
    if m.patient_id:
        bits.append("Patient " + html.escape(m.patient_id))
    when = _short_time(m.acquired)
    if when:
        bits.append(when)
    return (f"<span style='font-size:13pt;font-weight:600'>{name}</span><br>"
            f"<span style='color:#57606a'>{' · '.join(bits)}</span>")


def _advice_html(a: Assessment | None) -> str:
    if a is None:
        return ""
    if not a.ok:
        return ("<p style='font-size:15pt'>This file could not be assessed.</p>"
                f"<p style='font-size:13pt;color:#57606a'>{html.escape(a.error or '')}</p>")
    if not a.advice:
        msg = "Nothing to fix: the photo can be sent." if a.grade == "good" else "No specific advice for this photo."
        return f"<p style='font-size:16pt'>{msg}</p>"
    parts = []
    for item in a.advice:
        colour = {"critical": COLOURS["reject"][0], "warning": COLOURS["usable"][0]}.get(item.severity, "#24292f")
        mark = _SEVERITY_MARK.get(item.severity, "•")
        where = "" if item.region in ("", "whole photo") else f" <span style='color:#57606a'>({html.escape(item.region)})</span>"
        parts.append(f"<p style='margin-bottom:10px'><span style='font-size:16pt;font-weight:600;color:{colour}'>"
                     f"{mark}&nbsp; {html.escape(item.title)}</span>{where}<br>"
                     f"<span style='font-size:15pt'>{html.escape(item.action)}</span></p>")
    return "".join(parts)


def _short_time(iso: str) -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).strftime("%d %b %Y, %H:%M")
    except ValueError:
        return iso
