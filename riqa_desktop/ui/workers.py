"""Everything slow runs here, off the GUI thread; results come back through queued signals.

One analysis thread owns the models (two models must not fight over two cores)
and the results store; display decoding and exports run on a small pool.
Workers emit numpy arrays and dataclasses only, never widgets or pixmaps.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

from ..core import errors
from ..core.assessment import Assessment
from .postprocess import PostProcessor

log = logging.getLogger(__name__)
CAPTURE = "capture"  # source tag of photos from the watcher or File > Open


@dataclass
class _Job:
    source: str  # CAPTURE or a batch id
    paths: list[Path] = field(default_factory=list)
    folder: Path | None = None  # a batch over a folder: listed on the worker
    cancel: threading.Event = field(default_factory=threading.Event)
    explain: tuple | None = None  # (assessment, kind): an overlay computed on request


class AnalysisThread(QThread):
    """Loads the models once, then assesses queued photos one after another.

    Signals:
        ready(device, model_versions): models loaded.
        load_failed(message): models could not be loaded (e.g. not installed); photos
            still come back, as unreadable rows carrying that reason.
        result(assessment, source): one per photo (or DICOM frame), stored already.
        progress(batch_id, done, total): after each photo of a batch.
        batch_done(batch_id, cancelled).
        store_failed(message): the results store could not be opened (assessments go on).
        explained(assessment, kind, map_or_reason): an explanation overlay (QualityMap) or why not (str).
    """

    ready = Signal(str, dict)
    load_failed = Signal(str)
    result = Signal(object, str)
    progress = Signal(str, int, int)
    batch_done = Signal(str, bool)
    store_failed = Signal(str)
    explained = Signal(object, str, object)

    def __init__(self, analyzer_factory: Callable[[], object], data_dir: str | Path | None,
                 post: PostProcessor, parent: QObject | None = None, thumbs=None):
        super().__init__(parent)
        self._factory, self._data_dir, self.post = analyzer_factory, data_dir, post
        self.thumbs = thumbs  # a ThumbnailStore: batch thumbnails go to disk, not into the table's memory
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._batches: dict[str, _Job] = {}
        self.analyzer = None
        self.load_error: str | None = None

    # -- called from the GUI thread ---------------------------------------------
    def assess(self, paths: list[str | Path]) -> None:
        self._jobs.put(_Job(CAPTURE, [Path(p) for p in paths]))

    def start_batch(self, folder_or_paths: str | Path | list) -> str:
        """Queue a batch (a folder, listed on this thread, or a list of paths); returns its id."""
        batch_id = "batch-" + uuid.uuid4().hex[:8]
        if isinstance(folder_or_paths, list):
            job = _Job(batch_id, [Path(p) for p in folder_or_paths])
        else:
            job = _Job(batch_id, folder=Path(folder_or_paths))
        self._batches[batch_id] = job
        self._jobs.put(job)
        return batch_id

    def explain(self, a: Assessment, kind: str) -> None:
        """Queue "gradcam:<head>" or "vessels" for the photo of `a`; answered by `explained`."""
        self._jobs.put(_Job(CAPTURE, explain=(a, kind)))

    def cancel(self, batch_id: str) -> None:
        job = self._batches.get(batch_id)
        if job is not None:
            job.cancel.set()

    def stop(self) -> None:
        for job in list(self._batches.values()):
            job.cancel.set()
        self._jobs.put(None)

    # -- the thread ---------------------------------------------------------------
    def run(self) -> None:
        _lower_priority()
        store = self._open_store()
        try:
            self.analyzer = self._factory()
            self.ready.emit(self.analyzer.device, dict(self.analyzer.model_versions))
        except errors.RiqaError as exc:
            self.load_error = str(exc) or type(exc).__name__
            self.load_failed.emit(self.load_error)
        _freeze_long_lived_objects()
        while (job := self._jobs.get()) is not None:
            self._run_job(job, store)
        if store is not None:
            store.close()

    def _open_store(self):
        from ..core.store import ResultsStore

        try:
            return ResultsStore(self._data_dir or None)
        except Exception as exc:  # a read-only or missing data folder must not stop assessments
            self.store_failed.emit(f"results are not being saved: {exc}")
            return None

    def _run_job(self, job: _Job, store) -> None:
        if job.explain is not None:
            self._explain(*job.explain)
            return
        paths = job.paths
        if job.folder is not None:
            from ..core.batch import list_photos

            paths = list_photos(job.folder)
        batch = None if job.source == CAPTURE else job.source
        for i, p in enumerate(paths):
            if job.cancel.is_set():
                break
            for a in self._assess(p):
                self.post(a)
                if batch and self.thumbs is not None:
                    self._to_disk(a)
                if store is not None:
                    try:
                        store.add(a, batch=batch)
                    except Exception:  # a full disk must not lose the on-screen result
                        log.exception("could not record %s", a.path)
                self.result.emit(a, job.source)
            if batch:
                self.progress.emit(batch, i + 1, len(paths))
        if batch:
            self._batches.pop(batch, None)
            self.batch_done.emit(batch, job.cancel.is_set())

    def _to_disk(self, a: Assessment) -> None:
        try:
            self.thumbs.put(a)
        except OSError:  # a full disk: this row keeps its thumbnail in memory
            log.warning("could not store the thumbnail of %s", a.path)
            return
        a.thumbnail = None

    def _explain(self, a: Assessment, kind: str) -> None:
        if self.analyzer is None:
            self.explained.emit(a, kind, f"models not loaded: {self.load_error}")
            return
        try:
            if kind == "vessels":
                result = self.analyzer.missing_vessels(a.path, a.frame_index)
            else:
                result = self.analyzer.explain(a.path, kind.split(":", 1)[1], a.frame_index)
        except Exception as exc:  # an explanation is optional: say why, never crash
            log.warning("explanation %s failed: %s", kind, type(exc).__name__)
            result = str(exc) or type(exc).__name__
        self.explained.emit(a, kind, result)

    def _assess(self, p: Path) -> list[Assessment]:
        if self.analyzer is None:
            return [Assessment.failed(str(p), f"not assessed: {self.load_error}")]
        try:
            return self.analyzer.assess_path(p)
        except Exception as exc:  # the analyzer promises not to raise; stay alive if it does
            log.exception("assessment failed for %s", p)
            return [Assessment.failed(str(p), f"assessment failed: {exc}")]


def _freeze_long_lived_objects() -> None:
    """Keep what lives as long as the app (Qt, torch, the models) out of full collections.

    A full collection walks every tracked object while holding the GIL; with
    torch loaded that took 200+ ms and stalled the GUI thread mid-batch.
    Freezing is constant-time (no collection first: that would be the same pause).
    """
    gc.freeze()


def _lower_priority() -> None:
    """Let the GUI thread win the CPU (and so the GIL) over inference on a busy machine.

    Linux niceness is per thread and inherited by threads started from here
    (torch's pool); elsewhere QThread priorities work and are set by the caller.
    """
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass


class _TaskSignals(QObject):
    done = Signal(object)
    failed = Signal(str)


class Task(QRunnable):
    """Run `fn(*args)` on a pool thread; `signals.done(result)` or `signals.failed(message)`."""

    def __init__(self, fn: Callable, *args):
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args = fn, args
        self.signals = _TaskSignals()

    def run(self) -> None:
        try:
            out = self.fn(*self.args)
        except Exception as exc:
            log.exception("background task failed")
            self.signals.failed.emit(str(exc) or type(exc).__name__)
            return
        self.signals.done.emit(out)


class TaskRunner(QObject):
    """A small pool for file I/O (display decoding, exports); keeps tasks alive until they finish."""

    def __init__(self, parent: QObject | None = None, threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._live: set[Task] = set()

    def submit(self, fn: Callable, *args, on_done: Callable | None = None,
               on_failed: Callable[[str], None] | None = None) -> Task:
        task = Task(fn, *args)
        self._live.add(task)
        task.signals.done.connect(lambda out: self._finish(task, on_done, out))
        task.signals.failed.connect(lambda msg: self._finish(task, on_failed, msg))
        self.pool.start(task)
        return task

    def _finish(self, task: Task, cb: Callable | None, value) -> None:
        self._live.discard(task)
        if cb is not None:
            cb(value)

    def wait(self, ms: int = 5000) -> bool:
        return self.pool.waitForDone(ms)


def _midnight() -> float:
    import datetime as dt

    return dt.datetime.combine(dt.date.today(), dt.time()).timestamp()


class WatchBridge(QObject):
    """Runs a core FolderWatcher and forwards its thread's callbacks as Qt signals.

    Signals: ready(path), problem(path, reason), status(text), running(bool).
    """

    ready = Signal(str)
    problem = Signal(str, str)
    status = Signal(str)
    running = Signal(bool)

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None, data_dir=None, **watcher_options):
        super().__init__(parent)
        # Today's photos only (a camera folder holds years of earlier ones), including those
        # taken while the app was closed, minus those the results store already holds.
        self._tasks, self._data_dir = tasks, data_dir
        self._options = {"modified_since": _midnight(), **watcher_options}
        self._watcher = None
        self._store = None

    def _known(self, sha256: str) -> bool:
        """Called on the watcher's thread: the store is opened there, on first use."""
        if self._store is None:
            from ..core.store import ResultsStore

            self._store = ResultsStore(self._data_dir or None)
        return self._store.seen(sha256)

    @property
    def is_running(self) -> bool:
        return self._watcher is not None

    def start(self, folder: str | Path) -> None:
        from ..core.watcher import FolderWatcher

        self.stop()
        self._watcher = FolderWatcher(
            folder, on_ready=lambda p: self.ready.emit(str(p)),
            on_problem=lambda p, why: self.problem.emit(str(p), why),
            on_status=self.status.emit, known=self._known, **self._options)
        self._tasks.submit(self._watcher.start)  # it lists the folder first: file I/O
        self.running.emit(True)

    def stop(self) -> None:
        """Stop without blocking the GUI: the watcher's threads are joined on the pool."""
        w, self._watcher = self._watcher, None
        if w is not None:
            self._tasks.submit(w.stop)
            self.running.emit(False)

    def stop_now(self) -> None:
        """Stop and wait (when the app quits)."""
        w, self._watcher = self._watcher, None
        if w is not None:
            w.stop()
