"""Archive review on a Dask cluster: the same Analyzer on every worker, every result written by the driver.

Why Dask distributed (not Ray): pure-Python, BSD-licensed wheels that install beside torch in seconds;
`LocalCluster` gives `--cluster local`; a worker's nanny restarts it when it is killed and the scheduler
re-runs its tasks. Ray brings a ~70 MB native runtime (raylet, GCS, dashboard processes) for features
this does not use.

Exactly once: a task is a chunk of paths. The driver alone writes (store, then CSV, one file at a
time), receives each chunk's result once, and skips frames the store already holds for this batch,
so a driver killed between the two writes loses and duplicates nothing on the rerun. A chunk that
keeps killing its worker is retried photo by photo; only a photo that kills a worker on its own
becomes an unreadable row.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Iterator

from . import errors
from .assessment import Assessment

CHUNK = 8  # photos per task: one batched model pass each
KILLED_REASON = "assessing this file stopped a cluster worker (crashed or out of memory) each time it was tried"

_analyzers: dict = {}
_lock = threading.Lock()


def assess_chunk(paths: list[str], options: dict) -> list[Assessment]:
    """Runs on a worker: its Analyzer, built once per process from `options`, assesses the chunk together."""
    from .analyzer import Analyzer

    key = tuple(sorted(options.items()))
    with _lock:
        if key not in _analyzers:
            _analyzers[key] = Analyzer(**options)
    an = _analyzers[key]
    return an.assess_loaded([an.load(p) for p in paths])


def connect(address: str, workers: int = 2):
    """(client, cluster): a client of the scheduler at `address`, or of a new local cluster for "local"."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise errors.RiqaError("--cluster needs the optional 'cluster' extra: pip install 'riqa-desktop[cluster]'") from None
    logging.getLogger("distributed").setLevel(logging.ERROR)  # its INFO lines would drown the progress bar
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
                               scheduler_kwargs={"dashboard": False})
        return Client(cluster), cluster
    try:
        return Client(address, timeout=30), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise errors.RiqaError(f"cannot reach the cluster scheduler at {address}: {exc}") from None


def run_cluster_batch(client, paths: list[Path], options: dict, store=None, batch_id: str | None = None,
                      on_result: Callable[[int, int, Assessment], None] | None = None,
                      chunk: int = CHUNK) -> Iterator[Assessment]:
    """Assess `paths` on the cluster's workers; yields each Assessment once, after recording it in `store`."""
    from .batch import record_each

    recorded = store.recorded(batch_id) if (store is not None and batch_id) else set()
    results = _assess_on_workers(client, paths, options, chunk)
    return record_each(results, len(paths), store, batch_id, on_result, already=recorded)


def _assess_on_workers(client, paths: list[Path], options: dict, chunk: int) -> Iterator[Assessment]:
    """Assessments in the order the workers finish their chunks; a chunk that kills workers is split."""
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    todo = [[str(p) for p in paths[i:i + chunk]] for i in range(0, len(paths), chunk)]
    todo.reverse()  # pop() from the end keeps the file order
    in_flight = max(2, 2 * len(client.scheduler_info().get("workers", {})))
    running = as_completed()
    chunks: dict = {}

    def submit(part: list[str]) -> None:
        fut = client.submit(assess_chunk, part, options, pure=False)
        chunks[fut.key] = part
        running.add(fut)

    while todo and len(chunks) < in_flight:
        submit(todo.pop())
    for fut in running:
        part = chunks.pop(fut.key)
        try:
            results = fut.result()
        except KilledWorker:
            if len(part) > 1:  # find the one photo that kills workers; the others still get assessed
                for p in part:
                    submit([p])
                continue
            results = [Assessment.failed(part[0], KILLED_REASON)]
        fut.release()
        while todo and len(chunks) < in_flight:
            submit(todo.pop())
        yield from results
