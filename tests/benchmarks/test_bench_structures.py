"""Benchmark of the structure finder (pytest-benchmark).

Default: 500 lognormal 64² maps; ``COSMOBENCH_BENCH_FULL=1``: 10,000 (the issue's size).
Peers, timed in the same run over the same maps and threshold (δ > 1, 8-connectivity), for the
same output (labels, and area and mass of every structure):
- ``scipy.ndimage.label`` + ``ndimage.sum`` (area and mass) in a loop over maps (target: no slower);
- the seed's networkx formulation (grid graph + diagonals, sub-threshold nodes removed,
  ``connected_components``, per-component sums) on a small subset, scaled per map (target ≥ 100×).
Ratios land in ``benchmark.extra_info``; the asserts are loose (shared CI machines).
"""

from __future__ import annotations

import os
import time

import networkx as nx
import numpy as np
import pytest
from scipy import ndimage

from _bench import ours_seconds
from cosmobench.stats.structures import structures

FULL = os.environ.get("COSMOBENCH_BENCH_FULL") == "1"
N = 10_000 if FULL else 500
N_NX = 20 if FULL else 5
THRESHOLD = 1.0
EIGHT = np.ones((3, 3), dtype=int)


@pytest.fixture(scope="module")
def maps():
    rng = np.random.default_rng(0)
    size = 64
    k = 2 * np.pi * np.fft.fftfreq(size)
    wk = np.exp(-0.5 * (k[:, None] ** 2 + k[None, :] ** 2) * 1.5**2)
    out = np.empty((N, size, size), dtype=np.float32)
    for s in range(0, N, 1000):
        g = np.fft.ifft2(np.fft.fft2(rng.standard_normal((min(1000, N - s), size, size))) * wk).real
        g /= g.std(axis=(1, 2), keepdims=True)
        f = np.exp(1.2 * g)
        out[s:s + g.shape[0]] = f / f.mean(axis=(1, 2), keepdims=True) - 1.0
    return out


def _ndimage(maps):
    res = []
    for m in range(maps.shape[0]):
        lab, k = ndimage.label(maps[m] > THRESHOLD, structure=EIGHT)
        idx = np.arange(1, k + 1)
        res.append((ndimage.sum(np.ones(maps.shape[1:]), lab, idx), ndimage.sum(1.0 + maps[m], lab, idx)))
    return res


def _networkx(img):
    h, w = img.shape
    g = nx.grid_2d_graph(h, w)
    g.add_edges_from(((i, j), (i + 1, j + 1)) for i in range(h - 1) for j in range(w - 1))
    g.add_edges_from(((i, j + 1), (i + 1, j)) for i in range(h - 1) for j in range(w - 1))
    g.remove_nodes_from([(i, j) for i in range(h) for j in range(w) if not img[i, j] > THRESHOLD])
    return [(len(c), sum(1.0 + img[p] for p in c)) for c in nx.connected_components(g)]


def test_bench_structures(benchmark, maps):
    structures(maps[:2], THRESHOLD)  # JIT / cache load outside the timing
    cat = benchmark.pedantic(structures, args=(maps, THRESHOLD), rounds=3, iterations=1, warmup_rounds=1)
    ours = ours_seconds(benchmark, lambda: structures(maps, THRESHOLD))

    t0 = time.perf_counter()
    ref = _ndimage(maps)
    t_nd = time.perf_counter() - t0
    assert sum(len(a) for a, _ in ref) == len(cat)
    np.testing.assert_allclose(np.concatenate([a for a, _ in ref]), cat.area)

    t0 = time.perf_counter()
    nxres = [_networkx(maps[m]) for m in range(N_NX)]
    t_nx = (time.perf_counter() - t0) / N_NX * N
    assert sum(len(r) for r in nxres) == int(cat.counts[:N_NX].sum())

    benchmark.extra_info.update(
        n_maps=N,
        n_structures=len(cat),
        ours_s=ours,
        ndimage_s=t_nd,
        networkx_s_scaled=t_nx,
        networkx_maps_timed=N_NX,
        speedup_vs_ndimage=t_nd / ours,
        speedup_vs_networkx=t_nx / ours,
    )
    assert t_nd / ours > 0.5  # target ≥ 1 (no slower)
    assert t_nx / ours > 20  # target ≥ 100
