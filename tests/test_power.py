"""Power spectrum: agreement with powerbox, Parseval, recovery of a known P(k), batching, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.signal

from cosmobench.data.track import DEFAULT_TRACK
from cosmobench.errors import CosmobenchError
from cosmobench.stats.power import (
    PowerSpectrum,
    PowerStatistic,
    default_edges,
    dimensionless_power,
    power_spectrum,
    welch_power,
)

L = 250.0
N = 64
KF = 2 * math.pi / L


def gaussian_field(rng, n, pk, *, size=N, box=L):
    """``n`` periodic Gaussian maps with P(k) = pk(|k|) in the P = L²/N⁴ ⟨|FFT|²⟩ convention."""
    kx = 2 * math.pi * np.fft.rfftfreq(size, d=box / size)
    ky = 2 * math.pi * np.fft.fftfreq(size, d=box / size)
    k = np.hypot(ky[:, None], kx[None, :])
    amp = np.zeros_like(k)
    amp[k > 0] = np.sqrt(pk(k[k > 0])) * size / box
    w = rng.standard_normal((n, size, size))
    return np.fft.irfft2(np.fft.rfft2(w) * amp, s=(size, size))


def lognormal_maps(rng, n, size=N, sigma=0.7):
    return (np.exp(sigma * rng.standard_normal((n, size, size)) - sigma**2 / 2) - 1).astype(np.float32)


def test_default_edges_are_half_integer_multiples_of_kf():
    e = default_edges(N, L)
    assert e.size == N // 2 + 1
    np.testing.assert_allclose(e / KF, np.arange(N // 2 + 1) + 0.5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_powerbox(rng, dtype):
    powerbox = pytest.importorskip("powerbox")
    maps = gaussian_field(rng, 5, lambda k: 100.0 * (k / 0.1) ** -1.5).astype(dtype)
    ps = power_spectrum(maps, L, allow_below_minus_one=True, threads=1)
    assert isinstance(ps, PowerSpectrum)
    assert ps.power.shape == (5, N // 2) and ps.k.shape == (N // 2,)
    for i in range(maps.shape[0]):
        ref = powerbox.get_power(maps[i].astype(np.float64), L, bins=ps.edges, ignore_zero_mode=True, nthreads=1)
        np.testing.assert_allclose(ps.power[i], ref.power, rtol=1e-6)
        np.testing.assert_allclose(ps.k, ref.bin_avg, rtol=1e-12)
        np.testing.assert_array_equal(ps.nmodes, ref.nsamples)


def test_matches_powerbox_custom_bins_odd_size(rng):
    powerbox = pytest.importorskip("powerbox")
    maps = rng.standard_normal((2, 45, 45))
    edges = np.array([0.3, 1.7, 4.2, 9.9, 30.0]) * (2 * math.pi / 100.0)
    ps = power_spectrum(maps, 100.0, bins=edges, allow_below_minus_one=True)
    for i in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = powerbox.get_power(maps[i], 100.0, bins=edges, ignore_zero_mode=True, nthreads=1)
        np.testing.assert_allclose(ps.power[i], ref.power, rtol=1e-9)
        np.testing.assert_array_equal(ps.nmodes, ref.nsamples)


def test_parseval(rng):
    """With bins covering every non-DC mode, Σ_bins P·nmodes = L² · var(δ)."""
    maps = lognormal_maps(rng, 4).astype(np.float64)
    edges = np.array([0.5, 3.0, 10.0, 40.0, 50.0]) * KF  # corner |k| = 32√2 k_F ≈ 45.3 k_F
    ps = power_spectrum(maps, L, bins=edges)
    assert ps.nmodes.sum() == N * N - 1
    np.testing.assert_allclose((ps.power * ps.nmodes).sum(axis=1), L**2 * maps.var(axis=(1, 2)), rtol=1e-12)


def test_recovers_known_power_law(rng):
    amp, slope = 400.0, -2.0
    pk = lambda k: amp * (k / 0.1) ** slope  # noqa: E731
    maps = gaussian_field(rng, 300, pk)
    ps = power_spectrum(maps, L, allow_below_minus_one=True)
    # expected bin value: mean of P over the bin's modes on the full grid
    f = np.fft.fftfreq(N) * N * KF
    k = np.hypot(f[:, None], f[None, :]).ravel()
    idx = np.digitize(k, ps.edges) - 1
    ok = (idx >= 0) & (idx < ps.k.size) & (k > 0)
    expected = np.bincount(idx[ok], weights=pk(k[ok]), minlength=ps.k.size) / ps.nmodes
    mean = ps.power.mean(axis=0)
    err = ps.power.std(axis=0, ddof=1) / math.sqrt(maps.shape[0])
    z = (mean - expected) / err
    assert np.abs(z).max() < 5.0, z
    # and the per-map scatter is that of nmodes/2 independent exponential modes
    rel_scatter = ps.power.std(axis=0) / expected
    np.testing.assert_allclose(rel_scatter[4:], np.sqrt(2 / ps.nmodes[4:]), rtol=0.35)


def test_batch_size_independence(rng):
    maps = lognormal_maps(rng, 300)  # more than one FFT chunk (256)
    whole = power_spectrum(maps, L).power
    parts = np.concatenate([power_spectrum(maps[s : s + 37], L).power for s in range(0, 300, 37)])
    one = power_spectrum(maps[123], L).power
    np.testing.assert_array_equal(whole, parts)
    np.testing.assert_allclose(one[0], whole[123], rtol=1e-14)


def test_threads_do_not_change_result(rng):
    maps = lognormal_maps(rng, 20)
    np.testing.assert_allclose(power_spectrum(maps, threads=1).power, power_spectrum(maps, threads=2).power, rtol=1e-12)


def test_concurrent_threads_do_not_share_plan_buffers(rng):
    from concurrent.futures import ThreadPoolExecutor

    batches = [lognormal_maps(rng, 300) for _ in range(4)]
    serial = [power_spectrum(b, L, threads=1).power for b in batches]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda b: power_spectrum(b, L, threads=1).power, batches))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_empty_bin_is_nan(rng):
    maps = lognormal_maps(rng, 2)
    ps = power_spectrum(maps, L, bins=np.array([0.5, 1.05, 1.1, 2.5]) * KF)  # no |k| in [1.05, 1.1) k_F
    assert ps.nmodes[1] == 0 and np.isnan(ps.power[:, 1]).all() and np.isfinite(ps.power[:, [0, 2]]).all()


def test_dimensionless_power(rng):
    ps = power_spectrum(lognormal_maps(rng, 3), L)
    np.testing.assert_allclose(dimensionless_power(ps), ps.k**2 * ps.power / (2 * math.pi))
    with pytest.raises(CosmobenchError):
        dimensionless_power(np.ones(3))


def test_welch_matches_seed_loop(rng):
    maps = lognormal_maps(rng, 4)
    dx = 1000.0 / 256
    k, p = welch_power(maps, dx)
    for i in range(4):
        kk, pp = scipy.signal.welch(maps[i].astype(np.float64), fs=2 * math.pi / dx, axis=0, scaling="spectrum", nperseg=64)
        np.testing.assert_allclose(k, kk)
        np.testing.assert_allclose(p[i], pp.mean(axis=1), rtol=1e-10)


def test_statistic(rng):
    stat = PowerStatistic()
    assert (stat.name, stat.version, stat.distance) == ("power", "1", "chi2")
    maps = lognormal_maps(rng, 6)
    s = stat.summarize(maps)
    assert s.shape == (6, N // 2) and s.dtype == np.float64
    ps = power_spectrum(maps, DEFAULT_TRACK.tile_size)
    np.testing.assert_allclose(s, np.log10(ps.power))
    np.testing.assert_allclose(stat.coords()["k"], ps.k)
    with pytest.raises(CosmobenchError):
        stat.summarize(lognormal_maps(rng, 2, size=32))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 3, 64, 64), np.float32),
        np.ones((2, 64, 64), np.int32),
        np.full((2, 64, 64), np.nan, np.float32),
        np.full((1, 64, 64), -2.0, np.float32),
        [[1.0, 2.0], [3.0]],
    ],
)
def test_bad_maps(bad):
    with pytest.raises(CosmobenchError):
        power_spectrum(bad, L)


@pytest.mark.parametrize("kw", [{"box_size": -1.0}, {"box_size": "x"}, {"bins": [1.0]}, {"bins": [0.3, 0.2]}, {"threads": 0}, {"threads": "two"}])
def test_bad_arguments(rng, kw):
    maps = lognormal_maps(rng, 2)
    with pytest.raises(CosmobenchError):
        power_spectrum(maps, **kw)


def test_default_bins_need_square_maps(rng):
    with pytest.raises(CosmobenchError):
        power_spectrum(lognormal_maps(rng, 1)[:, :, :32], L)
