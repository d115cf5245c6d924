"""Scores: noise-floor calibration, detection power, determinism, memorisation, composite."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cosmobench.compare import (
    RATIO_CAP,
    MetricScore,
    composite_score,
    memorisation_score,
    score_statistic,
)
from cosmobench.errors import CosmobenchError


def _gauss(rng, n, d, shift=0.0, scale=1.0):
    return rng.standard_normal((n, d)) * scale + shift


def _sets(seed, n=400, m=1500, f=1500, d=8, **model_kw):
    rng = np.random.default_rng(seed)
    return _gauss(rng, n, d, **model_kw), _gauss(rng, m, d), _gauss(rng, f, d)


@pytest.mark.parametrize("dist", ["chi2", "frechet", "diversity", "abs_mean"])
def test_same_law_gives_ratio_near_one(dist):
    # The floor is a median of fresh-draw distances, so a fresh draw's ratio has median ≈ 1; folded
    # distances (|log spread ratio|) have a right-skewed ratio whose mean sits a little above 1.
    ratios = []
    for seed in range(16):
        X, Y, F = _sets(100 + seed)
        s = score_statistic("s", dist, X, Y, F, seed=seed, n_boot=0, n_floor_draws=7)
        ratios.append(s.ratio)
    assert 0.6 <= np.median(ratios) <= 1.6, ratios
    # |log spread ratio| is a folded 1-D quantity: ratio ≈ |N| / median|N| has a heavy right tail
    # (mean ≈ 1.2 with an exact floor, ≈ 1.4 with a 7-draw floor), so its mean gets a wider band.
    assert 0.6 <= np.mean(ratios) <= (2.2 if dist == "diversity" else 1.6), ratios


def test_shifted_mean_is_far_above_the_floor():
    X, Y, F = _sets(1, shift=0.3)
    s = score_statistic("power", "chi2", X, Y, F, seed=0, n_boot=30)
    assert s.ratio > 10
    assert s.ci[0] > s.floor  # the interval excludes a fresh draw
    assert s.extra["ratio_ci"][0] > 1
    assert s.extra["details"]["chi2_per_dof"] > 10


def test_collapsed_set_is_flagged_by_diversity():
    rng = np.random.default_rng(2)
    Y, F = _gauss(rng, 1500, 16), _gauss(rng, 1500, 16)
    X = Y[0] + 1e-4 * rng.standard_normal((400, 16))
    s = score_statistic("diversity", "diversity", X, Y, F, seed=0, n_boot=5, n_floor_draws=49)
    assert s.ratio > 100
    assert s.extra["details"]["spread_ratio"] < 1e-2


def test_deterministic_in_seed_and_independent_of_row_order():
    X, Y, F = _sets(3)
    a = score_statistic("s", "frechet", X, Y, F, seed=7, n_boot=20).to_dict()
    b = score_statistic("s", "frechet", X, Y, F, seed=7, n_boot=20).to_dict()
    assert a == b
    rng = np.random.default_rng(0)
    c = score_statistic(
        "s", "frechet", X[rng.permutation(len(X))], Y[rng.permutation(len(Y))], F[rng.permutation(len(F))], seed=7, n_boot=20
    ).to_dict()
    assert c == a  # bit-identical: rows are canonicalised before any draw
    d = score_statistic("s", "frechet", X, Y, F, seed=8, n_boot=20).to_dict()
    # the null is a property of the reference and n (fixed seed); the run's seed moves the bootstrap only
    assert d["value"] == a["value"] and d["null"] == a["null"] and d["ci"] != a["ci"]
    # the defaults: seed 0, 100 resamples, version "1"; extra records them beside the sizes
    dflt = score_statistic("s", "abs_mean", X, Y, F, n_floor_draws=9)
    assert dflt.to_dict() == score_statistic("s", "abs_mean", X, Y, F, seed=0, n_boot=100, version="1", n_floor_draws=9).to_dict()
    assert dflt.version == "1" and dflt.higher_is_better is False
    assert set(dflt.extra) == {"n", "m", "seed", "n_boot", "ratio_ci", "details"}
    assert (dflt.extra["seed"], dflt.extra["n_boot"], dflt.extra["n"], dflt.extra["m"]) == (0, 100, len(X), len(Y))
    none = score_statistic("s", "abs_mean", X, Y, F, n_boot=0, n_floor_draws=9)  # no bootstrap: no intervals
    assert none.extra["ratio_ci"] == [None, None] and np.isnan(none.ci).all()


def test_small_null_pool_draws_half_of_it_and_says_so():
    X, Y, F = _sets(4, n=400, f=300)
    s = score_statistic("s", "chi2", X, Y, F, seed=0, n_boot=0)
    # 400 independent maps would need sets of 400*300/700 = 171 of the 300; sets never take more than half
    assert s.null["set_size"] == 150 and s.null["pool"] == 300 and "conservative" in s.null["note"]
    assert s.null["draws"] == 999 and 0 < s.p_value <= 1
    assert np.isnan(s.ci[0]) and s.to_dict()["ci"] == [None, None]


def test_zero_floor_is_guarded():
    Y = np.zeros((50, 2))
    X = np.zeros((20, 2))
    s = score_statistic("s", "abs_mean", X, Y, Y.copy(), n_boot=3)
    assert s.floor == 0 and s.ratio == 1.0
    s = score_statistic("s", "abs_mean", X + 1, Y, Y.copy(), n_boot=3)
    assert s.ratio == RATIO_CAP


def test_to_dict_is_strict_json_and_round_trips():
    X, Y, F = _sets(5)
    s = score_statistic("mean", "abs_mean", X[:, :1], Y[:, :1], F[:, :1], version="2", seed=0, n_boot=10)
    d = s.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = MetricScore.from_dict(json.loads(text))
    assert back.to_dict() == d
    assert d["version"] == "2" and d["distance"] == "abs_mean" and d["higher_is_better"] is False
    assert d["ci"] == [s.ci[0], s.ci[1]] and s.ci[0] < s.ci[1]  # both ends, finite
    assert isinstance(d["extra"]["details"]["signed"], float)


def test_accepts_a_statistic_instance():
    class Stat:
        name, distance, version = "moments", "chi2", "3"

    X, Y, F = _sets(6)
    s = score_statistic(Stat(), X, Y, F, seed=0, n_boot=5)
    assert (s.name, s.distance, s.version) == ("moments", "chi2", "3")
    assert s.value == score_statistic("moments", "chi2", X, Y, F, seed=0, n_boot=5).value


def test_bad_inputs_raise():
    X, Y, F = _sets(7)
    with pytest.raises(CosmobenchError, match="unknown distance"):
        score_statistic("s", "nope", X, Y, F)
    with pytest.raises(CosmobenchError, match="columns"):
        score_statistic("s", "chi2", X, Y, F[:, :3])
    with pytest.raises(CosmobenchError, match="columns"):
        score_statistic("s", "chi2", X[:, :3], Y, F)
    with pytest.raises(CosmobenchError, match="n_boot"):
        score_statistic("s", "chi2", X, Y, F, n_boot=-1)
    with pytest.raises(CosmobenchError, match="n_floor_draws"):
        score_statistic("s", "chi2", X, Y, F, n_floor_draws=0)
    with pytest.raises(CosmobenchError):
        score_statistic("s", "chi2", X, Y, None)


def test_memorisation_flags_copies_and_passes_fresh_samples():
    rng = np.random.default_rng(8)
    d = 32
    train, test = _gauss(rng, 3000, d), _gauss(rng, 600, d)
    fresh = _gauss(rng, 800, d)
    copies = train[rng.integers(0, 3000, 800)] + 1e-3 * rng.standard_normal((800, d))
    ok = memorisation_score(fresh, test, train, seed=0, n_boot=50)
    bad = memorisation_score(copies, test, train, seed=0, n_boot=50)
    assert ok.higher_is_better and ok.name == "memorisation"
    assert 0.85 < ok.value < 1.15 and ok.p_value > 0.05
    assert 0.9 < ok.floor < 1.1 and ok.ratio == ok.value
    assert bad.value < 0.01 and bad.ci[1] < 0.01
    assert bad.extra["copy_share"] > 0.99 and ok.extra["copy_share"] < 0.05
    assert bad.p_value < 0.01 < ok.p_value
    # deterministic and independent of row order
    again = memorisation_score(fresh[::-1], test[rng.permutation(600)], train[::-1], seed=0, n_boot=50)
    assert again.to_dict() == ok.to_dict()
    json.dumps(ok.to_dict(), allow_nan=False)
    with pytest.raises(CosmobenchError, match="test maps"):
        memorisation_score(fresh, test[:3], train)
    with pytest.raises(CosmobenchError, match="columns"):
        memorisation_score(fresh[:, :5], test, train)


def _ms(name, ratio, hib=False):
    return MetricScore(name, "1", "chi2", ratio, 1.0, ratio, (ratio, ratio), hib, {})


def test_composite_is_geometric_mean_of_lower_is_better_ratios():
    scores = [_ms("a", 1.0), _ms("b", 4.0), _ms("memorisation", 0.01, hib=True)]
    assert composite_score(scores) == pytest.approx(2.0)
    as_dicts = {s.name: s.to_dict() for s in scores}
    assert composite_score(as_dicts) == pytest.approx(2.0)
    assert composite_score([_ms("a", 0.0)]) == pytest.approx(1e-6)  # clipped, finite
    with pytest.raises(CosmobenchError, match="no lower-is-better"):
        composite_score([_ms("memorisation", 1.0, hib=True)])
    with pytest.raises(CosmobenchError, match="no ratio"):
        composite_score([_ms("a", float("nan"))])


def test_composite_near_one_for_a_fresh_draw():
    X, Y, F = _sets(9, n=600)
    scores = [score_statistic(n, n, X, Y, F, seed=1, n_boot=0, n_floor_draws=99) for n in ("chi2", "frechet", "diversity")]
    assert 0.3 < composite_score(scores) < 2.5


def _hists(rng, n, shift=0.0, nb=20):
    """Per-map normalised histograms of a Gaussian sample of 200 pixels, on fixed bins."""
    edges = np.linspace(-4, 4, nb + 1)
    x = rng.standard_normal((n, 200)) + shift
    return np.stack([np.histogram(r, edges)[0] for r in x]).astype(float) / 200


def test_hist_w1_floor_calibration_and_detection():
    ratios = []
    for seed in range(12):
        rng = np.random.default_rng(300 + seed)
        X, Y, F = _hists(rng, 300), _hists(rng, 1200), _hists(rng, 1200)
        ratios.append(score_statistic("pdf", "hist_w1", X, Y, F, seed=seed, n_boot=0).ratio)
    assert 0.6 <= np.median(ratios) <= 1.6 and 0.6 <= np.mean(ratios) <= 1.6, ratios
    rng = np.random.default_rng(0)
    s = score_statistic("pdf", "hist_w1", _hists(rng, 300, shift=0.1), _hists(rng, 1200), _hists(rng, 1200), n_boot=10)
    assert s.ratio > 5


def test_small_samples_with_constant_columns_score_finitely():
    # the evaluate smoke test's regime: 32 maps, d close to n, a count column that is always 0
    rng = np.random.default_rng(10)
    X, Y, F = (rng.standard_normal((32, 40)) for _ in range(3))
    for a in (X, Y, F):
        a[:, 7] = 0.0
    s = score_statistic("structures", "chi2", X, Y, F, seed=0, n_boot=20)
    assert np.isfinite(s.value) and np.isfinite(s.ratio) and s.null["pool"] == 32
    assert s.extra["details"]["constant_columns"] == 1
    json.dumps(s.to_dict(), allow_nan=False)


def test_abs_mean_floor_is_not_degenerate_when_boxes_have_exactly_zero_mean():
    """Whole periodic boxes have mean δ exactly 0: the null must still be the independent-draw scale.

    The reference mean is exactly 0 here, so n fresh independent tiles miss it by |x̄| ~ σ √(2/(π n)); null sets
    drawn without replacement from a pool whose mean is exactly 0 reach that only because their size is
    finite-population matched (half the pool here): a floor of whole boxes would be 0."""
    from cosmobench.compare import score_statistic

    rng = np.random.default_rng(3)
    n = m = 256
    ref = rng.normal(0.0, 0.2, size=(m, 1))
    ref -= ref.mean()  # one "box": tile means sum to zero
    floor_set = rng.normal(0.0, 0.2, size=(n, 1))
    floor_set -= floor_set.mean()
    fresh = rng.normal(0.0, 0.2, size=(n, 1))  # independent tiles
    s = score_statistic("mean", "abs_mean", fresh, ref, floor_set, seed=0, n_boot=20)
    expected = 0.6745 * 0.2 / np.sqrt(n)  # the median of |N(0, σ²/n)|
    assert s.floor == pytest.approx(expected, rel=0.15)
    assert s.p_value > 0.05
    assert s.ratio < 4
    biased = score_statistic("mean", "abs_mean", fresh + 0.1, ref, floor_set, seed=0, n_boot=20)
    assert biased.ratio > 5


def test_pair_correlation_floor_admits_independent_maps_but_not_collapse():
    from cosmobench.compare import score_statistic

    rng = np.random.default_rng(5)
    common = rng.normal(size=(1, 64))
    ref = rng.normal(size=(800, 64)) + 0.15 * common  # reference tiles share a little structure
    floor_set = rng.normal(size=(800, 64)) + 0.15 * common
    independent = rng.normal(size=(400, 64)) + 0.15 * common  # a fresh draw of the same law
    collapsed = rng.uniform(0.5, 2, size=(400, 1)) * rng.normal(size=(1, 64)) + 0.05 * rng.normal(size=(400, 64))
    ok = score_statistic("collapse", "pair_correlation", independent, ref, floor_set, seed=0, n_boot=10)
    bad = score_statistic("collapse", "pair_correlation", collapsed, ref, floor_set, seed=0, n_boot=10)
    assert ok.ratio < 2.0 and ok.p_value > 0.05
    assert bad.ratio > 50 and bad.p_value < 0.01


# ----------------------------------------------------------------------------------------- the metric record


def test_metric_record_is_strict_json_with_every_field():
    s = MetricScore(
        "power", 3, "chi2", np.float32(2.5), np.float64(0.5), 5.0, (np.float64(1.0), float("inf")),
        np.bool_(False), {"n": np.int64(7), "arr": np.array([1.0, np.nan]), "t": (1, 2), 4: "k", "flag": np.bool_(True)},
        p_value=0.01, p_adjusted=None, null={"median": np.float64(0.5)}, effects={"e": {"value": float("nan")}},
    )
    d = s.to_dict()
    assert list(d) == ["name", "version", "distance", "value", "floor", "ratio", "ci", "higher_is_better", "p_value",
                       "p_adjusted", "null", "effects", "extra"]
    assert d == {"name": "power", "version": "3", "distance": "chi2", "value": 2.5, "floor": 0.5, "ratio": 5.0,
                 "ci": [1.0, None], "higher_is_better": False, "p_value": 0.01, "p_adjusted": None,
                 "null": {"median": 0.5}, "effects": {"e": {"value": None}},
                 "extra": {"n": 7, "arr": [1.0, None], "t": [1, 2], "4": "k", "flag": True}}
    assert type(d["extra"]["n"]) is int and type(d["extra"]["flag"]) is bool and type(d["value"]) is float
    assert type(d["higher_is_better"]) is bool
    json.dumps(d, allow_nan=False)


def test_metric_record_from_a_result_file_entry():
    d = {"version": 2, "distance": "abs_mean", "value": None, "floor": "0.5", "ratio": 3}
    s = MetricScore.from_dict(d, name="mean")
    assert (s.name, s.version, s.distance, s.floor, s.ratio) == ("mean", "2", "abs_mean", 0.5, 3.0)
    assert np.isnan(s.value) and np.isnan(s.ci[0]) and np.isnan(s.ci[1])
    assert (s.higher_is_better, s.extra, s.p_value, s.p_adjusted, s.null, s.effects) == (False, {}, None, None, {}, {})
    full = MetricScore.from_dict({**d, "name": "own", "ci": [1, None], "higher_is_better": 1, "extra": {"a": 1},
                                  "p_value": "0.2", "p_adjusted": 0.4, "null": {"draws": 9}, "effects": {"x": {}}},
                                 name="mean")
    assert full.name == "own" and full.ci[0] == 1.0 and np.isnan(full.ci[1]) and full.higher_is_better is True
    assert (full.extra, full.p_value, full.p_adjusted, full.null, full.effects) == ({"a": 1}, 0.2, 0.4, {"draws": 9}, {"x": {}})
    bare = MetricScore.from_dict({**d, "ci": None, "extra": None, "null": None, "effects": None})
    assert np.isnan(bare.ci[0]) and (bare.extra, bare.null, bare.effects) == ({}, {}, {})
    for broken in ({"distance": "chi2", "value": 1, "floor": 1, "ratio": 1},  # no version
                   {**d, "value": "high"}, {**d, "ci": [1.0]}, {**d, "ci": 5}):
        with pytest.raises(CosmobenchError, match="malformed metric entry mean .*the result file may be corrupt"):
            MetricScore.from_dict(broken, name="mean")


def test_score_statistic_arguments_are_checked():
    X, Y, F = _sets(12, n=20, m=30, f=30, d=3)
    with pytest.raises(CosmobenchError, match="got int as its first argument; pass a metric name"):
        score_statistic(3, X, Y, F)
    with pytest.raises(CosmobenchError, match="distance must be a distance name \\(str\\), got ndarray"):
        score_statistic("s", X, Y, F)
    with pytest.raises(CosmobenchError, match="needs model and ref_compare summaries"):
        score_statistic("s", "chi2", X, None, F)
    with pytest.raises(CosmobenchError, match="needs model and ref_compare summaries"):
        score_statistic("s", "chi2", None, Y, F)
    with pytest.raises(CosmobenchError, match="the null needs at least 4 held-out reference rows, got 3"):
        score_statistic("s", "chi2", X, Y, F[:3])
    with pytest.raises(CosmobenchError, match="the null needs at least 4 held-out reference rows, got 2$"):
        score_statistic("s", "chi2", X, Y, F[:2])  # rows, not the 3 columns
    # a malformed input is named in the message: model, comparison reference or floor (null pool) reference
    for i, who in enumerate(("model", "reference", "floor reference")):
        args = [X, Y, F]
        args[i] = np.where(np.arange(len(args[i]))[:, None] == 1, np.nan, args[i])
        with pytest.raises(CosmobenchError, match=f"^1 rows of {who} summaries contain NaN or Inf"):
            score_statistic("s", "chi2", *args)
    score_statistic("s", "chi2", X, Y, F[:4], n_boot=0, n_floor_draws=3)  # 4 is enough
    with pytest.raises(CosmobenchError, match="floor reference summaries have 2 columns but comparison reference"):
        score_statistic("s", "chi2", X, Y, F[:, :2])
    for bad in (2.5, -1):
        with pytest.raises(CosmobenchError, match=f"n_boot={bad}; pass a non-negative integer"):
            score_statistic("s", "chi2", X, Y, F, n_boot=bad)
    for bad in (0, 1.5):
        with pytest.raises(CosmobenchError, match=f"n_floor_draws={bad} \\(null draws\\); pass a positive integer"):
            score_statistic("s", "chi2", X, Y, F, n_floor_draws=bad)
    assert score_statistic("s", "chi2", X, Y, F, n_boot=0, n_floor_draws=1).null["draws"] == 1


def test_a_given_null_is_used_as_it_is():
    from cosmobench.compare.null import NullDistribution

    X, Y, F = _sets(13, n=20, m=30, f=30, d=3)
    null = NullDistribution(np.array([0.01, 0.02, 0.03, 1e3]), set_size=5, pool=99, rows=20, note="given")
    s = score_statistic("s", "chi2", X, Y, None, null=null, n_boot=4)
    assert s.floor == 0.025 and s.ratio == pytest.approx(s.value / 0.025)
    assert s.null == null.summary() and s.null["note"] == "given" and s.p_value == null.p_value(s.value)
    assert s.extra["ratio_ci"] == pytest.approx([s.ci[0] / 0.025, s.ci[1] / 0.025])


def test_bootstrap_of_a_mean_distance_resamples_rows_from_the_seed_s_own_stream():
    """chi2 depends on the model rows through their mean: its interval is the percentile interval of the
    distances of bootstrap means (row indices from the seed's second stream, as X[idx] would be drawn)."""
    from cosmobench.compare.distances import prepare_distance
    from cosmobench.compare.score import bootstrap_means

    X, Y, F = _sets(14, n=30, m=40, f=40, d=3)
    s = score_statistic("s", "chi2", X, Y, F, seed=5, n_boot=50, n_floor_draws=3)
    from cosmobench.stats._order import canonical_order

    Xc = X[canonical_order(X)]
    _, boot_ss, _ = np.random.SeedSequence(5).spawn(3)
    rng = np.random.default_rng(boot_ss)
    idx = [rng.integers(0, 30, size=30) for _ in range(50)]
    f = prepare_distance("chi2", Y[canonical_order(Y)])
    boots = [f(Xc[i])[0] for i in idx]
    assert s.ci == pytest.approx(tuple(np.percentile(boots, [2.5, 97.5])), rel=1e-9)
    means = bootstrap_means(Xc, np.random.default_rng(np.random.SeedSequence(5).spawn(3)[1]), 50)
    assert means == pytest.approx(np.array([Xc[i].mean(axis=0) for i in idx]), rel=1e-12)


def test_bootstrap_means_in_chunks_draw_what_one_call_would():
    from cosmobench.compare.score import bootstrap_means

    n = (1 << 21) // 3 + 5  # chunks of 2 resamples
    X = np.random.default_rng(0).standard_normal((n, 1))
    got = bootstrap_means(X, np.random.default_rng(1), 5)
    draws = np.random.default_rng(1).integers(0, n, size=(5, n))
    assert got[:, 0] == pytest.approx(X[draws, 0].mean(axis=1), rel=1e-9)
    assert bootstrap_means(X[:10], np.random.default_rng(1), 0).shape == (0, 1)


def test_effect_sizes_are_measured_beside_the_metric():
    from cosmobench.compare.effects import effects_for

    X, Y, F = _sets(15, n=40, m=60, f=80, d=1)
    eff = effects_for("mean", Y)
    s = score_statistic("mean", "abs_mean", X + 0.5, Y, F, seed=2, n_boot=30, n_floor_draws=50, effects=eff)
    e = s.effects["mean_bias_sigma"]
    assert e["value"] == pytest.approx(((X + 0.5).mean() - Y.mean()) / Y.std(ddof=1), rel=1e-9)
    assert e["ci"][0] < e["value"] < e["ci"][1]
    # the null's effect is measured on the same null sets as the metric: |bias| of a fresh draw, well below 0.5 σ
    assert 0 < e["null_median"] < 0.35
    assert score_statistic("mean", "abs_mean", X, Y, F, n_boot=3, n_floor_draws=5).effects == {}
    # the effects' interval is drawn from the seed's own stream: the same seed, the same interval
    again = score_statistic("mean", "abs_mean", X + 0.5, Y, F, seed=2, n_boot=30, n_floor_draws=50, effects=eff)
    assert again.effects == s.effects


def test_composite_skips_higher_is_better_and_clips_both_ends():
    big = MetricScore("a", "1", "chi2", 1.0, 1.0, 1e15, (1.0, 1.0), False, {})
    assert composite_score([big]) == pytest.approx(1e12)
    assert composite_score([_ms("a", 2.0), _ms("b", 8.0), _ms("c", 1.0)]) == pytest.approx(16 ** (1 / 3))
    with pytest.raises(CosmobenchError, match="composite_score got a str; pass MetricScore objects"):
        composite_score(["power"])
    with pytest.raises(CosmobenchError, match="metric 'b' has no ratio"):
        composite_score({"b": {**_ms("b", 1.0).to_dict(), "ratio": None}})
    # a result file's metrics are keyed by name (their entries carry none): the message names the key
    entry = {k: v for k, v in _ms("b", 1.0).to_dict().items() if k != "name"}
    with pytest.raises(CosmobenchError, match="metric 'power' has no ratio"):
        composite_score({"power": {**entry, "ratio": None}})
    # memorisation anywhere in the list is skipped, the metrics after it still count
    assert composite_score([_ms("memorisation", 0.01, hib=True), _ms("a", 2.0), _ms("b", 8.0)]) == pytest.approx(4.0)


def test_null_effects_are_measured_in_the_effect_s_own_units():
    """P(k) effects average P, not log P: the null's effect sizes come from the null sets' mean of 10**summary."""
    from cosmobench.compare.effects import effects_for
    from cosmobench.compare.null import NULL_SEED, draw_sets, null_set_size
    from cosmobench.stats._order import canonical_order

    rng = np.random.default_rng(16)
    k = np.array([0.05, 0.2, 0.4])
    Y, F = (np.log10(rng.uniform(0.5, 1.5, (m, 3))) for m in (50, 60))
    X = np.log10(rng.uniform(0.5, 1.5, (20, 3)))
    eff = effects_for("power", Y, {"k": k}, k_nyquist=0.45)
    s = score_statistic("power", "chi2", X, Y, F, seed=0, n_boot=0, n_floor_draws=31, effects=eff)
    Fc, pr = 10.0 ** F[canonical_order(F)], (10.0 ** Y).mean(axis=0)
    dev = [np.abs(Fc[idx].mean(axis=0) / pr - 1).max() for idx in draw_sets(60, null_set_size(20, 60), 31, NULL_SEED)]
    assert s.effects["pk_dev_linear"]["null_median"] == pytest.approx(np.median(dev), rel=1e-9)
    assert s.effects["pk_dev_linear"]["value"] == pytest.approx(np.abs((10.0 ** X).mean(axis=0) / pr - 1).max(), rel=1e-9)
