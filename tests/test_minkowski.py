"""Minkowski functionals: exact agreement with quantimpy's estimator, Tomita curves for Gaussian fields."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cosmobench.errors import CosmobenchError
from cosmobench.stats.minkowski import (
    DEFAULT_THRESHOLDS,
    MinkowskiStatistic,
    gaussian_minkowski,
    minkowski,
    to_quantimpy,
)


# quantimpy 0.2.6 `minkowski.functionals(maps[m] >= t)` (area, L/2π, χ/π), run under numpy 1.26 on
# maps = np.random.default_rng(2024).standard_normal((3, 17, 23)), t in (-0.5, 0.0, 0.8).
QUANTIMPY_REF = [
    [[242.0, 31.37667734976195, -2.944366447200064], [180.0, 35.36348288760299, 6.127465309037971],
     [68.0, 22.78174593052023, 11.8570432603462]],
    [[250.99999999999997, 30.75535700620231, -4.058451048843331], [168.0, 35.98480323116263, 10.822536130248883],
     [75.0, 25.836570953021806, 14.880987179092214]],
    [[239.0, 30.910687092092218, -4.933803235848756], [170.0, 36.657900270018914, 5.80915542285418],
     [70.0, 22.729969235223596, 12.095775674984045]],
]
# same, maps[0] >= 0 with res = (3.9, 3.9)
QUANTIMPY_REF_RES = [2737.8, 137.91758326165166, 6.12746530903797]


def _port(b: np.ndarray, connectivity: int = 4):
    """Plain-Python Ohser–Mücklich / Gray counting of one boolean image (quantimpy's formulas)."""
    h, w = b.shape
    hist = np.zeros(16, dtype=np.int64)
    for x in range(h - 1):
        for y in range(w - 1):
            hist[int(b[x, y]) + 2 * int(b[x + 1, y]) + 4 * int(b[x, y + 1]) + 8 * int(b[x + 1, y + 1])] += 1
    ncell = (h - 1) * (w - 1)
    area = sum(hist[i] for i in range(16) if i & 1)
    cross = 0
    for p, q in ((1, 2), (1, 4), (1, 8), (2, 4)):
        cross += sum(hist[i] for i in range(16) if bool(i & p) != bool(i & q))
    length = 0.25 * (0.25 * cross) / (0.25 * ncell * (2 + 2 * math.sqrt(2))) * ncell  # L/(2π)
    q1 = hist[[1, 2, 4, 8]].sum()
    q3 = hist[[7, 11, 13, 14]].sum()
    qd = hist[[6, 9]].sum()
    chi = (q1 - q3 + (2 if connectivity == 4 else -2) * qd) / 4
    return np.array([area, length, chi / math.pi])


def test_matches_stored_quantimpy_values():
    rng = np.random.default_rng(2024)
    maps = rng.standard_normal((3, 17, 23))
    v = minkowski(maps, [-0.5, 0.0, 0.8], allow_below_minus_one=True)
    q = to_quantimpy(v, maps.shape[1:]).transpose(0, 2, 1)
    np.testing.assert_allclose(q, np.array(QUANTIMPY_REF), rtol=1e-12, atol=1e-12)
    vr = minkowski(maps[:1], [0.0], pixel_size=3.9, allow_below_minus_one=True)
    np.testing.assert_allclose(to_quantimpy(vr, maps.shape[1:], 3.9)[0, :, 0], QUANTIMPY_REF_RES, rtol=1e-12)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_matches_python_port(rng, connectivity):
    maps = np.exp(rng.standard_normal((6, 19, 16)) * 1.2) - 1
    ts = np.array([3.0, -0.5, 0.0, 0.4, 1.0, -0.99, 40.0])  # unsorted on purpose
    v = minkowski(maps, ts, connectivity=connectivity)
    q = to_quantimpy(v, maps.shape[1:])
    for m in range(maps.shape[0]):
        for j, t in enumerate(ts):
            np.testing.assert_allclose(q[m, :, j], _port(maps[m] >= t, connectivity), rtol=1e-12, atol=1e-12)


def test_matches_live_quantimpy(rng, quantimpy_minkowski):
    mk = quantimpy_minkowski
    maps = np.exp(rng.standard_normal((4, 32, 32))) - 1
    ts = np.array([-0.4, 0.0, 1.0, 3.0])
    q = to_quantimpy(minkowski(maps, ts), maps.shape[1:])
    for m in range(4):
        for j, t in enumerate(ts):
            np.testing.assert_allclose(q[m, :, j], mk.functionals(maps[m] >= t), rtol=1e-10, atol=1e-10)


def test_hand_made_shapes():
    z = np.full((1, 8, 8), -1.0)
    one = z.copy()
    one[0, 3, 3] = 1.0
    diag = z.copy()
    diag[0, 2, 2] = diag[0, 3, 3] = 1.0
    ring = z.copy()
    ring[0, 2:5, 2:5] = 1.0
    ring[0, 3, 3] = -1.0
    ncell = 49.0
    for img, chi4, chi8 in ((one, 1, 1), (diag, 2, 1), (ring, 0, 0)):
        v4 = minkowski(img, [0.0])[0, :, 0]
        v8 = minkowski(img, [0.0], connectivity=8)[0, :, 0]
        assert v4[2] * ncell == pytest.approx(chi4)
        assert v8[2] * ncell == pytest.approx(chi8)
    # a lone interior pixel: area 1, quantimpy length 0.41421 (= (π/2)·8/(2+2√2) / 2π)
    q = to_quantimpy(minkowski(one, [0.0]), (8, 8))[0, :, 0]
    np.testing.assert_allclose(q, [1.0, 0.41421356237309503, 1 / math.pi], rtol=1e-12)


def test_threshold_order_batch_and_units(rng):
    maps = np.exp(rng.standard_normal((5, 20, 20))) - 1
    ts = np.array([2.0, 0.0, 0.5])
    v = minkowski(maps, ts)
    np.testing.assert_array_equal(v[:, :, [1, 2, 0]], minkowski(maps, np.sort(ts)))
    np.testing.assert_array_equal(v[2:3], minkowski(maps[2:3], ts))  # batch independent
    vp = minkowski(maps, ts, pixel_size=2.0)
    np.testing.assert_allclose(vp[:, 0], v[:, 0])
    np.testing.assert_allclose(vp[:, 1], v[:, 1] / 2.0)
    np.testing.assert_allclose(vp[:, 2], v[:, 2] / 4.0)
    # below the minimum everything is in the set: V0 = 1, no boundary, no Euler density
    full = minkowski(maps, [-1.0])
    np.testing.assert_allclose(full[:, :, 0], np.tile([1.0, 0.0, 0.0], (5, 1)))


def _gaussian_field(n, size, r, seed):
    """Periodic Gaussian-smoothed white noise, P(k) ∝ exp(−k²r²); returns field/σ0 and σ1/σ0 (per pixel)."""
    rng = np.random.default_rng(seed)
    k = 2 * np.pi * np.fft.fftfreq(size)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    wk = np.exp(-0.5 * k2 * r * r)
    f = np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, size, size))) * wk).real
    s0 = math.sqrt((wk**2).sum() / size**2)
    s1 = math.sqrt((k2 * wk**2).sum() / size**2)
    return f / s0, s1 / s0


@pytest.mark.parametrize("connectivity", [4, 8])
def test_gaussian_field_matches_tomita(connectivity):
    """16 maps of 256², smoothing 4 px: agree within 4σ (statistical) + 2.5 % of each curve's peak (pixelisation)."""
    f, s1 = _gaussian_field(16, 256, 4.0, seed=3)
    nu = np.linspace(-2.0, 2.0, 9)
    v = minkowski(f, nu, connectivity=connectivity, allow_below_minus_one=True)
    theory = gaussian_minkowski(nu, 1.0, s1)
    mean = v.mean(axis=0)
    err = v.std(axis=0, ddof=1) / math.sqrt(v.shape[0])
    tol = 4 * err + 0.025 * np.abs(theory).max(axis=1, keepdims=True)
    assert np.all(np.abs(mean - theory) < tol), (mean - theory) / tol
    # and the normalisation is not off by a constant factor (V1 vs V1/4, χ vs χ/π...)
    assert mean[1].max() / theory[1].max() == pytest.approx(1.0, abs=0.05)
    assert mean[2].max() / theory[2].max() == pytest.approx(1.0, abs=0.1)


def test_statistic(small_maps):
    stat = MinkowskiStatistic()
    x = stat.summarize(small_maps)
    assert x.shape == (small_maps.shape[0], 3 * DEFAULT_THRESHOLDS.size)
    assert np.isfinite(x).all()
    assert stat.coords()["threshold"].shape == (x.shape[1],)
    assert stat.name == "minkowski" and stat.distance == "chi2"
    assert MinkowskiStatistic(thresholds=[0.0, 1.0]).key() != stat.key()


@pytest.fixture
def small_maps(rng):
    return (np.exp(rng.standard_normal((4, 64, 64))) - 1).astype(np.float32)


def test_errors(small_maps):
    with pytest.raises(CosmobenchError):
        minkowski(small_maps, [])
    with pytest.raises(CosmobenchError):
        minkowski(small_maps, [np.nan])
    with pytest.raises(CosmobenchError):
        minkowski(small_maps, [0.0], connectivity=6)
    with pytest.raises(CosmobenchError):
        minkowski(small_maps - 3.0, [0.0])  # δ < −1 without allow_below_minus_one


def test_float32_same_as_float64(small_maps):
    ts = np.array([-0.5, 0.0, np.float32(0.3), 2.0])
    np.testing.assert_array_equal(minkowski(small_maps, ts), minkowski(small_maps.astype(np.float64), ts))
