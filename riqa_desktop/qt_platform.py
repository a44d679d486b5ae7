"""Linux only: are the system libraries of Qt's xcb platform plug-in there? Asked before Qt starts.

Without them Qt aborts with a screen of "could not load the Qt platform plugin" text that names no
package; this module turns that into one line with the install command. It imports no Qt (the
`make run` target runs it before the virtual environment exists: `python3 -m riqa_desktop.qt_platform`).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package): what libqxcb.so, libQt6XcbQpa, libQt6Gui and
# libQt6DBus name (readelf -d), less glibc, libstdc++, zlib and zstd that every system has.
# tests/test_qt_platform.py checks this list against the installed PySide6.
LIBRARIES: dict[str, tuple[str, str]] = {
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
}


def missing_libraries(sonames: Iterable[str], can_load: Callable[[str], bool]) -> list[str]:
    return [s for s in sonames if not can_load(s)]


def is_fedora_like(os_release: str) -> bool:
    """From /etc/os-release: ID or ID_LIKE names fedora, rhel or centos."""
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE") and {"fedora", "rhel", "centos"} & set(value.strip("\"' ").split()):
            return True
    return False


def hint(missing: list[str], os_release: str = "") -> str | None:
    """The one line to print, or None when nothing is missing."""
    if not missing:
        return None
    fedora = is_fedora_like(os_release)
    packages = dict.fromkeys(LIBRARIES[s][1 if fedora else 0] for s in missing if s in LIBRARIES)
    command = ("sudo dnf install " if fedora else "sudo apt-get install ") + " ".join(packages)
    return (f"riqa-desktop: cannot open a window, system libraries missing ({', '.join(missing)}); "
            f"install them with: {command}")


def can_load(soname: str, bundled: Iterable[Path] = ()) -> bool:
    """As the dynamic loader would find it for Qt: in a folder Qt's libraries bring, or the system's."""
    if any((d / soname).is_file() for d in bundled):
        return True
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def _bundled_dirs() -> list[Path]:
    """Where PySide6 (pip) or a PyInstaller bundle keep their own copies of libraries."""
    dirs = [Path(getattr(sys, "_MEIPASS"))] if hasattr(sys, "_MEIPASS") else []
    for entry in sys.path:
        qt_lib = Path(entry or ".") / "PySide6" / "Qt" / "lib"
        if qt_lib.is_dir():
            dirs.append(qt_lib)
    return dirs


def uses_xcb(environ: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Qt would try xcb: Linux, no other platform asked for, and not a Wayland session (Qt may pick Wayland)."""
    if not platform.startswith("linux"):
        return False
    asked = environ.get("QT_QPA_PLATFORM", "")
    if asked:
        return asked.startswith("xcb")
    return not environ.get("WAYLAND_DISPLAY")


def check(environ: Mapping[str, str] = os.environ) -> str | None:
    """The one-line hint when Qt's xcb plug-in would fail to load, else None."""
    if not uses_xcb(environ):
        return None
    try:
        os_release = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        os_release = ""
    dirs = _bundled_dirs()
    return hint(missing_libraries(LIBRARIES, lambda s: can_load(s, dirs)), os_release)


if __name__ == "__main__":
    line = check()
    if line:
        print(line, file=sys.stderr)
    sys.exit(1 if line else 0)
