"""The verdict rule (cosmobench.compare.verdict) and the validity metric (cosmobench.compare.validity) by hand.

``test_verdicts.py`` shows the rule flags the seed models' failure modes and that every output says the same;
here each branch of the rule is pinned on a hand-made metric: the level, which p-value is read, the
schema-v1 interval rule in both directions, Holm's adjustment, the combination over seeds, and the Wilson
interval and counts of the validity metric (against scipy's binomial interval).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from cosmobench.compare.metric import MetricScore
from cosmobench.compare.validity import DELTA_FLOOR, VALIDITY_RULE, ValidityTally, _wilson
from cosmobench.compare.verdict import (
    ALPHA,
    COPIES,
    INVALID,
    LABELS,
    MIXED,
    NA,
    SIMILAR,
    WORSE,
    Verdict,
    combine,
    holm,
    verdict,
)


def test_labels_and_level():
    assert ALPHA == 0.05
    assert (SIMILAR, WORSE, COPIES, NA, MIXED, INVALID) == (
        "≈ reference", "worse than reference", "copies training maps", "n/a", "mixed", "invalid maps")
    assert LABELS == (SIMILAR, WORSE, COPIES, NA, MIXED, INVALID)
    assert str(Verdict(WORSE, True, 0.01, "p_value")) == WORSE


@pytest.mark.parametrize("p, flagged", [(0.0001, True), (0.05, True), (0.0500001, False), (0.2, False), (1.0, False)])
def test_a_p_value_at_or_below_the_level_flags(p, flagged):
    v = verdict({"p_value": p, "ratio": 1.0})
    assert v == Verdict(WORSE if flagged else SIMILAR, flagged, p, "p_value")


def test_the_holm_adjusted_p_value_is_read_first():
    m = {"p_value": 0.01, "p_adjusted": 0.2, "ratio": 9.0, "extra": {"ratio_ci": [5.0, 12.0]}}
    assert verdict(m) == Verdict(SIMILAR, False, 0.2, "p_adjusted")
    m["p_adjusted"] = None  # not adjusted (yet): the raw p-value
    assert verdict(m) == Verdict(WORSE, True, 0.01, "p_value")
    m["p_value"] = float("nan")  # a non-finite p-value is no p-value: the v1 interval rule
    assert verdict(m) == Verdict(WORSE, True, None, "interval")


def test_memorisation_and_higher_is_better_metrics_read_copies_when_flagged():
    assert verdict({"p_value": 0.001}, "memorisation").label == COPIES
    assert verdict({"name": "memorisation", "p_value": 0.001}).label == COPIES
    assert verdict({"p_value": 0.001, "higher_is_better": True}, "x").label == COPIES
    assert verdict({"p_value": 0.5}, "memorisation") == Verdict(SIMILAR, False, 0.5, "p_value")
    assert verdict({"p_value": 0.001, "higher_is_better": False}, "power").label == WORSE


def test_a_metric_score_object_is_judged_like_its_dict():
    s = MetricScore("power", "1", "chi2", 3.0, 1.0, 3.0, (2.0, 4.0), False, {}, p_value=0.003, p_adjusted=0.03)
    assert verdict(s) == verdict(s.to_dict()) == Verdict(WORSE, True, 0.03, "p_adjusted")
    memo = MetricScore("memorisation", "2", "nn_median_ratio", 0.2, 1.0, 0.2, (0.1, 0.3), True, {}, p_value=0.001)
    assert verdict(memo).label == COPIES


def test_any_object_with_some_of_the_attributes_is_judged():
    from types import SimpleNamespace

    assert verdict(SimpleNamespace(p_value=0.001)) == Verdict(WORSE, True, 0.001, "p_value")
    assert verdict(SimpleNamespace(name="memorisation", p_value=0.5)) == Verdict(SIMILAR, False, 0.5, "p_value")
    assert verdict(SimpleNamespace(ratio=3.0, extra={"ratio_ci": [2.0, 4.0]})).flagged is True
    # extra that is not a mapping: no band, no ratio_ci; the value's interval decides
    odd = SimpleNamespace(value=1.0, ratio=0.8, ci=(0.7, 0.9), higher_is_better=True, extra=["floor_ci"])
    assert verdict(odd) == Verdict(COPIES, True, None, "interval")


def test_validity_flags_any_invalid_map():
    assert verdict({"value": 1.0}, "validity") == Verdict(SIMILAR, False, None, "validity")
    assert verdict({"value": 0.999, "distance": "valid_fraction"}) == Verdict(INVALID, True, None, "validity")
    assert verdict({"value": None}, "validity") == Verdict(NA, None, None, "none")
    # validity has no p-value: one invalid map is enough, whatever the metric dict says otherwise
    assert verdict({"value": 0.5, "p_value": 0.9}, "validity").label == INVALID


def test_v1_lower_is_better_metric_is_flagged_when_its_interval_excludes_one():
    assert verdict({"ratio": 2.2, "extra": {"ratio_ci": [1.36, 3.26]}}) == Verdict(WORSE, True, None, "interval")
    similar = Verdict(SIMILAR, False, None, "interval")
    assert verdict({"ratio": 2.2, "extra": {"ratio_ci": [1.0, 3.26]}}) == similar  # reaches 1 exactly
    assert verdict({"ratio": 0.5, "extra": {"ratio_ci": [0.2, 0.9]}}) == similar  # below the floor is fine
    # no ratio_ci: the value's interval scaled by ratio / value (×2 here)
    assert verdict({"ratio": 4.0, "value": 2.0, "ci": [0.6, 3.0]}) == Verdict(WORSE, True, None, "interval")
    assert verdict({"ratio": 4.0, "value": 2.0, "ci": [0.4, 3.0]}).flagged is False
    assert verdict({"ratio": 4.0, "value": 2.0, "ci": (0.6, 3.0)}).flagged is True  # a tuple (MetricScore.ci)


def test_v1_metric_without_a_usable_interval_is_not_judged():
    na = Verdict(NA, None, None, "none")
    assert verdict({}) == na and verdict({"ratio": None}) == na and verdict({"ratio": float("inf")}) == na
    assert verdict({"ratio": 2.0}) == na  # neither ratio_ci nor ci
    assert verdict({"ratio": 2.0, "value": 0.0, "ci": [0.1, 0.2]}) == na  # ratio / value undefined
    assert verdict({"ratio": 2.0, "value": 1.0, "ci": [0.1]}) == na
    assert verdict({"ratio": 2.0, "value": 1.0, "ci": [0.1, None]}) == na
    assert verdict({"ratio": 2.0, "value": 1.0, "ci": [0.1, 0.2, 0.3]}) == na
    assert verdict({"ratio": 2.0, "value": 1.0, "ci": "0.1 0.2"}) == na
    assert verdict({"ratio": 2.0, "value": 1.0, "ci": [1.5, 3.0], "extra": "corrupt"}).flagged is True
    # an unusable ratio_ci falls back to the scaled ci
    assert verdict({"ratio": 2.0, "value": 1.0, "ci": [1.5, 3.0], "extra": {"ratio_ci": [None, 2]}}).flagged is True


def test_v1_memorisation_is_flagged_below_the_band_of_held_out_halvings():
    m = {"ratio": 0.8, "higher_is_better": True, "extra": {"ratio_ci": [0.7, 0.9], "floor_ci": [0.92, 1.08]}}
    assert verdict(m, "memorisation") == Verdict(COPIES, True, None, "interval")
    m["extra"]["floor_ci"] = [0.85, 1.1]  # the interval reaches into the band
    assert verdict(m, "memorisation") == Verdict(SIMILAR, False, None, "interval")
    m["extra"]["floor_ci"] = [0.9, 1.1]  # touching the band's edge is not below it
    assert verdict(m, "memorisation").flagged is False
    # without a band, below 1
    assert verdict({"ratio": 0.8, "higher_is_better": True, "extra": {"ratio_ci": [0.7, 0.95]}}).flagged is True
    assert verdict({"ratio": 0.8, "higher_is_better": True, "extra": {"ratio_ci": [0.7, 1.0]}}).flagged is False
    assert verdict({"ratio": 1.8, "higher_is_better": True, "extra": {"ratio_ci": [1.2, 2.5]}}).flagged is False
    # no ratio_ci: the value's interval scaled by ratio / value (here 0.4 / 0.5), both ends
    m = {"value": 0.5, "ratio": 0.4, "ci": [0.45, 1.05], "higher_is_better": True, "extra": {"floor_ci": [0.83, 1.1]}}
    assert verdict(m, "memorisation") == Verdict(SIMILAR, False, None, "interval")  # 1.05 · 0.8 = 0.84
    m["extra"]["floor_ci"] = [0.85, 1.1]
    assert verdict(m, "memorisation") == Verdict(COPIES, True, None, "interval")


def test_holm_adjustment_by_hand():
    # sorted: 0.001 (×4), 0.01 (×3), 0.02 (×2), 0.04 (×1); running maximum keeps it monotone
    adj = holm({"w": 0.04, "x": 0.001, "y": 0.02, "z": 0.01, "none": None, "nan": float("nan")})
    assert list(adj) == ["w", "x", "y", "z", "none", "nan"] and adj["none"] is None and adj["nan"] is None
    assert [adj[k] for k in "wxyz"] == pytest.approx([0.04, 0.004, 0.04, 0.03])
    # a large p-value is capped at 1, and the cap carries down the order
    assert holm({"a": 0.6, "b": 0.3}) == pytest.approx({"a": 0.6, "b": 0.6})  # 0.3 × 2, then max(0.6, 0.6 × 1)
    assert holm({"a": 0.7, "b": 0.6}) == pytest.approx({"a": 1.0, "b": 1.0})  # 0.6 × 2 → 1
    # a monotone step-down: the later, larger p-value never gets a smaller adjusted value
    assert holm({"a": 0.011, "b": 0.012, "c": 0.013}) == pytest.approx({"a": 0.033, "b": 0.033, "c": 0.033})
    # ties keep every member at the same adjusted value whatever the key order
    assert holm({"b": 0.02, "a": 0.02}) == pytest.approx({"a": 0.04, "b": 0.04})
    assert holm({}) == {} and holm({"a": None}) == {"a": None}
    h = holm({"a": None, "b": 0.02})  # m counts the known p-values only
    assert h["a"] is None and h["b"] == pytest.approx(0.02)
    assert holm({"only": 0.03}) == pytest.approx({"only": 0.03})


def test_combining_seeds():
    a = Verdict(WORSE, True, 0.01, "p_adjusted")
    b = Verdict(WORSE, True, 0.03, "p_adjusted")
    c = Verdict(SIMILAR, False, 0.4, "p_adjusted")
    na = Verdict(NA, None, None, "none")
    assert combine([a, b, na]) == Verdict(WORSE, True, 0.03, "p_adjusted")  # the weakest evidence
    assert combine([a, c]) == Verdict(MIXED, None, 0.4, "mixed")
    assert combine([a, Verdict(WORSE, True, None, "interval")]) == Verdict(WORSE, True, None, "p_adjusted")
    assert combine([na, na]) == na and combine([]) == na
    assert combine(iter([c])) == c


def test_wilson_interval_matches_scipy():
    for k, n in ((0, 10), (3, 10), (10, 10), (27, 50), (1, 1), (999, 1000)):
        want = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        lo, hi = _wilson(k, n)
        assert (lo, hi) == pytest.approx((want.low, want.high), rel=1e-6, abs=1e-12)
        assert 0.0 <= lo <= k / n + 1e-12 and k / n - 1e-12 <= hi <= 1.0
    # the interval never leaves [0, 1], where the formula's round-off would (k = n gives 1 + 2e-16 for some n)
    for n in range(1, 200):
        assert _wilson(n, n)[1] <= 1.0 and _wilson(0, n)[0] >= 0.0


def test_tally_clips_only_below_minus_one_beyond_round_off():
    t = ValidityTally()
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0, 0, 0] = np.float32(-1.0 - 5e-6)  # a float32 CIC painter's rounding: not an invalid pixel
    maps[0, 1, 1] = 1.0
    maps[1] = np.arange(16).reshape(4, 4)
    out, const = t.apply(maps)
    assert out is maps and not const.any() and t.all_valid and t.invalid_maps == 0 and t.below_pixels == 0
    assert DELTA_FLOOR == pytest.approx(-1.0 - 1e-5)
    maps[1, 0, 0] = -1.5
    out, const = t.apply(maps)
    assert out is not maps and out.dtype == np.float32 and out[1, 0, 0] == -1.0 and maps[1, 0, 0] == -1.5
    assert not t.all_valid and (t.maps, t.pixels, t.below_pixels, t.below_maps) == (4, 64, 1, 1)
    assert (t.all_below_maps, t.constant_maps, t.invalid_maps) == (0, 0, 1)


def test_validity_score_numbers():
    t = ValidityTally()
    a = np.random.default_rng(0).standard_normal((10, 4, 4)) * 0.1
    a[:3] = -2.0  # below everywhere: also constant after clipping
    a[3, 0, :2] = -3.0  # two pixels below
    a[4] = 0.5  # constant
    t.apply(a)
    s = t.score()
    lo, hi = _wilson(5, 10)
    assert (s.name, s.version, s.distance, s.higher_is_better) == ("validity", "1", "valid_fraction", True)
    assert (s.value, s.floor, s.ratio, s.ci) == (0.5, 1.0, 0.5, (lo, hi))
    assert s.extra == {
        "n_maps": 10, "valid_maps": 5, "invalid_fraction": 0.5, "maps_below_minus_one": 4,
        "maps_below_minus_one_everywhere": 3, "constant_maps": 4,
        "pixels_below_minus_one_fraction": (3 * 16 + 2) / 160, "ratio_ci": [lo, hi], "rule": VALIDITY_RULE,
    }
    assert verdict(s).label == INVALID
    clean = ValidityTally()
    clean.apply(np.random.default_rng(1).standard_normal((4, 4, 4)) * 0.1)
    c = clean.score()
    assert c.value == 1.0 and c.ci[1] == pytest.approx(1.0, abs=1e-12) and c.ci[0] == pytest.approx(_wilson(4, 4)[0]) and verdict(c).label == SIMILAR
    assert math.isclose(c.extra["pixels_below_minus_one_fraction"], 0.0)
    one = ValidityTally()  # a single map is a share of one
    one.apply(np.arange(4.0).reshape(1, 2, 2))
    assert (one.score().value, one.score().extra["invalid_fraction"]) == (1.0, 0.0)
    one.apply(np.full((1, 2, 2), -2.0))
    assert (one.score().value, one.score().extra["pixels_below_minus_one_fraction"]) == (0.5, 0.5)
