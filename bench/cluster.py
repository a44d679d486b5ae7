"""Archive review on a local Dask cluster: photos/s for 1 and 2 worker processes (`riqa batch --cluster`).

Each worker loads the models before the clock starts (a warm-up chunk per worker), so the figure is
steady throughput; cluster start-up is reported beside it. One intra-op thread per worker.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from .inputs import batch_inputs
from .tables import table


def cluster(root: Path, n: int, worker_counts: tuple[int, ...] = (1, 2)) -> str:
    from distributed import Client, LocalCluster

    from riqa_desktop.core.cluster import assess_chunk, run_cluster_batch

    paths = batch_inputs(root, n)
    options = {"device": "cpu", "threads": 1}
    rows = []
    for workers in worker_counts:
        t = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
                          scheduler_kwargs={"dashboard": False}) as lc, Client(lc) as client:
            start_s = time.perf_counter() - t
            warm = [client.submit(assess_chunk, [str(paths[0])], options, pure=False, workers=[w])
                    for w in client.scheduler_info()["workers"]]
            client.gather(warm)
            t = time.perf_counter()
            done = sum(1 for _ in run_cluster_batch(client, paths, options))
            dt = time.perf_counter() - t
        rows.append([workers, done, start_s, dt, done / dt])
    return table(f"Archive review on a local Dask cluster over {len(paths)} real photos (models loaded first)",
                 ["workers", "results", "cluster start s", "seconds", "photos/s"], rows)
