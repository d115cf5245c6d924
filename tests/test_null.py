"""The measured null (cosmobench.compare.null) on exact small cases: set sizes, p-values, box bootstrap, records.

``test_score_layer.py`` ties the null to the scores (median = floor, subsets of the pool, half-normal scale);
here each piece of the null is pinned by itself: the finite-population set size on hand-computed cases, the
p-value's counting in both tails, what the box bootstrap may and may not draw, and the record it is cached as.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from cosmobench.compare.distances import DIVERSITY_MAX_ROWS, distance
from cosmobench.compare.null import (
    NULL_DRAWS,
    NullDistribution,
    draw_sets,
    null_distribution,
    null_note,
    null_set_size,
    p_value,
    rows_seen,
)
from cosmobench.errors import CosmobenchError


def test_row_limited_distances_see_at_most_their_subset():
    assert rows_seen("diversity", 5000) == rows_seen("pair_correlation", 5000) == DIVERSITY_MAX_ROWS == 1000
    assert rows_seen("diversity", 10) == 10 and rows_seen("pair_correlation", 1000) == 1000
    assert rows_seen("chi2", 5000) == 5000 and rows_seen("abs_mean", 3) == 3


@pytest.mark.parametrize("rows, pool, size", [
    (100, 1000, 91),  # 100·1000/1100 = 90.9
    (2048, 18432, 1843),  # 2048·18432/20480 = 1843.2
    (1, 100, 2),  # 0.99 rounds to 1: a set has at least 2 rows
    (10_000, 64, 32),  # capped at half the pool
    (4, 4, 2),  # the smallest pool
    (3, 5, 2),  # 15/8 = 1.9 rounds to 2 = 5 // 2
    (30, 60, 20),  # exact
])
def test_null_set_size_by_hand(rows, pool, size):
    assert null_set_size(rows, pool) == size


def test_null_set_size_needs_four_pool_rows():
    assert null_set_size(10, 4) == 2
    with pytest.raises(CosmobenchError, match="at least 4 reference maps outside the compare set, got 3"):
        null_set_size(10, 3)


def test_p_value_counts_each_tail_and_treats_non_finite_values_as_extreme():
    null = np.arange(1.0, 100.0)  # 1, 2, ..., 99
    assert p_value(10.0, null) == (90 + 1) / 100  # 10..99 are >= 10
    assert p_value(10.0, null, "lower") == (10 + 1) / 100  # 1..10 are <= 10
    assert p_value(10.5, null, "lower") == (10 + 1) / 100 and p_value(10.5, null) == (89 + 1) / 100
    assert p_value(0.0, null, "lower") == 1 / 100 and p_value(1000.0, null, "lower") == 1.0
    for bad in (float("nan"), float("inf"), -float("inf")):
        assert p_value(bad, null) == p_value(bad, null, "lower") == 1 / 100
    assert p_value(3.0, [3.0, 3.0, 3.0]) == 1.0  # ties count as "at least as far"
    with pytest.raises(CosmobenchError, match="tail must be 'upper' or 'lower', got 'both'"):
        p_value(1.0, null, "both")


def test_null_distribution_record_summary_and_cache_round_trip():
    values = np.array([4.0, 1.0, 3.0, 2.0, 10.0])
    nd = NullDistribution(values, set_size=7, pool=20, rows=9, effects={"pk": np.array([0.1, -0.2])})
    assert nd.median == 3.0
    assert nd.p_value(3.0) == (3 + 1) / 6 and nd.p_value(3.0, "lower") == (3 + 1) / 6
    assert nd.p_value(2.5) == (3 + 1) / 6 and nd.p_value(2.5, "lower") == (2 + 1) / 6
    s = nd.summary()
    lo, hi = np.percentile(values, [2.5, 97.5])
    assert s == {"draws": 5, "median": 3.0, "lo": lo, "hi": hi, "set_size": 7, "pool": 20, "rows": 9,
                 "scheme": "random sets from box bootstraps of the pooled boxes, finite-population matched"}
    assert lo == pytest.approx(1.1) and hi == pytest.approx(9.4)
    assert "note" not in s and NullDistribution(values, 7, 20, 9, note="too few").summary()["note"] == "too few"
    arrays = nd.to_arrays()
    assert arrays["meta"].tolist() == [7, 20, 9] and arrays["meta"].dtype == np.int64
    back = NullDistribution.from_arrays(arrays, note="n")
    assert back.values.tolist() == values.tolist() and back.values.dtype == np.float64
    assert (back.set_size, back.pool, back.rows, back.note) == (7, 20, 9, "n")
    assert list(back.effects) == ["pk"] and back.effects["pk"].tolist() == [0.1, -0.2]
    bare = NullDistribution.from_arrays({"values": [1, 2], "meta": np.array([2, 4, 2])})
    assert bare.effects == {} and bare.note == "" and "note" not in bare.summary() and bare.values.dtype == np.float64


def test_null_note_says_when_the_pool_is_too_small():
    assert null_note(100, 1000, 91) == "" and null_note(100, 1000, 95) == ""
    note = null_note(400, 300, 150)  # 400 independent maps would need 171 of the 300
    assert "300 maps" in note and "400 independent maps" in note and "sets of 150" in note and "conservative" in note


def test_draw_sets_are_distinct_sorted_subsets_reproducible_per_seed():
    sets = list(draw_sets(30, 7, 50, seed=11))
    assert len(sets) == 50
    for idx in sets:
        assert idx.shape == (7,) and np.all(np.diff(idx) > 0) and idx.min() >= 0 and idx.max() < 30
    assert [s.tolist() for s in draw_sets(30, 7, 50, seed=11)] == [s.tolist() for s in sets]
    assert [s.tolist() for s in draw_sets(30, 7, 50, seed=12)] != [s.tolist() for s in sets]
    assert len({tuple(s) for s in sets}) > 45  # C(30, 7) = 2 million: repeats are rare
    # every row is as likely: over many sets each of the 30 rows appears ~ 7/30 of the time
    counts = np.bincount(np.concatenate(list(draw_sets(30, 7, 3000, seed=1))), minlength=30) / 3000
    assert np.allclose(counts, 7 / 30, atol=4 * math.sqrt(7 / 30 * (23 / 30) / 3000))


def test_box_bootstrap_resamples_whole_boxes():
    """Two boxes of 10 rows, sets of 5: the bootstrap draws the same box twice half of the time, and then every
    row of the set comes from that box. Fixed-pool sets are single-box only 2·C(10,5)/C(20,5) = 3.3 % of the time."""
    strata = np.repeat([7, 3], 10)  # box labels need not be 0..B-1
    share = {}
    for name, st in (("fixed", None), ("boxes", strata)):
        sets = list(draw_sets(20, 5, 2000, seed=3, strata=st))
        assert all(len(np.unique(s)) == 5 for s in sets)
        share[name] = np.mean([len(set(strata[s])) == 1 for s in sets])
    assert share["fixed"] == pytest.approx(2 * math.comb(10, 5) / math.comb(20, 5), abs=0.015)
    assert share["boxes"] == pytest.approx(0.5 + 0.5 * share["fixed"], abs=0.04)
    # one box is no bootstrap at all: the pool is taken as fixed
    assert [s.tolist() for s in draw_sets(20, 5, 30, seed=3, strata=np.zeros(20))] == \
        [s.tolist() for s in draw_sets(20, 5, 30, seed=3)]


def test_box_bootstrap_never_draws_a_box_it_did_not_resample():
    """Box A of 2 rows, box B of 8, sets of 4. A resample (A, A) has only 2 rows to give, so it is drawn again:
    sets come from (A, B) (2/3 of the kept resamples; 4 of 10 equally weighted rows) or (B, B). Both A rows
    are in a set with probability 2/3 · C(8,2)/C(10,4) = 0.089 (0.317 if the thin resample were padded)."""
    strata = np.array([0, 0] + [1] * 8)
    sets = list(draw_sets(10, 4, 3000, seed=5, strata=strata))
    both_a = np.mean([{0, 1} <= set(s.tolist()) for s in sets])
    assert both_a == pytest.approx(2 / 3 * math.comb(8, 2) / math.comb(10, 4), abs=0.02)
    no_a = np.mean([not ({0, 1} & set(s.tolist())) for s in sets])
    # (B, B): 1/3 of kept resamples, no A row; (A, B): no A row with probability C(8,4)/C(10,4) = 1/3
    assert no_a == pytest.approx(1 / 3 + 2 / 3 * math.comb(8, 4) / math.comb(10, 4), abs=0.03)


def test_null_distribution_is_the_distance_of_each_drawn_set():
    rng = np.random.default_rng(0)
    Y, P = rng.standard_normal((40, 3)), rng.standard_normal((24, 3))
    strata = np.repeat(np.arange(4), 6)
    for dist in ("chi2", "frechet"):  # a mean-based distance (one batched call) and a per-set one
        nd = null_distribution(dist, Y, P, 12, draws=9, seed=4, strata=strata)
        assert (nd.set_size, nd.pool, nd.rows) == (null_set_size(12, 24), 24, 12) and nd.note == ""
        want = [distance(dist, P[idx], Y) for idx in draw_sets(24, nd.set_size, 9, 4, strata)]
        assert nd.values == pytest.approx(want, rel=1e-9)
    with pytest.raises(CosmobenchError, match="one box label per pool row \\(24\\)"):
        null_distribution("chi2", Y, P, 12, draws=3, strata=strata[:-1])
    for bad in (0, 2.5):
        with pytest.raises(CosmobenchError, match="positive integer"):
            null_distribution("chi2", Y, P, 12, draws=bad)
    assert null_distribution("chi2", Y, P, 12).values.size == NULL_DRAWS


def test_null_effects_are_the_effects_of_each_set_mean():
    rng = np.random.default_rng(1)
    Y, P = rng.standard_normal((30, 2)), rng.standard_normal((16, 2))
    E = rng.standard_normal((16, 3))  # effect rows: other per-map numbers than the summaries
    seen = []

    def effects(means):
        seen.append(means.copy())
        return {"first": means[:, 0], "sum": means.sum(axis=1)}

    nd = null_distribution("abs_mean", Y, P, 6, effects=effects, effect_rows=E, draws=5, seed=2)
    means = np.array([E[idx].mean(axis=0) for idx in draw_sets(16, nd.set_size, 5, 2)])
    assert len(seen) == 1 and seen[0] == pytest.approx(means, rel=1e-12)
    assert nd.effects["first"] == pytest.approx(means[:, 0]) and nd.effects["sum"] == pytest.approx(means.sum(axis=1))
    assert nd.effects["sum"].dtype == np.float64
    # without effect rows the pool's own rows feed the effects
    nd2 = null_distribution("abs_mean", Y, P, 6, effects=effects, draws=5, seed=2)
    assert nd2.effects["first"] == pytest.approx([P[idx, 0].mean() for idx in draw_sets(16, nd2.set_size, 5, 2)])
    assert null_distribution("abs_mean", Y, P, 6, draws=5, seed=2).effects == {}


def test_null_of_a_small_pool_carries_its_note():
    rng = np.random.default_rng(2)
    Y, P = rng.standard_normal((30, 2)), rng.standard_normal((8, 2))
    nd = null_distribution("chi2", Y, P, 50, draws=4)
    assert nd.set_size == 4 and nd.note == null_note(50, 8, 4) != ""


def test_null_of_the_row_limited_distances_uses_the_rows_they_see():
    rng = np.random.default_rng(3)
    Y, P = rng.standard_normal((40, 4)), rng.standard_normal((3000, 4))
    nd = null_distribution("diversity", Y, P, 5000, draws=2)
    assert nd.rows == 1000 and nd.set_size == null_set_size(1000, 3000) == 750


def test_null_sets_are_every_possible_subset_over_many_draws():
    """Pool of 6, model of 3: sets of round(18/9) = 2 rows; 300 draws reach all C(6, 2) = 15 pairs."""
    sets = {tuple(s.tolist()) for s in draw_sets(6, 2, 300, seed=0)}
    assert sets == set(itertools.combinations(range(6), 2))


def test_box_bootstrap_set_is_the_rows_with_the_largest_weighted_keys():
    """Efraimidis–Spirakis: each row draws u ~ U(0, 1) and the set is the ``size`` rows with the largest
    u^(1/w), w the multiplicity of the row's box in the resample (w = 0: never drawn), computed here from the
    same stream of each draw, silently (the log of the keys of unresampled boxes is -inf by design)."""
    for sizes, size in (([3, 5, 8, 2, 6, 4], 9), ([40] * 30, 300)):  # a small pool and one of 1,200 rows
        _check_weighted_keys(np.repeat(np.arange(len(sizes)), sizes), size)


def _check_weighted_keys(strata, size):
    import warnings

    boxes, inv = np.unique(strata, return_inverse=True)
    pool, B = strata.size, boxes.size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sets = list(draw_sets(pool, size, 40, seed=11, strata=strata))
    for ss, got in zip(np.random.SeedSequence([11, pool, size]).spawn(40), sets):
        rng = np.random.default_rng(ss)
        w = np.bincount(rng.integers(0, B, B), minlength=B)[inv]
        while np.count_nonzero(w) < size:
            w = np.bincount(rng.integers(0, B, B), minlength=B)[inv]
        u = rng.random(pool)
        keys = np.where(w > 0, u ** (1.0 / np.maximum(w, 1)), -1.0)
        assert got.tolist() == sorted(np.argsort(-keys, kind="stable")[:size].tolist())
