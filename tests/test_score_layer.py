"""The score layer pinned by exact small cases and properties (null, floor, interval, memorisation, invariances).

``test_score.py`` and ``test_verdicts.py`` check calibration on average (a fresh draw's ratio is ≈ 1, its
p-values uniform); a floor taken as a mean, a null of wrongly sized sets, a zero-width interval or a constant
memorisation floor pass such bands. Here every number is tied to something computed independently: the median
of the null draws (with mean ≠ median), the distances of every possible model-sized subset of a small pool,
the half-normal scale of n independent maps, brute-force nearest neighbours, the binomial coverage of a
known-law interval, and hypothesis-generated row orders, batch cuts and chunk sizes.
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
from cosmobench.compare.null import NULL_SEED, draw_sets, null_distribution
from cosmobench.stats._order import canonical_order


def _gauss(rng, n, d, shift=0.0):
    return rng.standard_normal((n, d)) + shift


def _canonical(a):
    """Rows in the canonical order score_statistic puts the pool in: null_distribution then draws the same sets."""
    return a[canonical_order(a)]


# ----------------------------------------------------------------------------------------- value and floor


def _matched_size(rows, pool):
    """Rows of a without-replacement set from ``pool`` as variable as ``rows`` independent maps, at most half the pool."""
    return max(2, min(int(round(rows * pool / (pool + rows))), pool // 2))


@pytest.mark.parametrize("dist", ["chi2", "frechet", "diversity", "hist_w1", "pair_correlation"])
def test_value_is_the_distance_and_the_ratio_is_value_over_floor(dist):
    rng = np.random.default_rng(0)
    X, Y, F = (rng.random((k, 6)) + 0.1 for k in (40, 60, 90))
    s = score_statistic("s", dist, X, Y, F, seed=3, n_boot=20, n_floor_draws=5)
    assert s.value == pytest.approx(distance(dist, X, Y), rel=1e-12)  # rows are reordered: round-off only
    assert s.floor == s.null["median"] and s.ratio == pytest.approx(s.value / s.floor, rel=1e-12)
    assert s.extra["ratio_ci"] == pytest.approx([s.ci[0] / s.floor, s.ci[1] / s.floor], rel=1e-12)
    assert (s.extra["n"], s.extra["m"], s.extra["n_boot"]) == (40, 60, 20)
    assert (s.null["draws"], s.null["pool"], s.null["rows"], s.null["set_size"]) == (5, 90, 40, _matched_size(40, 90))


def test_floor_is_the_median_of_the_null_draws_not_their_mean():
    rng = np.random.default_rng(1)
    X, Y, F = _gauss(rng, 30, 4), _gauss(rng, 200, 4), _canonical(_gauss(rng, 400, 4))
    for draws in (4, 7):  # an even count: the median is the mean of the two middle draws
        d = null_distribution("chi2", Y, F, 30, draws=draws).values
        assert len(np.unique(d)) == draws and not math.isclose(np.mean(d), np.median(d), rel_tol=1e-3)
        s = score_statistic("s", "chi2", X, Y, F, seed=0, n_boot=0, n_floor_draws=draws)
        assert s.floor == pytest.approx(np.median(d), rel=1e-12)
        assert s.null["lo"] == pytest.approx(np.percentile(d, 2.5)) and s.null["hi"] == pytest.approx(np.percentile(d, 97.5))


@pytest.mark.parametrize("dist", ["chi2", "frechet"])
def test_null_draws_are_distances_of_model_sized_subsets_of_the_pool_without_replacement(dist):
    """A pool of 10 rows and a model of 4: matched sets have round(4·10/14) = 3 rows, so every null draw
    is one of the C(10, 3) = 120 subset distances, never a 2-, 4- or with-replacement set's."""
    rng = np.random.default_rng(2)
    n, N = 4, 10
    X, Y, F = _gauss(rng, n, 3), _gauss(rng, 50, 3), _canonical(_gauss(rng, N, 3))
    size = _matched_size(n, N)
    assert size == 3
    possible = {k: np.array([distance(dist, F[list(c)], Y) for c in itertools.combinations(range(N), k)])
                for k in (2, 3, 4)}
    null = null_distribution(dist, Y, F, n, draws=40)
    for v in null.values:  # rtol: a 3-row covariance in 3 dimensions is singular, its square root rounds at 1e-8
        assert np.isclose(possible[3], v, rtol=1e-6, atol=0).any()
        assert not np.isclose(possible[2], v, rtol=1e-6, atol=0).any()
        assert not np.isclose(possible[4], v, rtol=1e-6, atol=0).any()
    assert len(np.unique(np.round(null.values, 9))) > 20  # different subsets, not one subset forty times
    s = score_statistic("s", dist, X, Y, F, seed=5, n_boot=0, n_floor_draws=40)
    assert s.floor == pytest.approx(np.median(null.values), rel=1e-9) and s.null["set_size"] == size


@pytest.mark.parametrize("f", [20, 15])
def test_a_small_pool_draws_half_of_itself_and_says_the_null_is_conservative(f):
    rng = np.random.default_rng(3)
    X, Y, F = _gauss(rng, 20, 3), _gauss(rng, 80, 3), _gauss(rng, f, 3)
    s = score_statistic("s", "chi2", X, Y, F, seed=0, n_boot=0, n_floor_draws=9)
    # f = 20: matched size round(20·20/40) = 10 = half the pool, exact; f = 15: 9 > 7, capped
    assert s.null["set_size"] == min(round(20 * f / (20 + f)), f // 2) and s.null["pool"] == f
    assert ("note" in s.null) == (f < 20)


def test_abs_mean_null_is_the_scale_of_n_independent_maps():
    """Pool of 200 rows whose mean is the reference mean, model of 100: matched sets of 67 rows drawn without
    replacement have Var(x̄) = S²(1/67 − 1/200) ≈ S²/100, so the null of |x̄ − ȳ| is a half-normal of that
    scale and its median is 0.6745 of it. Sets of 100 (no finite-population matching) would be 29 % too narrow."""
    rng = np.random.default_rng(4)
    n, N = 100, 200
    F = _gauss(rng, N, 1)
    Y = _gauss(rng, 300, 1)
    Y += F.mean() - Y.mean()
    s = score_statistic("mean", "abs_mean", _gauss(rng, n, 1), Y, F, seed=0, n_boot=0)
    size = s.null["set_size"]
    assert size == 67
    sd = float(F.std(ddof=1)) * math.sqrt(1 / size - 1 / N)
    assert sd == pytest.approx(float(F.std(ddof=1)) / math.sqrt(n), rel=0.02)
    # 999 draws: the sample median of a half-normal scatters by ~3.7 %
    assert s.floor == pytest.approx(0.6745 * sd, rel=0.12)


def test_p_value_is_the_share_of_the_score_s_own_null_at_least_as_far():
    """Reference and pool share a correlated component; a model without it is far, one with half of it closer."""
    rng = np.random.default_rng(5)
    common = rng.normal(size=(1, 32))
    Y = rng.normal(size=(300, 32)) + 0.5 * common
    F = rng.normal(size=(300, 32)) + 0.5 * common
    for X in (rng.normal(size=(100, 32)), rng.normal(size=(100, 32)) + 0.45 * common):
        null = null_distribution("pair_correlation", Y, F, 100, draws=199).values
        s = score_statistic("collapse", "pair_correlation", X, Y, F, seed=0, n_boot=0, n_floor_draws=199)
        assert s.p_value == (np.count_nonzero(null >= s.value) + 1) / 200
    assert 0.005 < s.p_value < 1  # the second model is inside the null, not beyond every draw


def test_zero_floor_and_non_finite_values_are_capped():
    Y = np.zeros((10, 2))
    exact = score_statistic("s", "chi2", np.zeros((5, 2)), Y, Y.copy(), n_boot=2)
    assert exact.floor == 0 and exact.value == 0 and exact.ratio == 1.0
    off = score_statistic("s", "chi2", np.ones((5, 2)), Y, Y.copy(), n_boot=2)
    assert off.ratio == RATIO_CAP and off.extra["ratio_ci"] == [RATIO_CAP, RATIO_CAP]
    from cosmobench.compare.metric import _safe_ratio

    # a non-finite value or floor, alone or both, caps the ratio (never NaN, never 0)
    assert [_safe_ratio(v, f) for v, f in ((np.nan, 1.0), (np.inf, 1.0), (1.0, np.inf), (1.0, np.nan))] == [RATIO_CAP] * 4


def test_scores_of_one_column_and_of_two_rows_do_not_depend_on_row_order():
    """Rows are put in canonical order whatever their shape: a 1-column summary (the mean) and a 2-row set too."""
    rng = np.random.default_rng(34)
    X, Y, F = rng.standard_normal((30, 1)), rng.standard_normal((40, 1)), rng.standard_normal((40, 1))
    a = score_statistic("mean", "abs_mean", X, Y, F, seed=3, n_boot=20, n_floor_draws=9).to_dict()
    assert score_statistic("mean", "abs_mean", X[::-1], Y[::-1], F, seed=3, n_boot=20, n_floor_draws=9).to_dict() == a
    X2 = rng.standard_normal((2, 3))
    Y2, F2 = rng.standard_normal((20, 3)), rng.standard_normal((20, 3))
    for seed in range(4):  # 3 resamples: their interval depends on which row each draw took
        b = score_statistic("s", "chi2", X2, Y2, F2, seed=seed, n_boot=3, n_floor_draws=9).to_dict()
        assert score_statistic("s", "chi2", X2[::-1], Y2, F2, seed=seed, n_boot=3, n_floor_draws=9).to_dict() == b


# ----------------------------------------------------------------------------------------- bootstrap


def test_interval_of_constant_rows_is_the_value_and_of_varied_rows_has_width():
    rng = np.random.default_rng(6)
    Y, F = _gauss(rng, 100, 1), _gauss(rng, 100, 1)
    const = score_statistic("mean", "abs_mean", np.full((20, 1), 0.3), Y, F, seed=0, n_boot=30)
    # every resample of identical rows is the same set (weights applied as a matrix product: round-off only)
    assert const.ci == pytest.approx((const.value, const.value), rel=1e-12)
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
        s = score_statistic("s", dist, X, Y, F, seed=0, n_boot=200, n_floor_draws=9)  # the null plays no part
        widths[n] = s.ci[1] - s.ci[0]
        assert widths[n] > 0 and s.ci[0] <= s.value * 1.5 and s.ci[1] >= s.value * 0.5
    assert 1.8 < widths[100] / widths[900] < 5.0  # √9 = 3


def test_bootstrap_seed_is_its_own_stream_and_the_null_depends_on_no_seed():
    rng = np.random.default_rng(9)
    X, Y, F = _gauss(rng, 50, 3), _gauss(rng, 100, 3), _gauss(rng, 200, 3)
    a = score_statistic("s", "frechet", X, Y, F, seed=1, n_boot=40, n_floor_draws=30)
    b = score_statistic("s", "frechet", X, Y, F, seed=2, n_boot=40, n_floor_draws=30)
    assert a.value == b.value and a.ci != b.ci
    # one null serves every model and seed: a property of the reference and n
    assert a.null == b.null and a.floor == b.floor and a.p_value == b.p_value
    c = score_statistic("s", "frechet", X, Y, F, seed=1, n_boot=5, n_floor_draws=30)
    assert c.null == a.null
    # ...but it is the null of this n: a model of another size gets other sets
    d = score_statistic("s", "frechet", X[:25], Y, F, seed=1, n_boot=5, n_floor_draws=30)
    assert d.null["set_size"] < a.null["set_size"] and d.floor != a.floor


# ----------------------------------------------------------------------------------------- memorisation


def _memo_sets(seed, n=60, t=40, r=200, d=5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((t, d)), rng.standard_normal((r, d))


def _closeness(A, R, U2):
    """Brute-force relative closeness NN(a → train) / NN(a → U2) and the raw NN(a → train)."""
    nn = cdist(A, R).min(axis=1)
    return nn / cdist(A, U2).min(axis=1), nn


def test_memorisation_value_matches_brute_force_nearest_neighbours():
    M, T, R = _memo_sets(10)
    U1, U2 = T[:20], T[20:]
    rel_m, nn_m = _closeness(M, R, U2)
    rel_t, _ = _closeness(U1, R, U2)
    s = memorisation_score(M, T, R, seed=0, n_boot=20, n_floor_draws=15, test_split=20)
    assert s.value == pytest.approx(np.median(rel_m) / np.median(rel_t), rel=1e-12) and s.ratio == s.value
    assert s.extra["median_closeness_model"] == pytest.approx(np.median(rel_m), rel=1e-12)
    assert s.extra["median_closeness_test"] == pytest.approx(np.median(rel_t), rel=1e-12)
    assert s.extra["median_nn_model"] == pytest.approx(np.median(nn_m), rel=1e-9)
    assert s.extra["median_nn_test"] == pytest.approx(np.median(cdist(T, R).min(axis=1)), rel=1e-9)
    assert s.extra["copy_threshold"] == pytest.approx(rel_t.min(), rel=1e-12)
    copies = int(np.count_nonzero(rel_m < rel_t.min()))
    assert s.extra["copy_count"] == copies and s.extra["copy_share"] == copies / 60
    assert s.extra["p_copy"] == pytest.approx(math.prod((60 - i) / (20 + 60 - i) for i in range(copies)), rel=1e-12)
    assert s.p_value == pytest.approx(min(1.0, 2 * min(s.extra["p_ratio"], s.extra["p_copy"])), rel=1e-12)
    assert (s.extra["n"], s.extra["n_test"], s.extra["n_train"]) == (60, 20, 200)
    assert s.ci[0] < s.value < s.ci[1]
    # without test_split, U1 and U2 are the halves of the test rows in canonical order
    halves = memorisation_score(M, T[canonical_order(T)], R, seed=0, n_boot=20, n_floor_draws=15, test_split=20)
    assert memorisation_score(M, T, R, seed=0, n_boot=20, n_floor_draws=15).to_dict() == halves.to_dict()


def _radial(radii, axis=0):
    """Points at ``radii`` along one axis of 3-space (the training map at the origin, U2 far on the third axis)."""
    out = np.zeros((len(radii), 3))
    out[:, axis] = radii
    return out


_FAR = np.array([[0.0, 0.0, 100.0], [0.0, 0.0, -100.0]])  # U2: every point in the plane is as far from it


def test_memorisation_floor_is_the_median_of_its_null_not_a_constant():
    """Seven U1 maps at known distances from the one training map, a model of 2: null sets are pairs of U1
    maps (round(2·7/9) = 2), so every null draw is one of 21 pair medians over the U1 median."""
    R = np.zeros((1, 3))
    radii = np.array([1.0, 2.0, 3.0, 5.0, 11.0, 20.0, 40.0])
    T = np.concatenate([_radial(radii), _FAR])
    M = _radial([2.5, 3.5], axis=1)
    rel_t = np.sort(radii / np.hypot(radii, 100.0))
    med = float(np.median(rel_t))
    possible = {round(float(np.median(rel_t[list(c)])) / med, 12) for c in itertools.combinations(range(7), 2)}
    draws = np.array([np.median(rel_t[idx]) / med for idx in draw_sets(7, 2, 25, NULL_SEED)])
    assert not math.isclose(np.mean(draws), np.median(draws), rel_tol=1e-3)
    floors = set()
    for seed in (0, 1):
        s = memorisation_score(M, T, R, seed=seed, n_boot=10, n_floor_draws=25, test_split=7)
        assert (s.null["set_size"], s.null["pool"], s.null["draws"]) == (2, 7, 25)
        assert s.floor == pytest.approx(float(np.median(draws)), rel=1e-12) and s.floor == s.null["median"]
        assert round(s.floor, 12) in possible and s.floor != 1.0
        lo, hi = s.extra["floor_ci"]
        assert min(possible) <= lo < hi <= max(possible) and lo <= s.floor <= hi
        rel_m = np.array([2.5, 3.5]) / np.hypot([2.5, 3.5], 100.0)
        assert s.value == pytest.approx(np.median(rel_m) / med, rel=1e-12)
        assert s.extra["median_nn_model"] == pytest.approx(3.0)
        floors.add(s.floor)
    assert len(floors) == 1  # the null is the reference's, not the seed's


def test_memorisation_flags_near_copies_and_counts_them():
    M, T, R = _memo_sets(11)
    copies = np.concatenate([R[:30] + 1e-6, M[:30]])
    s = memorisation_score(copies, T, R, seed=0, n_boot=30)
    # the threshold is the test maps': the 30 copies count, plus whichever fresh maps fall below it by chance
    fresh_half = memorisation_score(M[:30], T, R, seed=0, n_boot=30)
    assert s.extra["copy_threshold"] == fresh_half.extra["copy_threshold"]
    assert s.extra["copy_count"] == 30 + fresh_half.extra["copy_count"] and s.extra["copy_count"] < 40
    assert s.effects["copy_share"]["value"] == s.extra["copy_share"] == s.extra["copy_count"] / 60
    assert s.extra["p_copy"] < 1e-5 and s.p_value < 1e-4
    assert s.value < 0.5 and s.ci[1] < 1.0
    fresh = memorisation_score(M, T, R, seed=0, n_boot=30)
    assert fresh.p_value > 0.05 and fresh.extra["p_ratio"] > 0.05


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
    other = memorisation_score(M[rng.permutation(30)], T[rng.permutation(20)], R, seed=seed, n_boot=10,
                               n_floor_draws=5, chunk=chunk).to_dict()
    assert other == base
    # training rows in another order: the BLAS nearest-neighbour distances move in the last bit only
    shuffled = memorisation_score(M, T, R[rng.permutation(70)], seed=seed, n_boot=10, n_floor_draws=5).to_dict()
    assert _numbers(shuffled) == pytest.approx(_numbers(base), rel=1e-12, abs=0)
    assert {k: v for k, v in _flat(shuffled).items() if not isinstance(v, float)} == \
        {k: v for k, v in _flat(base).items() if not isinstance(v, float)}


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, prefix + k + "."))
        elif isinstance(v, list):
            out.update({f"{prefix}{k}[{i}]": x for i, x in enumerate(v)})
        else:
            out[prefix + k] = v
    return out


def _numbers(d):
    return {k: v for k, v in _flat(d).items() if isinstance(v, float)}


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
    # the null pool is the first half of the test maps and needs 4 of them: 8 test maps are the fewest
    s = memorisation_score(M[:1], T[:8], R[:1], seed=4, n_boot=5, n_floor_draws=3, version="7")
    assert (s.name, s.distance, s.version, s.higher_is_better) == ("memorisation", "nn_median_ratio", "7", True)
    assert (s.extra["seed"], s.extra["n_boot"], s.null["draws"], s.null["pool"]) == (4, 5, 3, 4)
    assert "ratio_definition" in s.extra
    with pytest.raises(CosmobenchError, match="at least 4 held-out test maps \\(got 3\\)"):
        memorisation_score(M, T[:3], R)
    with pytest.raises(CosmobenchError, match="columns"):
        memorisation_score(M, T[:, :3], R)


def test_memorisation_bootstrap_resamples_every_model_and_test_row():
    """Two model maps at distances 1 and 3 from the training map, the four U1 maps all at 2 (U2 far on the
    third axis, equally far from all of them): resampled ratios are c(1)/c(2), the mean of both over c(2),
    or c(3)/c(2), and both ends appear. Then the model maps at 3 and U1 at 2, 3, 4, 5: only a resample
    that draws the nearest U1 map (the first in the sorted closeness) can put the ratio above 1."""
    R = np.zeros((1, 3))
    c = lambda r: r / math.hypot(r, 100.0)  # noqa: E731
    M = _radial([1.0, 3.0])
    U1 = np.array([[2.0, 0, 0], [-2.0, 0, 0], [0, 2.0, 0], [0, -2.0, 0]])
    s = memorisation_score(M, np.concatenate([U1, _FAR]), R, seed=0, n_boot=100, n_floor_draws=3, test_split=4)
    assert s.ci[0] == pytest.approx(c(1.0) / c(2.0)) and s.ci[1] == pytest.approx(c(3.0) / c(2.0))
    M2 = np.array([[3.0, 0, 0], [0, 3.0, 0]])
    s2 = memorisation_score(M2, np.concatenate([_radial([2.0, 3.0, 4.0, 5.0]), _FAR]), R, seed=0, n_boot=100,
                            n_floor_draws=3, test_split=4)
    assert s2.value == pytest.approx(c(3.0) / ((c(3.0) + c(4.0)) / 2)) and s2.value < 1 and s2.ci[1] > 1.0


def _c(r):
    """Relative closeness of a point at distance r from the training map at the origin, with U2 = _FAR."""
    return np.asarray(r, dtype=np.float64) / np.hypot(r, 100.0)


_U1_RADII = np.array([1.0, 2.0, 3.0, 5.0, 11.0, 20.0, 40.0])


def test_memorisation_null_p_values_and_copy_count_by_hand():
    """U1: seven maps at known distances from the one training map; a model of four, one of them (r = 0.5)
    closer than every U1 map. Null sets of round(4·7/11) = 3 U1 maps; p_ratio the lower-tail share of their
    median ratios, p_copy = 4/11 exactly, p = Bonferroni over both."""
    R = np.zeros((1, 3))
    T = np.concatenate([_radial(_U1_RADII), _FAR])
    model_r = np.array([0.5, 2.5, 3.5, 30.0])
    M = _radial(model_r, axis=1)
    K = 60
    s = memorisation_score(M, T, R, seed=3, n_boot=200, n_floor_draws=K, test_split=7)
    rel_t = np.sort(_c(_U1_RADII))
    med_t = float(np.median(rel_t))
    value = float(np.median(_c(model_r))) / med_t
    null = np.array([np.median(rel_t[idx]) / med_t for idx in draw_sets(7, 3, K, NULL_SEED)])
    assert s.value == pytest.approx(value, rel=1e-12) and s.floor == pytest.approx(np.median(null), rel=1e-12)
    assert (s.null["set_size"], s.null["pool"], s.null["rows"], s.null["draws"]) == (3, 7, 4, K) and "note" not in s.null
    assert s.extra["p_ratio"] == (np.count_nonzero(null <= s.value) + 1) / (K + 1)
    assert s.extra["floor_ci"] == pytest.approx(list(np.percentile(null, [2.5, 97.5])), rel=1e-12)
    assert s.extra["copy_count"] == 1 and s.extra["copy_share"] == 0.25
    assert s.extra["copy_threshold"] == pytest.approx(_c(1.0), rel=1e-12)
    assert s.extra["p_copy"] == pytest.approx(4 / 11, rel=1e-12)
    assert s.p_value == pytest.approx(min(1.0, 2 * min(s.extra["p_ratio"], 4 / 11)), rel=1e-12)
    assert s.extra["median_nn_model"] == pytest.approx(3.0) and s.extra["median_nn_test"] == pytest.approx(11.0)
    assert (s.extra["n"], s.extra["n_test"], s.extra["n_train"], s.extra["seed"], s.extra["n_boot"]) == (4, 7, 1, 3, 200)
    share = s.effects["copy_share"]
    assert share["value"] == 0.25 and share["null_median"] == 1 / 8 and share["unit"] == "fraction of maps"
    # resampled shares of 4 maps with one copy: 0, 1/4, 1/2, ... ; the interval starts at none and has width
    assert share["ci"][0] == 0.0 and 0.5 <= share["ci"][1] <= 0.75
    assert s.version == "2"


def test_memorisation_of_copies_only_and_of_no_copies():
    R = np.zeros((1, 3))
    T = np.concatenate([_radial(_U1_RADII), _FAR])
    copies = memorisation_score(_radial([0.1, 0.2, 0.3, 0.4], axis=1), T, R, seed=0, n_boot=50, n_floor_draws=30,
                                test_split=7)
    assert copies.extra["copy_count"] == 4 and copies.effects["copy_share"]["ci"] == [1.0, 1.0]
    assert copies.extra["p_copy"] == pytest.approx(4 / 11 * 3 / 10 * 2 / 9 * 1 / 8, rel=1e-12)
    assert copies.extra["p_ratio"] == 1 / 31  # below every null draw
    assert copies.p_value == pytest.approx(2 * copies.extra["p_copy"], rel=1e-12) and copies.value < 0.2
    none = memorisation_score(_radial([4.0, 6.0, 8.0, 30.0], axis=1), T, R, seed=0, n_boot=50, n_floor_draws=30,
                              test_split=7)
    assert none.extra["copy_count"] == 0 and none.extra["p_copy"] == 1.0
    assert none.effects["copy_share"]["ci"] == [0.0, 0.0] and none.value > 1
    assert none.p_value == min(1.0, 2 * none.extra["p_ratio"])
    skip = memorisation_score(_radial([4.0, 6.0], axis=1), T, R, n_boot=0, n_floor_draws=5, test_split=7)
    assert np.isnan(skip.ci[0]) and skip.effects["copy_share"]["ci"] == [None, None]


def test_memorisation_of_a_large_model_against_few_unseen_maps_says_its_null_is_conservative():
    M, T, R = _memo_sets(14, n=60, t=8)
    s = memorisation_score(M, T, R, seed=0, n_boot=5, n_floor_draws=5)
    # four U1 maps: null sets of 2 (half), where 60 independent maps would need round(60·4/64) = 4
    assert s.null["set_size"] == 2 and "only 4 unseen test maps for a model of 60" in s.null["note"]
    ok = memorisation_score(M[:4], T, R, seed=0, n_boot=5, n_floor_draws=5)  # round(4·4/8) = 2: matched
    assert ok.null["set_size"] == 2 and "note" not in ok.null


def test_memorisation_inputs_are_checked_and_precomputed_distances_used():
    from cosmobench.errors import CosmobenchError

    M, T, R = _memo_sets(15, n=20, t=12, r=50)
    base = memorisation_score(M, T, R, seed=0, n_boot=10, n_floor_draws=7, test_split=6)
    pre = memorisation_score(M, T, R, seed=0, n_boot=10, n_floor_draws=7, test_split=6, nn_test=cdist(T, R).min(axis=1))
    assert _numbers(pre.to_dict()) == pytest.approx(_numbers(base.to_dict()), rel=1e-12)
    # the precomputed distances are what it uses: doubling them halves the test maps' closeness
    far = memorisation_score(M, T, R, seed=0, n_boot=10, n_floor_draws=7, test_split=6, nn_test=2 * cdist(T, R).min(axis=1))
    assert far.value == pytest.approx(base.value / 2, rel=1e-12)
    with pytest.raises(CosmobenchError, match="nn_test has shape \\(11,\\); pass one distance per test map \\(12\\)"):
        memorisation_score(M, T, R, nn_test=np.ones(11))
    for bad in (1, 11, 0):
        with pytest.raises(CosmobenchError, match=f"test_split={bad}; pass a row index leaving >= 2 test maps"):
            memorisation_score(M, T, R, test_split=bad)
    for good in (4, 10):  # U1 (the null pool) needs 4 maps, U2 2
        assert memorisation_score(M, T, R, n_boot=2, n_floor_draws=3, test_split=good).extra["n_test"] == good
    with pytest.raises(CosmobenchError, match="model features have 3 columns but training features have 5"):
        memorisation_score(M[:, :3], T, R)
    with pytest.raises(CosmobenchError, match="test features have 3 columns but training features have 5"):
        memorisation_score(M, T[:, :3], R)
    with pytest.raises(CosmobenchError, match="n_boot=-2"):
        memorisation_score(M, T, R, n_boot=-2)
    with pytest.raises(CosmobenchError, match="n_floor_draws=0"):
        memorisation_score(M, T, R, n_floor_draws=0)
    for who, args in (("model", (np.where(M > 2, np.nan, M), T, R)), ("test", (M, np.where(T > 2, np.inf, T), R)),
                      ("training", (M, T, np.where(R > 2, np.nan, R)))):
        with pytest.raises(CosmobenchError, match=f"rows of {who} summaries contain NaN or Inf"):
            memorisation_score(*args)


def test_memorisation_refuses_a_null_pool_under_four_maps():
    from cosmobench.errors import CosmobenchError

    M, T, R = _memo_sets(15, n=20, t=12, r=50)
    for short, kw in ((3, {"test_split": 3}), (3, {"test_split": None, "n": 7})):
        with pytest.raises(CosmobenchError, match=f"drawn from the first {short} test maps \\(U1\\) and needs at least 4"):
            memorisation_score(M, T[: kw.pop("n", 12)], R, **kw)


def test_memorisation_does_not_depend_on_the_units_of_the_features():
    """Closeness is a ratio of two nearest-neighbour distances: features in other units (× 1e-3, distances well
    below 1) give the same score; only the raw NN medians, a diagnostic, scale."""
    M, T, R = _memo_sets(31, n=30, t=20, r=70)
    base = _numbers(memorisation_score(M, T, R, seed=1, n_boot=10, n_floor_draws=5).to_dict())
    small = _numbers(memorisation_score(M * 1e-3, T * 1e-3, R * 1e-3, seed=1, n_boot=10, n_floor_draws=5).to_dict())
    raw = ("extra.median_nn_model", "extra.median_nn_test")
    assert {k: small[k] for k in raw} == pytest.approx({k: 1e-3 * base[k] for k in raw}, rel=1e-9)
    assert {k: v for k, v in small.items() if k not in raw} == pytest.approx(
        {k: v for k, v in base.items() if k not in raw}, rel=1e-9, abs=1e-15)


def test_memorisation_defaults_are_those_of_the_statistics_scores():
    """Called as evaluate calls it (seed only), memorisation draws 100 bootstrap resamples like score_statistic,
    and its seed defaults to 0 like score_statistic's."""
    import inspect

    M, T, R = _memo_sets(32, n=20, t=12, r=40)
    default = memorisation_score(M, T, R, n_floor_draws=5)
    assert default.extra["n_boot"] == inspect.signature(score_statistic).parameters["n_boot"].default == 100
    assert default.to_dict() == memorisation_score(M, T, R, seed=0, n_boot=100, n_floor_draws=5).to_dict()
    assert inspect.signature(score_statistic).parameters["seed"].default == 0


def test_memorisation_copy_share_is_an_effect_of_the_result_schema():
    """``effects.copy_share`` has the fields every effect has (docs/contracts.md) and prints as a percentage."""
    from cosmobench.presentation import fmt_effect

    M, T, R = _memo_sets(33, n=20, t=12, r=40)
    share = memorisation_score(M, T, R, seed=0, n_boot=5, n_floor_draws=5).effects["copy_share"]
    assert set(share) == {"value", "ci", "null_median", "unit", "description"}
    assert fmt_effect(share).startswith(f"{100 * share['value']:.3g}%") and share["null_median"] == pytest.approx(1 / 7)


def test_memorisation_reference_half_precomputed_is_the_same_score_and_is_what_it_uses():
    """``unseen`` and ``null_values`` (what the evaluation caches) give the score computed from scratch, and are used."""
    from cosmobench.compare.memorisation import closeness_null, unseen_closeness
    from cosmobench.errors import CosmobenchError

    M, T, R = _memo_sets(16, n=20, t=12, r=50)
    base = memorisation_score(M, T, R, seed=0, n_boot=10, n_floor_draws=7, test_split=6)
    unseen = unseen_closeness(T, R, test_split=6)
    # the reference half by hand: U1 = first 6 test rows, closeness to train over closeness to U2, sorted
    d = cdist(T, R).min(axis=1)
    np.testing.assert_allclose(unseen.nn_test, d, rtol=1e-12)
    np.testing.assert_allclose(unseen.closeness, np.sort(d[:6] / cdist(T[:6], T[6:]).min(axis=1)), rtol=1e-12)
    np.testing.assert_array_equal(unseen.u2, T[6:])
    null = closeness_null(unseen.closeness, 20, 7)
    pre = memorisation_score(M, T, R, seed=0, n_boot=10, n_floor_draws=7, unseen=unseen, null_values=null)
    assert pre.to_dict() == base.to_dict()
    # the given null is the one scored: its median is the floor
    shifted = memorisation_score(M, T, R, seed=0, n_boot=10, n_floor_draws=7, unseen=unseen, null_values=null + 5)
    assert shifted.floor == pytest.approx(base.floor + 5, rel=1e-12) and shifted.value == base.value
    with pytest.raises(CosmobenchError, match="null_values has shape \\(6,\\); pass the 7 null draws"):
        memorisation_score(M, T, R, n_floor_draws=7, unseen=unseen, null_values=null[:6])
    with pytest.raises(CosmobenchError, match="unseen was measured on 12 test maps, not these 11"):
        memorisation_score(M, T[:11], R, unseen=unseen)


def test_unseen_closeness_called_on_its_own_names_the_malformed_input():
    """The evaluation calls unseen_closeness directly (to cache it), past memorisation_score's checks: it names
    which features are malformed, with their sizes."""
    from cosmobench.compare.memorisation import unseen_closeness
    from cosmobench.errors import CosmobenchError

    _, T, R = _memo_sets(17, n=1, t=12, r=30)
    bad_t, bad_r = T.copy(), R.copy()
    bad_t[3, 1], bad_r[7, 4] = np.nan, np.inf
    for who, args in (("test", (bad_t, R)), ("training", (T, bad_r))):
        with pytest.raises(CosmobenchError, match=f"^1 rows of {who} summaries contain NaN or Inf"):
            unseen_closeness(*args)
    with pytest.raises(CosmobenchError, match="^test features have 3 columns but training features have 5; use the same features$"):
        unseen_closeness(T[:, :3], R)
    with pytest.raises(CosmobenchError, match="^memorisation needs at least 4 held-out test maps \\(got 3\\) for its null$"):
        unseen_closeness(T[:3], R)


def test_memorisation_with_a_u1_under_four_maps_says_how_many_test_maps_to_pass():
    """4 or 5 test maps, or a split at 2, are enough rows for each check but the first but leave U1 (the null's pool)
    2 maps: the refusal says so and what to pass, not a size rule the input meets ("at least 4 (got 4)")."""
    import re

    from cosmobench.compare.memorisation import unseen_closeness
    from cosmobench.errors import CosmobenchError

    M, T, R = _memo_sets(18, n=10, t=12, r=30)
    says = re.escape("memorisation's null is drawn from the first 2 test maps (U1) and needs at least 4; pass at least "
                     "8 test maps, or a test_split of at least 4")
    for call in (lambda: memorisation_score(M, T[:4], R), lambda: unseen_closeness(T[:4], R),
                 lambda: unseen_closeness(T[:5], R), lambda: memorisation_score(M, T, R, test_split=2),
                 lambda: unseen_closeness(T, R, test_split=2)):
        with pytest.raises(CosmobenchError, match=f"^{says}$"):
            call()
