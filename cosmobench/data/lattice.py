"""Statistics that see a particle lattice in density maps (the void stripes of a coarse particle load).

With as many particles as pixels, particles in voids keep close to their stretched initial lattice
and CIC painting turns it into stripes along the grid axes. Two measures, both on the default
track's slabs (two planes averaged along z):

- :func:`void_anisotropy`: power of log10(2 + δ) on void pixels (δ < −0.5) in grid-aligned modes
  over diagonal modes, at k_Nyquist/2 < |k| ≤ k_Nyquist. An isotropic field gives ≈ 1.
- :func:`void_quantiles`: low quantiles of the slab pixels, which a lattice drags towards δ = −1
  (empty pixels between stretched lattice rows).
"""

from __future__ import annotations

import numpy as np

from cosmobench.errors import CosmobenchError

__all__ = ["slabs", "void_anisotropy", "void_quantiles"]


def slabs(delta: np.ndarray, planes: int = 2) -> np.ndarray:
    """Slab maps of a cube: ``planes`` adjacent planes along z averaged, shape (n/planes, n, n), float64."""
    d = np.asarray(delta, dtype=np.float64)
    if d.ndim != 3 or len(set(d.shape)) != 1 or d.shape[2] % planes:
        raise CosmobenchError(f"need a cubic grid with a side divisible by {planes}, got shape {d.shape}")
    n = d.shape[0]
    return d.reshape(n, n, n // planes, planes).mean(-1).transpose(2, 0, 1)


def void_anisotropy(delta: np.ndarray, threshold: float = -0.5) -> float:
    """Grid-aligned over diagonal power of the void pixels at k > k_Nyquist / 2 (≈ 1 isotropic, ≫ 1 lattice).

    Parameters
    ----------
    delta : ndarray, shape (n, n, n)
        Overdensity cube (periodic).
    threshold : float
        Pixels of the slab maps with δ below it are voids; the field is log10(2 + δ) minus its void
        mean there, 0 elsewhere.

    Returns
    -------
    float
        Mean |FFT|² of the modes with kx = 0 or ky = 0 over that of the modes with |kx| = |ky|, both
        with n/4 < |k| ≤ n/2 (grid units), summed over slabs.
    """
    m = slabs(delta)
    void = m < threshold
    if not void.any():
        raise CosmobenchError(f"no pixel has δ < {threshold}; void_anisotropy needs voids")
    f = np.log10(2.0 + m)
    f = np.where(void, f - f[void].mean(), 0.0)
    n = m.shape[1]
    power = (np.abs(np.fft.fft2(f)) ** 2).sum(axis=0)
    k = np.fft.fftfreq(n) * n
    kx, ky = np.meshgrid(k, k, indexing="ij")
    kk = np.hypot(kx, ky)
    band = (kk > n / 4) & (kk <= n / 2)
    axis = band & ((kx == 0) | (ky == 0))
    diag = band & (np.abs(kx) == np.abs(ky))
    return float(power[axis].mean() / power[diag].mean())


def void_quantiles(delta: np.ndarray, q=(0.001, 0.01, 0.05)) -> np.ndarray:
    """Quantiles ``q`` of the slab pixels' δ (the low-density tail)."""
    return np.quantile(slabs(delta), q)
