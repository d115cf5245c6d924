"""Building a source on dask.distributed (small config, local clusters): same recipe, atomic, survives a killed worker."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from cosmobench.data import store
from cosmobench.data.store import build_simulated
from cosmobench.errors import CosmobenchError

pytest.importorskip("distributed")


@pytest.fixture
def home(tmp_path, monkeypatch):
    # Worker processes are spawned after this, so they inherit the same data home.
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _no_temporaries(src):
    return not list(src.path.glob(".*"))


def test_local_cluster_build_is_the_serial_recipe(small_source, home):
    """Two workers, one thread each, build boxes 0-1 of the serial fixture's recipe: same recipe id, same maps."""
    src = build_simulated(name="sim-small", config="small", boxes=2, progress=False, workers=2)
    assert src.boxes() == [0, 1] and _no_temporaries(src)
    src.verify()
    ref = small_source
    assert src.meta["boxes"]["1"]["seed"] == ref.meta["boxes"]["1"]["seed"]
    # The recipe of two boxes is the fixture's recipe restricted to them.
    ref_two = dict(ref.meta, boxes={k: v for k, v in ref.meta["boxes"].items() if int(k) < 2})
    assert src.recipe_id == store.recipe_id(ref_two) != ref.recipe_id
    for i in (0, 1):
        a, b = src.box_maps(i).astype(np.float64), ref.box_maps(i).astype(np.float64)
        # Threads and FFTW plans differ from the serial build: round-off, amplified by the PM, not more.
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.999
        np.testing.assert_allclose(a.std(), b.std(), rtol=1e-3)


def test_killed_worker_leaves_no_half_box_and_the_box_is_recomputed(home):
    from distributed import Client

    from cosmobench.data.cluster import local_cluster

    cluster = local_cluster(1, 1)
    try:
        with Client(cluster) as client:
            pid_before = set(client.run(os.getpid).values())
            done, failed = threading.Event(), []

            def build():
                try:
                    build_simulated(name="sim-small", config="small", boxes=1, progress=False,
                                    scheduler=cluster.scheduler_address, threads=1)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    failed.append(exc)
                done.set()

            t = threading.Thread(target=build)
            t.start()
            deadline = time.monotonic() + 120
            while not any(client.processing().values()):
                assert time.monotonic() < deadline and not done.is_set(), "the box task never started"
                time.sleep(0.05)
            time.sleep(1.0)  # inside the simulation (a small box takes several seconds)
            path = store.sources_dir() / "sim-small"
            assert not (path / "box_0000_z0.npy").exists() and not done.is_set()
            for pid in pid_before:
                os.kill(pid, signal.SIGKILL)
            t.join(600)
            assert done.is_set() and not failed, failed
            assert set(client.run(os.getpid).values()).isdisjoint(pid_before)  # the nanny restarted the worker
    finally:
        cluster.close()
    src = store.get_source("sim-small")
    assert src.boxes() == [0] and _no_temporaries(src)
    src.verify()
    maps = src.box_maps(0)
    assert maps.shape == (32, 64, 64) and np.isfinite(maps).all() and maps.min() >= -1.0


def test_cluster_argument_mistakes(home):
    with pytest.raises(CosmobenchError, match="workers"):
        build_simulated(name="sim-small", boxes=1, workers=0, progress=False)
    with pytest.raises(CosmobenchError, match="not both"):
        build_simulated(name="sim-small", boxes=1, workers=1, scheduler="tcp://127.0.0.1:1", progress=False)
    with pytest.raises(CosmobenchError, match="scheduler"):
        build_simulated(name="sim-small", boxes=1, scheduler="tcp://127.0.0.1:9", progress=False)
    assert not (store.sources_dir() / "sim-small" / "meta.json").exists()
