"""Walk a folder for photos and assess them one after another, resumably.

Shared by `riqa batch` and the GUI's batch review. Symbolic links to folders
are not followed (no loops); files are opened read-only by the loaders.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .analyzer import Analyzer
from .assessment import Assessment
from .loading import display_path
from .store import ResultsStore

SKIP_NAMES = {"DICOMDIR", "Thumbs.db", ".DS_Store", "desktop.ini", "results.sqlite"}


def list_photos(root: str | Path) -> list[Path]:
    """Every candidate file below `root` (content decides later), sorted; hidden files skipped."""
    root = Path(root)
    if root.is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=lambda e: None):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name in SKIP_NAMES or name.endswith((".tmp", ".part", ".crdownload")):
                continue
            found.append(Path(dirpath) / name)
    return found


def run_batch(analyzer: Analyzer, paths: list[Path], store: ResultsStore | None = None,
              batch_id: str | None = None, cancel: threading.Event | None = None,
              on_result: Callable[[int, int, Assessment], None] | None = None,
              batch_size: int = 8, decode_workers: int = 2) -> Iterator[Assessment]:
    """Assess `paths` in order, recording each; with `batch_id`, skip paths already recorded.

    Files are decoded ahead on `decode_workers` threads (decoders release the
    GIL) while the models run on groups of `batch_size` photos.
    """
    done = store.done_paths(batch_id) if (store and batch_id) else set()
    todo = [p for p in paths if display_path(p) not in done]
    return record_each(_assess_ahead(analyzer, todo, cancel, batch_size, decode_workers), len(todo), store,
                       batch_id, on_result)


def _assess_ahead(analyzer: Analyzer, todo: list[Path], cancel: threading.Event | None, batch_size: int,
                  decode_workers: int) -> Iterator[Assessment]:
    ahead = max(2 * batch_size, decode_workers)
    with ThreadPoolExecutor(max_workers=decode_workers, thread_name_prefix="riqa-decode") as pool:
        pending: deque = deque()
        feed = iter(todo)
        for p in islice(feed, ahead):
            pending.append(pool.submit(analyzer.load, p))
        while pending:
            if cancel is not None and cancel.is_set():
                for f in pending:
                    f.cancel()
                return
            group = []
            while pending and len(group) < batch_size:
                group.append(pending.popleft().result())
                nxt = next(feed, None)
                if nxt is not None:
                    pending.append(pool.submit(analyzer.load, nxt))
            yield from analyzer.assess_loaded(group)


def record_each(results: Iterable[Assessment], total: int, store: ResultsStore | None = None,
                batch_id: str | None = None, on_result: Callable[[int, int, Assessment], None] | None = None,
                already: set | frozenset = frozenset()) -> Iterator[Assessment]:
    """Record each result in `store` (unless its (path, frame) is `already` there), count photos by
    their first frame, report progress, and pass it on: the same for local and cluster batches."""
    finished = 0
    for a in results:
        if store is not None and (display_path(a.path), a.metadata.frame_index) not in already:
            store.add(a, batch=batch_id)
        if a.metadata.frame_index == 0:
            finished += 1
        if on_result:
            on_result(finished, total, a)
        yield a
