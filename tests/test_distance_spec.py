"""The Distance spec objects: one registry, the generic bootstrap; the floor is the measured null's median."""

from __future__ import annotations

import numpy as np
import pytest

from cosmobench.compare.distances import (
    DISTANCE_DESCRIPTIONS,
    DISTANCES,
    Distance,
    PreparedDistance,
    distance,
    get_distance,
    prepare_distance,
)
from cosmobench.compare.score import score_statistic
from cosmobench.errors import CosmobenchError


def _rows(seed, n, d=4):
    return np.random.default_rng(seed).random((n, d)) + 0.1


def test_registry_is_the_one_list_of_distances():
    X, Y = _rows(0, 40), _rows(1, 50)
    assert set(DISTANCE_DESCRIPTIONS) == set(DISTANCES)
    for name, spec in DISTANCES.items():
        assert isinstance(spec, Distance) and spec.name == name and spec.description
        assert spec(X, Y) == distance(name, X, Y)
        assert get_distance(name) is spec
        assert isinstance(prepare_distance(name, Y), PreparedDistance)
    with pytest.raises(CosmobenchError, match="unknown distance 'kl'; use one of"):
        get_distance("kl")


@pytest.mark.parametrize("name", ["chi2", "frechet", "hist_w1", "abs_mean"])
def test_generic_bootstrap_resamples_rows_with_the_given_stream(name):
    X, Y = _rows(2, 30), _rows(3, 60)
    f = prepare_distance(name, Y)
    got = f.bootstrap(X, np.random.default_rng(7), 5)
    rng = np.random.default_rng(7)
    want = [distance(name, X[np.sort(rng.integers(0, 30, size=30))], Y) for _ in range(5)]
    np.testing.assert_array_equal(got, want)
    assert f.bootstrap(X, np.random.default_rng(7), 0).shape == (0,)


@pytest.mark.parametrize("name", ["abs_mean", "pair_correlation", "chi2"])
def test_score_floor_is_the_measured_null_median(name):
    # no distance has a floor rule of its own: the measured null (sets of held-out rows drawn like
    # n independent maps) is not degenerate for whole periodic boxes, so its median is the floor
    rng = np.random.default_rng(5)
    d = 1 if name == "abs_mean" else 6
    X, Y, F = (rng.standard_normal((k, d)) for k in (80, 120, 400))
    s = score_statistic("m", name, X, Y, F, seed=1, n_boot=3, n_floor_draws=49)
    assert s.floor == s.null["median"] and s.null["draws"] == 49
    assert 0 < s.p_value <= 1 and s.p_value * 50 == pytest.approx(round(s.p_value * 50))  # (k + 1) / (K + 1)
