"""Settings persist through QSettings (a temporary INI file here) and apply at once where they can."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from riqa_desktop.ui import settings as prefs_io
from riqa_desktop.ui.settings_dialog import SettingsDialog


def test_preferences_round_trip(qtbot, tmp_path):
    ini = str(tmp_path / "s.ini")
    qs = QSettings(ini, QSettings.Format.IniFormat)
    assert prefs_io.load(qs) == prefs_io.Preferences()
    dlg = SettingsDialog(prefs_io.load(qs))
    qtbot.addWidget(dlg)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.reject_min.setValue(0.35)
    dlg.good_min.setValue(0.6)
    dlg.colormap.setCurrentText("CET-CBL2")
    dlg.watch_folder.edit.setText(str(tmp_path / "camera"))
    dlg.data_dir.edit.setText(str(tmp_path / "data"))
    prefs_io.save(qs, dlg.preferences(prefs_io.load(qs)))
    del qs

    again = prefs_io.load(QSettings(ini, QSettings.Format.IniFormat))
    assert again == prefs_io.Preferences(device="cpu", reject_min=0.35, good_min=0.6, colormap="CET-CBL2",
                                         watch_folder=str(tmp_path / "camera"), data_dir=str(tmp_path / "data"))


def test_bad_stored_values_fall_back_to_defaults(tmp_path):
    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    qs.setValue("device", "tpu")
    qs.setValue("overlay/colormap", "jet")
    qs.setValue("grading/reject_min", "lots")
    p = prefs_io.load(qs)
    assert (p.device, p.colormap, p.reject_min) == ("auto", "cividis", 0.5)


def test_window_applies_and_remembers(qtbot, tmp_path):
    from tests.test_ui_support import make_window

    w = make_window(qtbot, tmp_path)
    w.apply_preferences(prefs_io.Preferences(reject_min=0.2, colormap="viridis"))
    w.photo.set_opacity(40)
    assert (w.post.reject_min, w.photo._colormap) == (0.2, "viridis")
    w.close()
    p = prefs_io.load(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert (p.reject_min, p.colormap, p.overlay_opacity) == (0.2, "viridis", 40)
