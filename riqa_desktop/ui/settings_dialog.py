"""Preferences: device, grade thresholds, overlay colour map, watched folder, data directory."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from .settings import COLORMAPS, Preferences


def cuda_available() -> bool | None:
    """True/False once torch is imported (by the analysis thread); None before, to avoid a slow import here."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        return bool(torch.cuda.is_available())
    except Exception:
        return False


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, device_in_use: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        cuda = cuda_available()
        self.device = QComboBox()
        cuda_note = {True: "available", False: "not available on this computer", None: "not checked yet"}[cuda]
        for value, label in (("auto", "Automatic (GPU when available)"), ("cpu", "CPU"),
                             ("cuda", f"CUDA GPU ({cuda_note})")):
            self.device.addItem(label, value)
        self.device.setCurrentIndex(max(0, self.device.findData(prefs.device)))
        in_use = QLabel(f"In use now: {device_in_use.upper()}" if device_in_use else "Models are loading…")
        in_use.setObjectName("muted")

        self.reject_min = _prob_box(prefs.reject_min, 0.05, 1.0)
        self.reject_min.setToolTip("A photo is rejected when the model's probability of 'reject' reaches this. "
                                   "0.50 keeps the model's own choice; lower is stricter.")
        self.good_min = _prob_box(prefs.good_min, 0.0, 1.0)
        self.good_min.setToolTip("A photo is called good only when the probability of 'good' reaches this; "
                                 "otherwise it is usable. 0 keeps the model's own choice; higher is stricter.")

        self.colormap = QComboBox()
        self.colormap.addItems(list(COLORMAPS))
        self.colormap.setCurrentText(prefs.colormap)
        self.watch_folder = _PathField(prefs.watch_folder, "Choose the camera's export folder")
        self.data_dir = _PathField(prefs.data_dir, "Choose where results are kept", "Default (per user)")
        self.receiver_port = QSpinBox()
        self.receiver_port.setRange(0, 65535)
        self.receiver_port.setSpecialValueText("Off")
        self.receiver_port.setValue(prefs.receiver_port)
        self.receiver_port.setToolTip("Receive photos a camera or PACS sends over DICOM (C-STORE) on this port; "
                                      "11112 is usual. Off unless set.")
        self.receiver_ae_title = QLineEdit(prefs.receiver_ae_title)
        self.receiver_ae_title.setMaxLength(16)
        self.receiver_callers = QLineEdit(prefs.receiver_callers)
        self.receiver_callers.setPlaceholderText("Any (or: FUNDUSCAM, PACS1)")

        form = QFormLayout()
        form.addRow("Device", self.device)
        form.addRow("", in_use)
        form.addRow("Reject when P(reject) ≥", self.reject_min)
        form.addRow("Good only when P(good) ≥", self.good_min)
        form.addRow("Quality map colours", self.colormap)
        form.addRow("Watched folder", self.watch_folder)
        form.addRow("Data directory", self.data_dir)
        form.addRow("DICOM receiver port", self.receiver_port)
        form.addRow("Receiver AE title", self.receiver_ae_title)
        form.addRow("Accept from AE titles", self.receiver_callers)
        note = QLabel("Device and data directory changes apply the next time the app starts.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(buttons)

    def preferences(self, base: Preferences) -> Preferences:
        """`base` with this dialog's values (keeps settings the dialog does not show, e.g. opacity)."""
        return Preferences(
            device=self.device.currentData(), reject_min=self.reject_min.value(), good_min=self.good_min.value(),
            colormap=self.colormap.currentText(), overlay_opacity=base.overlay_opacity,
            watch_folder=self.watch_folder.text(), data_dir=self.data_dir.text(),
            receiver_port=self.receiver_port.value(),
            receiver_ae_title=self.receiver_ae_title.text().strip() or "RIQA",
            receiver_callers=self.receiver_callers.text().strip())


def _prob_box(value: float, lo: float, hi: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(0.05)
    box.setDecimals(2)
    box.setValue(value)
    return box


class _PathField(QWidget):
    def __init__(self, value: str, caption: str, placeholder: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QLineEdit(value)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setAccessibleName(caption)
        browse = QPushButton("Choose…")
        browse.clicked.connect(lambda: self._browse(caption))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(browse)

    def text(self) -> str:
        return self.edit.text().strip()

    def _browse(self, caption: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, caption, self.text())
        if folder:
            self.edit.setText(folder)
