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
from numba import njit, prange

from cosmobench.stats import _field_kernels as _fk
from cosmobench.stats._validate import check_edges, check_maps
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import DENSITY_CLIP, BatchContext

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


@njit(cache=True, parallel=True)
def _moments(maps, out):  # pragma: no cover - compiled
    """Per-map mean, population variance, skewness, excess kurtosis (two passes, float64)."""
    n, m = maps.shape
    for i in prange(n):
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
    return check_edges(edges, DEFAULT_EDGES)


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
    _fk.log_histogram(flat, edges, _fk.uniform_edges(edges), True, out)
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
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, dtype=None)
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
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, dtype=None)
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
        self._uniform = _fk.uniform_edges(self._edges)

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """``(n, nb)`` fractions of pixels per log10(1+δ) bin."""
        counts = np.empty((batch.n, self._edges.size - 1), dtype=np.int64)
        if self._edges[0] > np.log10(DENSITY_CLIP):
            # every pixel the shared field clips lands in the first bin anyway: reuse its logarithms
            _fk.log_histogram(batch.log_density(), self._edges, self._uniform, False, counts)
        else:
            _fk.log_histogram(batch.flat(), self._edges, self._uniform, True, counts)
        return counts / float(batch.flat().shape[1])

    def coords(self) -> dict[str, np.ndarray]:
        return {"log10(1+delta)": 0.5 * (self._edges[1:] + self._edges[:-1])}


class MomentsStatistic(Statistic):
    """Variance, skewness and excess kurtosis of δ per map."""

    name = "moments"
    version = "1"
    distance = "chi2"
    description = "one-point moments of δ per map: variance, skewness, excess kurtosis"

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """``(n, 3)`` columns var, skew, kurt of δ."""
        return _moments_of(batch.maps)[:, 1:]

    def coords(self) -> dict[str, np.ndarray]:
        return {"moment": np.array(["var", "skew", "kurt"])}


class MeanStatistic(Statistic):
    """Per-map mean δ (a generator's mean bias shows here: the reference mean is ~0)."""

    name = "mean"
    version = "1"
    distance = "abs_mean"
    description = "per-map mean δ (exposes a mean bias: physical δ maps average to ~0)"

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """``(n, 1)`` mean δ per map."""
        return batch.flat().mean(axis=1, dtype=np.float64)[:, None]
