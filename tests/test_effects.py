"""Effect sizes (cosmobench.compare.effects) in the statistics' own units, on cases computed by hand.

Each effect is a function of set means: a model whose per-map summaries are the reference's scaled or
shifted by a known amount must get exactly that amount back, on exactly the bins the definition names.
"""

from __future__ import annotations

import numpy as np
import pytest

from cosmobench.compare.effects import PK_LINEAR_RANGE, Effects, effects_for


def _rows(rng, n, d, lo=0.5, hi=1.5):
    return rng.uniform(lo, hi, (n, d))


def test_power_effects_are_the_largest_fractional_p_k_deviation_in_each_range():
    k = np.array([0.01, 0.03, 0.2, 0.5, 0.6, 1.0, 2.0])  # 0.01 is outside both ranges, 2.0 beyond Nyquist
    rng = np.random.default_rng(0)
    P = _rows(rng, 20, 7)  # P(k) per map; the summary is log10 P
    dev = np.array([9.0, 0.02, -0.04, 0.03, 0.10, -0.20, 5.0])  # fractional deviation of the model's mean P
    X = np.log10(P.mean(axis=0) * (1 + dev))[None].repeat(3, axis=0)  # three identical model maps
    eff = effects_for("power", np.log10(P), {"k": k}, k_nyquist=1.0)
    out = eff.measure(X, np.random.default_rng(1), 0)
    assert out["pk_dev_linear"]["value"] == pytest.approx(0.04, rel=1e-9)  # k = 0.03, 0.2, 0.5
    assert out["pk_dev_small_scales"]["value"] == pytest.approx(0.20, rel=1e-9)  # k = 0.6, 1.0
    assert out["pk_dev_linear"]["unit"] == "fraction" and "1.00 h/Mpc" in out["pk_dev_small_scales"]["description"]
    assert out["pk_dev_linear"]["ci"] == [None, None] and out["pk_dev_linear"]["null_median"] is None
    assert PK_LINEAR_RANGE == (0.03, 0.5)
    # k_Nyquist at a bin centre (round-off): that bin belongs to the small scales
    at = effects_for("power", np.log10(P), {"k": k}, k_nyquist=1.0 - 1e-12).measure(X, np.random.default_rng(1), 0)
    assert at["pk_dev_small_scales"]["value"] == pytest.approx(0.20, rel=1e-9)
    # P̄ is the mean of P, not of log P
    assert effects_for("power", np.log10(P), {"k": k}, k_nyquist=1.0).measure(
        np.log10(P), np.random.default_rng(1), 0)["pk_dev_linear"]["value"] == pytest.approx(0.0, abs=1e-12)
    # no k coordinates that fit the summary: no effect sizes
    assert effects_for("power", np.log10(P), {"k": k[:3]}) is None and effects_for("power", np.log10(P)) is None


def test_power_small_scale_effect_is_undefined_without_bins_above_the_linear_range():
    k = np.array([0.05, 0.1, 0.4])
    P = _rows(np.random.default_rng(2), 10, 3)
    out = effects_for("power", np.log10(P), {"k": k}, k_nyquist=0.45).measure(np.log10(P * 1.1), None, 0)
    assert out["pk_dev_linear"]["value"] == pytest.approx(0.1, rel=1e-9)
    assert out["pk_dev_small_scales"]["value"] is None


def test_mean_bias_is_in_units_of_the_reference_tile_scatter():
    Y = np.array([[0.0], [1.0], [2.0], [3.0]])  # mean 1.5, std (ddof 1) 1.2910
    out = effects_for("mean", Y).measure(np.array([[2.0], [4.0]]), None, 0)
    assert out["mean_bias_sigma"]["value"] == pytest.approx((3.0 - 1.5) / np.std(Y, ddof=1), rel=1e-12)
    assert effects_for("mean", Y).measure(np.array([[0.0], [1.0]]), None, 0)["mean_bias_sigma"]["value"] < 0


def test_sigma_deviation_is_the_ratio_of_rms_sigmas():
    Y = np.array([[4.0, 0.1], [4.0, 0.3]])  # per-map variance of δ in column 0
    out = effects_for("moments", Y).measure(np.array([[9.0, 0.0], [9.0, 5.0], [9.0, 1.0]]), None, 0)
    assert out["sigma_dev"]["value"] == pytest.approx(3.0 / 2.0 - 1.0, rel=1e-12)
    # a negative mean variance (impossible, but finite) reads as no fluctuations: -100 %
    assert effects_for("moments", Y).measure(np.array([[-1.0, 0.0], [-1.0, 0.0]]), None, 0)["sigma_dev"]["value"] == -1.0


def test_pdf_effects_split_bulk_and_tails_at_the_reference_quantiles():
    """Reference mass per bin 1, 2, 10, 38, 10, 2, 1 (/64; exact in binary): the tails below the 5 % and above
    the 95 % quantile are bins 0-1 and 5-6 (3/64 each), the bulk is bin 3 alone (bins 2 and 4 straddle a
    quantile and belong to neither)."""
    pr = np.array([1, 2, 10, 38, 10, 2, 1]) / 64
    Y = np.stack([pr * 2, pr * 4])  # unnormalised: densities of another bin width
    pm = pr * np.array([1.5, 1.5, 1.3, 0.9, 1.0, 0.8, 0.8])
    out = effects_for("pdf", Y).measure(np.stack([pm, pm]) * 7, None, 0)
    norm = pm / pm.sum()
    assert out["pdf_dev_bulk"]["value"] == pytest.approx(abs(norm[3] / pr[3] - 1), rel=1e-12)
    low, high = abs(norm[:2].sum() / (3 / 64) - 1), abs(norm[5:].sum() / (3 / 64) - 1)
    assert low > high and out["pdf_dev_tails"]["value"] == pytest.approx(low, rel=1e-12)
    # several set means at once (the bootstrap's and the null's): each is normalised by its own total
    both = effects_for("pdf", Y)(np.stack([pm, 5 * pm, pr]))
    assert both["pdf_dev_bulk"] == pytest.approx([abs(norm[3] / pr[3] - 1)] * 2 + [0.0], abs=1e-12)
    # the other way round: the high tail decides
    pm2 = pr * np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    out2 = effects_for("pdf", Y).measure(pm2[None], None, 0)
    assert out2["pdf_dev_tails"]["value"] == pytest.approx(abs(pm2[5:].sum() / pm2.sum() / (3 / 64) - 1), rel=1e-12)


def test_pdf_tail_without_reference_mass_is_left_out_and_empty_bins_are_not_bulk():
    """Reference mass 0, 0, 30, 28, 3, 3 (/64): no low tail, the high tail is the last bin, the bulk bin 3. The
    model's mass in bin 0 (6/64, where the reference has none) is in no ratio."""
    pr = np.array([0, 0, 30, 28, 3, 3]) / 64
    pm = np.array([6, 0, 30, 21, 3, 4]) / 64
    out = effects_for("pdf", pr[None]).measure(pm[None], None, 0)
    assert out["pdf_dev_bulk"]["value"] == pytest.approx(abs(21 / 28 - 1), rel=1e-12)
    assert out["pdf_dev_tails"]["value"] == pytest.approx(abs(4 / 3 - 1), rel=1e-12)
    # neither tail has reference mass, nor is any bin inside the central 90 %: both effects undefined
    flat = np.array([[0.0, 1.0, 0.0]])
    got = effects_for("pdf", flat).measure(flat, None, 0)
    assert got["pdf_dev_bulk"]["value"] is None and got["pdf_dev_tails"]["value"] is None


def test_peak_effects_count_all_peaks_and_the_busy_height_bins():
    Y = np.array([[4.0, 2.0, 0.5, 0.0], [6.0, 2.0, 0.5, 0.0]])  # mean 5, 2, 0.5, 0 peaks per map
    X = np.array([[5.5, 3.0, 4.0, 9.0]])
    out = effects_for("peaks", Y).measure(X, None, 0)
    assert out["peaks_dev_total"]["value"] == pytest.approx(21.5 / 7.5 - 1, rel=1e-12)
    # bins with >= 1 peak per map in the reference: the first two (0.5 and 0 peaks are too rare to compare)
    assert out["peaks_dev_max"]["value"] == pytest.approx(0.5, rel=1e-12)
    Y1 = np.array([[1.0, 0.0]])  # exactly one peak per map counts as busy
    assert effects_for("peaks", Y1).measure(np.array([[3.0, 0.0]]), None, 0)["peaks_dev_max"]["value"] == pytest.approx(2.0)


def test_minkowski_effects_are_scaled_by_each_functional_s_largest_value():
    fun = np.array(["V0", "V0", "V1", "V1", "V2", "V2"])
    Y = np.array([[1.0, 0.5, 10.0, 20.0, -3.0, 1.0]])
    X = np.array([[0.9, 0.5, 10.0, 26.0, -3.0, 1.6]])
    out = effects_for("minkowski", Y, {"functional": fun}).measure(X, None, 0)
    assert out["V0_dev"]["value"] == pytest.approx(0.1 / 1.0, rel=1e-12)
    assert out["V1_dev"]["value"] == pytest.approx(6.0 / 20.0, rel=1e-12)
    assert out["V2_dev"]["value"] == pytest.approx(0.6 / 3.0, rel=1e-12)  # max |V2_ref| = 3
    assert list(out) == ["V0_dev", "V1_dev", "V2_dev"] and "V1" in out["V1_dev"]["description"]
    zero = effects_for("minkowski", np.zeros((1, 6)), {"functional": fun}).measure(X, None, 0)
    assert zero["V0_dev"]["value"] is None  # a functional that is 0 everywhere has no scale
    assert effects_for("minkowski", Y, {"functional": fun[:4]}) is None and effects_for("minkowski", Y) is None


def test_bispectrum_effect_is_the_largest_q_difference():
    Y = np.array([[0.5, 1.0, 2.0], [0.7, 1.0, 2.0]])
    out = effects_for("bispectrum", Y).measure(np.array([[0.6, 1.3, 1.9]]), None, 0)
    assert out["Q_dev"]["value"] == pytest.approx(0.3, rel=1e-12) and out["Q_dev"]["unit"] == "Q (dimensionless)"


def test_statistics_without_effect_sizes():
    Y = np.ones((4, 3))
    for name in ("structures", "diversity", "collapse", "nope"):
        assert effects_for(name, Y) is None


def test_bootstrap_interval_and_null_median_of_an_effect():
    """An effect's interval is over resampled model rows (as bootstrap_means draws them), its null median the
    median |effect| of the finite null values."""
    from cosmobench.compare.score import bootstrap_means

    rng = np.random.default_rng(4)
    Y = rng.standard_normal((50, 1))
    X = rng.standard_normal((30, 1)) + 0.5
    eff = effects_for("mean", Y)
    null = {"mean_bias_sigma": np.array([-3.0, 1.0, np.nan, -2.0, 0.5])}
    out = eff.measure(X, np.random.default_rng(9), 200, null)["mean_bias_sigma"]
    sd = float(Y.std(ddof=1))
    boots = (bootstrap_means(X, np.random.default_rng(9), 200)[:, 0] - Y.mean()) / sd
    assert out["ci"] == pytest.approx(list(np.percentile(boots, [2.5, 97.5])), rel=1e-12)
    assert out["ci"][0] < out["value"] < out["ci"][1] and out["ci"][1] - out["ci"][0] > 0.2
    assert out["value"] == pytest.approx((X.mean() - Y.mean()) / sd, rel=1e-12)
    assert out["null_median"] == pytest.approx(1.5)  # median of |−3|, |1|, |−2|, |0.5|
    assert eff.measure(X, None, 0, {"mean_bias_sigma": np.full(3, np.nan)})["mean_bias_sigma"]["null_median"] is None
    assert eff.measure(X, None, 0, {"other": np.ones(3)})["mean_bias_sigma"]["null_median"] is None


def test_bootstrap_interval_skips_undefined_resamples():
    """A resample with no finite effect leaves it out of the interval; none finite at all gives no interval."""
    eff = Effects(lambda X: X, lambda M: {"e": np.where(M[:, 0] > 0, M[:, 0], np.nan)}, {"e": ("u", "d")})
    X = np.array([[-1.0], [1.0], [2.0]])
    out = eff.measure(X, np.random.default_rng(0), 400)["e"]
    assert out["ci"][0] > 0 and out["ci"][1] <= 2.0
    assert eff.measure(-np.abs(X), np.random.default_rng(0), 50)["e"] == {
        "value": None, "ci": [None, None], "null_median": None, "unit": "u", "description": "d"}


def test_effects_called_on_one_mean_or_many():
    eff = effects_for("bispectrum", np.zeros((2, 3)))
    one = eff(np.array([1.0, -2.0, 0.5]))
    many = eff(np.array([[1.0, -2.0, 0.5], [0.1, 0.2, 0.3]]))
    assert one["Q_dev"].shape == (1,) and one["Q_dev"][0] == 2.0
    assert many["Q_dev"].tolist() == [2.0, 0.3]



def test_every_effect_is_measured_for_each_set_mean_separately():
    """``effects(M)`` is one value per row of ``M`` (the bootstrap's and the null's set means), each what that mean
    alone gets, the undefined ones (NaN) included."""
    rng = np.random.default_rng(5)
    k = np.array([0.05, 0.2, 0.4])  # nothing above the linear range: the small-scale effect is undefined
    fun = np.array(["V0", "V0", "V1", "V1", "V2", "V2"])
    cases = [  # (effects, columns of a summary)
        (effects_for("power", np.log10(_rows(rng, 6, 3)), {"k": k}, k_nyquist=1.0), 3),
        (effects_for("mean", rng.standard_normal((6, 1))), 1),
        (effects_for("moments", _rows(rng, 6, 2)), 2),
        (effects_for("pdf", np.array([[1, 2, 10, 38, 10, 2, 1], [1, 2, 10, 38, 10, 2, 1.5]])), 7),  # both tails
        (effects_for("pdf", np.array([[0.0, 1.0, 0.0]])), 3),  # both PDF effects undefined
        (effects_for("peaks", np.array([[4.0, 2.0, 0.5], [6.0, 1.0, 0.5]])), 3),
        (effects_for("minkowski", np.zeros((2, 6)), {"functional": fun}), 6),  # no scale: undefined
        (effects_for("minkowski", _rows(rng, 6, 6), {"functional": fun}), 6),
        (effects_for("bispectrum", _rows(rng, 6, 4)), 4),
    ]
    for eff, d in cases:
        M = eff.transform(_rows(rng, 4, d))
        many = eff(M)
        assert set(many) == set(eff.describe)
        for name in eff.describe:
            assert many[name].shape == (4,)
            np.testing.assert_array_equal(many[name], [eff(M[i])[name][0] for i in range(4)])


def test_power_ranges_include_their_end_points():
    """0.03 ≤ k ≤ 0.5 h/Mpc is linear, 0.5 < k ≤ k_Nyquist small scales: a bin exactly at 0.03 or 0.5 is linear."""
    k = np.array([0.03, 0.2, 0.5, 0.8])
    P = _rows(np.random.default_rng(6), 10, 4)
    eff = effects_for("power", np.log10(P), {"k": k}, k_nyquist=1.0)
    for dev, linear, small in (([0.3, 0.1, 0.0, 0.05], 0.3, 0.05), ([0.0, 0.1, 0.3, 0.05], 0.3, 0.05)):
        out = eff.measure(np.log10(P.mean(axis=0) * (1 + np.array(dev)))[None], None, 0)
        assert out["pk_dev_linear"]["value"] == pytest.approx(linear, rel=1e-9)
        assert out["pk_dev_small_scales"]["value"] == pytest.approx(small, rel=1e-9)
    assert "over 0.03-0.5 h/Mpc" in eff.describe["pk_dev_linear"][1]
    assert "over 0.5-1.00 h/Mpc" in eff.describe["pk_dev_small_scales"][1]


def test_pdf_bins_on_the_quantiles_and_empty_bins_inside_the_bulk():
    """Reference mass 1, 1, 16, 1, 1 (/20): the cumulative mass reaches 5 % exactly at the end of bin 0 and starts
    bin 4 at 95 %, so bin 0 is the low tail, bin 4 the high tail and bins 1-2 (from 5 % to 90 %) the bulk."""
    pr = np.array([1.0, 1.0, 16.0, 1.0, 1.0]) / 20
    eff = effects_for("pdf", pr[None])
    pm = pr * np.array([1.5, 1.2, 1.0, 1.0, 0.9])
    out = eff.measure(pm[None], None, 0)
    norm = pm / pm.sum()
    assert out["pdf_dev_bulk"]["value"] == pytest.approx(abs(norm[1] / pr[1] - 1), rel=1e-12)
    assert out["pdf_dev_tails"]["value"] == pytest.approx(abs(norm[0] / pr[0] - 1), rel=1e-12)
    pm2 = pr * np.array([1.0, 1.0, 1.0, 1.0, 1.6])  # now only the high tail is off
    assert eff.measure(pm2[None], None, 0)["pdf_dev_tails"]["value"] == pytest.approx(
        abs(pm2[4] / pm2.sum() / pr[4] - 1), rel=1e-12)
    # a bin the reference never reaches, inside the central 90 %, is no bin of the bulk (no ratio to take)
    hole = np.array([2.0, 2.0, 10.0, 0.0, 40.0, 8.0, 2.0]) / 64  # bulk: bins 2 and 4, not the empty bin 3
    out = effects_for("pdf", hole[None]).measure((hole * np.array([1, 1, 1.1, 1, 1, 1, 1]))[None], None, 0)
    assert out["pdf_dev_bulk"]["value"] == pytest.approx(1.1 / (1 + 0.1 * 10 / 64) - 1, rel=1e-12)


def test_undefined_effects_of_a_degenerate_reference_are_silent():
    """A reference without scatter or peaks leaves an effect undefined (None), with no numpy warning on the way
    (evaluate scores such models; warnings would only clutter its output)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean = effects_for("mean", np.full((4, 1), 0.5))  # no scatter of the tile means
        assert mean.measure(np.array([[0.7], [0.9]]), None, 0)["mean_bias_sigma"]["value"] is None  # x / 0
        assert mean.measure(np.array([[0.5], [0.5]]), None, 0)["mean_bias_sigma"]["value"] is None  # 0 / 0
        peaks = effects_for("peaks", np.zeros((3, 2)))  # no peaks at all
        assert peaks.measure(np.array([[1.0, 0.0]]), None, 0)["peaks_dev_total"]["value"] is None
        assert peaks.measure(np.zeros((1, 2)), None, 0)["peaks_dev_total"]["value"] is None


def test_fractional_effects_are_labelled_so_the_score_card_prints_percentages():
    """The unit is what the score card formats by (``fmt_effect``: "fraction" → %): every effect defined as a
    fraction must say so, the σ-scaled mean bias and the dimensionless Q difference must not."""
    from cosmobench.presentation import fmt_effect

    rng = np.random.default_rng(7)
    fun = np.array(["V0", "V1", "V2"])
    cases = [(effects_for("power", np.log10(_rows(rng, 6, 3)), {"k": np.array([0.1, 0.4, 0.7])}, k_nyquist=1.0), 3),
             (effects_for("moments", _rows(rng, 6, 2)), 2),
             (effects_for("pdf", np.array([[1, 2, 10, 38, 10, 2, 1.0]])), 7),
             (effects_for("peaks", np.array([[4.0, 2.0, 1.0]])), 3),
             (effects_for("minkowski", _rows(rng, 6, 3), {"functional": fun}), 3),
             (effects_for("mean", rng.standard_normal((6, 1))), 1),
             (effects_for("bispectrum", _rows(rng, 6, 3)), 3)]
    percent = {"pk_dev_linear", "pk_dev_small_scales", "sigma_dev", "pdf_dev_bulk", "pdf_dev_tails",
               "peaks_dev_total", "peaks_dev_max", "V0_dev", "V1_dev", "V2_dev"}
    seen = set()
    for eff, d in cases:
        for name, entry in eff.measure(_rows(rng, 5, d), None, 0).items():
            seen.add(name)
            assert set(entry) == {"value", "ci", "null_median", "unit", "description"}
            assert fmt_effect(entry).endswith("%") is (name in percent), (name, entry["unit"])
    assert percent < seen
