"""Bispectrum: brute-force triangle sum, normalisation, Gaussian and quadratic fields, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cosmobench.errors import CosmobenchError
from cosmobench.stats.bispectrum import DEFAULT_CONFIGS, Bispectrum, BispectrumStatistic, bispectrum, triangle_configs
from cosmobench.stats.power import power_spectrum


def gaussian_field(rng, n, pk, size=64, box=250.0):
    """Periodic Gaussian maps with P(k) = pk(|k|) (P = L²/N⁴ ⟨|FFT|²⟩)."""
    kx = 2 * math.pi * np.fft.rfftfreq(size, d=box / size)
    ky = 2 * math.pi * np.fft.fftfreq(size, d=box / size)
    k = np.hypot(ky[:, None], kx[None, :])
    amp = np.zeros_like(k)
    amp[k > 0] = np.sqrt(pk(k[k > 0])) * size / box
    return np.fft.irfft2(np.fft.rfft2(rng.standard_normal((n, size, size))) * amp, s=(size, size))


def _brute(m, box, config, dk):
    """L⁴/N⁶ × mean of F(k1)F(k2)F(k3) over ordered grid triangles k1 + k2 + k3 ≡ 0 with k_i in the shells."""
    n = m.shape[0]
    F = np.fft.fft2(m)
    f = np.fft.fftfreq(n) * n * 2 * math.pi / box
    K = np.hypot(f[:, None], f[None, :])

    def shell(k):
        return (K >= k - dk / 2) & (K < k + dk / 2) & (K > 0)

    s1, s2, s3 = (shell(k) for k in config)
    i2 = np.argwhere(s2)
    total, count = 0.0, 0
    for a in np.argwhere(s1):
        j3 = (-a[None] - i2) % n
        ok = s3[j3[:, 0], j3[:, 1]]
        total += (F[a[0], a[1]] * F[i2[ok, 0], i2[ok, 1]] * F[j3[ok, 0], j3[ok, 1]]).sum()
        count += int(ok.sum())
    return (box**4 / n**6 * total / count).real, count


def test_matches_brute_force_triangle_sum(rng):
    box, n = 100.0, 16
    kf = 2 * math.pi / box
    maps = rng.standard_normal((3, n, n)) ** 2 - 1  # skewed, so B is far from 0
    configs = np.array([[3, 3, 3], [2, 4, 5], [5, 5, 8], [6, 7, 2], [8, 8, 8]]) * kf  # 8 = Nyquist shell
    bs = bispectrum(maps, configs, box, dk=kf, allow_below_minus_one=True)
    assert isinstance(bs, Bispectrum) and bs.B.shape == (3, 5)
    for j, c in enumerate(configs):
        for i in range(3):
            ref, count = _brute(maps[i], box, c, kf)
            assert bs.ntriangles[j] == count
            np.testing.assert_allclose(bs.B[i, j], ref, rtol=1e-8, atol=1e-8 * abs(ref) + 1e-12)


def test_normalisation_of_a_single_triangle():
    """A map of three plane waves closing one triangle: B = L⁴/N⁶ F1 F2 F3 / ntri, known exactly."""
    box, n = 10.0, 32
    x = np.arange(n)
    # δ = cos(2π(3x)/N) + cos(2π(3y)/N) + cos(2π(3x+3y)/N): k1 = (3,0), k2 = (0,3), k3 = -(3,3)
    X, Y = np.meshgrid(x, x, indexing="ij")
    d = np.cos(2 * np.pi * 3 * X / n) + np.cos(2 * np.pi * 3 * Y / n) + np.cos(2 * np.pi * 3 * (X + Y) / n)
    kf = 2 * math.pi / box
    bs = bispectrum(d, [[3 * kf, 3 * kf, 3 * math.sqrt(2) * kf]], box, dk=0.5 * kf, allow_below_minus_one=True)
    # each cosine has FFT amplitude N²/2 at ±k; 4 modes at |k|=3 in shells 1 and 2, 4 at 3√2 in shell 3
    ref, count = _brute(d, box, (3 * kf, 3 * kf, 3 * math.sqrt(2) * kf), 0.5 * kf)
    np.testing.assert_allclose(bs.B[0, 0], ref, rtol=1e-10)
    # the ordered triangles with nonzero F: (k1, k2, k3) = ±((3,0), (0,3), −(3,3)) and ±((0,3), (3,0), −(3,3)),
    # 4 of the ``count`` triangles, each carrying (N²/2)³
    expected = box**4 / n**6 * 4 * (n**2 / 2) ** 3 / count
    np.testing.assert_allclose(bs.B[0, 0], expected, rtol=1e-10)


def test_shell_power_matches_power_spectrum(rng):
    maps = gaussian_field(rng, 4, lambda k: 50 * (k / 0.1) ** -1.0)
    kf = 2 * math.pi / 250.0
    # one k_F-wide shell centred on 10 k_F == the power spectrum's 10th default bin
    bs = bispectrum(maps, [[10 * kf, 10 * kf, 10 * kf]], 250.0, dk=kf, allow_below_minus_one=True)
    ps = power_spectrum(maps, 250.0, allow_below_minus_one=True)
    np.testing.assert_allclose(bs.power[:, 0, 0], ps.power[:, 9], rtol=1e-10)


def test_gaussian_field_is_consistent_with_zero(rng):
    maps = gaussian_field(rng, 400, lambda k: 100 * (k / 0.1) ** -1.5)
    bs = bispectrum(maps, allow_below_minus_one=True)
    z = bs.Q.mean(axis=0) / (bs.Q.std(axis=0, ddof=1) / math.sqrt(400))
    assert np.abs(z).max() < 4.5, z


def test_quadratic_field_has_positive_Q(rng):
    fnl = 0.3
    g = gaussian_field(rng, 300, lambda k: 100 * (k / 0.1) ** -1.5)
    d = g + fnl * (g**2 - (g**2).mean())
    bs = bispectrum(d, allow_below_minus_one=True)
    q = bs.Q.mean(axis=0)
    err = bs.Q.std(axis=0, ddof=1) / math.sqrt(300)
    assert (q > 3 * err).all(), (q, err)
    # tree level: Q = 2 f_NL (loops and shell averaging shift it somewhat)
    assert (np.abs(q - 2 * fnl) < 0.5 * 2 * fnl).all(), q


def test_triangle_configs():
    c = triangle_configs(0.2, 0.2, 2 * math.pi / 3)
    np.testing.assert_allclose(c, [[0.2, 0.2, 0.2]])
    c = triangle_configs([0.1, 0.3], 0.3, [math.pi / 2, math.pi])
    np.testing.assert_allclose(c[:, 2], [math.hypot(0.1, 0.3), 0.0], atol=1e-15)


def test_batch_size_independence(rng):
    maps = (np.exp(0.8 * rng.standard_normal((150, 64, 64))) - 1.4).clip(-1, None).astype(np.float32)
    whole = bispectrum(maps).B
    parts = np.concatenate([bispectrum(maps[s : s + 61]).B for s in range(0, 150, 61)])
    np.testing.assert_allclose(whole, parts, rtol=1e-12)


def test_statistic(rng):
    maps = (np.exp(0.8 * rng.standard_normal((4, 64, 64))) - 1.4).clip(-1, None).astype(np.float32)
    s = BispectrumStatistic()
    assert (s.name, s.distance) == ("bispectrum", "chi2")
    out = s.summarize(maps)
    assert out.shape == (4, len(DEFAULT_CONFIGS)) and np.isfinite(out).all()
    np.testing.assert_allclose(out, bispectrum(maps, DEFAULT_CONFIGS, 250.0).Q)
    assert set(s.coords()) == {"k1", "k2", "k3"}


@pytest.mark.parametrize(
    "configs, kw",
    [
        ([[0.1, 0.1]], {}),
        ([[0.1, -0.1, 0.1]], {}),
        ([[0.1, 0.1, 0.5]], {}),  # violates the triangle inequality: no triangles
        ([[5.0, 5.0, 5.0]], {}),  # beyond the grid: empty shell
        ([[0.1, 0.1, 0.1]], {"dk": 0.0}),
        ([[0.1, 0.1, 0.1]], {"box_size": 0.0}),
    ],
)
def test_bad_arguments(rng, configs, kw):
    maps = rng.standard_normal((2, 64, 64))
    with pytest.raises(CosmobenchError):
        bispectrum(maps, configs, allow_below_minus_one=True, **kw)


def test_bad_maps():
    with pytest.raises(CosmobenchError):
        bispectrum(np.full((2, 64, 64), np.nan))
