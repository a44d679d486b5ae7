"""Watch a camera export folder and hand over each photo once it is complete.

Events alone are not trusted (they are lost on network shares and during
bursts): a watchdog observer feeds a pending set, and a supervisor thread
also rescans the folder every few seconds, restarts an observer that died,
and waits for the folder to come back when a share disappears. A file is
ready when its size and mtime have been stable for `stable_s` and its content
is complete (JPEG/PNG end markers, a parsable DICOM). A file that never
completes is reported after `incomplete_timeout_s`. Files are only read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .batch import SKIP_NAMES
from .loading import sha256_file, sniff

log = logging.getLogger(__name__)
NETWORK_FS = {"cifs", "smb", "smbfs", "smb2", "nfs", "nfs4", "afpfs", "fuse.sshfs", "9p", "davfs"}


def is_network_path(path: str | Path) -> bool:
    """True for SMB/NFS mounts (Linux /proc/mounts) and UNC paths, where events are unreliable."""
    p = str(Path(path).resolve())
    if p.startswith("\\\\"):
        return True
    try:
        best, fstype = "", ""
        with open("/proc/mounts", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and p.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, fstype = parts[1], parts[2]
        return fstype in NETWORK_FS
    except OSError:
        return False


def is_complete(path: Path) -> bool:
    """Content check: the writer has finished (end markers present, DICOM parses).

    PermissionError propagates: an unreadable file is reported at once, not waited for.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return False
        with open(path, "rb") as fh:
            head = fh.read(512)
            kind = sniff(head)
            if kind == "jpeg":
                fh.seek(max(0, size - 4096))
                return b"\xff\xd9" in fh.read().rstrip(b"\x00")[-64:]
            if kind == "png":
                fh.seek(max(0, size - 64))
                return b"IEND" in fh.read()
        if kind == "dicom":
            import pydicom

            ds = pydicom.dcmread(str(path), stop_before_pixels=False, force=True)
            return "PixelData" not in ds or len(ds.PixelData) > 0
        return True  # other kinds: stability alone decides; the loader reports problems
    except PermissionError:
        raise
    except Exception:
        return False


@dataclass
class _Pending:
    size: int
    mtime: float
    first_seen: float
    stable_since: float


class FolderWatcher:
    """Calls `on_ready(path)` once per complete new photo.

    The same bytes under a second name (a photo copied twice) are handed over
    once; `known(sha256)` (e.g. `ResultsStore.seen`) lets a restart skip photos
    assessed in an earlier session; `modified_since` (a timestamp, e.g. the
    clinic day's midnight) ignores the older photos a camera folder keeps.
    Callbacks run on the watcher's own thread: hand work off quickly.
    """

    def __init__(self, root: str | Path, on_ready: Callable[[Path], None],
                 on_problem: Callable[[Path, str], None] | None = None,
                 on_status: Callable[[str], None] | None = None, polling: bool | None = None,
                 rescan_s: float = 5.0, stable_s: float = 1.0, incomplete_timeout_s: float = 120.0,
                 known: Callable[[str], bool] | None = None,
                 modified_since: float | None = None):
        self.root = Path(root)
        self.on_ready, self.on_problem, self.on_status = on_ready, on_problem, on_status
        self.polling = is_network_path(self.root) if polling is None else polling
        self.rescan_s, self.stable_s, self.timeout_s = rescan_s, stable_s, incomplete_timeout_s
        self._pending: dict[Path, _Pending] = {}
        self._done: dict[Path, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = None
        self._thread: threading.Thread | None = None
        self._last_scan = 0.0
        self._known = known
        self._since = modified_since
        self._hashes: set[str] = set()
        self.status = "stopped"

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._supervise, name="riqa-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._stop_observer()
        self._set_status("stopped")

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    # -- event intake -----------------------------------------------------------
    def notice(self, path: str | Path) -> None:
        """Consider a path (from an event or a scan); ignored if it is not a candidate photo."""
        p = Path(path)
        if p.name.startswith(".") or p.name in SKIP_NAMES or p.name.endswith((".tmp", ".part", ".crdownload")):
            return
        st = _stat(p)
        if st is None:
            return
        now = time.monotonic()
        with self._lock:
            if self._done.get(p) == st:
                return
            if self._since is not None and st[1] < self._since:
                self._done[p] = st
                return
            cur = self._pending.get(p)
            if cur is None or (cur.size, cur.mtime) != st:
                first = cur.first_seen if cur else now
                self._pending[p] = _Pending(st[0], st[1], first, now)

    def _start_observer(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_created(self, event):
                if not event.is_directory:
                    watcher.notice(event.src_path)

            def on_modified(self, event):
                if not event.is_directory:
                    watcher.notice(event.src_path)

            def on_moved(self, event):
                if not event.is_directory:
                    watcher.notice(event.dest_path)

            def on_closed(self, event):
                watcher.notice(event.src_path)

        obs = PollingObserver(timeout=2) if self.polling else Observer()
        obs.schedule(Handler(), str(self.root), recursive=True)
        obs.daemon = True
        obs.start()
        self._observer = obs

    def _stop_observer(self) -> None:
        obs, self._observer = self._observer, None
        if obs is not None:
            try:
                obs.stop()
                obs.join(timeout=3)
            except Exception:  # a dead observer may fail to stop; it is replaced anyway
                log.debug("observer stop failed", exc_info=True)

    # -- supervisor -------------------------------------------------------------
    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # the supervisor must survive anything the file system does
                log.exception("watcher tick failed")
            self._stop.wait(0.25)

    def _tick(self) -> None:
        if not self.root.is_dir():
            if self._observer is not None:
                self._stop_observer()
            self._set_status(f"folder unavailable: {self.root} (waiting for it to come back)")
            return
        if self._observer is None or not self._observer.is_alive():
            try:
                self._stop_observer()
                self._start_observer()
                self._last_scan = 0.0
            except OSError as exc:
                self._set_status(f"cannot watch {self.root}: {exc.strerror or exc}; rescanning instead")
        self._set_status(f"watching {self.root}" + (" (polling)" if self.polling else ""))
        now = time.monotonic()
        if now - self._last_scan >= self.rescan_s:
            self._last_scan = now
            for p in self._walk():
                self.notice(p)
        self._check_pending(now)

    def _check_pending(self, now: float) -> None:
        with self._lock:
            items = list(self._pending.items())
        for p, pend in items:
            st = _stat(p)
            if st is None:
                with self._lock:
                    self._pending.pop(p, None)
                continue
            if (pend.size, pend.mtime) != st:
                with self._lock:
                    self._pending[p] = _Pending(st[0], st[1], pend.first_seen, now)
                continue
            if now - pend.stable_since < self.stable_s:
                continue
            try:
                complete = is_complete(p)
                digest = sha256_file(p) if complete else ""
            except PermissionError:
                self._finish(p, st)
                if self.on_problem:
                    self.on_problem(p, "permission denied: cannot open the file")
                continue
            except OSError:
                continue  # vanished or unreadable for a moment: the next tick decides
            if complete:
                self._finish(p, st)
                if digest in self._hashes or (self._known is not None and self._known(digest)):
                    continue
                self._hashes.add(digest)
                self.on_ready(p)
            elif now - pend.first_seen > self.timeout_s:
                self._finish(p, st)
                if self.on_problem:
                    self.on_problem(p, f"file never completed (still incomplete after {self.timeout_s:.0f} s)")

    def _finish(self, p: Path, st: tuple[int, float]) -> None:
        with self._lock:
            self._pending.pop(p, None)
            self._done[p] = st

    def _walk(self) -> list[Path]:
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False, onerror=lambda e: None):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            out += [Path(dirpath) / f for f in filenames]
        return out

    def _set_status(self, text: str) -> None:
        if text != self.status:
            self.status = text
            if self.on_status:
                self.on_status(text)


def _stat(p: Path) -> tuple[int, float] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    if not os.path.isfile(p):
        return None
    return st.st_size, st.st_mtime
