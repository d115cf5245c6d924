"""Bispectrum of δ maps with the FFT shell estimator.

For a shell ``S`` of width ``dk`` around ``|k| = k_s`` let ``I_S(x) = IFFT[F(k) 1_S(k)](x)`` (numpy's
normalised inverse DFT, ``F = FFT(δ)``) and ``N_S(x)`` the same for ``F = 1``. For a configuration of
shells ``(S1, S2, S3)``::

    B = L⁴/N⁶ · Σ_x I_1 I_2 I_3 / Σ_x N_1 N_2 N_3          [(Mpc/h)⁴]

which is ``L⁴/N⁶`` times the mean of ``F(k1) F(k2) F(k3)`` over all ordered triangles
``k1 + k2 + k3 = 0`` (mod the grid, as on any DFT grid) with ``k_i ∈ S_i``. With ``δ(k) = (L/N)² FFT``
and ``⟨δ(k1)δ(k2)δ(k3)⟩ = L² δ_K B`` this is the bispectrum in the power spectrum's convention
(``P = L²/N⁴ ⟨|FFT|²⟩``, see :mod:`cosmobench.stats.power`). The number of triangles is
``N⁴ Σ_x N_1 N_2 N_3``. The power in the same shells is ``P_S = L²/N⁴ Σ_x I_S² / Σ_x N_S²`` (the mean
of ``|F|²`` over the shell's modes), and the reduced bispectrum is

    Q = B / (P1 P2 + P2 P3 + P3 P1),

≈ 0 for a Gaussian field, ≈ 2 f_NL for the local quadratic field ``g + f_NL (g² − ⟨g²⟩)`` at tree level.

A shell is ``k_s − dk/2 <= |k| < k_s + dk/2``, DC excluded. Configurations are ``(k1, k2, k3)``
triples of shell centres in h/Mpc; :func:`triangle_configs` builds them from ``(k1, k2, θ)`` with
θ the angle between **k1** and **k2** and ``k3 = |k1 + k2|`` (equilateral: θ = 2π/3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit, prange

from cosmobench.errors import CosmobenchError
from cosmobench import _fft
from cosmobench.stats._validate import check_maps
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import BatchContext
from cosmobench.stats.power import _check_box

__all__ = [
    "Bispectrum", "bispectrum", "triangle_configs", "DEFAULT_CONFIGS", "BispectrumStatistic", "configs_for_track",
]

#: Default configurations (k1, k2, k3) in h/Mpc on the default track (250 Mpc/h maps): 4 equilateral,
#: 4 isosceles k1 = k2 = 0.3 from squeezed (k3 = 0.1) to flattened (k3 = 0.5). Other tracks use the
#: same triangles in units of their own fundamental mode (:func:`configs_for_track`).
DEFAULT_CONFIGS = np.array(
    [
        [0.1, 0.1, 0.1],
        [0.2, 0.2, 0.2],
        [0.3, 0.3, 0.3],
        [0.4, 0.4, 0.4],
        [0.3, 0.3, 0.1],
        [0.3, 0.3, 0.2],
        [0.3, 0.3, 0.4],
        [0.3, 0.3, 0.5],
    ]
)
DEFAULT_CONFIGS.setflags(write=False)

# Maps whose forward transforms are held at once (1,024 maps of 64²: 35 MB of complex128).
_F_CHUNK = 1024



@dataclass(frozen=True)
class Bispectrum:
    """Per-map bispectrum of a set of triangle configurations.

    Attributes
    ----------
    B : numpy.ndarray
        ``(n, nconf)`` bispectrum in (Mpc/h)⁴.
    Q : numpy.ndarray
        ``(n, nconf)`` reduced bispectrum ``B / (P1 P2 + P2 P3 + P3 P1)``.
    k1, k2, k3 : numpy.ndarray
        ``(nconf,)`` shell centres in h/Mpc.
    power : numpy.ndarray
        ``(n, nconf, 3)`` power in the three shells of each configuration, (Mpc/h)².
    ntriangles : numpy.ndarray
        ``(nconf,)`` number of ordered mode triangles ``(k1, k2, k3)`` on the grid.
    dk : float
        Shell width in h/Mpc.
    box_size : float
        Map side in Mpc/h.
    """

    B: np.ndarray
    Q: np.ndarray
    k1: np.ndarray
    k2: np.ndarray
    k3: np.ndarray
    power: np.ndarray
    ntriangles: np.ndarray
    dk: float
    box_size: float


def triangle_configs(k1, k2, theta) -> np.ndarray:
    """Configurations ``(k1, k2, k3)`` with ``k3 = |k1 + k2| = sqrt(k1² + k2² + 2 k1 k2 cos θ)``.

    Parameters
    ----------
    k1, k2 : array_like
        Sides in h/Mpc (broadcast together with ``theta``).
    theta : array_like
        Angle between the vectors **k1** and **k2**, radians (2π/3 gives an equilateral triangle).

    Returns
    -------
    numpy.ndarray
        ``(nconf, 3)`` float64.
    """
    k1, k2, theta = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (k1, k2, theta)))
    k3 = np.sqrt(np.maximum(k1**2 + k2**2 + 2.0 * k1 * k2 * np.cos(theta), 0.0))
    return np.stack([k1.ravel(), k2.ravel(), k3.ravel()], axis=1)


@lru_cache(maxsize=16)
def _geometry(h: int, w: int, L: float, shells: "tuple[float, ...]", dk: float, threads):
    """Shell masks on the rfft half plane, unit shell fields and their moments."""
    kx = 2.0 * math.pi * np.fft.rfftfreq(w, d=L / w)
    ky = 2.0 * math.pi * np.fft.fftfreq(h, d=L / h)
    kmag = np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)
    ks = np.asarray(shells)
    lo = (ks - dk / 2)[:, None, None]
    hi = (ks + dk / 2)[:, None, None]
    masks = (kmag[None] >= lo) & (kmag[None] < hi) & (kmag[None] > 0)
    empty = ~masks.reshape(len(ks), -1).any(axis=1)
    if empty.any():
        raise CosmobenchError(
            f"the bispectrum shell |k| = {ks[empty][0]:.4g} ± {dk / 2:.3g} h/Mpc holds no Fourier mode of a "
            f"{h}x{w} map of side {L:g} Mpc/h; use k between {2 * math.pi / L:.3g} and {math.pi * h / L:.3g} "
            "h/Mpc or a wider dk"
        )
    unit = _fft.irfft2(masks.astype(np.complex128), (h, w), threads=threads)  # (ns, h, w)
    nsq = np.einsum("sij,sij->s", unit, unit)  # = nmodes / N²
    return masks, unit.reshape(len(ks), -1), nsq


def _check_configs(configs) -> np.ndarray:
    try:
        c = np.asarray(configs, dtype=np.float64)
    except (TypeError, ValueError):
        raise CosmobenchError("configs must be an array of (k1, k2, k3) triples in h/Mpc") from None
    if c.ndim == 1 and c.size == 3:
        c = c[None]
    if c.ndim != 2 or c.shape[1] != 3 or c.shape[0] == 0:
        raise CosmobenchError(f"configs have shape {c.shape}; pass an (nconf, 3) array of (k1, k2, k3) in h/Mpc")
    if not np.isfinite(c).all() or (c <= 0).any():
        raise CosmobenchError("configs must hold positive, finite wavenumbers (k1, k2, k3) in h/Mpc")
    return c


def bispectrum(
    maps,
    configs=None,
    box_size: float = 250.0,
    *,
    dk: "float | None" = None,
    threads: "int | None" = None,
    allow_below_minus_one: bool = False,
) -> Bispectrum:
    """FFT shell estimate of the bispectrum of every map for a set of triangle configurations.

    Parameters
    ----------
    maps : array_like
        ``(n, N, N)`` δ maps.
    configs : array_like, optional
        ``(nconf, 3)`` shell centres ``(k1, k2, k3)`` in h/Mpc (see :func:`triangle_configs`);
        default :data:`DEFAULT_CONFIGS`.
    box_size : float
        Map side L in Mpc/h.
    dk : float, optional
        Shell width in h/Mpc; default ``2 k_F = 4π/L``.
    threads : int, optional
        FFTW threads.
    allow_below_minus_one : bool
        Accept δ < −1 (Gaussian test fields).

    Returns
    -------
    Bispectrum
        ``B`` and ``Q`` (n, nconf), shell centres, shell powers, triangle counts.

    Raises
    ------
    CosmobenchError
        For malformed maps, bad configurations, an empty shell, or a configuration whose shells
        close no triangle on the grid.

    Notes
    -----
    Cost: one batched rfft2 per map and one batched irfft2 per distinct shell, then one compiled
    pass over the shell fields for the shell powers and the triple products of every configuration.
    """
    L = _check_box(box_size)
    c = _check_configs(DEFAULT_CONFIGS if configs is None else configs)
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, dtype=None)
    return _bispectrum(maps, c, L, _check_dk(dk, L), threads)


def _check_dk(dk, L: float) -> float:
    if dk is None:
        dk = 4.0 * math.pi / L
    try:
        dk = float(dk)
    except (TypeError, ValueError):
        raise CosmobenchError(f"dk={dk!r}; pass a shell width in h/Mpc") from None
    if not (math.isfinite(dk) and dk > 0):
        raise CosmobenchError(f"dk={dk!r}; pass a positive shell width in h/Mpc")
    return dk


@njit(cache=True, parallel=True)
def _fill_shells(F, masks, out):  # pragma: no cover - compiled
    """``out[m·ns + s] = F[m] · masks[s]``: the modes of every shell of every map, straight into a plan's buffer."""
    k, h, w2 = F.shape
    ns = masks.shape[0]
    for m in prange(k):
        for s in range(ns):
            o = out[m * ns + s]
            for i in range(h):
                for j in range(w2):
                    o[i, j] = F[m, i, j] if masks[s, i, j] else 0.0
    return out


# fastmath lets the pixel sums vectorise (reassociated: round-off level changes only; inputs are finite)
@njit(cache=True, parallel=True, fastmath=True)
def _shell_sums(I, scale, inv, P, B):  # pragma: no cover - compiled
    """``P[m, s] = Σ_x I_s²`` and ``B[m, j] = Σ_x I_a I_b I_c`` of ``I = scale · out`` (the normalised shell fields)."""
    g, ns, npix = I.shape
    for m in prange(g):
        for s in range(ns):
            acc = 0.0
            for x in range(npix):
                v = I[m, s, x] * scale
                acc += v * v
            P[m, s] = acc
        for j in range(inv.shape[0]):
            a = inv[j, 0]
            b = inv[j, 1]
            d = inv[j, 2]
            acc = 0.0
            for x in range(npix):
                acc += (I[m, a, x] * scale) * (I[m, b, x] * scale) * (I[m, d, x] * scale)
            B[m, j] = acc


def _bispectrum(maps: np.ndarray, c: np.ndarray, L: float, dk: float, threads, F: "np.ndarray | None" = None) -> Bispectrum:
    """Kernel of :func:`bispectrum` on validated input (``F``: the maps' rfft2 when already known)."""
    n, h, w = maps.shape
    shells, inv = np.unique(np.round(c, 12), return_inverse=True)
    inv = inv.reshape(c.shape)
    masks, unit, nsq = _geometry(h, w, L, tuple(shells.tolist()), dk, threads)
    npix = h * w
    denom_tri = np.einsum("cx,cx,cx->c", unit[inv[:, 0]], unit[inv[:, 1]], unit[inv[:, 2]])
    ntri = np.rint(npix**2 * denom_tri)
    if (ntri < 1).any():
        j = int(np.argmax(ntri < 1))
        raise CosmobenchError(
            f"configuration {tuple(np.round(c[j], 4))} closes no triangle of grid modes with dk = {dk:.3g} h/Mpc; "
            "use sides that satisfy the triangle inequality (k3 <= k1 + k2) or a wider dk"
        )
    ns = shells.size
    B = np.empty((n, c.shape[0]))
    Pshell = np.empty((n, ns))
    # The shell fields of g maps fill the inverse plan's buffer at once: masked modes are written
    # straight into it and the sums read its output, so no temporary of shell fields is made.
    plan = _fft.irfft2_plan(h, w, threads)
    g = max(1, plan.input_array.shape[0] // ns)
    inv = np.ascontiguousarray(inv, dtype=np.int64)
    for c0 in range(0, n, _F_CHUNK):
        Fc = F[c0 : c0 + _F_CHUNK] if F is not None else _fft.rfft2(maps[c0 : c0 + _F_CHUNK], threads=threads)
        for s in range(0, Fc.shape[0], g):
            k = min(g, Fc.shape[0] - s)
            _fill_shells(Fc[s : s + k], masks, plan.input_array)
            plan.execute()
            I = plan.output_array[: k * ns].reshape(k, ns, npix)
            _shell_sums(I, 1.0 / npix, inv, Pshell[c0 + s : c0 + s + k], B[c0 + s : c0 + s + k])
    Pshell /= nsq
    B *= (L**4 / float(npix) ** 3) / denom_tri
    Pshell *= L * L / float(npix) ** 2
    P = Pshell[:, inv]  # (n, nconf, 3)
    denom = P[..., 0] * P[..., 1] + P[..., 1] * P[..., 2] + P[..., 2] * P[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        Q = np.where(denom > 0, B / denom, np.nan)
    return Bispectrum(
        B=B, Q=Q, k1=c[:, 0].copy(), k2=c[:, 1].copy(), k3=c[:, 2].copy(), power=P, ntriangles=ntri, dk=dk, box_size=L
    )


def configs_for_track(track) -> np.ndarray:
    """:data:`DEFAULT_CONFIGS` in units of the track's fundamental mode k_F = 2π/L.

    The default configurations span 4–20 k_F of a 250 Mpc/h map with shells 2 k_F wide; a track of
    another map size (CAMELS: 6.25 Mpc/h, k_F = 1.005 h/Mpc) gets the same triangles of grid modes,
    hence the same mode counts, at its own scales (on 250 Mpc/h tracks the numbers are unchanged).

    Raises
    ------
    CosmobenchError
        If the largest shell would pass the track's Nyquist wavenumber (maps under 42 pixels a side).
    """
    from cosmobench.data.track import DEFAULT_TRACK, get_track

    t = get_track(track)
    c = DEFAULT_CONFIGS * (t.k_fundamental / DEFAULT_TRACK.k_fundamental)
    top = float(c.max()) + t.k_fundamental  # + dk/2 with the default dk = 2 k_F
    if top > t.k_nyquist:
        raise CosmobenchError(
            f"the bispectrum's triangles reach {top / t.k_fundamental:.0f} k_F, beyond the Nyquist wavenumber of track "
            f"{t.name!r} ({t.tile} pixels a side, {t.k_nyquist / t.k_fundamental:.0f} k_F); pass configs= that fit"
        )
    return c


class BispectrumStatistic(Statistic):
    """Reduced bispectrum Q per map for :func:`configs_for_track` (equilateral and isosceles triangles)."""

    name = "bispectrum"
    version = "1"
    distance = "chi2"
    description = ("reduced bispectrum Q: 4 equilateral (k = 4-16 k_F) and 4 isosceles k1=k2=12 k_F triangles "
                   "(0.1-0.5 h/Mpc on 250 Mpc/h maps)")

    def __init__(self, track=None, *, threads: "int | None" = None, **settings) -> None:
        # threads changes speed, never the numbers: kept out of the settings that key the cache
        super().__init__(track, **settings)
        self._threads = threads
        self._configs = _check_configs(settings["configs"] if "configs" in settings else configs_for_track(self.track))

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """``(n, nconf)`` reduced bispectrum Q."""
        L = float(self.track.tile_size)
        dk = _check_dk(self.settings.get("dk"), L)
        return _bispectrum(batch.maps, self._configs, L, dk, self._threads, F=batch.rfft2()).Q

    def coords(self) -> dict[str, np.ndarray]:
        return {"k1": self._configs[:, 0].copy(), "k2": self._configs[:, 1].copy(), "k3": self._configs[:, 2].copy()}
