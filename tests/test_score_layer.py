"""The score layer pinned by exact small cases and properties (floor, interval, memorisation, invariances).

``test_score.py`` checks calibration on average (a fresh draw's ratio is ≈ 1); a floor taken as a mean,
a zero-width interval or a constant memorisation floor pass such bands. Here every number is tied to
something computed independently: a median of the reported draws (with mean ≠ median), the distances of
every possible floor subset, brute-force nearest neighbours, the binomial coverage of a known-law
interval, and hypothesis-generated row orders, batch cuts and chunk sizes.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from cosmobench.compare import RATIO_CAP, distance, memorisation_score, score_statistic


def _gauss(rng, n, d, shift=0.0):
    return rng.standard_normal((n, d)) + shift


# ----------------------------------------------------------------------------------------- value and floor


@pytest.mark.parametrize("dist", ["chi2", "frechet", "diversity", "hist_w1", "pair_correlation"])
def test_value_is_the_distance_and_the_ratio_is_value_over_floor(dist):
    rng = np.random.default_rng(0)
    X, Y, F = (rng.random((k, 6)) + 0.1 for k in (40, 60, 90))
    s = score_statistic("s", dist, X, Y, F, seed=3, n_boot=20, n_floor_draws=5)
    assert s.value == pytest.approx(distance(dist, X, Y), rel=1e-12)  # rows are reordered: round-off only
    assert s.ratio == pytest.approx(s.value / s.floor, rel=1e-12)
    assert s.extra["ratio_ci"] == pytest.approx([s.ci[0] / s.floor, s.ci[1] / s.floor], rel=1e-12)
    assert (s.extra["n"], s.extra["m"], s.extra["f"], s.extra["floor_n"]) == (40, 60, 90, 40)
    assert s.extra["n_floor_draws"] == len(s.extra["floor_draws"]) == 5 and s.extra["n_boot"] == 20


def test_floor_is_the_median_of_its_draws_not_their_mean():
    rng = np.random.default_rng(1)
    X, Y, F = _gauss(rng, 30, 4), _gauss(rng, 200, 4), _gauss(rng, 400, 4)
    for draws in (4, 7):  # an even count: the median is the mean of the two middle draws
        s = score_statistic("s", "chi2", X, Y, F, seed=0, n_boot=0, n_floor_draws=draws)
        d = np.array(s.extra["floor_draws"])
        assert len(np.unique(d)) == draws and not math.isclose(np.mean(d), np.median(d), rel_tol=1e-3)
        assert s.floor == np.median(d)


def test_floor_draws_are_distances_of_model_sized_subsets_without_replacement():
    """f = n + 1 held-out rows: a subset of size n leaves one row out, so every draw is one of f known distances."""
    rng = np.random.default_rng(2)
    n = 12
    X, Y, F = _gauss(rng, n, 3), _gauss(rng, 50, 3), _gauss(rng, n + 1, 3)
    possible = np.array([distance("chi2", np.delete(F, i, axis=0), Y) for i in range(n + 1)])
    s = score_statistic("s", "chi2", X, Y, F, seed=5, n_boot=0, n_floor_draws=9)
    for v in s.extra["floor_draws"]:
        assert np.isclose(possible, v, rtol=1e-12, atol=0).any()
    assert len(set(s.extra["floor_draws"])) > 1  # different subsets, not one subset nine times


@pytest.mark.parametrize("f", [20, 15])
def test_a_held_out_set_no_larger_than_the_model_is_used_whole_once(f):
    rng = np.random.default_rng(3)
    X, Y, F = _gauss(rng, 20, 3), _gauss(rng, 80, 3), _gauss(rng, f, 3)
    s = score_statistic("s", "chi2", X, Y, F, seed=0, n_boot=0, n_floor_draws=9)
    assert s.extra["floor_draws"] == [s.floor] and s.floor == pytest.approx(distance("chi2", F, Y), rel=1e-12)
    assert s.extra["floor_n"] == f and (("floor_note" in s.extra) == (f < 20))


def test_abs_mean_floor_is_the_larger_of_the_empirical_and_the_independent_draw_scale():
    rng = np.random.default_rng(4)
    n, m = 50, 80
    X, Y, F = _gauss(rng, n, 2), _gauss(rng, m, 2), _gauss(rng, 300, 2)
    s = score_statistic("mean", "abs_mean", X, Y, F, seed=0, n_boot=0, n_floor_draws=5)
    analytic = math.sqrt(2 / math.pi * (1 / n + 1 / m)) * float(np.mean(Y.std(axis=0, ddof=1)))
    assert s.extra["floor_independent_draws"] == pytest.approx(analytic, rel=1e-12)
    assert s.extra["floor_empirical"] == np.median(s.extra["floor_draws"])
    assert s.floor == max(analytic, s.extra["floor_empirical"])
    # held-out rows that average to the reference mean (whole boxes) have a tiny empirical floor: the
    # independent-draw scale takes over
    narrow_F = Y.mean(axis=0) + 0.01 * (F - F.mean(axis=0))
    narrow = score_statistic("mean", "abs_mean", X, Y, narrow_F, seed=0, n_boot=0, n_floor_draws=5)
    assert narrow.extra["floor_empirical"] < analytic and narrow.floor == pytest.approx(analytic, rel=1e-12)


def test_pair_correlation_floor_is_at_least_the_reference_correlation():
    rng = np.random.default_rng(5)
    common = rng.normal(size=(1, 32))
    Y = rng.normal(size=(300, 32)) + 0.5 * common
    F = rng.normal(size=(300, 32)) + 0.5 * common
    X = rng.normal(size=(100, 32))
    s = score_statistic("collapse", "pair_correlation", X, Y, F, seed=0, n_boot=0, n_floor_draws=5)
    rho_ref = s.extra["details"]["pair_correlation_ref"]
    assert rho_ref > 0.05 and s.extra["floor_independent_draws"] == abs(rho_ref)
    assert s.floor == max(abs(rho_ref), float(np.median(s.extra["floor_draws"])))


def test_zero_floor_and_non_finite_values_are_capped():
    Y = np.zeros((10, 2))
    exact = score_statistic("s", "chi2", np.zeros((5, 2)), Y, Y.copy(), n_boot=2)
    assert exact.floor == 0 and exact.value == 0 and exact.ratio == 1.0
    off = score_statistic("s", "chi2", np.ones((5, 2)), Y, Y.copy(), n_boot=2)
    assert off.ratio == RATIO_CAP and off.extra["ratio_ci"] == [RATIO_CAP, RATIO_CAP]


# ----------------------------------------------------------------------------------------- bootstrap


def test_interval_of_constant_rows_is_the_value_and_of_varied_rows_has_width():
    rng = np.random.default_rng(6)
    Y, F = _gauss(rng, 100, 1), _gauss(rng, 100, 1)
    const = score_statistic("mean", "abs_mean", np.full((20, 1), 0.3), Y, F, seed=0, n_boot=30)
    assert const.ci == (const.value, const.value)  # every resample of identical rows is the same set
    varied = score_statistic("mean", "abs_mean", _gauss(rng, 20, 1, 0.3), Y, F, seed=0, n_boot=30)
    assert varied.ci[1] - varied.ci[0] > 0.05


def test_interval_covers_the_true_distance_95_percent_of_the_time():
    """Model rows ~ N(μ, 1), reference fixed: |x̄ − ȳ| estimates |μ − ȳ|, far from the fold at 0."""
    rng = np.random.default_rng(7)
    Y = rng.standard_normal((400, 1))
    mu = 1.0
    truth = abs(mu - Y.mean())
    reps, n = 300, 60
    hits = 0
    for r in range(reps):
        X = rng.standard_normal((n, 1)) + mu
        s = score_statistic("mean", "abs_mean", X, Y, Y, seed=r, n_boot=200, n_floor_draws=1)
        hits += s.ci[0] <= truth <= s.ci[1]
    # binomial(300, 0.95): sd 1.26 %; the percentile interval of a mean undercovers by ~1/n
    assert 0.95 - 3.5 * math.sqrt(0.95 * 0.05 / reps) - 0.01 <= hits / reps <= 0.95 + 3.5 * math.sqrt(0.95 * 0.05 / reps)


@pytest.mark.parametrize("dist", ["abs_mean", "chi2", "diversity", "pair_correlation"])
def test_interval_width_shrinks_like_one_over_root_n(dist):
    rng = np.random.default_rng(8)
    Y, F = _gauss(rng, 2000, 4), _gauss(rng, 2000, 4)
    widths = {}
    for n in (100, 900):
        X = _gauss(rng, n, 4, shift=0.5) * np.array([1.0, 1.5, 2.0, 0.5])
        s = score_statistic("s", dist, X, Y, F, seed=0, n_boot=200)
        widths[n] = s.ci[1] - s.ci[0]
        assert widths[n] > 0 and s.ci[0] <= s.value * 1.5 and s.ci[1] >= s.value * 0.5
    assert 1.8 < widths[100] / widths[900] < 5.0  # √9 = 3


def test_bootstrap_seed_is_its_own_stream():
    rng = np.random.default_rng(9)
    X, Y, F = _gauss(rng, 50, 3), _gauss(rng, 100, 3), _gauss(rng, 200, 3)
    a = score_statistic("s", "frechet", X, Y, F, seed=1, n_boot=40)
    b = score_statistic("s", "frechet", X, Y, F, seed=2, n_boot=40)
    assert a.value == b.value and a.ci != b.ci and a.extra["floor_draws"] != b.extra["floor_draws"]
    # the floor draws do not depend on how many bootstrap resamples are made
    c = score_statistic("s", "frechet", X, Y, F, seed=1, n_boot=5)
    assert c.extra["floor_draws"] == a.extra["floor_draws"]


# ----------------------------------------------------------------------------------------- memorisation


def _memo_sets(seed, n=60, t=40, r=200, d=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((t, d)), rng.standard_normal((r, d))


def test_memorisation_value_matches_brute_force_nearest_neighbours():
    M, T, R = _memo_sets(10)
    nn_m, nn_t = cdist(M, R).min(axis=1), cdist(T, R).min(axis=1)
    s = memorisation_score(M, T, R, seed=0, n_boot=20, n_floor_draws=15)
    assert s.value == pytest.approx(np.median(nn_m) / np.median(nn_t), rel=1e-12) and s.ratio == s.value
    assert s.extra["median_nn_model"] == pytest.approx(np.median(nn_m), rel=1e-12)
    assert s.extra["median_nn_test"] == pytest.approx(np.median(nn_t), rel=1e-12)
    assert s.extra["copy_fraction"] == np.mean(nn_m < np.quantile(nn_t, 0.01))
    assert (s.extra["n"], s.extra["n_test"], s.extra["n_train"]) == (60, 40, 200)
    assert s.ci[0] < s.value < s.ci[1]


def test_memorisation_floor_is_computed_from_test_halvings_not_a_constant():
    """Five test maps at known distances from one training map: every halving gives one of a few ratios."""
    R = np.zeros((1, 2))
    radii = np.array([1.0, 2.0, 3.0, 5.0, 11.0])
    T = np.stack([radii, np.zeros(5)], axis=1)
    M = np.array([[0.0, 2.5], [0.0, 3.5]])
    possible = set()
    for perm in itertools.permutations(range(5)):
        a, b = radii[list(perm[:2])], radii[list(perm[2:4])]
        possible.add(round(float(np.median(a) / np.median(b)), 12))
    for seed in (0, 1):
        s = memorisation_score(M, T, R, seed=seed, n_boot=10, n_floor_draws=25)
        assert round(s.floor, 12) in possible and s.floor != 1.0
        lo, hi = s.extra["floor_ci"]
        assert min(possible) <= lo < hi <= max(possible) and lo <= s.floor <= hi
        assert s.value == pytest.approx(3.0 / 3.0) and s.extra["median_nn_model"] == pytest.approx(3.0)


def test_memorisation_flags_near_copies_and_counts_them():
    M, T, R = _memo_sets(11)
    copies = np.concatenate([R[:30] + 1e-6, M[:30]])
    s = memorisation_score(copies, T, R, seed=0, n_boot=30)
    assert s.extra["copy_fraction"] == pytest.approx(0.5, abs=0.02)
    assert s.value < 0.5 and s.ci[1] < 1.0


# ----------------------------------------------------------------------------------------- properties


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), dist=st.sampled_from(["chi2", "frechet", "abs_mean", "diversity", "pair_correlation"]))
def test_scores_do_not_depend_on_row_order(seed, dist):
    rng = np.random.default_rng(seed)
    X, Y, F = _gauss(rng, 25, 3), _gauss(rng, 30, 3), _gauss(rng, 45, 3)
    a = score_statistic("s", dist, X, Y, F, seed=seed, n_boot=10, n_floor_draws=3).to_dict()
    perm = [rng.permutation(len(A)) for A in (X, Y, F)]
    b = score_statistic("s", dist, X[perm[0]], Y[perm[1]], F[perm[2]], seed=seed, n_boot=10, n_floor_draws=3).to_dict()
    assert a == b


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), chunk=st.integers(1, 70))
def test_memorisation_does_not_depend_on_row_order_or_chunk(seed, chunk):
    M, T, R = _memo_sets(seed, n=30, t=20, r=70)
    base = memorisation_score(M, T, R, seed=seed, n_boot=10, n_floor_draws=5).to_dict()
    rng = np.random.default_rng(seed + 1)
    other = memorisation_score(M[rng.permutation(30)], T[rng.permutation(20)], R[rng.permutation(70)],
                               seed=seed, n_boot=10, n_floor_draws=5, chunk=chunk).to_dict()
    assert other == base


@settings(max_examples=10, deadline=None)
@given(cuts=st.lists(st.integers(1, 39), min_size=1, max_size=4, unique=True))
def test_scores_of_re_batched_summaries_are_identical(cuts):
    """evaluate concatenates per-batch summaries: any batch cut gives the same rows and so the same score."""
    from cosmobench.stats import MeanStatistic, PDFStatistic

    rng = np.random.default_rng(12)
    maps = (np.exp(0.6 * rng.standard_normal((40, 64, 64))) / math.exp(0.18) - 1).astype(np.float32)
    ref = (np.exp(0.6 * rng.standard_normal((60, 64, 64))) / math.exp(0.18) - 1).astype(np.float32)
    bounds = [0, *sorted(cuts), 40]
    for stat in (PDFStatistic(), MeanStatistic()):
        Y = stat.summarize(ref)
        whole = score_statistic(stat, stat.summarize(maps), Y[:30], Y[30:], seed=0, n_boot=10)
        batched = np.concatenate([stat.summarize(maps[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
        assert score_statistic(stat, batched, Y[:30], Y[30:], seed=0, n_boot=10).to_dict() == whole.to_dict()


def test_memorisation_metadata_minimum_sizes_and_errors():
    from cosmobench.errors import CosmobenchError

    M, T, R = _memo_sets(13)
    s = memorisation_score(M[:1], T[:4], R[:1], seed=4, n_boot=5, n_floor_draws=3, version="7")
    assert (s.name, s.distance, s.version, s.higher_is_better) == ("memorisation", "nn_median_ratio", "7", True)
    assert (s.extra["seed"], s.extra["n_boot"], s.extra["n_floor_draws"]) == (4, 5, 3)
    assert "ratio_definition" in s.extra
    with pytest.raises(CosmobenchError, match="at least 4 held-out test maps \\(got 3\\)"):
        memorisation_score(M, T[:3], R)
    with pytest.raises(CosmobenchError, match="columns"):
        memorisation_score(M, T[:, :3], R)


def test_memorisation_bootstrap_resamples_every_model_and_test_row():
    """Two model rows at distances 1 and 3, test rows all at 2: resampled ratios are 0.5, 1 or 1.5, and both
    ends appear; then the model rows at 3 and the test rows at 2, 3, 4, 5: only a resample that draws the
    nearest test row (also the first in the canonical byte order: 2.0 sorts before 3.0, 4.0, 5.0) can put
    the ratio above 1."""
    R = np.zeros((1, 2))
    M = np.array([[1.0, 0.0], [3.0, 0.0]])
    T = np.array([[0.0, 2.0], [0.0, -2.0], [2.0, 0.0], [-2.0, 0.0]])
    s = memorisation_score(M, T, R, seed=0, n_boot=100, n_floor_draws=3)
    assert s.ci[0] == pytest.approx(0.5) and s.ci[1] == pytest.approx(1.5)
    M2 = np.array([[3.0, 0.0], [0.0, 3.0]])
    T2 = np.array([[2.0, 0.0], [3.0, 0.0], [4.0, 0.0], [5.0, 0.0]])
    s2 = memorisation_score(M2, T2, R, seed=0, n_boot=100, n_floor_draws=3)
    assert s2.value == pytest.approx(3.0 / 3.5) and s2.ci[1] > 1.0
