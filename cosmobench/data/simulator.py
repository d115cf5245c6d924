"""The built-in N-body simulator: Quijote's recipe in miniature.

CAMB linear P(k) → Gaussian initial conditions → 2LPT displacements at z = 127 (``delta_init``) →
2LPT to z = 9 → particle-mesh kick-drift-kick to z = 0 with FastPM's growth-consistent factors
(Feng et al. 2016) → CIC density (``delta``), painted from 8 sub-particles per particle whose
displacements are interpolated along the Lagrangian lattice (``paint_refine = 2``): Quijote's 512³
mass resolution in a 1 Gpc/h box without the void stripes of a 256³ particle lattice on 256³ pixels.

Simulator versions (``SIMULATOR_VERSION``, recorded in every source): 1 painted the particles
themselves (``default-v1``, ``small-v1``: kept so that sources built with it keep loading and can be
extended); 2 adds ``paint_refine`` and ``ic_grid`` (the dynamics are unchanged).

Units: lengths in Mpc/h, time in 1/H0, momentum ``p = a² dx/dt`` (so ``p = a³ E(a) dx/da``).
With ``F = −∇∇⁻²δ`` (a length) the equations of motion are ``dx/da = p / (a³E)`` and
``dp/da = 1.5 Ωm F / (a²E)``. In the Zel'dovich regime ``x = q + D Ψ``, ``p = g_p Ψ`` and ``F = D Ψ``
with ``g_p = a³ E dD/da``; FastPM's factors integrate those growth laws exactly over a step, so a
single large step reproduces linear growth, which is why ten steps suffice:

- drift  ``Δx = p(a_½) [D(a₁) − D(a₀)] / g_p(a_½)``
- kick   ``Δp = F(a_c) [g_p(a₁) − g_p(a₀)] / D(a_c)``
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from cosmobench.data import _pm_kernels as _k
from cosmobench._fft import RealFFT3D, default_threads, irfftn, rfftn
from cosmobench.data._refine import paint_refined
from cosmobench.data.cosmology import (
    QUIJOTE,
    Cosmology,
    growth_factor,
    growth_factor_2,
    growth_rate,
    growth_rate_2,
    hubble,
    linear_power,
)
# The config and the 3-D power spectrum live in their own modules; their names stay importable from here.
from cosmobench.data.fourier3d import PowerSpectrum3D, kgrid, power_spectrum_3d
from cosmobench.data.sim_config import SIM_CONFIGS, SimConfig, config_from_dict, get_config
from cosmobench.errors import CosmobenchError

__all__ = [
    "SIMULATOR_VERSION",
    "SimConfig",
    "SimResult",
    "SIM_CONFIGS",
    "simulate",
    "get_config",
    "power_spectrum_3d",
    "PowerSpectrum3D",
    "gaussian_modes",
    "lpt_displacements",
    "paint_density",
    "config_from_dict",
]

#: Version of the simulator code; part of a simulated source's recipe (see ``store.recipe_id``).
SIMULATOR_VERSION = 2

Progress = Optional[Callable[[int, int, str], None]]


@dataclass
class SimResult:
    """Output of :func:`simulate`.

    Attributes
    ----------
    delta_init : ndarray, float32, (paint_grid,)*3
        CIC δ of the 2LPT particles at ``a_init`` (z = 127).
    delta : ndarray, float32, (paint_grid,)*3
        CIC δ = ρ/ρ̄ − 1 at z = 0 (no window deconvolution, as in Quijote's files).
    config : SimConfig
    seed : int
    wall_time : float
        Seconds spent in :func:`simulate`.
    displacement_init, displacement : ndarray, float32, (3, n_particles**3), or None
        Particle displacements from the lattice at ``a_init`` and z = 0 (only with
        ``simulate(..., keep_displacements=True)``), for repainting with :func:`paint_density`.
    """

    delta_init: np.ndarray
    delta: np.ndarray
    config: SimConfig
    seed: int
    wall_time: float
    displacement_init: Optional[np.ndarray] = None
    displacement: Optional[np.ndarray] = None


# --------------------------------------------------------------------------------------------
# initial conditions
# --------------------------------------------------------------------------------------------


def gaussian_modes(n: int, box_size: float, seed: int, cosmology: Cosmology = QUIJOTE,
                   threads: int | None = None) -> np.ndarray:
    """Linear z = 0 Gaussian density modes on an ``n³`` grid (rfft half-space, numpy DFT convention).

    A real white-noise field is drawn with ``np.random.default_rng(seed)`` and Fourier transformed,
    so the half-space is exactly Hermitian (kz = 0 and kz = n/2 planes included) by construction;
    each mode is then scaled by ``sqrt(P_lin(k) / cell³)``, so that ``P(k) = L³/n⁶ ⟨|δ_k|²⟩``.

    Parameters
    ----------
    n : int
        Grid cells per side.
    box_size : float
        Box side in Mpc/h.
    seed : int
        Seed of ``np.random.default_rng``.
    cosmology : Cosmology
    threads : int, optional

    Returns
    -------
    ndarray, complex128, shape (n, n, n//2+1)
        δ_k with δ_k[0,0,0] = 0.
    """
    rng = np.random.default_rng(seed)
    white = rng.standard_normal((n, n, n))
    dk = rfftn(white, threads=threads)
    del white
    kx, kz = kgrid(n, box_size)
    kmag = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    amp = np.sqrt(linear_power(kmag, 0.0, cosmology) / (box_size / n) ** 3)
    dk *= amp
    dk[0, 0, 0] = 0.0
    return dk


def embed_modes(dk: np.ndarray, n: int) -> np.ndarray:
    """The modes of an ``m³`` grid (rfft half-space) on a finer ``n³`` grid, higher modes zero.

    The coarse grid's Nyquist planes are dropped (on the finer grid ±k_Nyq are distinct modes) and the
    amplitudes scaled by ``(n/m)³``, so that the real-space field is the same band-limited field.
    """
    m = dk.shape[0]
    if n == m:
        return dk
    h = m // 2
    out = np.zeros((n, n, n // 2 + 1), dtype=dk.dtype)
    lo = np.r_[0:h, n - h + 1:n]  # indices of the coarse modes -h+1 .. h-1 on the fine grid
    src = np.r_[0:h, m - h + 1:m]
    out[np.ix_(lo, lo, np.arange(h))] = dk[np.ix_(src, src, np.arange(h))] * (n / m) ** 3
    return out


def lpt_displacements(dk: np.ndarray, box_size: float, threads: int | None = None):
    """First- and second-order Lagrangian displacement fields of the linear modes ``dk``.

    Convention (Scoccimarro 1998): ``x = q + D1 Ψ1 + D2 Ψ2`` with ``Ψ1 = −∇φ1``, ``∇²φ1 = δ``,
    ``Ψ2 = ∇φ2``, ``∇²φ2 = Σ_{i<j} (φ1,ii φ1,jj − φ1,ij²)`` and D2 ≈ −3/7 D1² (< 0).

    Parameters
    ----------
    dk : ndarray, complex128, shape (n, n, n//2+1)
        Linear density modes (see :func:`gaussian_modes`).
    box_size : float
    threads : int, optional

    Returns
    -------
    psi1, psi2 : ndarray, float32, shape (3, n**3)
        Displacements in Mpc/h per unit D1 and per unit D2, in C order of the grid.
    """
    n = dk.shape[0]
    kx, kz = kgrid(n, box_size)
    # Odd derivatives drop the Nyquist mode (its i·k has no real counterpart); even ones keep it.
    kxd = kx.copy()
    kxd[n // 2] = 0.0
    kzd = kz.copy()
    kzd[n // 2] = 0.0
    k_even = (kx[:, None, None], kx[None, :, None], kz[None, None, :])
    k_odd = (kxd[:, None, None], kxd[None, :, None], kzd[None, None, :])
    ksq = k_even[0] ** 2 + k_even[1] ** 2 + k_even[2] ** 2
    ksq[0, 0, 0] = 1.0
    inv_k2 = 1.0 / ksq
    del ksq

    def to_real(spec):
        return irfftn(spec, n, threads=threads)

    psi1 = np.empty((3, n**3), dtype=np.float32)
    for d in range(3):
        psi1[d] = to_real(1j * k_odd[d] * inv_k2 * dk).ravel()

    # φ1,ij = k_i k_j δ / k²
    def phi_ij(i, j):
        ki = k_even[i] if i == j else k_odd[i]
        kj = k_even[j] if i == j else k_odd[j]
        return to_real(ki * kj * inv_k2 * dk)

    pxx, pyy, pzz = phi_ij(0, 0), phi_ij(1, 1), phi_ij(2, 2)
    src = pxx * pyy + pxx * pzz + pyy * pzz
    del pxx, pyy, pzz
    for i, j in ((0, 1), (0, 2), (1, 2)):
        src -= phi_ij(i, j) ** 2
    sk = rfftn(src, threads=threads)
    del src
    sk[0, 0, 0] = 0.0
    psi2 = np.empty((3, n**3), dtype=np.float32)
    for d in range(3):
        # Ψ2 = ∇φ2, φ2 = −src/k²
        psi2[d] = to_real(-1j * k_odd[d] * inv_k2 * sk).ravel()
    return psi1, psi2


# --------------------------------------------------------------------------------------------
# time stepping
# --------------------------------------------------------------------------------------------


def _g_p(a, cosmo):
    # g_p = a³ E dD/da = a² E f D: momentum per unit Zel'dovich displacement.
    return a**2 * hubble(a, cosmo) * growth_rate(a, cosmo) * growth_factor(a, cosmo)


def paint_density(disp: np.ndarray, config: str | SimConfig, *, refine: int | None = None,
                  grid: int | None = None, threads: int | None = None) -> np.ndarray:
    """CIC overdensity δ = ρ/ρ̄ − 1 of a simulation's particles on a ``grid³`` mesh.

    Parameters
    ----------
    disp : ndarray, float32, shape (3, n_particles**3)
        Displacements (``SimResult.displacement`` or ``displacement_init``).
    config : SimConfig or str
        The simulation's config (particle grid, box).
    refine : int, optional
        Sub-particles per particle and axis (default: ``config.paint_refine``).
    grid : int, optional
        Output cells per side (default: ``config.paint_grid``).
    threads : int, optional
        FFTW threads of the refinement.

    Returns
    -------
    ndarray, float32, shape (grid, grid, grid)
    """
    cfg = get_config(config)
    n_p, n_grid = cfg.n_particles, int(grid or cfg.paint_grid)
    disp = np.asarray(disp)
    if disp.shape != (3, n_p**3) or disp.dtype != np.float32:
        raise CosmobenchError(f"displacements must be float32 (3, {n_p**3}), got {disp.dtype} {disp.shape}.")
    mesh = np.empty((n_grid, n_grid, n_grid), dtype=np.float32)
    paint_refined(disp, n_p, cfg.box_size, mesh, weight=(n_grid / n_p) ** 3,
                  refine=int(refine or cfg.paint_refine), threads=threads)
    mesh -= np.float32(1.0)
    return mesh


def simulate(config: str | SimConfig, seed: int, *, threads: int | None = None,
             progress: Progress = None, keep_displacements: bool = False) -> SimResult:
    """Run one particle-mesh simulation from Gaussian initial conditions to z = 0.

    Parameters
    ----------
    config : SimConfig or str
        A :class:`SimConfig` or a key of :data:`SIM_CONFIGS` (``"default"``: 1000 Mpc/h, 256³
        particles, 512³ force mesh; ``"small"``: 250 Mpc/h, 64³ particles, 128³ mesh).
    seed : int
        Seed of the initial white noise. Same seed, machine and thread count → bit-identical fields
        (FFTW plans are kept as wisdom under the data home so that later runs reuse them; the CIC
        paint is bit-identical for any thread count).
    threads : int, optional
        Threads for FFTW and numba (default: ``$COSMOBENCH_THREADS``, else all CPUs available to
        the process).
    progress : callable, optional
        Called as ``progress(step, total, label)`` after each stage.
    keep_displacements : bool
        Also return the particle displacements at ``a_init`` and z = 0 (``SimResult.displacement*``).

    Returns
    -------
    SimResult
        ``delta_init`` (z = 127) and ``delta`` (z = 0) CIC overdensities on ``paint_grid³`` (float32).
    """
    import numba

    t0 = time.perf_counter()
    cfg = get_config(config)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CosmobenchError(f"seed must be a non-negative integer, got {seed!r}; pass e.g. seed=0.")
    if progress is not None and not callable(progress):
        raise CosmobenchError("progress must be a callable(step, total, label) or None.")
    nthreads = int(threads) if threads is not None else default_threads()
    if nthreads < 1:
        raise CosmobenchError(f"threads must be >= 1, got {threads}; pass None to use all CPUs.")
    nthreads = min(nthreads, numba.config.NUMBA_NUM_THREADS)
    old_threads = numba.get_num_threads()
    numba.set_num_threads(nthreads)
    try:
        return _simulate(cfg, int(seed), nthreads, progress, t0, bool(keep_displacements))
    finally:
        numba.set_num_threads(old_threads)


def _simulate(cfg: SimConfig, seed: int, threads: int, progress: Progress, t0: float,
              keep: bool = False) -> SimResult:
    cosmo = cfg.cosmology
    n_p, box = cfg.n_particles, cfg.box_size
    total = cfg.n_steps + 2
    report = progress or (lambda *a: None)

    # Initial conditions (2LPT at a_init).
    dk = embed_modes(gaussian_modes(cfg.ic_grid or n_p, box, seed, cosmo, threads=threads), n_p)
    psi1, psi2 = lpt_displacements(dk, box, threads=threads)
    del dk

    def lpt_at(a):
        d1, d2 = float(growth_factor(a, cosmo)), float(growth_factor_2(a, cosmo))
        return d1, d2, (d1 * psi1 + d2 * psi2).astype(np.float32)

    d1, d2, disp = lpt_at(cfg.a_init)
    delta_init = paint_density(disp, cfg, threads=threads)
    disp_init = disp.copy() if keep else None
    a0 = cfg.a_pm
    if a0 != cfg.a_init:
        d1, d2, disp = lpt_at(a0)
    f1, f2 = float(growth_rate(a0, cosmo)), float(growth_rate_2(a0, cosmo))
    mom = (a0**2 * float(hubble(a0, cosmo)) * (f1 * d1 * psi1 + f2 * d2 * psi2)).astype(np.float32)
    del psi1, psi2
    report(1, total, "initial conditions (2LPT)")

    # Kick-drift-kick, linear in a. The force at a_k serves both half-kicks around it; the final
    # half-kick (velocities at a = 1) is skipped because only positions are returned.
    a = np.linspace(a0, 1.0, cfg.n_steps + 1)
    a_half = 0.5 * (a[:-1] + a[1:])
    D = lambda x: float(growth_factor(x, cosmo))  # noqa: E731
    G = lambda x: float(_g_p(x, cosmo))  # noqa: E731
    fft = RealFFT3D(cfg.n_mesh, threads=threads)
    dk_mesh = np.empty_like(fft.spec)
    weight = (cfg.n_mesh / n_p) ** 3
    for step in range(cfg.n_steps):
        a_prev_half = a[0] if step == 0 else a_half[step - 1]
        kick = (G(a_half[step]) - G(a_prev_half)) / D(a[step])
        _k.paint_lattice(disp, n_p, box, fft.real, weight=weight)
        dk_mesh[...] = fft.forward()
        for axis in range(3):
            _k.force_component(dk_mesh, fft.spec, axis, box, deconvolve=cfg.force_deconvolve)
            _k.readout_kick(disp, n_p, box, fft.backward(), mom[axis], kick)
        drift = (D(a[step + 1]) - D(a[step])) / G(a_half[step])
        _k.axpy(disp, mom, drift)
        report(step + 2, total, f"PM step {step + 1}/{cfg.n_steps} (a={a[step + 1]:.3f})")
    del fft, dk_mesh, mom

    delta = paint_density(disp, cfg, threads=threads)
    report(total, total, "density at z=0")
    return SimResult(delta_init=delta_init, delta=delta, config=cfg, seed=seed,
                     wall_time=time.perf_counter() - t0, displacement_init=disp_init,
                     displacement=disp if keep else None)
