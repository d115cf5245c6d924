"""CAMB tables and growth functions against REFERENCE-NUMBERS.md (CAMB 2.0.5, Quijote cosmology)."""

from __future__ import annotations

import numpy as np
import pytest

from cosmobench.data import cosmology as cosmo
from cosmobench.data.cosmology import (
    QUIJOTE,
    Cosmology,
    growth_factor,
    growth_factor_2,
    growth_rate,
    halofit_power,
    linear_power,
)
from cosmobench.errors import CosmobenchError

K_REF = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
P_LIN_REF = [22376, 24663, 12826, 5762, 2061, 932, 333, 71.8]
K_MEAD = [0.1, 0.2, 0.3, 0.5, 1.0]
P_MEAD_REF = [5815, 2402, 1419, 798, 409]


def test_quijote_parameters():
    assert (QUIJOTE.omega_m, QUIJOTE.omega_b, QUIJOTE.h, QUIJOTE.n_s, QUIJOTE.sigma8) == (
        0.3175, 0.049, 0.6711, 0.9624, 0.834)
    assert QUIJOTE.m_nu == 0.0 and QUIJOTE.w == -1.0
    with pytest.raises(Exception):
        QUIJOTE.h = 0.7  # frozen


def test_linear_power_matches_camb_reference():
    p = linear_power(np.array(K_REF))
    np.testing.assert_allclose(p, P_LIN_REF, rtol=0.01)


def test_mead2020_matches_camb_reference():
    p = halofit_power(np.array(K_MEAD), 0.0)
    np.testing.assert_allclose(p, P_MEAD_REF, rtol=0.01)


def test_sigma8_is_normalised():
    assert cosmo.sigma_r(8.0) == pytest.approx(0.834, rel=5e-3)


def test_linear_power_redshift_uses_radiation_free_growth():
    d = growth_factor(1.0 / 128.0)
    assert linear_power(0.1, z=127.0) == pytest.approx(d**2 * linear_power(0.1), rel=1e-12)
    assert linear_power(0.0) == 0.0
    assert linear_power(np.zeros((2, 3))).shape == (2, 3)


def test_camb_tables_are_cached_on_disk(monkeypatch, _isolated_home):
    linear_power(0.1)
    halofit_power(0.1)
    files = sorted(p.name for p in (_isolated_home / "camb").glob("*.npz"))
    assert any(f.startswith("linear_") for f in files) and any(f.startswith("mead2020_") for f in files)
    # Forget the in-process memo: the second call must read the disk cache, never CAMB.
    monkeypatch.setattr(cosmo, "_MEMO", {})

    def boom(*a, **k):
        raise AssertionError("CAMB was called although the table is cached")

    monkeypatch.setattr(cosmo, "_run_camb", boom)
    assert linear_power(0.1) == pytest.approx(5762, rel=0.01)
    assert halofit_power(0.1) == pytest.approx(5815, rel=0.01)
    # A different cosmology has a different key, so it would need CAMB.
    assert Cosmology(sigma8=0.8).key() != QUIJOTE.key()
    with pytest.raises(AssertionError, match="CAMB was called"):
        linear_power(0.1, cosmology=Cosmology(sigma8=0.8))


def test_growth_factor_radiation_free():
    assert growth_factor(1.0) == pytest.approx(1.0, abs=1e-14)
    assert growth_factor(1.0 / 128.0) / growth_factor(1.0) == pytest.approx(0.009899, rel=1e-3)
    a = np.geomspace(1e-3, 1.0, 20)
    assert np.all(np.diff(growth_factor(a)) > 0)
    # Early times are matter dominated: D ∝ a.
    assert growth_factor(1e-4) / growth_factor(2e-4) == pytest.approx(0.5, rel=1e-4)


def test_growth_rate_is_dlnD_dlna():
    a = np.array([0.01, 0.1, 0.5, 1.0])
    eps = 1e-5
    num = (np.log(growth_factor(a * (1 + eps))) - np.log(growth_factor(a * (1 - eps)))) / (2 * eps)
    np.testing.assert_allclose(growth_rate(a), num, rtol=1e-6)
    # Linder's fit f ≈ Ωm(a)^0.55 is good to ~0.5%.
    assert growth_rate(1.0) == pytest.approx(0.3175**0.55, rel=0.01)


def test_second_order_growth():
    a = 1.0 / 128.0
    assert growth_factor_2(a) / growth_factor(a) ** 2 == pytest.approx(-3.0 / 7.0, rel=1e-3)
    assert growth_factor_2(1.0) < 0


def test_user_mistakes_raise_cosmobench_error():
    with pytest.raises(CosmobenchError, match="scale factors"):
        growth_factor(-1.0)
    with pytest.raises(CosmobenchError, match="k must be"):
        linear_power(-0.1)
    with pytest.raises(CosmobenchError, match="redshift"):
        linear_power(0.1, z=-2)
    with pytest.raises(CosmobenchError, match="w = -1"):
        growth_factor(0.5, Cosmology(w=-0.9))
