"""Benchmark of the Minkowski functionals (pytest-benchmark).

Default: 500 lognormal 64² maps × 12 thresholds; ``COSMOBENCH_BENCH_FULL=1``: 10,000 maps.
Peer: a loop of quantimpy ``minkowski.functionals(map >= ν)`` over maps and thresholds, timed in
the same run (target ≥ 10×). quantimpy 0.2.6 wheels are built against numpy 1.x and do not
import under numpy 2; then the quantimpy peer is recorded as unavailable and only a numpy peer
(vectorised 2×2 configuration histogram per threshold, same output) is timed.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

from _bench import ours_seconds
from cosmobench.stats.minkowski import DEFAULT_THRESHOLDS, minkowski, to_quantimpy

FULL = os.environ.get("COSMOBENCH_BENCH_FULL") == "1"
N = 10_000 if FULL else 500


@pytest.fixture(scope="module")
def maps():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((N, 64, 64)).astype(np.float32)
    return np.exp(g) / math.exp(0.5) - 1.0


def _numpy_peer(maps, thresholds, chunk=1000):
    return np.concatenate([_numpy_chunk(maps[s:s + chunk], thresholds) for s in range(0, maps.shape[0], chunk)])


def _numpy_chunk(maps, thresholds):
    out = np.empty((maps.shape[0], 3, len(thresholds)))
    for j, t in enumerate(thresholds):
        b = (maps >= t).astype(np.int64)
        conf = b[:, :-1, :-1] + 2 * b[:, 1:, :-1] + 4 * b[:, :-1, 1:] + 8 * b[:, 1:, 1:]
        hist = np.stack([np.bincount(c.ravel(), minlength=16) for c in conf])
        out[:, 0, j] = hist[:, [i for i in range(16) if i & 1]].sum(1)
        cross = sum(hist[:, [i for i in range(16) if bool(i & p) != bool(i & q)]].sum(1)
                    for p, q in ((1, 2), (1, 4), (1, 8), (2, 4)))
        out[:, 1, j] = cross
        out[:, 2, j] = hist[:, [1, 2, 4, 8]].sum(1) - hist[:, [7, 11, 13, 14]].sum(1) + 2 * hist[:, [6, 9]].sum(1)
    return out


def test_bench_minkowski(benchmark, maps):
    ts = DEFAULT_THRESHOLDS
    minkowski(maps[:2], ts)  # JIT / cache load outside the timing
    v = benchmark.pedantic(minkowski, args=(maps, ts), rounds=3, iterations=1, warmup_rounds=1)
    ours = ours_seconds(benchmark, lambda: minkowski(maps, ts))
    info = {"n_maps": N, "n_thresholds": len(ts), "ours_s": ours}

    t0 = time.perf_counter()
    peer = _numpy_peer(maps, ts)
    info["numpy_s"] = time.perf_counter() - t0
    info["speedup_vs_numpy"] = info["numpy_s"] / ours
    ncell = 63 * 63
    np.testing.assert_allclose(v[:, 0] * ncell, peer[:, 0])
    # V1: crossings along 0°, 90°, 45°, 135° times the Crofton factor (π/2)/(2 + 2√2), per cell
    np.testing.assert_allclose(v[:, 1] * ncell * (2 + 2 * math.sqrt(2)) / (math.pi / 2), peer[:, 1], rtol=1e-12)
    np.testing.assert_allclose(v[:, 2] * 4 * ncell, peer[:, 2], atol=1e-6)

    try:
        from quantimpy import minkowski as mk
    except ImportError as exc:  # the test command rebuilds quantimpy against numpy 2; other errors are errors
        info["quantimpy"] = f"not importable: {type(exc).__name__}: {exc}"
        mk = None
    if mk is not None:
        t0 = time.perf_counter()
        q = np.array([[mk.functionals(maps[m] >= t) for t in ts] for m in range(N)]).transpose(0, 2, 1)
        info["quantimpy_s"] = time.perf_counter() - t0
        info["speedup_vs_quantimpy"] = info["quantimpy_s"] / ours
        np.testing.assert_allclose(to_quantimpy(v, maps.shape[1:]), q, rtol=1e-9, atol=1e-9)
    benchmark.extra_info.update(info)
    assert info["speedup_vs_numpy"] > 2
    if mk is not None:
        assert info["speedup_vs_quantimpy"] > 3  # target ≥ 10
