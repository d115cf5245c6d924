"""Diversity and memorisation statistics: does a model produce varied maps, and are they its own?

A collapsed GAN emits (nearly) the same map whatever the seed; every one-point or two-point
statistic of that single map can look fine while the *set* is degenerate. The functions here
measure the spread of a set of maps and the distances between sets, on cheap per-map features:

- :func:`map_features` — 16×16 block means of ``log10(1 + δ)``: a 256-vector per map that keeps the
  position of the large structures and forgets the pixel noise.
- :func:`pairwise_spread` — mean pairwise Euclidean distance of a set of feature vectors (a
  collapsed set has spread ≈ 0).
- :func:`pixel_variance_ratio` — mean per-pixel variance across the model set over the same for
  the reference (≪ 1 for a collapsed set).
- :func:`nearest_neighbour_distances` — exact, memory-bounded nearest-neighbour distances
  (:mod:`cosmobench.stats.nearest`, re-exported here), used by the memorisation score in
  :mod:`cosmobench.compare.memorisation`.

:class:`DiversityStatistic` exposes the features to the comparison layer, whose ``"diversity"``
distance is ``|log(spread(model) / spread(reference))|``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats._order import canonical_order
from cosmobench.stats._validate import check_maps, check_rows
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import DENSITY_CLIP, BatchContext
from cosmobench.stats.nearest import nearest_neighbour_distances

__all__ = [
    "map_features",
    "pairwise_spread",
    "pixel_variance_ratio",
    "nearest_neighbour_distances",
    "DiversityStatistic",
    "FEATURE_BLOCKS",
    "DENSITY_CLIP",
]

#: Blocks per side of :func:`map_features` (16 → 256 features per map).
FEATURE_BLOCKS = 16
# Entries of a distance block held in memory at once (2**23 float64 = 64 MiB).
_BLOCK_ENTRIES = 2**23


def _as_features(feats, name: str, min_rows: int = 1) -> np.ndarray:
    """Validate a (n, d) float feature array (a 1-D array is one column)."""
    return check_rows(feats, name, min_rows=min_rows)


def _canonical_order(a: np.ndarray) -> np.ndarray:
    """Indices putting the rows of ``a`` in a canonical order that FFT round-off cannot change
    (:func:`cosmobench.stats._order.canonical_order`): any order of the same set of rows gives the same array."""
    return canonical_order(a)


def _spread_rows(feats, max_rows: "int | None", seed: int) -> np.ndarray:
    """The (canonically ordered, possibly subsampled) rows :func:`pairwise_spread` averages over."""
    a = _as_features(feats, "features", min_rows=2)
    a = a[_canonical_order(a)]
    n = a.shape[0]
    if max_rows is not None:
        if int(max_rows) < 2:
            raise CosmobenchError(f"max_rows={max_rows}; pass at least 2 (or None for every row)")
        if n > max_rows:
            idx = np.sort(np.random.default_rng(seed).choice(n, size=int(max_rows), replace=False))
            a = a[idx]
    return a


def _distance_matrix(a: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix of the rows of ``a`` (zero diagonal), via the Gram matrix of centred rows."""
    a = a - a.mean(axis=0)
    sq = np.einsum("ij,ij->i", a, a)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (a @ a.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2, out=d2)


def map_features(maps, *, blocks: int = FEATURE_BLOCKS) -> np.ndarray:
    """Block means of ``log10(1 + δ)``: one ``blocks²`` feature vector per map.

    Parameters
    ----------
    maps : array_like
        Batch of physical δ maps, shape ``(n, H, W)`` with ``H`` and ``W`` multiples of ``blocks``.
    blocks : int
        Blocks per side (default 16, i.e. 4×4-pixel blocks of a 64² map and 256 features).

    Returns
    -------
    numpy.ndarray
        ``(n, blocks**2)`` float64; ``1 + δ`` is clipped below at :data:`DENSITY_CLIP` before the
        logarithm, so empty pixels count as ``-3``.

    Raises
    ------
    CosmobenchError
        For invalid maps (see :func:`cosmobench.stats._validate.check_maps`) or sizes that are not
        multiples of ``blocks``.
    """
    return BatchContext.validate(maps).block_features(int(blocks))


def pairwise_spread(feats, max_rows: "int | None" = 1000, seed: int = 0) -> float:
    """Mean pairwise Euclidean distance between the rows of ``feats``.

    Parameters
    ----------
    feats : array_like
        ``(n, d)`` feature vectors (e.g. :func:`map_features`), ``n >= 2``.
    max_rows : int or None
        When ``n > max_rows``, use a random subset of ``max_rows`` rows (drawn with ``seed``, without
        replacement) so the cost stays O(max_rows²·d); ``None`` uses every row.
    seed : int
        Seed of the subset draw. The rows are put in a canonical order (sorted by their bytes) first, so
        the result does not depend on the order in which the rows are given.

    Returns
    -------
    float
        Mean of ``‖x_i − x_j‖`` over the distinct pairs ``i < j`` of the (sub)set; 0 for a set of
        identical rows.

    Notes
    -----
    Distances come from a Gram matrix of the centred rows, ``‖a‖² + ‖b‖² − 2 a·b``, in row chunks of
    bounded memory; centring first keeps the cancellation error relative to the spread, not to
    the mean, so a collapsed set with tiny noise is measured correctly.
    """
    a = _spread_rows(feats, max_rows, seed)
    n = a.shape[0]
    a = a - a.mean(axis=0)
    sq = np.einsum("ij,ij->i", a, a)
    rows = max(1, min(n, _BLOCK_ENTRIES // n))
    total = 0.0
    for i0 in range(0, n, rows):
        i1 = min(n, i0 + rows)
        d2 = sq[i0:i1, None] + sq[None, :] - 2.0 * (a[i0:i1] @ a.T)
        np.maximum(d2, 0.0, out=d2)
        d2[np.arange(i1 - i0), np.arange(i0, i1)] = 0.0
        total += float(np.sqrt(d2).sum())
    return total / (n * (n - 1))


def pixel_variance_ratio(maps_model, maps_ref, *, log: bool = False) -> float:
    """Mean per-pixel variance across the model set divided by the same for the reference set.

    For every pixel position, the variance of its value over the maps of a set; averaged over
    pixels. A model that outputs varied maps has a ratio near 1; a collapsed model (one map,
    whatever the seed) has a ratio ≪ 1.

    Parameters
    ----------
    maps_model, maps_ref : array_like
        Batches of δ maps of the same ``(H, W)``, at least 2 maps each.
    log : bool
        Use ``log10(1 + δ)`` (clipped at :data:`DENSITY_CLIP`) instead of δ, which tempers the
        weight of the densest pixels.

    Returns
    -------
    float
        ``mean_pixels var_model / mean_pixels var_ref`` (``inf`` never: a reference with zero
        variance everywhere raises).

    Raises
    ------
    CosmobenchError
        For invalid maps, different map sizes, or a reference set with no variance.
    """
    m = check_maps(maps_model, min_maps=2, name="model maps")
    r = check_maps(maps_ref, min_maps=2, shape=m.shape[1:], name="reference maps")

    def mean_var(x: np.ndarray) -> float:
        if log:
            x = np.log10(np.maximum(1.0 + x, DENSITY_CLIP))
        return float(x.var(axis=0, ddof=1).mean())

    vr = mean_var(r)
    if not vr > 0:
        raise CosmobenchError("the reference maps are all identical (zero per-pixel variance); pass distinct reference maps")
    return mean_var(m) / vr


class DiversityStatistic(Statistic):
    """Per-map features for diversity and memorisation: 16×16 block means of ``log10(1 + δ)``.

    The comparison layer scores it with the ``"diversity"`` distance,
    ``|log(spread(model) / spread(reference))|`` where spread is :func:`pairwise_spread`: a
    collapsed generator gets a large value. The same features feed the memorisation score.
    """

    name: ClassVar[str] = "diversity"
    version: ClassVar[str] = "1"
    distance: ClassVar[str] = "diversity"
    description: ClassVar[str] = "spread of the set of maps (16x16 block means of log10(1+delta)); flags mode collapse"

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """:func:`map_features` of a batch of maps of this track, ``(n, 256)`` float64 (shared with ``collapse``)."""
        return batch.block_features(FEATURE_BLOCKS).copy()


class CollapseStatistic(DiversityStatistic):
    """The diversity features scored by how alike the maps of a set are (``"pair_correlation"``).

    A generator that repeats one template at different brightnesses keeps a normal spread of pairwise
    distances, which the ``diversity`` metric cannot see; the mean correlation between its maps' features
    is then ≈ 1 against ≈ 0 for independent reference tiles.
    """

    name: ClassVar[str] = "collapse"
    version: ClassVar[str] = "1"
    distance: ClassVar[str] = "pair_correlation"
    description: ClassVar[str] = "mean correlation between maps' features (16x16 log blocks); flags one-template mode collapse"

    def summary_key(self) -> str:
        """The ``diversity`` statistic's key: the same features, so one cached file serves both."""
        return self._key(DiversityStatistic.name, DiversityStatistic.version)
