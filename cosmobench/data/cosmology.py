"""Cosmology: CAMB power spectra (cached on disk) and radiation-free ΛCDM growth.

Why radiation-free growth: Quijote's 2LPTic and Gadget-III both ignore radiation, and so must our
initial conditions and time stepping if our fields are to match theirs (CAMB with radiation gives
D(z=127)/D(0) = 0.01014 instead of 0.009899, a 5% difference in the initial power).

CAMB is slow (seconds per call) so every table is computed once per cosmology and kept as ``.npz``
under the data home, keyed by a hash of the cosmology and the CAMB version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
from scipy.integrate import trapezoid
from scipy.special import hyp2f1

from cosmobench._io import atomic_path
from cosmobench._paths import data_home
from cosmobench.errors import CosmobenchError

__all__ = [
    "Cosmology",
    "QUIJOTE",
    "linear_power",
    "halofit_power",
    "growth_factor",
    "growth_rate",
    "growth_factor_2",
    "growth_rate_2",
    "hubble",
    "omega_m_of_a",
    "sigma_r",
]

# Table range: wide enough for any grid we paint (k_max of a 512³ mesh on 250 Mpc/h is ~11 h/Mpc).
_KMIN, _KMAX, _NK = 1e-4, 30.0, 1200
_CACHE_VERSION = 1


@dataclass(frozen=True)
class Cosmology:
    """A flat ΛCDM cosmology.

    Attributes
    ----------
    omega_m, omega_b : float
        Total matter and baryon density parameters today.
    h : float
        H0 / (100 km/s/Mpc).
    n_s : float
        Primordial spectral index.
    sigma8 : float
        Linear rms of the z=0 matter field in 8 Mpc/h spheres; CAMB's As is rescaled to match it.
    m_nu : float
        Sum of neutrino masses in eV (only 0 is supported by the growth functions).
    w : float
        Dark-energy equation of state (only -1 is supported by the growth functions).
    """

    omega_m: float = 0.3175
    omega_b: float = 0.049
    h: float = 0.6711
    n_s: float = 0.9624
    sigma8: float = 0.834
    m_nu: float = 0.0
    w: float = -1.0

    def key(self) -> str:
        """Short stable hash of the parameters, used to name cache files."""
        blob = json.dumps({"v": _CACHE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


QUIJOTE = Cosmology()


# --------------------------------------------------------------------------------------------
# growth (radiation-free, flat ΛCDM; exact hypergeometric solution)
# --------------------------------------------------------------------------------------------


def _check_lcdm(cosmology: Cosmology) -> None:
    if not isinstance(cosmology, Cosmology):
        raise CosmobenchError(
            f"expected a cosmobench Cosmology, got {type(cosmology).__name__}; "
            "build one with cosmobench.data.cosmology.Cosmology(...)."
        )
    if cosmology.w != -1.0 or cosmology.m_nu != 0.0:
        raise CosmobenchError(
            "the growth functions only support massless neutrinos and w = -1; "
            "use Cosmology(m_nu=0.0, w=-1.0) or supply your own growth."
        )
    if not 0.0 < cosmology.omega_m <= 1.0:
        raise CosmobenchError(f"omega_m must be in (0, 1], got {cosmology.omega_m}; fix the Cosmology.")


def _as_a(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if np.any(~np.isfinite(a)) or np.any(a <= 0):
        raise CosmobenchError("scale factors must be finite and > 0; pass a = 1/(1+z) with z > -1.")
    return a


def hubble(a, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """E(a) = H(a)/H0 for radiation-free flat ΛCDM.

    Parameters
    ----------
    a : array_like
        Scale factor(s).
    cosmology : Cosmology

    Returns
    -------
    ndarray or float
    """
    _check_lcdm(cosmology)
    a = _as_a(a)
    om = cosmology.omega_m
    return np.sqrt(om / a**3 + (1.0 - om))


def omega_m_of_a(a, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """Ωm(a) = Ωm a⁻³ / E(a)²."""
    a = _as_a(a)
    return cosmology.omega_m / a**3 / hubble(a, cosmology) ** 2


def _d_unnorm(a: np.ndarray, om: float) -> np.ndarray:
    # Growing mode of flat ΛCDM: D ∝ a ₂F₁(1/3, 1; 11/6; −a³ ΩΛ/Ωm) (exact, no radiation).
    return a * hyp2f1(1.0 / 3.0, 1.0, 11.0 / 6.0, -(a**3) * (1.0 - om) / om)


def growth_factor(a, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """Linear growth factor D(a) of radiation-free flat ΛCDM, normalised to D(a=1) = 1.

    Parameters
    ----------
    a : array_like
        Scale factor(s), > 0.
    cosmology : Cosmology

    Returns
    -------
    ndarray or float
        D(a); D(1/128) = 0.009899 at the Quijote cosmology.
    """
    _check_lcdm(cosmology)
    a = _as_a(a)
    om = cosmology.omega_m
    return _d_unnorm(a, om) / _d_unnorm(np.float64(1.0), om)


def growth_rate(a, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """Linear growth rate f = dlnD/dlna.

    Parameters
    ----------
    a : array_like
        Scale factor(s), > 0.
    cosmology : Cosmology

    Returns
    -------
    ndarray or float
    """
    _check_lcdm(cosmology)
    a = _as_a(a)
    om = cosmology.omega_m
    x = -(a**3) * (1.0 - om) / om
    # d/dx ₂F₁(a,b;c;x) = (ab/c) ₂F₁(a+1,b+1;c+1;x); ab/c = 2/11 and dx/dlna = 3x.
    ratio = hyp2f1(4.0 / 3.0, 2.0, 17.0 / 6.0, x) / hyp2f1(1.0 / 3.0, 1.0, 11.0 / 6.0, x)
    return 1.0 + 3.0 * x * (2.0 / 11.0) * ratio


def growth_factor_2(a, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """Second-order (2LPT) growth factor D2 ≈ −3/7 D² Ωm(a)^(−1/143) (Bouchet et al. 1995).

    The sign convention is the one of ``x = q − D ∇φ1 + D2 ∇φ2`` (Scoccimarro 1998), so D2 < 0.

    Parameters
    ----------
    a : array_like
    cosmology : Cosmology

    Returns
    -------
    ndarray or float
    """
    d = growth_factor(a, cosmology)
    return -3.0 / 7.0 * d**2 * omega_m_of_a(a, cosmology) ** (-1.0 / 143.0)


def growth_rate_2(a, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """f2 = dlnD2/dlna of :func:`growth_factor_2` (≈ 2 Ωm(a)^(6/11))."""
    # dlnΩm(a)/dlna = −3 (1 − Ωm(a)) for flat ΛCDM.
    return 2.0 * growth_rate(a, cosmology) + 3.0 * (1.0 - omega_m_of_a(a, cosmology)) / 143.0


# --------------------------------------------------------------------------------------------
# CAMB tables
# --------------------------------------------------------------------------------------------

_MEMO: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _camb_params(cosmology: Cosmology, as_: float, z: float, nonlinear: bool):
    import camb

    h = cosmology.h
    pars = camb.CAMBparams()
    pars.set_cosmology(
        H0=100.0 * h,
        ombh2=cosmology.omega_b * h**2,
        omch2=(cosmology.omega_m - cosmology.omega_b) * h**2,
        mnu=cosmology.m_nu,
        omk=0.0,
        num_massive_neutrinos=1 if cosmology.m_nu > 0 else 0,
    )
    pars.set_dark_energy(w=cosmology.w)
    pars.InitPower.set_params(As=as_, ns=cosmology.n_s)
    pars.set_matter_power(redshifts=[float(z)], kmax=_KMAX * h * 1.2)
    if nonlinear:
        pars.NonLinear = camb.model.NonLinear_both
        pars.NonLinearModel.set_params(halofit_version="mead2020")
    else:
        pars.NonLinear = camb.model.NonLinear_none
    return pars


def _run_camb(cosmology: Cosmology, z: float, nonlinear: bool) -> tuple[np.ndarray, np.ndarray]:
    """Call CAMB (seconds). Returns (k [h/Mpc], P [(Mpc/h)^3]) normalised to cosmology.sigma8."""
    import camb

    as0 = 2.1e-9
    res = camb.get_results(_camb_params(cosmology, as0, 0.0, nonlinear=False))
    s8 = float(res.get_sigma8_0())
    as_ = as0 * (cosmology.sigma8 / s8) ** 2
    if not nonlinear and z == 0.0:
        kh, _, pk = res.get_matter_power_spectrum(minkh=_KMIN, maxkh=_KMAX, npoints=_NK)
        return kh, pk[0] * (cosmology.sigma8 / s8) ** 2
    # The non-linear model needs the right amplitude in the input, not a rescaled output.
    res = camb.get_results(_camb_params(cosmology, as_, z, nonlinear=nonlinear))
    kh, _, pk = res.get_matter_power_spectrum(minkh=_KMIN, maxkh=_KMAX, npoints=_NK)
    return kh, pk[0]


def _table(cosmology: Cosmology, kind: str, z: float) -> tuple[np.ndarray, np.ndarray]:
    import camb

    ztag = f"{z:.6g}"
    name = f"{kind}_z{ztag}_{cosmology.key()}_camb{camb.__version__}.npz"
    if name in _MEMO:
        return _MEMO[name]
    path = data_home() / "camb" / name
    table = None
    if path.exists():
        try:
            with np.load(path) as f:
                table = (f["k"].copy(), f["p"].copy())
        except Exception:
            table = None  # a corrupt cache is recomputed, never trusted
    if table is None:
        k, p = _run_camb(cosmology, z, nonlinear=(kind == "mead2020"))
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, k=k, p=p, params=json.dumps(asdict(cosmology)))
        table = (np.asarray(k, np.float64), np.asarray(p, np.float64))
    _MEMO[name] = table
    return table


def _loglog_interp(k, kt: np.ndarray, pt: np.ndarray) -> np.ndarray:
    k = np.asarray(k, dtype=np.float64)
    if np.any(~np.isfinite(k)) or np.any(k < 0):
        raise CosmobenchError("wavenumbers k must be finite and >= 0 (in h/Mpc); check your k array.")
    lk, lkt, lpt = np.log(np.where(k > 0, k, 1.0)), np.log(kt), np.log(pt)
    out = np.interp(lk, lkt, lpt)
    # Power-law extrapolation with the end slopes (k beyond the table only occurs in grid corners).
    lo, hi = lk < lkt[0], lk > lkt[-1]
    s_lo = (lpt[1] - lpt[0]) / (lkt[1] - lkt[0])
    s_hi = (lpt[-1] - lpt[-2]) / (lkt[-1] - lkt[-2])
    out = np.where(lo, lpt[0] + s_lo * (lk - lkt[0]), out)
    out = np.where(hi, lpt[-1] + s_hi * (lk - lkt[-1]), out)
    return np.where(k > 0, np.exp(out), 0.0)


def _check_z(z) -> float:
    z = float(z)
    if not np.isfinite(z) or z < 0:
        raise CosmobenchError(f"redshift must be finite and >= 0, got {z}; pass e.g. z=0.0.")
    return z


def linear_power(k, z: float = 0.0, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """Linear matter power spectrum from CAMB, normalised to ``cosmology.sigma8``.

    The z = 0 CAMB table is scaled to redshift z with the radiation-free growth factor, as Quijote's
    2LPTic does.

    Parameters
    ----------
    k : array_like
        Wavenumbers in h/Mpc (k = 0 gives 0).
    z : float
        Redshift.
    cosmology : Cosmology

    Returns
    -------
    ndarray
        P(k) in (Mpc/h)³, same shape as ``k``.
    """
    z = _check_z(z)
    kt, pt = _table(cosmology, "linear", 0.0)
    p = _loglog_interp(k, kt, pt)
    if z != 0.0:
        p = p * growth_factor(1.0 / (1.0 + z), cosmology) ** 2
    return p


def halofit_power(k, z: float = 0.0, cosmology: Cosmology = QUIJOTE) -> np.ndarray:
    """Non-linear matter power spectrum from CAMB's HMcode (Mead et al. 2020).

    Parameters
    ----------
    k : array_like
        Wavenumbers in h/Mpc.
    z : float
        Redshift (one table per redshift is computed and cached).
    cosmology : Cosmology

    Returns
    -------
    ndarray
        P(k) in (Mpc/h)³.
    """
    z = _check_z(z)
    kt, pt = _table(cosmology, "mead2020", z)
    return _loglog_interp(k, kt, pt)


def sigma_r(r: float, z: float = 0.0, cosmology: Cosmology = QUIJOTE) -> float:
    """Linear rms of the density in top-hat spheres of radius ``r`` Mpc/h (σ8 for r = 8).

    Parameters
    ----------
    r : float
        Sphere radius in Mpc/h.
    z : float
        Redshift.
    cosmology : Cosmology

    Returns
    -------
    float
    """
    kt, _ = _table(cosmology, "linear", 0.0)
    k = np.geomspace(kt[0], kt[-1], 20000)
    x = k * r
    w = 3.0 * (np.sin(x) - x * np.cos(x)) / x**3
    integrand = k**3 * linear_power(k, z, cosmology) * w**2 / (2 * np.pi**2)
    return float(np.sqrt(trapezoid(integrand, np.log(k))))
