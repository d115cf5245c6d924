"""One-point statistics of δ maps: pixel PDF of log10(1+δ), mean, variance, skewness, kurtosis.

The PDF is a histogram of ``y = log10(1 + δ)`` per map, normalised to fractions of the map's pixels.
Default bins are fixed for the track (:data:`DEFAULT_EDGES`: 60 bins on [−1.5, 2.5]) so that scores
never depend on the model being scored. Values outside the edges are clipped into the end bins: the
first bin collects every pixel with ``1 + δ < 10^-1.5`` (empty pixels, δ = −1, included; ``1 + δ <= 0``
counts as below any edge), the last every pixel with ``1 + δ >= 10^2.5``. Bins are ``[e_j, e_{j+1})``,
as in :func:`numpy.histogram`.

Moments are those of δ itself (not of log(1+δ)), with the conventions of :func:`scipy.stats.skew` and
:func:`scipy.stats.kurtosis` at their defaults: population (biased) central moments, Fisher (excess)
kurtosis. ``var`` is the population variance ``⟨(δ − δ̄)²⟩``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from cosmobench.errors import CosmobenchError
from cosmobench.stats._validate import check_maps
from cosmobench.stats.base import Statistic

__all__ = [
    "DEFAULT_EDGES",
    "PixelPDF",
    "pixel_pdf",
    "pixel_moments",
    "log_histogram",
    "PDFStatistic",
    "MomentsStatistic",
    "MeanStatistic",
]

#: Default track bins of log10(1+δ): 60 bins on [−1.5, 2.5].
DEFAULT_EDGES = np.linspace(-1.5, 2.5, 61)
DEFAULT_EDGES.setflags(write=False)


@dataclass(frozen=True)
class PixelPDF:
    """Per-map pixel PDF and moments.

    Attributes
    ----------
    edges : numpy.ndarray
        ``(nb + 1,)`` bin edges in log10(1+δ).
    centers : numpy.ndarray
        ``(nb,)`` bin centres in log10(1+δ).
    hist : numpy.ndarray
        ``(n, nb)`` fraction of each map's pixels in each bin (rows sum to 1; end bins hold the clipped tails).
    mean, var, skew, kurt : numpy.ndarray
        ``(n,)`` mean, population variance, skewness and excess kurtosis of δ per map.
    """

    edges: np.ndarray
    centers: np.ndarray
    hist: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    skew: np.ndarray
    kurt: np.ndarray


@njit(cache=True, nogil=True)
def _log_hist(maps, edges, uniform, out):  # pragma: no cover - compiled
    """Counts of log10(1+δ) per map in bins [e_j, e_j+1); tails clip into the end bins.

    With ``uniform`` edges the bin is computed arithmetically and corrected against the edges (as
    :func:`numpy.histogram` does), otherwise found by binary search.
    """
    n = maps.shape[0]
    nb = out.shape[1]
    e0 = edges[0]
    inv = nb / (edges[nb] - edges[0])
    inner = edges[1:nb]
    for i in range(n):
        row = maps[i]
        for j in range(nb):
            out[i, j] = 0
        for p in range(row.size):
            x = 1.0 + row[p]
            if x > 0.0:
                y = np.log10(x)
                if uniform:
                    b = int(np.floor((y - e0) * inv))
                    if b < 0:
                        b = 0
                    elif b >= nb:
                        b = nb - 1
                    if b < nb - 1 and y >= edges[b + 1]:
                        b += 1
                    elif b > 0 and y < edges[b]:
                        b -= 1
                else:
                    b = np.searchsorted(inner, y, side="right")
            else:
                b = 0
            out[i, b] += 1


@njit(cache=True, nogil=True)
def _moments(maps, out):  # pragma: no cover - compiled
    """Per-map mean, population variance, skewness, excess kurtosis (two passes, float64)."""
    n, m = maps.shape
    for i in range(n):
        row = maps[i]
        s = 0.0
        for p in range(m):
            s += row[p]
        mu = s / m
        m2 = 0.0
        m3 = 0.0
        m4 = 0.0
        for p in range(m):
            d = row[p] - mu
            d2 = d * d
            m2 += d2
            m3 += d2 * d
            m4 += d2 * d2
        m2 /= m
        m3 /= m
        m4 /= m
        out[i, 0] = mu
        out[i, 1] = m2
        if m2 > 0.0:
            out[i, 2] = m3 / m2**1.5
            out[i, 3] = m4 / (m2 * m2) - 3.0
        else:
            out[i, 2] = np.nan
            out[i, 3] = np.nan


def _check_edges(edges) -> np.ndarray:
    if edges is None:
        return np.array(DEFAULT_EDGES)
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2:
        raise CosmobenchError("edges must be a 1-D array of at least 2 bin edges in log10(1+δ)")
    if not np.isfinite(e).all() or (np.diff(e) <= 0).any():
        raise CosmobenchError("edges must be finite and strictly increasing (bin edges in log10(1+δ))")
    return e


def _float_dtype(maps):
    dt = getattr(maps, "dtype", None)
    return np.float32 if dt == np.float32 else np.float64


def log_histogram(maps: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts ``(n, nb)`` of log10(1+δ) of validated ``(n, H, W)`` maps, tails clipped into the end bins.

    Parameters
    ----------
    maps : numpy.ndarray
        Validated ``(n, H, W)`` or ``(n, M)`` float array.
    edges : numpy.ndarray
        ``(nb + 1,)`` increasing edges in log10(1+δ).

    Returns
    -------
    numpy.ndarray
        ``(n, nb)`` int64 counts.
    """
    flat = maps.reshape(maps.shape[0], -1)
    out = np.empty((flat.shape[0], edges.size - 1), dtype=np.int64)
    edges = np.ascontiguousarray(edges, dtype=np.float64)
    d = np.diff(edges)
    uniform = bool(np.allclose(d, d[0], rtol=1e-10, atol=0.0))
    _log_hist(flat, edges, uniform, out)
    return out


def pixel_moments(maps, *, allow_below_minus_one: bool = False) -> np.ndarray:
    """Mean, population variance, skewness and excess kurtosis of δ per map.

    Parameters
    ----------
    maps : array_like
        ``(n, H, W)`` δ maps.
    allow_below_minus_one : bool
        Accept δ < −1 (Gaussian test fields).

    Returns
    -------
    numpy.ndarray
        ``(n, 4)`` float64 columns mean, var, skew, kurt (as ``scipy.stats.skew`` / ``kurtosis`` defaults).

    Raises
    ------
    CosmobenchError
        For malformed maps.
    """
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, dtype=_float_dtype(maps))
    return _moments_of(maps)


def _moments_of(maps: np.ndarray) -> np.ndarray:
    out = np.empty((maps.shape[0], 4))
    _moments(maps.reshape(maps.shape[0], -1), out)
    return out


def pixel_pdf(maps, edges=None, *, allow_below_minus_one: bool = False) -> PixelPDF:
    """Per-map histogram of log10(1+δ) and moments of δ.

    Parameters
    ----------
    maps : array_like
        ``(n, H, W)`` δ maps.
    edges : array_like, optional
        Bin edges in log10(1+δ); default :data:`DEFAULT_EDGES` (60 bins on [−1.5, 2.5]).
        Pixels outside the edges are counted in the end bins (1 + δ <= 0 in the first).
    allow_below_minus_one : bool
        Accept δ < −1 (Gaussian test fields); such pixels land in the first bin.

    Returns
    -------
    PixelPDF
        ``edges``, ``centers``, ``hist`` (n, nb) fractions per map, and per-map ``mean``, ``var``,
        ``skew``, ``kurt`` (excess) of δ.

    Raises
    ------
    CosmobenchError
        For malformed maps or bad edges.

    Notes
    -----
    One compiled pass per map for the histogram (arithmetic bin for uniform edges, binary search
    otherwise) and two for the
    moments; no temporary the size of the batch is made.
    """
    edges = _check_edges(edges)
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, dtype=_float_dtype(maps))
    counts = log_histogram(maps, edges)
    mom = _moments_of(maps)
    npix = maps.shape[1] * maps.shape[2]
    return PixelPDF(
        edges=edges,
        centers=0.5 * (edges[1:] + edges[:-1]),
        hist=counts / float(npix),
        mean=mom[:, 0],
        var=mom[:, 1],
        skew=mom[:, 2],
        kurt=mom[:, 3],
    )


class PDFStatistic(Statistic):
    """Per-map normalised histogram of log10(1+δ) on fixed track bins (tails in the end bins)."""

    name = "pdf"
    version = "1"
    distance = "hist_w1"
    description = "pixel PDF of log10(1+δ), 60 fixed bins on [-1.5, 2.5], tails clipped into the end bins"

    def __init__(self, track=None, **settings) -> None:
        super().__init__(track, **settings)
        self._edges = _check_edges(settings.get("edges"))

    def summarize(self, maps: np.ndarray) -> np.ndarray:
        """``(n, nb)`` fractions of pixels per log10(1+δ) bin."""
        maps = check_maps(maps, shape=self.track.shape, dtype=_float_dtype(maps))
        counts = log_histogram(maps, self._edges)
        return counts / float(maps.shape[1] * maps.shape[2])

    def coords(self) -> dict[str, np.ndarray]:
        return {"log10(1+delta)": 0.5 * (self._edges[1:] + self._edges[:-1])}


class MomentsStatistic(Statistic):
    """Variance, skewness and excess kurtosis of δ per map."""

    name = "moments"
    version = "1"
    distance = "chi2"
    description = "one-point moments of δ per map: variance, skewness, excess kurtosis"

    def summarize(self, maps: np.ndarray) -> np.ndarray:
        """``(n, 3)`` columns var, skew, kurt of δ."""
        maps = check_maps(maps, shape=self.track.shape, dtype=_float_dtype(maps))
        return _moments_of(maps)[:, 1:]

    def coords(self) -> dict[str, np.ndarray]:
        return {"moment": np.array(["var", "skew", "kurt"])}


class MeanStatistic(Statistic):
    """Per-map mean δ (a generator's mean bias shows here: the reference mean is ~0)."""

    name = "mean"
    version = "1"
    distance = "abs_mean"
    description = "per-map mean δ (exposes a mean bias: physical δ maps average to ~0)"

    def summarize(self, maps: np.ndarray) -> np.ndarray:
        """``(n, 1)`` mean δ per map."""
        maps = check_maps(maps, shape=self.track.shape, dtype=_float_dtype(maps))
        return maps.reshape(maps.shape[0], -1).mean(axis=1, dtype=np.float64)[:, None]
