"""Diversity features, spread, pixel variance and nearest-neighbour distances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist, pdist

from cosmobench.errors import CosmobenchError
from cosmobench.stats.diversity import (
    DiversityStatistic,
    map_features,
    nearest_neighbour_distances,
    pairwise_spread,
    pixel_variance_ratio,
)


def _lognormal_maps(rng, n, size=64):
    g = rng.standard_normal((n, size, size))
    return (np.exp(g - 0.5) - 1.0).astype(np.float32)  # δ ≥ −1, mean ≈ 0


def test_map_features_are_block_means_of_log_density():
    maps = np.zeros((2, 64, 64))
    maps[0, :4, :4] = 9.0  # block (0, 0): log10(10) = 1
    maps[1, 60:, 60:] = -1.0  # block (15, 15): empty pixels clip at 1e-3 -> -3
    maps[1, 0, 0] = 1.0
    f = map_features(maps)
    assert f.shape == (2, 256) and f.dtype == np.float64
    assert f[0, 0] == pytest.approx(1.0) and np.allclose(f[0, 1:], 0.0)
    assert f[1, 255] == pytest.approx(-3.0)
    assert f[1, 0] == pytest.approx(np.log10(2.0) / 16)


def test_map_features_reject_bad_maps():
    with pytest.raises(CosmobenchError, match="multiple of 16"):
        map_features(np.random.default_rng(0).random((2, 40, 40)))
    bad = np.random.default_rng(0).random((2, 64, 64))
    bad[1, 3, 3] = np.nan
    with pytest.raises(CosmobenchError, match="NaN"):
        map_features(bad)
    with pytest.raises(CosmobenchError, match="below −1|< −1"):
        map_features(bad[:1] - 5)


def test_pairwise_spread_exact_and_subsampled():
    assert pairwise_spread([[0.0, 0.0], [3.0, 4.0]]) == pytest.approx(5.0)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((300, 7)) + 1e3  # large offset: centring keeps it accurate
    assert pairwise_spread(a) == pytest.approx(pdist(a).mean(), rel=1e-9)
    b = rng.standard_normal((3000, 7))
    sub = pairwise_spread(b, max_rows=1000)
    assert sub == pytest.approx(pdist(b[::3]).mean(), rel=0.02)
    assert pairwise_spread(b[rng.permutation(3000)], max_rows=1000) == sub  # order-independent
    assert pairwise_spread(np.ones((50, 3))) == 0.0
    tiny = np.ones((50, 3)) + 1e-9 * rng.standard_normal((50, 3))
    assert pairwise_spread(tiny) == pytest.approx(pdist(tiny).mean(), rel=1e-3)
    with pytest.raises(CosmobenchError, match="at least 2"):
        pairwise_spread(np.ones((1, 3)))


def test_pixel_variance_ratio_detects_collapse():
    rng = np.random.default_rng(2)
    ref = _lognormal_maps(rng, 64)
    fresh = _lognormal_maps(rng, 64)
    one = _lognormal_maps(rng, 1)[0]
    collapsed = np.clip(one + 0.01 * rng.standard_normal((64, 64, 64)), -1, None).astype(np.float32)
    assert 0.7 < pixel_variance_ratio(fresh, ref) < 1.4
    assert 0.7 < pixel_variance_ratio(fresh, ref, log=True) < 1.4
    assert pixel_variance_ratio(collapsed, ref) < 0.01
    with pytest.raises(CosmobenchError, match="32x32|needs 64x64"):
        pixel_variance_ratio(fresh, ref[:, :32, :32])
    with pytest.raises(CosmobenchError, match="at least 2"):
        pixel_variance_ratio(fresh[:1], ref)


def test_nearest_neighbour_distances_match_brute_force():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((137, 12)) + 50.0
    b = rng.standard_normal((91, 12)) + 50.0
    ref = cdist(a, b).min(axis=1)
    assert np.allclose(nearest_neighbour_distances(a, b, chunk=10), ref, rtol=1e-12)
    assert np.allclose(nearest_neighbour_distances(a, b), ref, rtol=1e-12)
    copies = b[:20] + 1e-7
    nn = nearest_neighbour_distances(copies, b, chunk=7)
    assert np.allclose(nn, 1e-7 * np.sqrt(12), rtol=1e-4)  # near-copies measured accurately
    assert np.all(nearest_neighbour_distances(b, b) == 0.0)
    with pytest.raises(CosmobenchError, match="columns"):
        nearest_neighbour_distances(a, b[:, :3])


def test_nearest_neighbour_is_exact_where_float32_cannot_tell_the_candidates_apart():
    """The float32 screen keeps every candidate within its rounding bound: the float64 winner is found.

    Each query sits between two candidates whose distances differ by ~1e-9 relative, far below float32's
    resolution of the screened distances (~1e-7 of ‖b‖²), in both orders; a screen that kept only its own
    float32 minimum (or a bound too tight) picks the wrong one about half the time.
    """
    rng = np.random.default_rng(11)
    d = 256
    base = rng.standard_normal((300, d))
    step = rng.standard_normal((300, d))
    step *= 0.3 / np.linalg.norm(step, axis=1, keepdims=True)
    far = base + step  # |q - base| = |q - far| up to the nudge below
    q = base + 0.5 * step
    nudge = rng.choice([-1.0, 1.0], size=(300, 1)) * 1e-9 * step
    q = q + nudge  # nearer to far (+) or to base (-), by a margin of ~1e-9 relative
    b = np.concatenate([base, far, rng.standard_normal((2000, d))])
    brute = cdist(q, b).min(axis=1)
    nn = nearest_neighbour_distances(q, b)
    assert np.allclose(nn, brute, rtol=1e-13, atol=0)  # a wrong pick is ~2e-9 off
    which = cdist(q, b).argmin(axis=1)
    assert {int(x < 300) for x in which} == {0, 1}  # both orders occur: the test has teeth
    # the screened float32 minimum alone disagrees with float64 on a good share of these rows
    b32 = b.astype(np.float32)
    v = (b32 * b32).sum(1)[None, :] - 2 * q.astype(np.float32) @ b32.T
    assert np.mean(v.argmin(axis=1) != which) > 0.1



def test_nearest_neighbour_tiles_carry_each_rows_best_across_tiles(monkeypatch):
    """Tiny tiles (7 query rows × 16 candidates) give the one-tile answer, with near-tied candidates in different
    tiles: a row's running minimum and best candidate must carry from tile to tile."""
    import cosmobench.stats.nearest as nearest

    rng = np.random.default_rng(12)
    d = 64
    base = rng.standard_normal((60, d))
    step = rng.standard_normal((60, d))
    step *= 0.3 / np.linalg.norm(step, axis=1, keepdims=True)
    q = base + 0.5 * step + rng.choice([-1.0, 1.0], size=(60, 1)) * 1e-9 * step
    # base rows first, their near-tied partners 100 rows on, random rows between and after
    b = np.concatenate([base, rng.standard_normal((40, d)), base + step, rng.standard_normal((25, d))])
    whole = nearest_neighbour_distances(q, b)
    monkeypatch.setattr(nearest, "_ROW_TILE", 7)
    monkeypatch.setattr(nearest, "_COL_TILE", 16)
    tiled = nearest_neighbour_distances(q, b)
    np.testing.assert_array_equal(tiled, whole)
    np.testing.assert_allclose(tiled, cdist(q, b).min(axis=1), rtol=1e-13, atol=0)
    assert {int(x < 60) for x in cdist(q, b).argmin(axis=1)} == {0, 1}  # winners in both tiles

def test_diversity_statistic():
    stat = DiversityStatistic()
    assert (stat.name, stat.version, stat.distance) == ("diversity", "1", "diversity")
    maps = _lognormal_maps(np.random.default_rng(4), 5)
    s = stat.summarize(maps)
    assert s.shape == (5, 256) and s.dtype == np.float64
    assert np.array_equal(s, map_features(maps))
    with pytest.raises(CosmobenchError, match="64x64"):
        stat.summarize(maps[:, :32, :32])
