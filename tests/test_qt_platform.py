"""The pre-Qt check of the xcb plug-in's system libraries: one line naming the packages, not Qt's abort."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riqa_desktop import app, qt_platform

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
FEDORA = 'NAME="Fedora Linux"\nID=fedora\n'
ROCKY = 'ID="rocky"\nID_LIKE="rhel centos fedora"\n'


def test_missing_libraries_asks_the_resolver_about_each():
    have = {"libxcb.so.1", "libX11.so.6"}
    assert qt_platform.missing_libraries(["libxcb.so.1", "libxcb-icccm.so.4", "libX11.so.6"], have.__contains__) == [
        "libxcb-icccm.so.4"]


def test_hint_names_debian_packages_and_the_apt_command_on_one_line():
    line = qt_platform.hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"], DEBIAN)
    assert "\n" not in line
    assert line.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    assert "libxcb-icccm.so.4" in line


def test_hint_on_fedora_like_systems_uses_dnf_and_names_each_package_once():
    missing = ["libxcb-randr.so.0", "libxcb-shape.so.0", "libxcb-icccm.so.4"]
    for release in (FEDORA, ROCKY):
        assert qt_platform.hint(missing, release).endswith("sudo dnf install libxcb xcb-util-wm")


def test_unknown_distribution_gets_the_debian_names():
    assert qt_platform.hint(["libxcb-cursor.so.0"], "ID=arch\n").endswith("apt-get install libxcb-cursor0")


def test_nothing_missing_no_hint():
    assert qt_platform.hint([], DEBIAN) is None


@pytest.mark.parametrize("environ,platform,expected", [
    ({}, "linux", True),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
    ({}, "win32", False),
    ({}, "darwin", False),
])
def test_checked_only_where_qt_would_use_xcb(environ, platform, expected):
    assert qt_platform.uses_xcb(environ, platform) is expected


def test_can_load_finds_a_bundled_copy_and_the_system_library(tmp_path):
    (tmp_path / "libxcb-made-up.so.9").write_bytes(b"")
    assert qt_platform.can_load("libxcb-made-up.so.9", [tmp_path])
    assert not qt_platform.can_load("libxcb-made-up.so.9", [])
    if sys.platform.startswith("linux"):
        assert qt_platform.can_load("libc.so.6")


def test_check_is_silent_offscreen():
    assert qt_platform.check({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_app_prints_the_line_and_exits_before_qt(monkeypatch, capsys):
    monkeypatch.setattr(qt_platform, "check", lambda: "riqa-desktop: cannot open a window (test)")
    assert app.main([]) == 1
    assert capsys.readouterr().err == "riqa-desktop: cannot open a window (test)\n"


def test_module_runs_with_the_system_python_before_any_install():
    """`make run` calls it with python3 before .venv exists: stdlib only, exit 0 offscreen."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-S", "-m", "riqa_desktop.qt_platform"], env=env,
                          cwd=Path(app.__file__).parent.parent, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")


def _needed(path: Path) -> set[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))


BASE = re.compile(r"^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux.*|libz|libzstd)\.so")


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("readelf") is None,
                    reason="reads the installed PySide6's ELF files")
def test_the_table_covers_every_system_library_of_the_installed_xcb_plugin():
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so"] + [
        qt / "lib" / f"libQt6{m}.so.6" for m in ("XcbQpa", "Gui", "DBus", "Widgets")]
    system = {s for f in files for s in _needed(f) if not s.startswith(("libQt6", "libicu")) and not BASE.match(s)}
    assert system - set(qt_platform.LIBRARIES) == set()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is needed")
def test_make_run_checks_before_it_installs_anything():
    repo = Path(app.__file__).parent.parent
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}  # `make test` runs us
    proc = subprocess.run(["make", "--no-print-directory", "-n", "run"], cwd=repo, capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "-m riqa_desktop.qt_platform" in proc.stdout.splitlines()[0]
