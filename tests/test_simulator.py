"""The built-in simulator on the "small" config (250 Mpc/h, 64³ particles, 128³ mesh, 64³ paint grid).

Each check is chosen so that a plausible bug fails it: broken Hermitian symmetry, wrong IC amplitude,
wrong growth factor or kick/drift factors (growth of the largest modes), a broken force (P(k) far from
Mead2020), races in the parallel paint (determinism across thread counts).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cosmobench.data._fft import irfftn
from cosmobench.data.cosmology import growth_factor, halofit_power, linear_power
from cosmobench.data.simulator import (
    SIM_CONFIGS,
    SimConfig,
    gaussian_modes,
    get_config,
    power_spectrum_3d,
    simulate,
)
from cosmobench.errors import CosmobenchError

SMALL = SIM_CONFIGS["small"]
D_INIT = float(growth_factor(SMALL.a_init))


@pytest.fixture(scope="module")
def run0():
    return simulate("small", 0, threads=1)


def _bins(dk, box):
    """Per-bin mean |δ_k|² power and mean P_lin over the same modes (half-space weights)."""
    n = dk.shape[0]
    kf = 2 * np.pi / box
    kx = np.fft.fftfreq(n, 1.0 / n) * kf
    kz = np.arange(n // 2 + 1) * kf
    kmag = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    w = np.full(kz.shape, 2.0)
    w[0] = w[-1] = 1.0
    w = np.broadcast_to(w, kmag.shape)
    p = np.abs(dk) ** 2 * box**3 / n**6
    idx = (kmag / kf).astype(int)
    sel = (idx >= 1) & (idx < n // 2)
    nm = np.bincount(idx[sel], w[sel])
    pm = np.bincount(idx[sel], (w * p)[sel]) / np.where(nm > 0, nm, 1)
    pl = np.bincount(idx[sel], (w * linear_power(kmag))[sel]) / np.where(nm > 0, nm, 1)
    return nm[1:], pm[1:], pl[1:]


def test_configs_share_the_default_track_pixel():
    for name in ("default", "small"):
        cfg = SIM_CONFIGS[name]
        assert cfg.cell_size == pytest.approx(1000.0 / 256)
        assert cfg.mesh_factor >= 2 and cfg.n_steps >= 10 and cfg.a_init == 1.0 / 128.0
    assert SIM_CONFIGS["default"].n_mesh == 512 and SIM_CONFIGS["small"].n_mesh == 128


def test_growth_factor_z127():
    assert D_INIT / float(growth_factor(1.0)) == pytest.approx(0.009899, rel=1e-3)


def test_initial_modes_are_exactly_hermitian():
    # If any mode of the kz = 0 or kz = n/2 planes broke δ_{-k} = δ_k*, the inverse real FFT would
    # silently project it and the round trip would not give the modes back.
    dk = gaussian_modes(32, 250.0, seed=7)
    back = np.fft.rfftn(irfftn(dk, 32))
    scale = np.abs(dk).max()
    np.testing.assert_allclose(back, dk, atol=1e-10 * scale)
    assert dk[0, 0, 0] == 0
    # The Nyquist and kz = 0 planes are populated, not zeroed.
    assert np.abs(dk[:, :, 0]).max() > 0 and np.abs(dk[:, :, -1]).max() > 0


def test_initial_modes_recover_input_power():
    dk = gaussian_modes(64, 250.0, seed=3)
    nm, pm, pl = _bins(dk, 250.0)
    # Each bin averages nm/2 independent exponential variates: σ(P)/P = sqrt(2/nm).
    z = (pm / pl - 1.0) / np.sqrt(2.0 / nm)
    chi2 = float(np.mean(z**2))
    assert 0.5 < chi2 < 1.8, chi2
    total = np.sum(nm * pm) / np.sum(nm * pl)
    assert total == pytest.approx(1.0, abs=0.03)


def test_different_seeds_differ_and_same_seed_repeats():
    a = gaussian_modes(16, 250.0, seed=1)
    np.testing.assert_array_equal(a, gaussian_modes(16, 250.0, seed=1))
    assert not np.allclose(a, gaussian_modes(16, 250.0, seed=2))


def test_result_shapes_and_physical_bounds(run0):
    r = run0
    assert r.delta.shape == r.delta_init.shape == (64, 64, 64)
    assert r.delta.dtype == r.delta_init.dtype == np.float32
    assert r.seed == 0 and r.config == SMALL and r.wall_time > 0
    assert np.all(np.isfinite(r.delta))
    assert r.delta.min() >= -1.0
    assert abs(float(r.delta.mean(dtype=np.float64))) < 1e-5
    assert abs(float(r.delta_init.mean(dtype=np.float64))) < 1e-6
    # Reference: 1.93 (Mead2020) on 256³ of 1000 Mpc/h; the 250 Mpc/h box lacks k < 0.025 h/Mpc.
    assert 1.6 < float(r.delta.std()) < 2.3
    assert 0.011 < float(r.delta_init.std()) < 0.017


def test_initial_density_is_the_linear_field_grown_to_z127(run0):
    # Compare with the exact Gaussian modes of the same seed: no cosmic variance left, so a wrong
    # D(z=127), a wrong IC amplitude or a broken paint shows up at the per-cent level.
    dk = gaussian_modes(64, 250.0, seed=0)
    _, p_exact, _ = _bins(dk, 250.0)
    pin = power_spectrum_3d(run0.delta_init, 250.0, deconvolve_cic=True)
    low = pin.k < 0.2
    ratio = pin.power[low] / (D_INIT**2 * p_exact[: pin.k.size][low])
    np.testing.assert_allclose(ratio, 1.0, atol=0.04)


def test_largest_modes_grow_as_linear_theory(run0):
    pin = power_spectrum_3d(run0.delta_init, 250.0)
    p0 = power_spectrum_3d(run0.delta, 250.0)
    growth = p0.power[:2] / pin.power[:2] * D_INIT**2  # k ≈ 0.036, 0.060 h/Mpc
    assert np.all(np.abs(growth - 1.0) < 0.1), growth


def test_z0_power_matches_mead2020(run0):
    p0 = power_spectrum_3d(run0.delta, 250.0, deconvolve_cic=True)
    sel = (p0.k >= 0.1) & (p0.k <= 0.5)
    ratio = np.sum(p0.nmodes[sel] * p0.power[sel] / halofit_power(p0.k[sel])) / np.sum(p0.nmodes[sel])
    assert ratio == pytest.approx(1.0, abs=0.08)


def test_deterministic_across_runs(run0):
    again = simulate("small", 0, threads=1)
    np.testing.assert_array_equal(again.delta, run0.delta)
    np.testing.assert_array_equal(again.delta_init, run0.delta_init)
    other = simulate(SMALL, 1, threads=1)
    assert not np.allclose(other.delta, run0.delta)


def test_progress_is_reported():
    calls = []
    cfg = replace(SMALL, n_steps=2, n_particles=16, paint_grid=16, box_size=62.5)
    simulate(cfg, 0, threads=1, progress=lambda s, t, label: calls.append((s, t, label)))
    assert [c[0] for c in calls] == [1, 2, 3, 4] and all(c[1] == 4 for c in calls)


def test_power_spectrum_of_white_noise_is_flat():
    rng = np.random.default_rng(0)
    field = rng.standard_normal((32, 32, 32))
    ps = power_spectrum_3d(field, 100.0, deconvolve_cic=False)
    expected = (100.0 / 32) ** 3  # σ² × cell volume
    assert np.sum(ps.nmodes * ps.power) / np.sum(ps.nmodes) == pytest.approx(expected, rel=0.03)
    assert np.all(np.diff(ps.k) > 0)


def test_user_mistakes_raise_cosmobench_error():
    with pytest.raises(CosmobenchError, match="unknown simulation config"):
        get_config("huge")
    with pytest.raises(CosmobenchError, match="n_particles"):
        SimConfig(box_size=100.0, n_particles=63)
    with pytest.raises(CosmobenchError, match="box_size"):
        SimConfig(box_size=-1.0, n_particles=64)
    with pytest.raises(CosmobenchError, match="seed"):
        simulate("small", -1)
    with pytest.raises(CosmobenchError, match="cubic"):
        power_spectrum_3d(np.zeros((4, 4)), 10.0)


_PAINT_THREADS = """
import hashlib, json, numba, numpy as np
from cosmobench.data import _pm_kernels as K
disp = np.random.default_rng(1).normal(scale=5.0, size=(3, 32**3)).astype(np.float32)
out = {}
for t in (1, 2):
    numba.set_num_threads(t)
    assert numba.get_num_threads() == t
    m = np.empty((64, 64, 64), dtype=np.float32)
    K.paint_lattice(disp, 32, 100.0, m, weight=8.0)
    out[t] = [hashlib.sha256(m.tobytes()).hexdigest(), float(m.sum(dtype=np.float64))]
print(json.dumps(out))
"""


def test_parallel_paint_is_thread_independent():
    """1 vs 2 numba threads give bit-identical meshes. A fresh process with NUMBA_NUM_THREADS=2 gets a
    2-thread pool even on a 1-core runner (where the in-process maximum would be 1, comparing 1 with 1)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "COSMOBENCH_THREADS": "2"}
    res = subprocess.run([sys.executable, "-c", _PAINT_THREADS], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["1"][0] == out["2"][0]
    assert out["1"][1] == pytest.approx(8.0 * 32**3, rel=1e-6)
