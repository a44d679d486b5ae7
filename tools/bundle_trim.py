"""What the lean app leaves out of its bundle (build_app.spec): Qt parts it never loads, and the libraries
only they needed. The app shows widgets, SVG icons and numpy images on xcb or Wayland, in English.
GDCM (JPEG Lossless DICOM) comes without its command-line tools, and each of its libraries once, under the
name its Python module loads it by (a wheel holds no symlinks, so it ships three copies of each).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

# Python modules nothing imports (pyqtgraph imports QtOpenGL and QtOpenGLWidgets, but QtTest only if there);
# photos are JPEG, PNG, TIFF, BMP or DICOM, so Pillow's AVIF and WebP codecs go too.
EXCLUDED_MODULES = ["PySide6.QtNetwork", "PySide6.QtTest", "PySide6.QtDBus", "PIL._avif", "PIL._webp",
                    "PIL.ImageTk", "PIL._imagingtk"]

_QT = r"PySide6/Qt/"
NEVER_LOADED = re.compile("|".join([
    _QT + r"translations/",
    _QT + r"plugins/(egldeviceintegrations|generic|networkinformation|tls)/",
    _QT + r"plugins/platforms/libq(eglfs|linuxfb|minimal|minimalegl|vnc|vkkhrdisplay)\.",
    _QT + r"plugins/platformthemes/libqgtk3\.",  # the app draws with Fusion; GTK would bring 10 MB of libraries
    _QT + r"plugins/imageformats/libq(?!svg)",  # photos are decoded by Pillow, icons are SVG
    _QT + r"lib/libQt6(Network|Test|EglFSDeviceIntegration|EglFsKmsSupport)\.",
    r"_gdcm/gdcm[a-z0-9]+$",  # gdcmdump, gdcmconv ...: programs
    r"_gdcm/(scripts|pkgconfig|gdcmopenjpeg-[0-9.]+)/",
]))
# Sub-folders whose libraries are loaded by their soname (their extension module's RPATH is $ORIGIN), so a
# copy under another name is never loaded. Qt's plug-ins, also lib*.so in sub-folders, are opened by path.
SONAME_DIRS = ("_gdcm/",)


def _top_level(dest: str) -> bool:
    return "/" not in dest.replace("\\", "/")


def _by_soname(entry: tuple) -> bool:
    """A library that is loaded only as another file's NEEDED entry, found by its file name."""
    dest = entry[0].replace("\\", "/")
    if entry[2] not in ("BINARY", "SYMLINK"):
        return False
    if _top_level(dest):
        return True
    return dest.startswith(SONAME_DIRS) and dest.count("/") == 1 and Path(dest).name.startswith("lib")


def trim(entries: Iterable[tuple], needs: Callable[[str], Iterable[str]]) -> list[tuple]:
    """PyInstaller TOC entries (dest, src, typecode) less NEVER_LOADED, then less the top-level (and SONAME_DIRS)
    libraries that no kept file needs. Other files in sub-folders (extension modules, plug-ins) are what gets
    loaded, so they stay."""
    kept = [e for e in entries if not NEVER_LOADED.search(e[0].replace("\\", "/"))]
    libs = {Path(e[0]).name: e for e in kept if _by_soname(e)}
    reached: set[str] = set()
    todo = [e for e in kept if not _by_soname(e)]
    todo += [e for name, e in libs.items() if name.startswith(("libpython", "python"))]
    while todo:
        dest, src, typecode = todo.pop()
        if dest in reached:
            continue
        reached.add(dest)
        if typecode not in ("BINARY", "EXTENSION"):
            continue  # data, or a symlink to a file in a sub-folder that is checked there
        todo += [libs[n] for n in needs(src) if n in libs and libs[n][0] not in reached]
    return [e for e in kept if e[0] in reached or not _by_soname(e)]


# Libraries shipped with their symbol tables, which only a debugger reads: stripped copies go in the bundle
# (about 30 MB). Not the auditwheel-repaired ones (patchelf moved their segments; strip would break them).
STRIPPED = re.compile(r"(^|/)(libpython3[.0-9]*\.so[.0-9]*|_CharLS\.[^/]*\.so|_openjpeg\.[^/]*\.so"
                      r"|_decimal\.[^/]*\.so|libicu(uc|i18n)\.so[.0-9]*)$")


def stripped(entries: Iterable[tuple], workdir: Path) -> list[tuple]:
    """TOC entries with STRIPPED libraries replaced by stripped copies under `workdir` (as they are without
    a `strip` tool)."""
    tool = shutil.which("strip")
    out = []
    for dest, src, typecode in entries:
        if tool and typecode in ("BINARY", "EXTENSION") and STRIPPED.search(dest.replace("\\", "/")):
            copy = Path(workdir) / "stripped" / dest
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, copy)
            subprocess.run([tool, "--strip-unneeded", str(copy)], check=True)
            src = str(copy)
        out.append((dest, src, typecode))
    return out


def folder_mb(folder: Path) -> float:
    """Size on disk as a download would count it (symlinks not followed), in MB (10^6 bytes)."""
    return sum(p.lstat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink()) / 1e6
