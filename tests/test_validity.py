"""Physically invalid maps are scored, not refused: the ``validity`` metric, the clipping rule and its flags."""

from __future__ import annotations

import numpy as np
import pytest

from cosmobench.compare.validity import ValidityTally
from cosmobench.evaluation import evaluate
from cosmobench.leaderboard import build_leaderboards
from cosmobench.report import make_report
from cosmobench.results import load_result

N = 50
N_BAD = 23  # 46 % of the maps, as in the seed DDPM's failure


class Arrays:
    """A generator serving fixed maps (one chunk: n ≤ 256), so two runs see exactly the maps we built."""

    def __init__(self, maps, name="arrays"):
        self.maps = np.asarray(maps, dtype=np.float32)
        self.name = name

    def sample(self, n, *, seed):
        return self.maps[:n].copy()


def _lognormal(n, seed=0, sigma=0.8):
    g = np.random.default_rng(seed).standard_normal((n, 64, 64))
    return np.exp(sigma * g - sigma**2 / 2) - 1


def seed_ddpm_failure(n=N, n_bad=N_BAD):
    """The seed DDPM's failure in miniature: n_bad maps below −1 everywhere, the rest with mean δ ≈ 235."""
    rng = np.random.default_rng(1)
    maps = 235.0 * (1 + _lognormal(n, seed=2, sigma=0.3))
    maps[:n_bad] = -1.5 - 0.2 * rng.random((n_bad, 64, 64))
    return maps


@pytest.fixture(scope="module")
def seed_like(small_source):
    return evaluate(Arrays(seed_ddpm_failure(), name="seed-like"), n=N, source="sim-small",
                    train_for_memorisation=False, progress=False)


@pytest.mark.slow
def test_seed_ddpm_failure_is_scored_with_its_validity_numbers(seed_like):
    v = seed_like.metrics["validity"]
    assert v.value == pytest.approx((N - N_BAD) / N) and v.ratio == v.value and v.floor == 1.0 and v.higher_is_better
    assert v.ci[0] < v.value < v.ci[1]
    x = v.extra
    assert x["maps_below_minus_one"] == x["maps_below_minus_one_everywhere"] == N_BAD
    assert x["constant_maps"] == N_BAD  # clipped at −1 everywhere: no fluctuations left
    assert x["pixels_below_minus_one_fraction"] == pytest.approx(N_BAD / N)
    assert "clipped to -1" in x["rule"]
    # scored: every metric has a number, the composite is finite and the model is far from the reference
    assert all(np.isfinite(m.ratio) for m in seed_like.metrics.values())
    assert np.isfinite(seed_like.composite) and seed_like.composite > 100
    # validity is reported beside the composite, not inside it
    assert seed_like.metrics["mean"].ratio > 1e3


@pytest.mark.slow
def test_mean_is_that_of_the_clipped_maps(seed_like):
    maps = seed_ddpm_failure()
    expect = np.maximum(maps, -1).reshape(N, -1).mean(axis=1).mean()
    got = seed_like.curves["mean"]["model_mean"][0]
    assert got == pytest.approx(expect, rel=1e-6)
    assert got != pytest.approx(maps.reshape(N, -1).mean(axis=1).mean(), rel=1e-3)


@pytest.mark.slow
def test_scorecard_report_and_leaderboard_flag_it(seed_like, tmp_path):
    card = seed_like.scorecard()
    assert "WARNING: 46% of maps invalid" in card and "46% of pixels δ < −1" in card
    assert [ln for ln in card.splitlines() if ln.startswith("validity")][0].endswith("constant maps)")
    path = seed_like.save(tmp_path / "results")
    html = make_report(path, tmp_path / "report").read_text()
    assert "Invalid maps: 46% of maps invalid" in html
    md = build_leaderboards(tmp_path / "results", tmp_path / "lb")[0].read_text()
    row = [ln for ln in md.splitlines() if "seed-like" in ln][0]
    assert "⚠ 46% invalid maps" in row and "0.54 (×0.54)" in row
    assert load_result(path).metrics["validity"].extra["constant_maps"] == N_BAD


@pytest.mark.slow
def test_clipping_rule_gives_the_scores_of_the_clipped_maps(small_source):
    """Scoring maps with pixels below −1 equals scoring the same maps clipped at −1 (validity aside)."""
    maps = _lognormal(32, seed=5)
    holes = np.random.default_rng(6).random(maps.shape) < 0.02
    bad = np.where(holes, -1.0 - 3 * np.random.default_rng(7).random(maps.shape), maps)
    kw = dict(n=32, source="sim-small", statistics=["power", "pdf", "mean", "moments"], progress=False,
              train_for_memorisation=False)
    a = evaluate(Arrays(bad), **kw)
    b = evaluate(Arrays(np.maximum(bad, -1.0)), **kw)
    for k in ("power", "pdf", "mean", "moments"):
        assert a.metrics[k].value == b.metrics[k].value, k
    assert b.metrics["validity"].value == 1.0 and a.metrics["validity"].value == 0.0
    assert a.metrics["validity"].extra["pixels_below_minus_one_fraction"] == pytest.approx(holes.mean())
    assert a.metrics["validity"].extra["constant_maps"] == 0


@pytest.mark.slow
def test_constant_maps_are_scored_with_undefined_ratios_set_to_zero(small_source):
    maps = _lognormal(32, seed=3)
    maps[:8] = 0.0  # a uniform field: zero power, no skewness to speak of
    r = evaluate(Arrays(maps), n=32, source="sim-small", statistics=["moments", "power", "bispectrum"],
                 progress=False, train_for_memorisation=False)
    v = r.metrics["validity"]
    assert v.value == pytest.approx(24 / 32) and v.extra["constant_maps"] == 8 and v.extra["maps_below_minus_one"] == 0
    flat = maps[8:].reshape(24, -1).astype(np.float64)
    z = (flat - flat.mean(axis=1, keepdims=True)) / flat.std(axis=1, keepdims=True)
    skew = (z**3).mean(axis=1)
    # the 8 constant maps enter the mean skewness as 0
    assert r.curves["moments"]["model_mean"][1] == pytest.approx(skew.sum() / 32, rel=1e-4)
    assert all(np.isfinite(m.value) for m in r.metrics.values())


def test_tally_counts_across_chunks():
    t = ValidityTally()
    a = np.zeros((3, 8, 8), np.float32)
    a[0, 0, 0] = -2.0  # one pixel below −1: invalid, not constant after clipping
    a[1] = -1.2  # below everywhere: constant after clipping
    a[2] = np.arange(64).reshape(8, 8)
    out, const = t.apply(a)
    assert out.min() == -1.0 and list(const) == [False, True, False]
    t.apply(np.ones((2, 8, 8), np.float32))  # constant, not below
    s = t.score()
    assert s.extra["n_maps"] == 5 and s.extra["valid_maps"] == 1 and s.value == pytest.approx(0.2)
    assert s.extra["maps_below_minus_one"] == 2 and s.extra["maps_below_minus_one_everywhere"] == 1
    assert s.extra["constant_maps"] == 3
    assert s.extra["pixels_below_minus_one_fraction"] == pytest.approx(65 / (5 * 64))
    assert 0 <= s.ci[0] < 0.2 < s.ci[1] <= 1
