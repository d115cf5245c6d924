"""Benchmarks of the comparison layer (pytest-benchmark).

Default sizes keep CI quick (2,000 rows); ``COSMOBENCH_BENCH_FULL=1`` runs the issue's sizes
(n = m = f = 10,000 summaries of d = 64; memorisation 10,000 × 10,000 at d = 256).
Peers: a naive score (no prepared reference: covariance, inverse and floor recomputed on every
call, ``np.cov`` + ``np.linalg.inv``) and ``scipy.spatial.distance.cdist`` for nearest neighbours.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from cosmobench.compare import memorisation_score, score_statistic

FULL = os.environ.get("COSMOBENCH_BENCH_FULL") == "1"
N = 10_000 if FULL else 2_000
D = 64


@pytest.fixture(scope="module")
def summaries():
    rng = np.random.default_rng(0)
    return tuple(rng.standard_normal((N, D)) for _ in range(3))


def _naive_chi2(X, Y):
    diff = X.mean(0) - Y.mean(0)
    return float(diff @ np.linalg.inv(np.cov(Y, rowvar=False)) @ diff) / X.shape[1]


def _naive_score(X, Y, F, seed=0, n_boot=100, n_floor_draws=10):
    rng = np.random.default_rng(seed)
    value = _naive_chi2(X, Y)
    floor = np.median([_naive_chi2(F[rng.choice(len(F), len(X), replace=False)], Y) for _ in range(n_floor_draws)])
    boots = [_naive_chi2(X[rng.integers(0, len(X), len(X))], Y) for _ in range(n_boot)]
    return value / floor, np.percentile(boots, [2.5, 97.5])


def test_bench_score_statistic_chi2(benchmark, summaries):
    X, Y, F = summaries
    s = benchmark.pedantic(lambda: score_statistic("power", "chi2", X, Y, F, seed=0), rounds=3, iterations=1)
    benchmark.extra_info.update({"n": N, "d": D, "ratio": s.ratio})
    assert 0.1 < s.ratio < 10


def test_bench_naive_score_chi2_peer(benchmark, summaries):
    X, Y, F = summaries
    ratio, _ = benchmark.pedantic(lambda: _naive_score(X, Y, F), rounds=3, iterations=1)
    assert 0.1 < ratio < 10


def test_bench_score_statistic_frechet(benchmark, summaries):
    X, Y, F = summaries
    s = benchmark.pedantic(lambda: score_statistic("power", "frechet", X, Y, F, seed=0), rounds=1, iterations=1)
    assert np.isfinite(s.ratio)


def test_bench_nearest_neighbours_vs_cdist(benchmark):
    from cosmobench.stats.diversity import nearest_neighbour_distances

    rng = np.random.default_rng(1)
    n = 10_000 if FULL else 1_000
    a, b = rng.standard_normal((n, 256)), rng.standard_normal((n, 256))
    nn = benchmark.pedantic(lambda: nearest_neighbour_distances(a, b), rounds=1, iterations=1)
    k = min(n, 500)
    assert np.allclose(nn[:k], cdist(a[:k], b).min(axis=1), rtol=1e-10)


def test_bench_nearest_neighbours_cdist_peer(benchmark):
    rng = np.random.default_rng(1)
    n = 10_000 if FULL else 1_000
    a, b = rng.standard_normal((n, 256)), rng.standard_normal((n, 256))
    benchmark.pedantic(lambda: np.concatenate([cdist(a[i : i + 1000], b).min(axis=1) for i in range(0, n, 1000)]), rounds=1, iterations=1)


def test_bench_memorisation(benchmark):
    rng = np.random.default_rng(2)
    n = 10_000 if FULL else 1_000
    M, T, R = rng.standard_normal((n, 256)), rng.standard_normal((n // 2, 256)), rng.standard_normal((n, 256))
    s = benchmark.pedantic(lambda: memorisation_score(M, T, R, seed=0), rounds=1, iterations=1)
    assert 0.8 < s.value < 1.25
