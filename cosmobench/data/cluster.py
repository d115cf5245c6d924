"""Simulating reference boxes as tasks on dask.distributed: a local cluster or an existing scheduler.

One task per box (:func:`cosmobench.data.store.simulate_box`). A task writes only temporary files
into the source directory; the building process renames them into place and records them in
``meta.json`` as results arrive, under the source lock, so the atomicity and resumability of a
serial build carry over: a worker killed mid-box leaves a ``.tmp`` file (deleted at the end of the
build) and the scheduler runs the box again on another worker. A remote cluster's workers must
therefore see the data home at the same path (a shared filesystem).

Threads: a box is given ``threads`` FFTW/numba threads (default: the CPUs of this process divided
by the number of local workers, at least 1; on a remote cluster, each worker's CPUs divided by its
task slots), and each worker runs one box at a time when it was started with one thread, so
workers × threads never exceeds the cores.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

from cosmobench.errors import CosmobenchError

__all__ = ["run_boxes", "local_cluster"]


def _box_task(path: str, cfg, i: int, seed: int, threads: "int | None", home: "str | None") -> dict:
    """What a worker runs: point the data home where the builder's is, pick threads, simulate the box."""
    if home:
        # FFTW wisdom lives under the data home; a local worker inherits it, a remote one is told.
        os.environ.setdefault("COSMOBENCH_HOME", home)
    if threads is None:
        from cosmobench.data._fft import default_threads

        try:
            from distributed import get_worker

            slots = max(1, int(get_worker().state.nthreads))
        except (ImportError, ValueError, AttributeError):
            slots = 1
        threads = max(1, default_threads() // slots)
    from cosmobench.data.store import simulate_box

    return simulate_box(path, cfg, i, seed, threads=threads)


def local_cluster(workers: int, threads: int):
    """A ``LocalCluster`` of ``workers`` processes with one task slot each and ``threads`` threads per box.

    No dashboard (several builds on one machine must not fight over its port); worker processes
    get ``COSMOBENCH_THREADS`` / ``NUMBA_NUM_THREADS`` / ``OMP_NUM_THREADS`` = ``threads``.
    """
    import logging

    from distributed import LocalCluster

    env = {"COSMOBENCH_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    return LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, dashboard_address=None,
                        env=env, silence_logs=logging.ERROR)


def run_boxes(path: str, cfg, jobs: Sequence[tuple[int, int]], commit: Callable[[dict], None], *,
              workers: "int | None" = None, scheduler: "str | None" = None, threads: "int | None" = None) -> None:
    """Simulate ``jobs`` = [(box index, seed), ...] on dask workers, calling ``commit(entry)`` per finished box.

    Parameters
    ----------
    path : str
        Source directory.
    cfg : SimConfig
    jobs : sequence of (int, int)
    commit : callable
        Called in this process, in completion order, with each box's entry from ``simulate_box``.
    workers : int, optional
        Start a ``LocalCluster`` of this many processes (default 1 when no scheduler is given).
    scheduler : str, optional
        Address of an existing scheduler (``tcp://host:8786``).
    threads : int, optional
        Threads per box (default: see the module docstring).

    Raises
    ------
    CosmobenchError
        If dask.distributed is missing, the scheduler cannot be reached, or a box failed on every
        worker that tried it (the boxes finished before stay committed; rerun to resume).
    """
    try:
        from distributed import Client, as_completed
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise CosmobenchError("building on a cluster needs dask.distributed: pip install 'distributed'") from None
    from cosmobench._paths import data_home
    from cosmobench.data._fft import default_threads

    cluster = None
    try:
        if scheduler is None:
            w = int(workers or 1)
            per_box = int(threads) if threads else max(1, default_threads() // w)
            try:
                cluster = local_cluster(w, per_box)
            except (RuntimeError, OSError) as exc:
                raise CosmobenchError(
                    f"could not start a local dask cluster of {w} workers ({exc}); try fewer --workers, or "
                    "--workers 0 to simulate in this process"
                ) from None
            client = Client(cluster)
        else:
            per_box = int(threads) if threads else None
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise CosmobenchError(
                    f"cannot reach the dask scheduler at {scheduler} ({exc}); start one (`dask scheduler`) and "
                    "workers that share this data home (`dask worker ADDRESS --nthreads 1`), or drop --scheduler"
                ) from None
        with client:
            home = str(data_home())
            futures = [client.submit(_box_task, path, cfg, i, s, per_box, home, pure=False,
                                     key=f"cosmobench-box-{i}-{os.path.basename(path)}-{os.urandom(4).hex()}")
                       for i, s in jobs]
            for fut in as_completed(futures):
                try:
                    entry = fut.result()
                except CosmobenchError:
                    raise
                except Exception as exc:  # KilledWorker, a crash inside the simulator, ...
                    for f in futures:
                        f.cancel()
                    raise CosmobenchError(
                        f"a box task failed on the cluster ({type(exc).__name__}: {exc}); the boxes finished "
                        "so far are kept: run the same build again to resume"
                    ) from None
                commit(entry)
    finally:
        if cluster is not None:
            cluster.close()
