"""The photo, large, with the quality map on top (pyqtgraph; zoom with the wheel, pan by dragging).

The map's LUT ramps alpha with the value, so fine areas stay fully visible
and only likely-degraded areas are tinted; the slider sets the alpha ceiling.
The map arrives smooth (core/overlay) with its contour at the decision level
as a separate layer, so the contour can be switched off (C) on its own.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


def overlay_lut(colormap: str, opacity_pct: int) -> np.ndarray:
    """256 x 4 uint8 LUT: the colour map with alpha rising from 0 to the opacity ceiling."""
    lut = pg.colormap.get(colormap).getLookupTable(nPts=256, alpha=True).astype(np.uint8)
    ramp = np.linspace(0.0, 1.0, 256) ** 0.8  # a little earlier than linear: mild problems still show
    lut[:, 3] = np.round(ramp * 255 * max(0, min(100, opacity_pct)) / 100).astype(np.uint8)
    return lut


class _Legend(QLabel):
    """A gradient bar with words at both ends: the map is read by words, not by colour alone."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFixedSize(100, 14)
        self.setAccessibleName("Quality map legend: from fine to likely degraded")

    def set_map(self, colormap: str) -> None:
        cm = pg.colormap.get(colormap)
        pm = QPixmap(self.size())
        pm.fill(Qt.GlobalColor.transparent)
        grad = QLinearGradient(0, 0, pm.width(), 0)
        for pos, col in zip(*cm.getStops(mode="qcolor")):
            grad.setColorAt(float(pos), QColor(col))
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QColor("#8c959f"))
        p.setBrush(grad)
        p.drawRoundedRect(0, 0, pm.width() - 1, pm.height() - 1, 4, 4)
        p.end()
        self.setPixmap(pm)


class PhotoView(QWidget):
    """Photo + quality map + controls; a calm message replaces the photo when there is none.

    Signals: overlay_toggled(visible), opacity_changed(percent).
    """

    overlay_toggled = Signal(bool)
    opacity_changed = Signal(int)
    source_changed = Signal(str)

    # What the overlay shows: the EFIQA map (default) or an explanation computed on request.
    SOURCES = [("Quality map", "quality", ("fine", "likely degraded")),
               ("Grad-CAM: overall grade", "gradcam:grade", ("low", "high attention")),
               ("Grad-CAM: illumination", "gradcam:illumination", ("low", "high attention")),
               ("Grad-CAM: clarity", "gradcam:clarity", ("low", "high attention")),
               ("Grad-CAM: contrast", "gradcam:contrast", ("low", "high attention")),
               ("Expected vessels missing", "vessels", ("seen", "missing"))]

    def __init__(self, colormap: str = "cividis", opacity: int = 70, parent: QWidget | None = None):
        super().__init__(parent)
        self._colormap, self._opacity = colormap, opacity
        self.graphics = pg.GraphicsView(background="#101418")
        self.viewbox = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.graphics.setCentralItem(self.viewbox)
        self.photo = pg.ImageItem(axisOrder="row-major")
        self.map = pg.ImageItem(axisOrder="row-major")
        self.map.setZValue(1)
        self.contour = pg.ImageItem(axisOrder="row-major")
        self.contour.setZValue(2)
        self.viewbox.addItem(self.photo)
        self.viewbox.addItem(self.map)
        self.viewbox.addItem(self.contour)
        self.graphics.setAccessibleName("Photo with quality map")

        self.message = QLabel()
        self.message.setObjectName("calmMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setMargin(40)

        self.toggle = QCheckBox("Overlay  (M)")
        self.toggle.setChecked(True)
        self.toggle.toggled.connect(self.set_overlay_visible)
        self.contour_on = True  # View menu / C: the laptop-width control row has no room for one more box
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(opacity)
        self.slider.setMinimumWidth(70)  # the controls must fit a 1280-px laptop screen beside both columns
        self.slider.setMaximumWidth(140)
        self.slider.setAccessibleName("Quality map opacity")
        self.slider.setToolTip("How strongly the map tints likely-degraded areas")
        self.slider.valueChanged.connect(self.set_opacity)
        self.legend = _Legend()
        self.source = QComboBox()
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(12)  # the open list still shows whole names
        for label, key, _ in self.SOURCES:
            self.source.addItem(label, key)
        self.source.setAccessibleName("What the overlay shows")
        self.source.setToolTip("The quality map, or an explanation computed on request (a second or two)")
        self.source.currentIndexChanged.connect(self._source_changed)
        self.legend_lo, self.legend_hi = QLabel("fine"), QLabel("likely degraded")
        controls = QHBoxLayout()
        controls.setContentsMargins(8, 4, 8, 4)
        controls.addWidget(self.toggle)
        controls.addWidget(self.source)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Opacity"))
        controls.addWidget(self.slider)
        controls.addStretch(1)
        controls.addWidget(self.legend_lo)
        controls.addWidget(self.legend)
        controls.addWidget(self.legend_hi)

        self.stack = QStackedLayout()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.graphics)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(self.stack, 1)
        lay.addLayout(controls)
        self._apply_lut()
        self.show_message("No photo yet", "Open photos with Ctrl+O, drop them here, or start watching the "
                          "camera's export folder. New photos appear here as soon as they are saved.")

    # -- content ------------------------------------------------------------------
    def show_message(self, title: str, text: str) -> None:
        self.message.setText(f"<p style='font-size:20pt;color:#d0d7de'>{title}</p>"
                             f"<p style='font-size:13pt;color:#9aa4ae'>{text}</p>")
        self.stack.setCurrentWidget(self.message)

    def set_photo(self, rgb: np.ndarray, quality: np.ndarray | None, contour: np.ndarray | None = None) -> None:
        """Show `rgb` (H, W, 3 uint8); `quality` is the map at the same size (or None), `contour` its RGBA outline."""
        self.photo.setImage(rgb, levels=(0, 255), autoLevels=False)
        self.set_overlay(quality, contour)
        self.stack.setCurrentWidget(self.graphics)
        self.viewbox.autoRange(padding=0.01)

    def fit(self) -> None:
        self.viewbox.autoRange(padding=0.01)

    def overlay_source(self) -> str:
        return self.source.currentData()

    def set_overlay(self, values: np.ndarray | None, contour: np.ndarray | None = None) -> None:
        """Replace what the overlay shows (values in [0, 1] at the photo's size; contour RGBA or None)."""
        if values is None:
            self.map.clear()
        else:
            self.map.setImage(values, levels=(0.0, 1.0), autoLevels=False)
        if contour is None:
            self.contour.clear()
        else:
            self.contour.setImage(contour, levels=(0, 255), autoLevels=False)
        self._show_layers()

    def _show_layers(self) -> None:
        on = self.toggle.isChecked()
        self.map.setVisible(on and self.map.image is not None)
        self.contour.setVisible(on and self.contour_on and self.contour.image is not None)

    def _source_changed(self, index: int) -> None:
        _, key, (lo, hi) = self.SOURCES[index]
        self.legend_lo.setText(lo)
        self.legend_hi.setText(hi)
        self.source_changed.emit(key)

    # -- overlay controls ---------------------------------------------------------
    def set_overlay_visible(self, visible: bool) -> None:
        if self.toggle.isChecked() != visible:
            self.toggle.setChecked(visible)  # re-enters through toggled
            return
        self._show_layers()
        self.overlay_toggled.emit(visible)

    def toggle_overlay(self) -> None:
        self.set_overlay_visible(not self.toggle.isChecked())

    def toggle_contour(self) -> None:
        """Show or hide the outline at the decision level (the map itself stays)."""
        self.contour_on = not self.contour_on
        self._show_layers()

    def set_opacity(self, pct: int) -> None:
        self._opacity = int(pct)
        if self.slider.value() != pct:
            self.slider.setValue(pct)
        self._apply_lut()
        self.opacity_changed.emit(self._opacity)

    def set_colormap(self, name: str) -> None:
        self._colormap = name
        self._apply_lut()

    def _apply_lut(self) -> None:
        self.map.setLookupTable(overlay_lut(self._colormap, self._opacity))
        self.legend.set_map(self._colormap)
