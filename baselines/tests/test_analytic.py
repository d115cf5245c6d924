"""The analytic baselines (grf, lognormal): P(k) and variance recovered, clipping, and building a missing source."""

from __future__ import annotations

import numpy as np
import pytest

from _baseline_fakes import L, fake_reference
from cosmobench_baselines import analytic, holdout


@pytest.mark.parametrize("kind", ["grf", "lognormal"])
def test_analytic_shape_dtype_determinism(kind, fake_source):
    fac = analytic.grf_factory if kind == "grf" else analytic.lognormal_factory
    g = fac()
    a, b, c = g.sample(7, seed=1), g.sample(7, seed=1), g.sample(7, seed=2)
    assert a.shape == (7, 64, 64) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.isfinite(a).all() and a.min() >= -1.0


def test_grf_recovers_target_power():
    # weakly non-linear reference: no clipping, so P(k) must come back within the sampling error
    ref = fake_reference(200, seed=3, amp=0.15)
    g = analytic.grf_factory(reference_maps=ref)
    m = 400
    s = g.sample(m, seed=11)
    assert g.info["clip_fraction"] == 0.0
    k, p_ref, edges = analytic._binned_power(ref.astype(np.float64), L)
    _, p_gen, _ = analytic._binned_power(s.astype(np.float64), L)
    target, got = np.nanmean(p_ref, 0), np.nanmean(p_gen, 0)
    nmodes = np.histogram(analytic._kgrid(64, L)[analytic._kgrid(64, L) > 0], bins=edges)[0]
    ok = np.isfinite(target) & (target > 1e-3 * np.nanmax(target))
    err = np.sqrt(2.0 / (nmodes[ok] * m))  # relative error of the mean of m Gaussian-field estimates
    z = (got[ok] / target[ok] - 1) / err
    assert np.abs(z).max() < 5.0, z
    assert abs(np.mean(z)) < 1.0


def test_grf_power_normalisation_catches_factor_errors(monkeypatch):
    """The P(k) check above must be able to fail: a generator off by 10 % in amplitude is caught."""
    ref = fake_reference(200, seed=3, amp=0.15)
    g = analytic.grf_factory(reference_maps=ref)
    g.amp = g.amp * 1.05
    s = g.sample(400, seed=11)
    k, p_ref, edges = analytic._binned_power(ref.astype(np.float64), L)
    _, p_gen, _ = analytic._binned_power(s.astype(np.float64), L)
    ratio = np.nanmean(p_gen, 0) / np.nanmean(p_ref, 0)
    assert np.nanmedian(ratio) > 1.07


def test_grf_clips_below_minus_one():
    ref = fake_reference(64, seed=5, amp=1.0)
    g = analytic.grf_factory(reference_maps=ref)
    s = g.sample(32, seed=0)
    assert s.min() >= analytic.GRF_FLOOR - 1e-7
    assert g.info["clip_fraction"] > 0


def test_lognormal_variance_and_positivity():
    ref = fake_reference(200, seed=7, amp=0.8)
    g = analytic.lognormal_factory(reference_maps=ref)
    s = g.sample(600, seed=3).astype(np.float64)
    assert s.min() > -1.0
    target = ref.astype(np.float64).var(axis=(1, 2)).mean() + ref.astype(np.float64).mean(axis=(1, 2)).var()
    assert g.target_variance == pytest.approx(target, rel=1e-9)
    got = s.var(axis=(1, 2)).mean() + s.mean(axis=(1, 2)).var()
    assert got == pytest.approx(target, rel=0.08)
    assert abs(s.mean()) < 0.05
    # and the two-point function comes out too (to the lognormal approximation)
    _, p_ref, _ = analytic._binned_power(ref.astype(np.float64), L)
    _, p_gen, _ = analytic._binned_power(s, L)
    r = np.nanmean(p_gen, 0)[:20] / np.nanmean(p_ref, 0)[:20]
    assert np.all(np.abs(r - 1) < 0.25), r


def test_analytic_and_holdout_on_small_source(small_source):
    src = small_source
    h = holdout.holdout_factory(source=src.name)
    assert h.sample(8, seed=0).shape == (8, 64, 64)
    ln = analytic.lognormal_factory(source=src.name)
    x = ln.sample(16, seed=0)
    assert x.shape == (16, 64, 64) and x.min() > -1
    assert analytic.grf_factory(source=src.name).sample(4, seed=0).min() >= -1


def test_analytic_baseline_builds_a_missing_reference_source(tmp_path, monkeypatch):
    """The README's main command on a fresh machine: `evaluate --model lognormal` before any `data build`."""
    from cosmobench.evaluation import evaluate

    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path))
    result = evaluate("lognormal", n=32, source="sim-small", progress=False)
    assert result.reference["source"] == "sim-small"
    assert np.isfinite(result.composite)
