"""Isotropic 2-D power spectrum of batches of δ maps.

Convention (``shared/DESIGN.md``, same as Pylians3 ``Pk_plane`` and powerbox ``get_power``)::

    P(k) = L² / N⁴ ⟨|FFT(δ)|²⟩_bin      [(Mpc/h)²],  k in h/Mpc,

with ``FFT`` numpy's unnormalised DFT of an ``N x N`` map of side ``L``. The average runs over every
mode of the full ``N x N`` Fourier grid whose ``|k|`` falls in a bin (the grid powerbox bins), so a
mode and its complex conjugate both count. Internally only the ``rfft2`` half plane is computed:
modes of the ``kx = 0`` and ``kx = N/2`` (Nyquist) columns have their conjugate partner in the same
column, so they count once; every other column stands for itself and its missing mirror image and
counts twice. The DC mode is always excluded. For non-square maps (custom ``bins`` only) ``L`` is
the side along both axes, as powerbox does with a scalar ``boxlength``.

Default bins are ``k_F``-wide and centred on the multiples of the fundamental ``k_F = 2π/L``:
edges ``(j ± ½) k_F`` for ``j = 1 … N/2``, i.e. from ½ k_F to the Nyquist bin (centred on
``k_Nyq = N k_F / 2``). Half-integer edges never coincide with a grid ``|k|`` (``|k|²/k_F²`` is an
integer), so no mode sits on an edge and the binning is free of round-off ambiguity. ``k`` of a bin
is the mean ``|k|`` of its modes. A bin ``[lo, hi)`` includes ``lo``; modes outside all bins are
dropped, as in powerbox. (Pylians3 ``Pk_plane`` bins ``int(|k|/k_F)``, i.e. integer edges, and runs
to the corner: same estimator, different default bins; pass its edges as ``bins`` to compare.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit, prange

from cosmobench.errors import CosmobenchError
from cosmobench import _fft
from cosmobench.stats._validate import check_edges, check_maps
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import BatchContext

__all__ = ["PowerSpectrum", "power_spectrum", "default_edges", "dimensionless_power", "welch_power", "PowerStatistic"]

# Floor applied before log10 in the summary (P is never this small for a real map).
_LOG_FLOOR = 1e-30


@dataclass(frozen=True)
class PowerSpectrum:
    """Binned isotropic power spectra of a batch of maps.

    Attributes
    ----------
    k : numpy.ndarray
        ``(nb,)`` mean ``|k|`` of the modes of each bin, h/Mpc (NaN for an empty bin).
    power : numpy.ndarray
        ``(n, nb)`` P(k) of each map, (Mpc/h)² (NaN for an empty bin).
    nmodes : numpy.ndarray
        ``(nb,)`` number of modes of the full Fourier grid in each bin (conjugate pairs count twice).
    edges : numpy.ndarray
        ``(nb + 1,)`` bin edges in h/Mpc.
    box_size : float
        Map side L in Mpc/h.
    """

    k: np.ndarray
    power: np.ndarray
    nmodes: np.ndarray
    edges: np.ndarray
    box_size: float


def default_edges(n_pix: int, box_size: float) -> np.ndarray:
    """Default bin edges ``(j ± ½) k_F``, ``j = 1 … n_pix // 2``, in h/Mpc.

    Parameters
    ----------
    n_pix : int
        Map side in pixels.
    box_size : float
        Map side in Mpc/h.

    Returns
    -------
    numpy.ndarray
        ``(n_pix // 2 + 1,)`` edges.
    """
    kf = 2.0 * math.pi / box_size
    return kf * (np.arange(n_pix // 2 + 1) + 0.5)


@lru_cache(maxsize=32)
def _binning(h: int, w: int, box_size: float, edges: "tuple[float, ...]"):
    """Binning of the rfft2 half plane.

    Returns ``nmodes`` (nb,) full-grid modes per bin, ``kmean`` (nb,) their mean |k|, and for the
    half-plane modes that fall in a bin (DC excluded): their flat indices ``used``, their bin
    ``bin_of`` and weight ``w_used`` = multiplicity (1 for the ``kx = 0`` and Nyquist columns, 2
    otherwise) / nmodes of the bin, so that ``Σ w |F|²`` over a bin's modes is its full-grid average.
    """
    kx = 2.0 * math.pi * np.fft.rfftfreq(w, d=box_size / w)  # last axis (half plane)
    ky = 2.0 * math.pi * np.fft.fftfreq(h, d=box_size / h)
    # powerbox bins the magnitude on the full grid; |k| is sign-symmetric so the half plane suffices.
    kmag = np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2).ravel()
    mult = np.full(kx.shape, 2.0)
    mult[0] = 1.0
    if w % 2 == 0:
        mult[-1] = 1.0
    mult = np.broadcast_to(mult[None, :], (h, kx.size)).ravel()
    e = np.asarray(edges)
    nb = e.size - 1
    idx = np.digitize(kmag, e) - 1  # bin j: e[j] <= |k| < e[j+1]
    used = np.flatnonzero((idx >= 0) & (idx < nb) & (kmag > 0))
    nmodes = np.bincount(idx[used], weights=mult[used], minlength=nb)
    ksum = np.bincount(idx[used], weights=(mult * kmag)[used], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        kmean = ksum / nmodes
    bin_of = idx[used].astype(np.int64)
    w_used = mult[used] / nmodes[bin_of]
    for a in (nmodes, kmean, used, bin_of, w_used):
        a.setflags(write=False)
    return nmodes, kmean, used, bin_of, w_used


@njit(cache=True, parallel=True)
def _bin_power(F, cols, bin_of, w, out):  # pragma: no cover - compiled
    """``out[i, b] = Σ_{q: bin_of[q] = b} w[q] |F[i, cols[q]]|²`` (modes in memory order)."""
    m = F.shape[0]
    nb = out.shape[1]
    for i in prange(m):
        for j in range(nb):
            out[i, j] = 0.0
        for q in range(cols.size):
            v = F[i, cols[q]]
            out[i, bin_of[q]] += w[q] * (v.real * v.real + v.imag * v.imag)


def _check_box(box_size) -> float:
    try:
        L = float(box_size)
    except (TypeError, ValueError):
        raise CosmobenchError(f"box_size={box_size!r} is not a number; pass the map side in Mpc/h") from None
    if not (math.isfinite(L) and L > 0):
        raise CosmobenchError(f"box_size={box_size!r}; pass the map side in Mpc/h, a positive number")
    return L


def _check_edges(bins, h: int, w: int, L: float) -> np.ndarray:
    if bins is None:
        if h != w:
            raise CosmobenchError(f"maps are {h}x{w}; default bins need square maps: pass bins=<edges in h/Mpc>")
        return default_edges(h, L)
    return check_edges(bins, what="bin edges in h/Mpc", nonnegative=True)


def power_spectrum(
    maps,
    box_size: float = 250.0,
    *,
    bins=None,
    threads: "int | None" = None,
    allow_below_minus_one: bool = False,
) -> PowerSpectrum:
    """Isotropic power spectrum of every map of a batch.

    Parameters
    ----------
    maps : array_like
        ``(n, N, N)`` δ maps (a single ``(N, N)`` map is promoted to a batch of one).
    box_size : float
        Side L of a map in Mpc/h (default 250, the default track's tile).
    bins : array_like, optional
        Bin edges in h/Mpc. Default: ``k_F``-wide bins centred on ``j k_F``, ``j = 1 … N/2`` (see
        :func:`default_edges`).
    threads : int, optional
        FFTW threads (default ``$COSMOBENCH_THREADS`` or min(4, cpus)).
    allow_below_minus_one : bool
        Accept δ < −1 (for Gaussian test fields that are not densities).

    Returns
    -------
    PowerSpectrum
        ``k`` (nb,), ``power`` (n, nb) in (Mpc/h)², ``nmodes`` (nb,), ``edges`` (nb + 1,).

    Raises
    ------
    CosmobenchError
        For malformed maps (see :func:`~cosmobench.stats._validate.check_maps`), a bad box size or bad bins.

    Notes
    -----
    ``P = L²/N⁴ ⟨|FFT δ|²⟩`` averaged over all full-grid modes with ``edges[j] <= |k| < edges[j+1]``,
    DC excluded. Equals ``powerbox.get_power(δ, L, bins=edges, ignore_zero_mode=True).power`` map by
    map. The whole batch is transformed with a cached batched pyFFTW plan and binned with one
    compiled pass that accumulates ``w |F|²`` of the used half-plane modes into their bins.

    Examples
    --------
    >>> ps = power_spectrum(maps, 250.0)   # doctest: +SKIP
    >>> ps.k.shape, ps.power.shape          # doctest: +SKIP
    ((32,), (n, 32))
    """
    L = _check_box(box_size)
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, dtype=None)
    edges = _check_edges(bins, maps.shape[1], maps.shape[2], L)
    return _power(maps, L, edges, threads)


def _power(maps: np.ndarray, L: float, edges: np.ndarray, threads, F: "np.ndarray | None" = None) -> PowerSpectrum:
    """Kernel of :func:`power_spectrum` on validated maps and edges (``F``: their rfft2 when already known)."""
    n, h, w = maps.shape
    nmodes, kmean, used, bin_of, w_used = _binning(h, w, L, tuple(edges.tolist()))
    power = np.empty((n, edges.size - 1))
    if F is not None:
        _bin_power(F.reshape(n, -1), used, bin_of, w_used, power)
    else:
        for sl, Fc in _fft.iter_rfft2(maps, threads=threads):
            _bin_power(Fc.reshape(sl.stop - sl.start, -1), used, bin_of, w_used, power[sl])
    power *= L * L / float(h * w) ** 2
    power[:, nmodes == 0] = np.nan
    return PowerSpectrum(k=kmean.copy(), power=power, nmodes=nmodes.copy(), edges=edges, box_size=L)


def dimensionless_power(ps: PowerSpectrum) -> np.ndarray:
    """Dimensionless 2-D power Δ²(k) = k² P(k) / (2π).

    Parameters
    ----------
    ps : PowerSpectrum
        Output of :func:`power_spectrum`.

    Returns
    -------
    numpy.ndarray
        ``(n, nb)`` Δ²(k): the contribution to the variance of δ per unit ln k in 2-D.
    """
    if not isinstance(ps, PowerSpectrum):
        raise CosmobenchError("dimensionless_power needs the PowerSpectrum returned by power_spectrum()")
    return ps.k[None, :] ** 2 * ps.power / (2.0 * math.pi)


def welch_power(maps, pixel_size: float = 1000.0 / 256, *, nperseg: int = 64, allow_below_minus_one: bool = False):
    """The seed study's 1-D Welch estimator, batched.

    For each map: ``scipy.signal.welch(map, fs=2π/Δx, axis=0, scaling='spectrum', nperseg=nperseg)``
    (Hann window, one segment per column for 64-pixel maps), then the mean over the other axis.

    Parameters
    ----------
    maps : array_like
        ``(n, H, W)`` δ maps.
    pixel_size : float
        Pixel side Δx in Mpc/h (default 3.906, the default track).
    nperseg : int
        Welch segment length (capped at ``H``).
    allow_below_minus_one : bool
        Accept δ < −1.

    Returns
    -------
    k : numpy.ndarray
        ``(nk,)`` wavenumbers 2π f in h/Mpc (``fs = 2π/Δx`` makes scipy's frequency a wavenumber).
    power : numpy.ndarray
        ``(n, nk)`` the seed's "power" (a per-row power *spectrum*, units of δ², not (Mpc/h)²).

    Raises
    ------
    CosmobenchError
        For malformed maps or a bad pixel size.
    """
    dx = _check_box(pixel_size)
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one)
    if int(nperseg) < 2:
        raise CosmobenchError(f"nperseg={nperseg}; use at least 2 pixels per Welch segment")
    nseg = min(int(nperseg), maps.shape[1])
    import scipy.signal  # here, not at the top: it costs 0.6 s of every process's import

    k, p = scipy.signal.welch(maps, fs=2.0 * math.pi / dx, axis=1, scaling="spectrum", nperseg=nseg)
    return k, p.mean(axis=2)


class PowerStatistic(Statistic):
    """log10 P(k) per map on the track's default bins (k_F-wide, k_F … k_Nyq)."""

    name = "power"
    version = "1"
    distance = "chi2"
    description = "isotropic power spectrum log10 P(k), k_F-wide bins from k_F to k_Nyquist"

    def __init__(self, track=None, *, threads: "int | None" = None, **settings) -> None:
        # threads changes speed, never the numbers: kept out of the settings that key the cache
        super().__init__(track, **settings)
        self._threads = threads
        t = self.track
        self._edges = default_edges(t.tile, t.tile_size)
        self._k = _binning(t.tile, t.tile, float(t.tile_size), tuple(self._edges.tolist()))[1]

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """``(n, nb)`` log10 P(k) (P floored at 1e-30 before the log)."""
        ps = _power(batch.maps, float(self.track.tile_size), self._edges, self._threads, F=batch.rfft2())
        return np.log10(np.maximum(ps.power, _LOG_FLOOR))

    def coords(self) -> dict[str, np.ndarray]:
        return {"k": self._k.copy()}
