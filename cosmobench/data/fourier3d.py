"""Periodic 3-D Fourier grids: the wavenumbers of the rfft half-space and the binned power spectrum.

The simulator draws its initial conditions on :func:`kgrid`; :func:`power_spectrum_3d` measures its
boxes (validation against CAMB and halofit, ``cosmobench.data.validate_simulator``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmobench._fft import rfftn
from cosmobench.errors import CosmobenchError

__all__ = ["kgrid", "PowerSpectrum3D", "power_spectrum_3d"]


def kgrid(n: int, box_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Wavenumbers (h/Mpc) of an ``n³`` rfft grid of a ``box_size`` box: ``kx`` (n,) for the two full
    axes (numpy's fftfreq order) and ``kz`` (n//2 + 1,) for the half axis."""
    kf = 2.0 * np.pi / box_size
    kx = np.fft.fftfreq(n, 1.0 / n) * kf
    kz = np.arange(n // 2 + 1) * kf
    return kx, kz


@dataclass
class PowerSpectrum3D:
    """Binned 3-D power spectrum: ``k`` (mean |k| of the modes in a bin, h/Mpc), ``power``
    ((Mpc/h)³), ``nmodes`` (modes per bin, counting both members of ±k pairs) and ``edges``."""

    k: np.ndarray
    power: np.ndarray
    nmodes: np.ndarray
    edges: np.ndarray


def power_spectrum_3d(delta: np.ndarray, box_size: float, deconvolve_cic: bool = True,
                      shot_noise: float | None = None, threads: int | None = None) -> PowerSpectrum3D:
    """Isotropic power spectrum of a periodic 3-D overdensity grid, in bins of width k_F.

    ``P = L³/N⁶ ⟨|FFT δ|²⟩`` (Pylians' ``Pk`` convention), bins ``[i k_F, (i+1) k_F)`` for
    i = 1 … N/2 − 1 (DC excluded, up to the Nyquist frequency), k of a bin = mean |k| of its modes.

    Parameters
    ----------
    delta : ndarray, shape (N, N, N)
        Overdensity.
    box_size : float
        Box side in Mpc/h.
    deconvolve_cic : bool
        Divide each mode by the CIC window W² = Π_i sinc⁴(k_i Δ/2).
    shot_noise : float, optional
        1/n̄ in (Mpc/h)³ (``box_size**3 / n_particles``). When given, the CIC-aliased Poisson term
        ``Π_i [1 − ⅔ sin²(k_i Δ/2)] / n̄`` (Jing 2005) is subtracted from each mode before deconvolution.
    threads : int, optional

    Returns
    -------
    PowerSpectrum3D
    """
    delta = np.asarray(delta)
    if delta.ndim != 3 or len(set(delta.shape)) != 1:
        raise CosmobenchError(f"power_spectrum_3d needs a cubic 3-D grid, got shape {delta.shape}.")
    if not np.all(np.isfinite(delta)):
        raise CosmobenchError("the density grid contains NaN or inf; check the field you passed.")
    n = delta.shape[0]
    vol = float(box_size) ** 3
    dk = rfftn(delta.astype(np.float64), threads=threads)
    p = (dk.real**2 + dk.imag**2) * (vol / float(n) ** 6)
    del dk
    kx, kz = kgrid(n, box_size)
    cell = box_size / n
    if deconvolve_cic or shot_noise is not None:
        sx = np.sin(kx * cell / 2.0)
        sz = np.sin(kz * cell / 2.0)
        if shot_noise is not None:
            cx, cz = 1.0 - 2.0 / 3.0 * sx**2, 1.0 - 2.0 / 3.0 * sz**2
            p -= float(shot_noise) * (cx[:, None, None] * cx[None, :, None] * cz[None, None, :])
        if deconvolve_cic:
            wx = np.sinc(kx * cell / (2 * np.pi)) ** 4
            wz = np.sinc(kz * cell / (2 * np.pi)) ** 4
            p /= wx[:, None, None] * wx[None, :, None] * wz[None, None, :]
    kf = 2.0 * np.pi / box_size
    kmag = np.sqrt(kx[:, None, None] ** 2 + kx[None, :, None] ** 2 + kz[None, None, :] ** 2)
    # rfft half-space: modes with 0 < kz < Nyquist stand for themselves and their conjugates.
    w = np.full(kz.shape, 2.0)
    w[0] = 1.0
    w[-1] = 1.0
    wgt = np.broadcast_to(w[None, None, :], kmag.shape)
    idx = (kmag / kf).astype(np.int64)
    nb = n // 2
    sel = (idx >= 1) & (idx < nb)
    idx, kmag, wgt, p = idx[sel], kmag[sel], wgt[sel], p[sel]
    nmodes = np.bincount(idx, weights=wgt, minlength=nb)[1:]
    ksum = np.bincount(idx, weights=wgt * kmag, minlength=nb)[1:]
    psum = np.bincount(idx, weights=wgt * p, minlength=nb)[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return PowerSpectrum3D(k=ksum / nmodes, power=psum / nmodes, nmodes=nmodes,
                               edges=kf * np.arange(1, nb + 1))
