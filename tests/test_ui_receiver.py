"""The desktop app's DICOM receiver setting: off by default; on, a received photo reaches the worklist."""

from __future__ import annotations

import dataclasses
import socket

import cv2
import pydicom
from pydicom.uid import generate_uid
from PySide6.QtCore import QSettings
from tests.test_ui_support import tiny_factory

from riqa_desktop.ui import settings as prefs_io
from riqa_desktop.ui.settings_dialog import SettingsDialog

from .dicom_fixtures import write_raw

OP8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _associate(port: int, calling: str = "CAMERA"):
    from pynetdicom import AE

    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 5
    ae.add_requested_context(OP8)
    return ae.associate("127.0.0.1", port, ae_title="RIQA")


def test_settings_dialog_sets_the_receiver(qtbot, tmp_path):
    p = prefs_io.Preferences()
    assert p.receiver_port == 0  # off by default
    dlg = SettingsDialog(p)
    qtbot.addWidget(dlg)
    dlg.receiver_port.setValue(11112)
    dlg.receiver_ae_title.setText("CLINIC1")
    dlg.receiver_callers.setText("FUNDUSCAM, PACS1")
    got = dlg.preferences(p)
    assert (got.receiver_port, got.receiver_ae_title, got.receiver_callers) == (11112, "CLINIC1", "FUNDUSCAM, PACS1")
    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    prefs_io.save(qs, got)
    assert prefs_io.load(qs) == got


def test_received_photo_reaches_the_worklist_and_port_0_turns_it_off(qtbot, tmp_path, retina_rgb):
    from riqa_desktop.ui.main_window import MainWindow

    port = _free_port()
    qs = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    prefs_io.save(qs, dataclasses.replace(prefs_io.Preferences(), receiver_port=port, receiver_callers="CAMERA"))
    w = MainWindow(qs, analyzer_factory=tiny_factory, data_dir=str(tmp_path / "data"),
                   receiver_options={"bind": "127.0.0.1"})
    qtbot.addWidget(w)
    w.show()
    w.start()
    try:
        qtbot.waitUntil(lambda: w.analysis.analyzer is not None, timeout=30000)
        qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith("Receiving DICOM as RIQA"), timeout=10000)
        assert not _associate(port, calling="INTRUDER").is_established
        ds = pydicom.dcmread(write_raw(tmp_path / "p.dcm", cv2.resize(retina_rgb, (256, 256))))
        ds.SOPInstanceUID = generate_uid()
        assoc = _associate(port)
        assert assoc.send_c_store(ds).Status == 0x0000
        assoc.release()
        qtbot.waitUntil(lambda: w.worklist.count() == 1, timeout=30000)
        a = w.worklist.assessments()[0]
        assert a.ok and a.path == str(tmp_path / "data" / "incoming" / f"{ds.SOPInstanceUID}.dcm")

        w.apply_preferences(dataclasses.replace(w.prefs, receiver_port=0))
        qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "DICOM receiver off", timeout=10000)
        qtbot.waitUntil(lambda: not _associate(port).is_established, timeout=10000)
    finally:
        w.close()
