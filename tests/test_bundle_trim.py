"""What the lean bundle leaves out: never-loaded Qt parts, and the libraries only they needed."""

from __future__ import annotations

import os

from tools.bundle_trim import NEVER_LOADED, folder_mb, trim

PLUGINS = "PySide6/Qt/plugins/"
NEEDS = {
    "src/libqxcb.so": {"libxcb-cursor.so.0", "libQt6Gui.so.6"},
    "src/libxcb-cursor.so.0": {"libxcb-render.so.0"},
    "src/libqgtk3.so": {"libgtk-3.so.0", "libxcb-render.so.0"},
    "src/libgtk-3.so.0": {"libcairo.so.2"},
    "src/_imaging.so": {"libjpeg-1234.so.62"},
    "src/libpython3.11.so.1.0": {"libz.so.1"},
}


def entry(dest, typecode="BINARY"):
    return (dest, "src/" + os.path.basename(dest), typecode)


def names(toc):
    return sorted(dest for dest, _, _ in toc)


def test_never_loaded_qt_parts_go_and_the_needed_ones_stay():
    for dest in ("PySide6/Qt/translations/qtbase_de.qm", PLUGINS + "platformthemes/libqgtk3.so",
                 PLUGINS + "imageformats/libqjpeg.so", PLUGINS + "platforms/libqvnc.so", PLUGINS + "tls/libq.so",
                 "PySide6/Qt/lib/libQt6Network.so.6"):
        assert NEVER_LOADED.search(dest), dest
    for dest in (PLUGINS + "platforms/libqxcb.so", PLUGINS + "platforms/libqoffscreen.so",
                 PLUGINS + "platforms/libqwayland.so", PLUGINS + "imageformats/libqsvg.so",
                 PLUGINS + "iconengines/libqsvgicon.so", "PySide6/Qt/lib/libQt6Gui.so.6",
                 "PySide6/Qt/lib/libQt6OpenGL.so.6"):
        assert not NEVER_LOADED.search(dest), dest


def test_libraries_only_a_dropped_plugin_needed_go_with_it():
    toc = [entry(PLUGINS + "platforms/libqxcb.so"), entry(PLUGINS + "platformthemes/libqgtk3.so"),
           entry("PIL/_imaging.so", "EXTENSION"), entry("libpython3.11.so.1.0"), entry("libz.so.1"),
           entry("libxcb-cursor.so.0"), entry("libxcb-render.so.0"), entry("libgtk-3.so.0"),
           entry("libcairo.so.2"), entry("libjpeg-1234.so.62"), entry("libunused.so.1"),
           ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
           ("libQt6Test.so.6", "PySide6/Qt/lib/libQt6Test.so.6", "SYMLINK"),
           entry("resources/advice.json", "DATA")]
    kept = trim(toc, lambda src: NEEDS.get(src, set()))
    assert names(kept) == sorted([
        PLUGINS + "platforms/libqxcb.so", "PIL/_imaging.so", "libpython3.11.so.1.0", "libz.so.1",
        "libxcb-cursor.so.0", "libxcb-render.so.0", "libjpeg-1234.so.62", "libQt6Gui.so.6",
        "resources/advice.json"])


def test_gdcm_keeps_one_copy_of_each_library_and_no_programs():
    needs = {"src/_gdcmswig.so": {"libgdcmMSFF.so.3.2", "libstdc++.so.6"},
             "src/libgdcmMSFF.so.3.2": {"libgdcmopenjp2.so.7"}}
    toc = [entry("_gdcm/_gdcmswig.so", "EXTENSION"), entry("_gdcm/gdcm.py", "DATA"), entry("_gdcm/XML/Part3.xml", "DATA"),
           entry("_gdcm/gdcmdump"), entry("_gdcm/scripts/gdcmdump.py", "DATA"),
           *[entry("_gdcm/libgdcmMSFF.so" + v) for v in ("", ".3.2", ".3.2.6")],
           *[entry("_gdcm/libgdcmopenjp2.so" + v) for v in ("", ".7", ".2.3.0")],
           entry(PLUGINS + "platforms/libqxcb.so")]
    kept = trim(toc, lambda src: needs.get(src, set()))
    assert names(kept) == sorted(["_gdcm/_gdcmswig.so", "_gdcm/gdcm.py", "_gdcm/XML/Part3.xml",
                                  "_gdcm/libgdcmMSFF.so.3.2", "_gdcm/libgdcmopenjp2.so.7",
                                  PLUGINS + "platforms/libqxcb.so"])


def test_folder_mb_counts_files_once(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1_500_000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"x" * 500_000)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert folder_mb(tmp_path) == 2.0
