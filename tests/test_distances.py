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
