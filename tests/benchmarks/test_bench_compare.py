"""Benchmarks of the comparison layer (pytest-benchmark), each beside a peer timed in the same test.

Default sizes keep CI quick (2,000 rows); ``COSMOBENCH_BENCH_FULL=1`` runs the issue's sizes
(n = m = f = 10,000 summaries of d = 64; memorisation 10,000 × 10,000 at d = 256).
Peers: a naive score (no prepared reference: covariance, inverse or ``scipy.linalg.sqrtm`` recomputed on
every call) and ``scipy.spatial.distance.cdist`` for nearest neighbours. Ratios (peer time / ours) go to
``benchmark.extra_info``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist

from _bench import best_time, ours_seconds, record
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


def _naive_frechet(X, Y):
    s = Y.std(axis=0, ddof=1)
    Xs, Ys = X / s, Y / s
    Sx, Sy = np.cov(Xs, rowvar=False), np.cov(Ys, rowvar=False)
    cross = np.real(scipy.linalg.sqrtm(Sx @ Sy))
    return float(((Xs.mean(0) - Ys.mean(0)) ** 2).sum() + np.trace(Sx + Sy - 2 * cross)) / X.shape[1]


def _naive_score(dist, X, Y, F, seed=0, n_boot=100, n_floor_draws=10):
    rng = np.random.default_rng(seed)
    value = dist(X, Y)
    floor = np.median([dist(F[rng.choice(len(F), len(X), replace=False)], Y) for _ in range(n_floor_draws)])
    boots = [dist(X[rng.integers(0, len(X), len(X))], Y) for _ in range(n_boot)]
    return value / floor, np.percentile(boots, [2.5, 97.5])


def test_bench_score_statistic_chi2(benchmark, summaries):
    X, Y, F = summaries

    def ours():
        return score_statistic("power", "chi2", X, Y, F, seed=0)

    s = benchmark.pedantic(ours, rounds=3, iterations=1)
    t_peer, (ratio, _) = best_time(lambda: _naive_score(_naive_chi2, X, Y, F), repeat=2)
    record(benchmark, ours_seconds(benchmark, ours), {"naive_score": t_peer}, n=N, d=D, ratio=s.ratio)
    assert 0.1 < s.ratio < 10 and 0.1 < ratio < 10


def test_bench_score_statistic_frechet(benchmark, summaries):
    X, Y, F = summaries

    def ours():
        return score_statistic("power", "frechet", X, Y, F, seed=0, n_boot=20)

    s = benchmark.pedantic(ours, rounds=1, iterations=1)
    t_peer, (ratio, _) = best_time(lambda: _naive_score(_naive_frechet, X, Y, F, n_boot=20), repeat=1)
    record(benchmark, ours_seconds(benchmark, ours), {"naive_sqrtm_score": t_peer}, n=N, d=D, ratio=s.ratio)
    assert 0.1 < s.ratio < 10 and 0.1 < ratio < 10


def test_bench_nearest_neighbours_vs_cdist(benchmark):
    from cosmobench.stats.diversity import nearest_neighbour_distances

    rng = np.random.default_rng(1)
    n = 10_000 if FULL else 1_000
    a, b = rng.standard_normal((n, 256)), rng.standard_normal((n, 256))
    nn = benchmark.pedantic(lambda: nearest_neighbour_distances(a, b), rounds=1, iterations=1)
    t_peer, ref = best_time(lambda: np.concatenate([cdist(a[i : i + 1000], b).min(axis=1) for i in range(0, n, 1000)]), 1)
    np.testing.assert_allclose(nn, ref, rtol=1e-10)
    record(benchmark, ours_seconds(benchmark, lambda: nearest_neighbour_distances(a, b)), {"cdist": t_peer}, n=n)


def test_bench_memorisation(benchmark):
    rng = np.random.default_rng(2)
    n = 10_000 if FULL else 1_000
    M, T, R = rng.standard_normal((n, 256)), rng.standard_normal((n // 2, 256)), rng.standard_normal((n, 256))

    h = T.shape[0] // 2  # U1 | U2, as the evaluation splits the test maps between boxes

    def ours():
        return memorisation_score(M, T, R, seed=0, test_split=h)

    def peer():  # the value alone, from cdist nearest neighbours: median closeness NN(→ train) / NN(→ U2)
        U1, U2 = T[:h], T[h:]
        rel_m = cdist(M, R).min(axis=1) / cdist(M, U2).min(axis=1)
        rel_t = cdist(U1, R).min(axis=1) / cdist(U1, U2).min(axis=1)
        return np.median(rel_m) / np.median(rel_t)

    s = benchmark.pedantic(ours, rounds=1, iterations=1)
    t_peer, value = best_time(peer, repeat=1)
    assert s.value == pytest.approx(value, rel=1e-10) and 0.8 < s.value < 1.25
    record(benchmark, ours_seconds(benchmark, ours), {"cdist_value_only": t_peer}, n=n)
