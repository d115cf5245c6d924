"""Distances between sets of summaries: known cases, the null expectation, constant columns, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from cosmobench.compare.distances import DISTANCES, distance, distance_details, prepare_distance
from cosmobench.errors import CosmobenchError

REQUIRED = ("chi2", "frechet", "hist_w1", "abs_mean", "diversity")


def _gauss(rng, n, d, shift=0.0, scale=1.0, cov_factor=None):
    z = rng.standard_normal((n, d))
    if cov_factor is not None:
        z = z @ cov_factor.T
    return z * scale + shift


def _positive(rng, n, d):
    """Histogram-like rows: non-negative."""
    return rng.random((n, d)) + 0.1


def test_required_distances_registered():
    for name in REQUIRED:
        assert name in DISTANCES
    rng = np.random.default_rng(0)
    X, Y = _positive(rng, 50, 4), _positive(rng, 60, 4)
    for name in REQUIRED:
        assert DISTANCES[name](X, Y) == distance(name, X, Y) >= 0


@pytest.mark.parametrize("name", REQUIRED)
def test_identical_sets_give_zero(name):
    rng = np.random.default_rng(1)
    Y = _positive(rng, 300, 6)
    assert distance(name, Y, Y) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", REQUIRED)
def test_row_order_does_not_matter(name):
    rng = np.random.default_rng(2)
    X, Y = _positive(rng, 1500, 5), _positive(rng, 1200, 5)
    a = distance(name, X, Y)
    b = distance(name, X[rng.permutation(1500)], Y[rng.permutation(1200)])
    assert b == pytest.approx(a, rel=1e-9, abs=1e-14)


def test_chi2_matches_analytic_null_expectation():
    # X, Y ~ N(0, C): x̄ − ȳ ~ N(0, C (1/n + 1/m)), independent of the Wishart S_Y, so
    # E[(x̄−ȳ)ᵀ S_Y⁻¹ (x̄−ȳ)] / d = (1/n + 1/m) (m − 1) / (m − d − 2). Shrinkage at d ≪ m is tiny.
    rng = np.random.default_rng(3)
    n, m, d, reps = 500, 2000, 8, 300
    A = np.eye(d) + 0.4 * rng.standard_normal((d, d))
    vals = [distance("chi2", _gauss(rng, n, d, cov_factor=A), _gauss(rng, m, d, cov_factor=A)) for _ in range(reps)]
    expected = (1 / n + 1 / m) * (m - 1) / (m - d - 2)
    assert np.mean(vals) == pytest.approx(expected, rel=0.10)
    per_dof = distance_details("chi2", _gauss(rng, n, d, cov_factor=A), _gauss(rng, m, d, cov_factor=A))["chi2_per_dof"]
    assert 0.0 < per_dof < 5.0


def test_chi2_shift_is_squared_mahalanobis_per_dimension():
    rng = np.random.default_rng(4)
    d = 4
    X = _gauss(rng, 20000, d, shift=np.array([0.5, 0, 0, 0]))
    Y = _gauss(rng, 20000, d)
    assert distance("chi2", X, Y) == pytest.approx(0.25 / d, rel=0.05)


def test_chi2_scale_invariant_and_handles_d_close_to_m():
    rng = np.random.default_rng(5)
    X, Y = _gauss(rng, 200, 5), _gauss(rng, 300, 5)
    s = np.array([1e-3, 1.0, 1e3, 5.0, 1e6])
    assert distance("chi2", X * s, Y * s) == pytest.approx(distance("chi2", X, Y), rel=1e-6)
    # d comparable to m: the shrunk covariance stays invertible.
    X, Y = _gauss(rng, 150, 100), _gauss(rng, 120, 100)
    v = distance("chi2", X, Y)
    assert np.isfinite(v) and 0 <= v < 1.0


def test_constant_columns_do_not_crash():
    rng = np.random.default_rng(6)
    X, Y = _gauss(rng, 400, 5), _gauss(rng, 500, 5)
    X[:, 2] = 0.0
    Y[:, 2] = 0.0
    X[:, 4] = 3.0
    Y[:, 4] = 3.0
    base = distance("chi2", np.delete(X, [2, 4], axis=1), np.delete(Y, [2, 4], axis=1))
    for name in ("chi2", "frechet", "abs_mean", "diversity"):
        v = distance(name, X, Y)
        assert np.isfinite(v) and v >= 0
    # agreeing constant columns add nothing but their share of d
    assert distance("chi2", X, Y) == pytest.approx(base * 3 / 5, rel=0.05)
    # the model has structures where the reference never does: very large, still finite
    X2 = X.copy()
    X2[:: 50, 2] = 1.0
    v = distance("chi2", X2, Y)
    assert np.isfinite(v) and v > 1e6
    assert np.isfinite(distance("frechet", X2, Y)) and distance("frechet", X2, Y) > 1e6
    # every column constant and equal
    Z = np.zeros((10, 3))
    assert distance("chi2", Z, Z) == 0.0


def test_frechet_matches_scipy_sqrtm_reference():
    rng = np.random.default_rng(7)
    d = 6
    A = np.eye(d) + 0.3 * rng.standard_normal((d, d))
    X = _gauss(rng, 800, d, cov_factor=A * 1.3, shift=0.2)
    Y = _gauss(rng, 900, d, cov_factor=A)
    s = Y.std(axis=0, ddof=1)
    Xs, Ys = (X - Y.mean(0)) / s, (Y - Y.mean(0)) / s
    mx, my = Xs.mean(0), Ys.mean(0)
    Sx, Sy = np.cov(Xs, rowvar=False), np.cov(Ys, rowvar=False)
    ref = (((mx - my) ** 2).sum() + np.trace(Sx + Sy - 2 * np.real(scipy.linalg.sqrtm(Sx @ Sy)))) / d
    assert distance("frechet", X, Y) == pytest.approx(ref, rel=1e-6)


def test_frechet_catches_variance_that_chi2_misses():
    rng = np.random.default_rng(8)
    X, Y = _gauss(rng, 2000, 4, scale=2.0), _gauss(rng, 2000, 4)
    Y2 = _gauss(rng, 2000, 4)
    assert distance("frechet", X, Y) > 20 * distance("frechet", Y2, Y)
    assert distance("chi2", X, Y) < 0.02


def test_hist_w1_in_bin_units():
    p = np.zeros((3, 10))
    q = np.zeros((4, 10))
    p[:, 2] = 1.0
    q[:, 5] = 7.0  # normalisation does not matter
    assert distance("hist_w1", p, q) == pytest.approx(3.0)
    with pytest.raises(CosmobenchError, match="negative"):
        distance("hist_w1", p - 1, q)


def test_abs_mean_and_signed_details():
    X = np.array([[1.0], [3.0]])
    Y = np.array([[4.0], [6.0], [5.0]])
    assert distance("abs_mean", X, Y) == pytest.approx(3.0)
    assert distance_details("abs_mean", X, Y)["signed"] == pytest.approx(-3.0)
    assert distance("abs_mean", X[:, 0], Y[:, 0]) == pytest.approx(3.0)  # 1-D = one column


def test_diversity_flags_collapse():
    rng = np.random.default_rng(9)
    Y = _gauss(rng, 2000, 32)
    fresh = _gauss(rng, 2000, 32)
    collapsed = Y[0] + 1e-3 * rng.standard_normal((2000, 32))
    assert distance("diversity", fresh, Y) < 0.05
    v = distance("diversity", collapsed, Y)
    assert v > 5.0
    assert np.isfinite(distance("diversity", np.tile(Y[0], (50, 1)), Y))  # exact collapse: finite
    det = distance_details("diversity", collapsed, Y)
    assert det["spread_ratio"] < 1e-2


def test_prepared_distance_equals_distance():
    rng = np.random.default_rng(10)
    X, Y = _gauss(rng, 100, 3), _gauss(rng, 150, 3)
    for name in ("chi2", "frechet", "abs_mean", "diversity"):
        f = prepare_distance(name, Y)
        assert f(X)[0] == pytest.approx(distance(name, X, Y), rel=1e-12)


def test_bad_inputs_raise_cosmobench_error():
    rng = np.random.default_rng(11)
    X, Y = _gauss(rng, 10, 3), _gauss(rng, 10, 3)
    with pytest.raises(CosmobenchError, match="unknown distance"):
        distance("kl", X, Y)
    with pytest.raises(CosmobenchError, match="columns"):
        distance("chi2", X, Y[:, :2])
    with pytest.raises(CosmobenchError, match="at least 2"):
        distance("chi2", X[:1], Y)
    with pytest.raises(CosmobenchError, match="at least 2"):
        prepare_distance("chi2", Y[:1])
    with pytest.raises(CosmobenchError, match="NaN"):
        distance("chi2", np.where(X > 1, np.nan, X), Y)
    with pytest.raises(CosmobenchError, match="shape"):
        distance("chi2", X[None], Y)
    with pytest.raises(CosmobenchError, match="columns"):
        prepare_distance("frechet", Y)(X[:, :2])


def test_diversity_fast_bootstrap_equals_resampled_spread():
    from cosmobench.stats.diversity import _spread_rows, pairwise_spread

    rng = np.random.default_rng(12)
    X, Y = _gauss(rng, 1300, 6), _gauss(rng, 900, 6)
    f = prepare_distance("diversity", Y)
    boots = f.bootstrap(X, np.random.default_rng(5), 3)
    a = _spread_rows(X, 1000, 0)  # the rows the value uses
    r = np.random.default_rng(5)
    sy = pairwise_spread(Y)
    for b in range(3):
        w = np.bincount(r.integers(0, 1000, size=1000), minlength=1000)
        resampled = np.repeat(a, w, axis=0)
        assert boots[b] == pytest.approx(abs(np.log(pairwise_spread(resampled, max_rows=None) / sy)), abs=1e-9)


def test_pair_correlation_flags_one_template_collapse_that_spread_misses():
    """One template at random brightness: spread like the reference, but every pair of maps correlates."""
    from cosmobench.compare import distance

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(400, 64))
    template = rng.normal(size=64)
    collapsed = rng.uniform(0.2, 2.0, size=(400, 1)) * template + 0.05 * rng.normal(size=(400, 64))
    fresh = rng.normal(size=(400, 64))
    assert distance("pair_correlation", collapsed, ref) > 0.8
    assert distance("pair_correlation", fresh, ref) < 0.02
    # the distance-based diversity metric sees far less difference in this case
    assert distance("diversity", collapsed, ref) < 1.0


# ------------------------------------------------------------------ exact cases computed here without the code


def _ledoit_wolf_by_rows(Z):
    """Ledoit & Wolf (2004), Lemma 3.2 / Theorem 3.1, with their norm ||A||² = tr(A Aᵀ) / p, one row at a time."""
    m, p = Z.shape
    S = sum(np.outer(z, z) for z in Z) / m
    norm2 = lambda A: float(np.trace(A @ A.T)) / p  # noqa: E731
    mu = float(np.trace(S)) / p
    d2 = norm2(S - mu * np.eye(p))
    b2 = min(sum(norm2(np.outer(z, z) - S) for z in Z) / m**2, d2)
    lam = b2 / d2 if d2 > 0 else 0.0
    return ((1 - lam) * S + lam * mu * np.eye(p)) * m / (m - 1), lam


@pytest.mark.parametrize("m, p", [(200, 4), (15, 10), (6, 30)])
def test_ledoit_wolf_shrinkage_matches_the_estimator_of_the_paper(m, p):
    from cosmobench.compare.distances import _ledoit_wolf

    rng = np.random.default_rng(m + p)
    Z = rng.standard_normal((m, p)) @ (np.eye(p) + 0.5 * rng.standard_normal((p, p)))
    Z -= Z.mean(axis=0)
    C, lam = _ledoit_wolf(Z)
    C_ref, lam_ref = _ledoit_wolf_by_rows(Z)
    assert lam == pytest.approx(lam_ref, rel=1e-10) and 0 < lam <= 1
    np.testing.assert_allclose(C, C_ref, rtol=1e-10, atol=1e-12)


def test_ledoit_wolf_limits():
    from cosmobench.compare.distances import _ledoit_wolf

    # S is already μ I: nothing to shrink towards (d² = 0)
    Z = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    C, lam = _ledoit_wolf(Z)
    assert lam == 0.0 and C == pytest.approx(np.eye(2) * 0.5 * 4 / 3)
    # white rows: the sample covariance's departure from μ I is all noise, b̄² > d², full shrinkage to μ I
    Z = np.random.default_rng(0).standard_normal((200, 4))
    Z -= Z.mean(axis=0)
    C, lam = _ledoit_wolf(Z)
    _, lam_ref = _ledoit_wolf_by_rows(Z)
    assert lam == lam_ref == 1.0
    assert C == pytest.approx(np.eye(4) * np.trace(Z.T @ Z) / (200 * 4) * 200 / 199, rel=1e-12)


def test_chi2_is_the_mahalanobis_form_with_the_shrunk_reference_correlation():
    rng = np.random.default_rng(20)
    n, m, d = 25, 15, 10  # few reference rows: the shrinkage matters
    mix = np.eye(d) + 0.6 * rng.standard_normal((d, d))  # correlated columns: a correlation to shrink
    Y = rng.standard_normal((m, d)) @ mix * np.linspace(0.5, 3.0, d) + 2.0
    X = rng.standard_normal((n, d)) @ mix * np.linspace(0.5, 3.0, d) + 2.3
    s = Y.std(axis=0, ddof=1)
    C, lam = _ledoit_wolf_by_rows((Y - Y.mean(axis=0)) / s)
    z = (X.mean(axis=0) - Y.mean(axis=0)) / s
    want = float(z @ np.linalg.solve(C, z)) / d
    details = distance_details("chi2", X, Y)
    assert distance("chi2", X, Y) == pytest.approx(want, rel=1e-9)
    assert details["chi2_per_dof"] == pytest.approx(want / (1 / n + 1 / m), rel=1e-9)
    assert details["shrinkage"] == pytest.approx(lam, rel=1e-9) and 0.05 < lam < 1
    assert details["constant_columns"] == 0
    f = prepare_distance("chi2", Y)  # the batched form the null and the bootstrap use
    assert f.from_means(np.stack([X.mean(axis=0), Y.mean(axis=0)])) == pytest.approx([want, 0.0], rel=1e-9, abs=1e-15)


def test_constant_columns_are_standardised_by_the_variance_floor():
    """A column the reference never varies is scaled by 1e-6 × max(|ȳ_j|, median std of the live columns):
    a model off by δ there adds (δ / scale)² to the sum, exactly."""
    rng = np.random.default_rng(21)
    Y = rng.standard_normal((40, 4)) * np.array([1.0, 2.0, 1.0, 4.0])
    Y[:, 1] = 5.0  # constant, |ȳ| = 5 above the typical std
    Y[:, 2] = 0.0  # constant at 0: the typical std sets its floor
    X = Y[rng.permutation(40)].copy()  # the same means on every column
    live_std = Y[:, [0, 3]].std(axis=0, ddof=1)
    for col, scale in ((1, 1e-6 * 5.0), (2, 1e-6 * float(np.median(live_std)))):
        Xd = X.copy()
        Xd[:, col] += 1e-7
        assert distance("chi2", Xd, Y) == pytest.approx((1e-7 / scale) ** 2 / 4, rel=1e-6)
        assert distance_details("chi2", Xd, Y)["constant_columns"] == 2
    # every column constant at 0: the floor is 1e-12
    Z = np.zeros((5, 3))
    Zd = Z.copy()
    Zd[:, 0] = 1e-12
    assert distance("chi2", Zd, Z) == pytest.approx(1.0 / 3, rel=1e-9)
    # a live column whose std is tiny but above the floor stays live
    Y2 = rng.standard_normal((40, 2))
    Y2[:, 1] = 1.0 + 1e-3 * rng.standard_normal(40)
    assert distance_details("chi2", Y2, Y2)["constant_columns"] == 0


def test_frechet_terms_split_the_mean_and_the_covariance_mismatch():
    rng = np.random.default_rng(22)
    Y = rng.standard_normal((500, 3))
    X = Y[rng.permutation(500)] + np.array([0.3, 0.0, 0.0])  # a pure shift: same covariance
    s = Y.std(axis=0, ddof=1)
    det = distance_details("frechet", X, Y)
    assert det["mean_term"] == pytest.approx((0.3 / s[0]) ** 2 / 3, rel=1e-9)
    assert det["cov_term"] == pytest.approx(0.0, abs=1e-9)
    assert distance("frechet", X, Y) == pytest.approx(det["mean_term"] + det["cov_term"], rel=1e-12)
    wide = distance_details("frechet", Y * 2.0, Y)  # scaled about the origin: mean ×2, covariance ×4
    # per column: tr(4S + S − 2·2S) = tr S = 3 (standardised), so cov_term = 1
    assert wide["cov_term"] == pytest.approx(1.0, rel=1e-9)


def test_hist_w1_mean_histograms_and_empty_histograms():
    p = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # mean histogram 0.5, 0, 0.5
    q = np.array([[0.0, 2.0, 0.0]])
    q = np.vstack([q, q])
    assert distance("hist_w1", p, q) == pytest.approx(1.0)  # |0.5 − 0| + |0.5 − 1| + 0
    f = prepare_distance("hist_w1", q)
    assert f.from_means(np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 0.0], [3.0, 0.0, 0.0]])) == pytest.approx([1.0, 2.0, 1.0])
    with pytest.raises(CosmobenchError, match="model histograms are empty"):
        distance("hist_w1", np.zeros((2, 3)), q)
    with pytest.raises(CosmobenchError, match="reference histograms are empty"):
        distance("hist_w1", p, np.zeros((2, 3)))
    with pytest.raises(CosmobenchError, match="reference histograms have negative entries"):
        distance("hist_w1", p, -q)


def test_abs_mean_details_in_units_of_the_reference_scatter():
    X = np.array([[1.0, 2.0], [3.0, 2.0]])
    Y = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0]])  # means 2, 5; std 2, 0
    det = distance_details("abs_mean", X, Y)
    assert distance("abs_mean", X, Y) == pytest.approx((0.0 + 3.0) / 2)
    assert det["signed"] == pytest.approx([0.0, -3.0])
    assert det["signed_over_ref_std"][0] == pytest.approx(0.0) and np.isnan(det["signed_over_ref_std"][1])
    one = distance_details("abs_mean", X[:, :1] + 1.0, Y[:, :1])
    assert one == {"signed": pytest.approx(1.0), "signed_over_ref_std": pytest.approx(0.5)}
    assert prepare_distance("abs_mean", Y).from_means(np.array([[2.0, 5.0], [3.0, 3.0]])) == pytest.approx([0.0, 1.5])
    # a reference scatter below 1 is a scale like any other; the constant column's undefined entry raises no warning
    small = distance_details("abs_mean", X[:, :1] * 0.1, Y[:, :1] * 0.1 + 0.05)  # std 0.2, shift -0.05
    assert small["signed_over_ref_std"] == pytest.approx(-0.25)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(distance_details("abs_mean", X, Y)["signed_over_ref_std"][1])
        assert np.isnan(distance_details("abs_mean", Y, Y)["signed_over_ref_std"][1])  # 0 / 0


def test_diversity_details_of_small_spreads():
    """The spreads and their ratio are reported whatever their size (features of 1e-3 here)."""
    rng = np.random.default_rng(35)
    X, Y = 1e-3 * rng.standard_normal((20, 4)), 2e-3 * rng.standard_normal((30, 4))
    det = distance_details("diversity", X, Y)
    assert det["spread_ratio"] == pytest.approx(det["spread_model"] / det["spread_ref"], rel=1e-12)
    assert 0.3 < det["spread_ratio"] < 0.7 and distance("diversity", X, Y) == pytest.approx(-np.log(det["spread_ratio"]))


def test_diversity_of_identical_and_fully_collapsed_sets():
    Y = np.random.default_rng(23).standard_normal((50, 4))
    same = np.tile(Y[0], (30, 1))
    assert distance("diversity", same, Y) == pytest.approx(-np.log(1e-12), rel=1e-12)  # capped at 1e-12 × spread
    assert distance("diversity", Y, same) == pytest.approx(-np.log(1e-12), rel=1e-12)
    assert distance("diversity", same, same) == 0.0
    assert distance_details("diversity", same, same)["spread_ratio"] is None
    det = distance_details("diversity", Y * 3.0, Y)
    assert det["spread_ratio"] == pytest.approx(3.0) and distance("diversity", Y * 3.0, Y) == pytest.approx(np.log(3.0))
    assert distance("diversity", Y / 3.0, Y) == pytest.approx(np.log(3.0))  # |log|: both directions


def test_mean_pair_correlation_is_the_mean_off_diagonal_correlation():
    from cosmobench.compare.distances import _mean_pair_correlation

    rng = np.random.default_rng(24)
    A = rng.standard_normal((40, 12)) + 0.6 * rng.standard_normal(12)
    R = np.corrcoef(A)
    assert _mean_pair_correlation(A) == pytest.approx(R[~np.eye(40, dtype=bool)].mean(), rel=1e-10)
    a = rng.standard_normal(12)
    assert _mean_pair_correlation(np.stack([a, -a])) == pytest.approx(-1.0)
    assert _mean_pair_correlation(np.stack([a, 2 * a + 1, 3 * a])) == pytest.approx(1.0)
    # a constant row (no fluctuations) correlates with nothing: its pairs count as 0
    three = np.stack([a, a, np.full(12, 4.0)])
    assert _mean_pair_correlation(three) == pytest.approx((1.0 + 0 + 0) / 3)
    det = distance_details("pair_correlation", np.stack([a, -a, a]), np.stack([a, 2 * a]))
    assert det == {"pair_correlation_model": pytest.approx(-1 / 3), "pair_correlation_ref": pytest.approx(1.0)}


def test_pair_correlation_fast_bootstrap_equals_resampled_rows():
    """ρ* of a resample = mean correlation over pairs of drawn rows that are different original rows."""
    from cosmobench.compare.distances import _unit_rows

    rng = np.random.default_rng(25)
    X, Y = rng.standard_normal((30, 8)) + 0.4 * rng.standard_normal(8), rng.standard_normal((40, 8))
    f = prepare_distance("pair_correlation", Y)
    ry = distance_details("pair_correlation", X, Y)["pair_correlation_ref"]
    boots = f.bootstrap(X, np.random.default_rng(3), 4)
    a = _unit_rows(X)
    r = np.random.default_rng(3)
    for b in range(4):
        draw = r.integers(0, 30, size=30)
        C = a[draw] @ a[draw].T
        other = draw[:, None] != draw[None, :]
        assert boots[b] == pytest.approx(abs(C[other].mean() - ry), rel=1e-10)


def test_distance_objects_check_their_inputs():
    from cosmobench.compare.distances import get_distance

    rng = np.random.default_rng(26)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((6, 3))
    with pytest.raises(CosmobenchError, match="'frechet' distance needs at least 2 reference rows, got 1"):
        get_distance("frechet")(X, Y[:1])
    with pytest.raises(CosmobenchError, match="'frechet' distance needs at least 2 model rows, got 1"):
        get_distance("frechet")(X[:1], Y)
    what_to_do = "compare summaries of the same statistic with the same settings"
    with pytest.raises(CosmobenchError, match=f"model summaries have 2 columns but reference summaries have 3; {what_to_do}$"):
        get_distance("chi2")(X[:, :2], Y)
    # the messages say which side is malformed
    with pytest.raises(CosmobenchError, match="1 rows of reference summaries contain NaN or Inf"):
        get_distance("chi2")(X, np.where(np.arange(6)[:, None] == 2, np.nan, Y))
    with pytest.raises(CosmobenchError, match="1 rows of model summaries contain NaN or Inf"):
        get_distance("chi2")(np.where(np.arange(5)[:, None] == 0, np.inf, X), Y)
    f = prepare_distance("chi2", Y)
    assert f.reference_rows == 6 and f.spec is get_distance("chi2")
    with pytest.raises(CosmobenchError, match="'chi2' distance needs at least 2 model rows, got 1"):
        f(X[:1])
    assert f(X[:2])[0] >= 0  # two rows are enough
    with pytest.raises(CosmobenchError, match=f"model summaries have 2 columns but reference summaries have 3; {what_to_do}$"):
        f(X[:, :2])
    with pytest.raises(CosmobenchError, match="1 rows of model summaries contain NaN or Inf"):
        f(np.where(np.arange(5)[:, None] == 1, np.nan, X))
    with pytest.raises(CosmobenchError, match=r"from_means needs \(K, 3\) mean vectors, got shape \(3,\)"):
        f.from_means(X[0])
    with pytest.raises(CosmobenchError, match=r"from_means needs \(K, 3\) mean vectors, got shape \(1, 2\)"):
        f.from_means(X[:1, :2])
    for name in ("frechet", "diversity", "pair_correlation"):  # need more than the column means
        assert prepare_distance(name, Y).from_means is None
    for name in ("chi2", "hist_w1", "abs_mean"):
        g = prepare_distance(name, np.abs(Y))
        assert g.from_means(np.abs(X).mean(axis=0)[None])[0] == pytest.approx(g(np.abs(X))[0], rel=1e-12)
        small = np.abs(X) * 1e-3  # histogram rows that sum to less than 1 are renormalised too
        assert g.from_means(small.mean(axis=0)[None])[0] == pytest.approx(g(small)[0], rel=1e-12)
        assert g.from_means(np.abs(X).mean(axis=0)[None]).dtype == np.float64
    with pytest.raises(CosmobenchError, match="unknown distance \\['chi2'\\]"):
        get_distance(["chi2"])
    with pytest.raises(CosmobenchError, match="'chi2' distance needs at least 2 reference rows, got 1: pass more maps"):
        prepare_distance("chi2", Y[:1])  # 1 row of 3 columns
    with pytest.raises(CosmobenchError, match="^1 rows of reference summaries contain NaN or Inf"):
        prepare_distance("chi2", np.where(np.arange(6)[:, None] == 4, np.inf, Y))


def test_row_limited_distances_use_one_fixed_subset_of_a_large_set():
    """Above 1,000 rows the spread and the pair correlation use a fixed-seed subset: the same number every call,
    the number of that subset."""
    from cosmobench.compare.distances import DIVERSITY_MAX_ROWS, DIVERSITY_SEED, _mean_pair_correlation
    from cosmobench.stats.diversity import _spread_rows

    rng = np.random.default_rng(27)
    X = rng.standard_normal((1300, 6)) + 0.3 * rng.standard_normal(6)
    Y = rng.standard_normal((40, 6))
    sub = _spread_rows(X, DIVERSITY_MAX_ROWS, DIVERSITY_SEED)
    assert sub.shape == (1000, 6)
    assert _mean_pair_correlation(X) == _mean_pair_correlation(X) == pytest.approx(_mean_pair_correlation(sub), rel=1e-12)
    for name in ("pair_correlation", "diversity"):
        assert distance(name, X, Y) == distance(name, X, Y) == pytest.approx(distance(name, sub, Y), rel=1e-12)


def test_variance_floor_of_small_live_columns_and_of_an_all_constant_reference():
    """The floor's typical scale is the median std of the live columns whatever their size (stds of 0.01-0.03 here);
    a reference constant in every column is floored at 1e-6 × |ȳ_j| and needs no shrinkage."""
    rng = np.random.default_rng(28)
    Y = rng.standard_normal((40, 3)) * np.array([0.01, 1.0, 0.03])
    Y[:, 1] = 0.0
    typical = float(np.median(Y[:, [0, 2]].std(axis=0, ddof=1)))
    Xd = Y.copy()
    Xd[:, 1] += 1e-9
    assert distance("chi2", Xd, Y) == pytest.approx((1e-9 / (1e-6 * typical)) ** 2 / 3, rel=1e-6)
    C = np.full((6, 2), 5.0)
    Cd = C.copy()
    Cd[:, 0] += 5e-6
    assert distance("chi2", Cd, C) == pytest.approx(1.0 / 2, rel=1e-9)
    assert distance_details("chi2", Cd, C)["shrinkage"] == 0.0


def test_pair_correlation_is_scale_free_and_its_bootstrap_handles_blank_and_repeated_maps():
    """Correlations do not depend on the size of the features; a blank map (constant features) correlates with
    nothing in the bootstrap too; a resample that draws one map for every slot has no pair and scores 0."""
    from cosmobench.compare.distances import _unit_rows

    rng = np.random.default_rng(29)
    X, Y = rng.standard_normal((12, 6)) + 0.5 * rng.standard_normal(6), rng.standard_normal((20, 6))
    assert distance("pair_correlation", X * 1e-3, Y * 1e-3) == pytest.approx(distance("pair_correlation", X, Y), rel=1e-10)
    X[4] = 2.5  # blank
    f = prepare_distance("pair_correlation", Y)
    ry = distance_details("pair_correlation", X, Y)["pair_correlation_ref"]
    boots, a, r = f.bootstrap(X, np.random.default_rng(5), 6), _unit_rows(X), np.random.default_rng(5)
    for b in range(6):
        draw = r.integers(0, 12, size=12)
        C = a[draw] @ a[draw].T
        assert boots[b] == pytest.approx(abs(C[draw[:, None] != draw[None, :]].mean() - ry), rel=1e-10)
    two = f.bootstrap(X[:2], np.random.default_rng(0), 40)  # half the resamples draw one of the two maps twice
    single = np.random.default_rng(0).integers(0, 2, size=(40, 2))
    lone = single[:, 0] == single[:, 1]
    assert lone.any() and (two[lone] == 0.0).all()
    assert two[~lone] == pytest.approx(abs(distance_details("pair_correlation", X[:2], Y)["pair_correlation_model"] - ry))


def test_row_limited_distances_of_a_large_reference_use_its_fixed_subset():
    from cosmobench.compare.distances import DIVERSITY_MAX_ROWS, DIVERSITY_SEED
    from cosmobench.stats.diversity import _spread_rows

    rng = np.random.default_rng(30)
    Y = rng.standard_normal((1200, 5))
    for name in ("diversity", "pair_correlation"):
        assert distance(name, Y, Y) == 0.0
        X = rng.standard_normal((30, 5))
        assert distance(name, X, Y) == pytest.approx(distance(name, X, _spread_rows(Y, DIVERSITY_MAX_ROWS, DIVERSITY_SEED)),
                                                     rel=1e-12)
