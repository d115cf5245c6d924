"""Threshold-graph structures ("filaments" and nodes), after the seed's third-order analysis.

The seed builds a graph whose nodes are the pixels of a map, joins every pixel to its
neighbours, removes the pixels whose value is below a threshold, and calls the connected
components *structures*. Here that graph is never built: one numba union-find pass labels the
components of ``δ > threshold`` for a whole batch, and a second pass measures each of them.
The partition is exactly the one of the graph formulation (tested against networkx and
``scipy.ndimage.label``).

Conventions
-----------
- A pixel is in a structure when ``δ > threshold`` (strictly).
- ``connectivity=8`` (default) joins the 8 neighbours (edges and diagonals), like the seed's
  "nearest neighbours" graph drawn with diagonals; ``connectivity=4`` joins edge neighbours only.
- Tiles are not periodic: nothing connects across the tile border.
- ``perimeter`` counts pixel edges between a structure pixel and a pixel outside the structure,
  the tile border included (a lone pixel has perimeter 4, an isolated 1×n line 2n + 2).
- ``elongation`` is sqrt(λmax/λmin) of the inertia tensor of the structure's pixels taken as
  unit squares (covariance of the pixel centres + 1/12 on the diagonal): 1 for a pixel or a
  square, n for a straight 1×n line.
- ``filamentarity`` is the 2-D shapefinder F = (P² − 4πA)/(P² + 4πA) (Sahni, Sathyaprakash &
  Shandarin 1998; Bharadwaj et al. 2000), with A the area in pixels and P the Crofton estimate of
  the boundary length from crossings along four lattice directions,
  P = (π/8)·(N0 + N90 + (N45 + N135)/√2), which is unbiased for isotropic boundaries (the raw edge
  count overestimates a disc's perimeter by 4/π). F ≈ 0 for a disc, → 1 for a line. Digitised
  blobs of a few pixels can come out slightly below 0 (a lone pixel: F ≈ −0.27); values are not
  clipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats import _structure_kernels as _k
from cosmobench.stats._validate import check_maps
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import BatchContext

__all__ = [
    "label_structures",
    "structures",
    "StructureCatalog",
    "seed_threshold",
    "SeedThreshold",
    "StructureStatistic",
]


def _check_connectivity(connectivity) -> int:
    if connectivity not in (4, 8):
        raise CosmobenchError(f"connectivity={connectivity!r}; use 4 (edge neighbours) or 8 (edges and diagonals)")
    return int(connectivity)


def _check_threshold(threshold) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise CosmobenchError(f"threshold={threshold!r} is not a number; give the threshold in physical δ") from None
    if not math.isfinite(t):
        raise CosmobenchError(f"threshold={threshold!r} is not finite; give a finite threshold in physical δ")
    return t


def _label(maps: np.ndarray, threshold: float, connectivity: int):
    n, h, w = maps.shape
    labels = np.empty((n, h, w), dtype=np.int32)
    counts = np.empty(n, dtype=np.int64)
    _k.label_batch(maps, threshold, connectivity, labels, counts)
    return labels, counts


def label_structures(maps, threshold, connectivity: int = 8, *, allow_below_minus_one: bool = False):
    """Label the structures (connected components of ``δ > threshold``) of every map.

    Parameters
    ----------
    maps : array_like
        Batch of δ maps, shape (n, H, W) (a single (H, W) map is accepted).
    threshold : float
        Threshold in physical δ; pixels with ``δ > threshold`` are structure pixels.
    connectivity : {8, 4}
        8 joins edge and diagonal neighbours, 4 edge neighbours only.
    allow_below_minus_one : bool
        Accept fields that are not densities (e.g. Gaussian test fields).

    Returns
    -------
    labels : numpy.ndarray
        (n, H, W) int32; 0 is background, structures are numbered 1..k per map in raster order of
        their first pixel.
    counts : numpy.ndarray
        (n,) int64, k of every map.
    """
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, allow_constant=True, dtype=None)
    return _label(maps, _check_threshold(threshold), _check_connectivity(connectivity))


@dataclass(frozen=True)
class StructureCatalog:
    """Every structure of a batch, as flat arrays (one entry per structure, maps in order).

    Attributes
    ----------
    threshold, connectivity, min_area : the settings used.
    pixel_size : float
        Pixel side in Mpc/h used for ``area_phys``.
    shape : tuple of int
        (H, W) of the maps.
    counts : (n,) int64
        Structures per map (after ``min_area``).
    map_index : (s,) int64
        Map of each structure.
    area : (s,) float64
        Pixels.
    area_phys : (s,) float64
        (Mpc/h)².
    mass : (s,) float64
        Σ(1 + δ) over the structure's pixels (in units of the mean mass of one pixel).
    perimeter : (s,) float64
        Pixel edges on the structure's boundary (tile border included).
    elongation : (s,) float64
        sqrt(λmax/λmin) of the inertia tensor (≥ 1).
    filamentarity : (s,) float64
        2-D shapefinder F from the Crofton perimeter (see module docstring).
    total_mass : (n,) float64
        Σ(1 + δ) over each whole map (to form mass fractions).
    """

    threshold: float
    connectivity: int
    min_area: int
    pixel_size: float
    shape: tuple
    counts: np.ndarray
    map_index: np.ndarray
    area: np.ndarray
    area_phys: np.ndarray
    mass: np.ndarray
    perimeter: np.ndarray
    elongation: np.ndarray
    filamentarity: np.ndarray
    total_mass: np.ndarray

    def __len__(self) -> int:
        return int(self.map_index.size)


def _catalog(maps, threshold, connectivity, min_area, pixel_size) -> StructureCatalog:
    n, h, w = maps.shape
    labels, counts = _label(maps, threshold, connectivity)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    acc = np.zeros((int(offsets[-1]), _k.N_ACC), dtype=np.float64)
    _k.measure_batch(maps, labels, offsets, acc)
    s = acc.shape[0]
    perim = np.empty(s)
    crofton = np.empty(s)
    elong = np.empty(s)
    _k.shapes_from_acc(acc, perim, crofton, elong)
    area = acc[:, _k._AREA].copy()
    p2 = crofton * crofton
    fa = 4.0 * math.pi * area
    fil = (p2 - fa) / (p2 + fa) if s else np.empty(0)
    map_index = np.repeat(np.arange(n, dtype=np.int64), counts)
    keep = area >= min_area
    if not keep.all():
        counts = np.bincount(map_index[keep], minlength=n).astype(np.int64)
    return StructureCatalog(
        threshold=threshold,
        connectivity=connectivity,
        min_area=int(min_area),
        pixel_size=float(pixel_size),
        shape=(h, w),
        counts=counts.astype(np.int64),
        map_index=map_index[keep],
        area=area[keep],
        area_phys=area[keep] * pixel_size**2,
        mass=acc[keep, _k._MASS],
        perimeter=perim[keep],
        elongation=elong[keep],
        filamentarity=fil[keep],
        total_mass=h * w + maps.reshape(n, -1).sum(axis=1, dtype=np.float64),
    )


def structures(
    maps,
    threshold,
    connectivity: int = 8,
    min_area: int = 1,
    *,
    pixel_size: "float | None" = None,
    allow_below_minus_one: bool = False,
) -> StructureCatalog:
    """Find and measure the structures of ``δ > threshold`` in a batch of maps.

    Parameters
    ----------
    maps : array_like
        Batch of δ maps, shape (n, H, W).
    threshold : float
        Threshold in physical δ.
    connectivity : {8, 4}
        Neighbourhood of the pixel graph.
    min_area : int
        Drop structures with fewer pixels.
    pixel_size : float, optional
        Pixel side in Mpc/h for ``area_phys``; default: the default track's (3.906 Mpc/h).
    allow_below_minus_one : bool
        Accept fields that are not densities.

    Returns
    -------
    StructureCatalog
    """
    maps = check_maps(maps, allow_below_minus_one=allow_below_minus_one, allow_constant=True, dtype=None)
    if int(min_area) != min_area or min_area < 1:
        raise CosmobenchError(f"min_area={min_area!r}; give a whole number of pixels >= 1")
    if pixel_size is None:
        from cosmobench.data.track import DEFAULT_TRACK

        pixel_size = DEFAULT_TRACK.pixel_size
    return _catalog(maps, _check_threshold(threshold), _check_connectivity(connectivity), int(min_area), float(pixel_size))


class SeedThreshold(NamedTuple):
    """Result of :func:`seed_threshold`: the contrast parameter, the threshold and C_nl."""

    a: float
    threshold: float
    c_nl: float


def seed_threshold(sigma0: float, a: "float | None" = None) -> SeedThreshold:
    """The seed's structure threshold from σ0 and its non-linear contrast x ↦ x/(x + a).

    The seed chooses ``a`` so that C_nl = σ0/(√a − a) ≈ 1 and thresholds at the "critical value"
    after which the contrast compresses the field. Our reading, which makes both exact:

    - √a − a is the point x* where the contrast's slope a/(x + a)² equals 1 (amplifying below,
      compressing above); C_nl = σ0/x*.
    - ``a=None``: solve √a − a = σ0 (C_nl = 1). With s = √a, s − s² = σ0 has the roots
      s = (1 ± √(1 − 4σ0))/2; we take the **smaller** root (a < 1/4), the branch where x* grows
      with a and where the seed's preferred "medium" a (< 0.1) lie. For the seed's σ0 = 0.107 this
      gives a = 0.01484 (the other root, 0.771, is the compressive regime the seed rejects).
      Needs 0 < σ0 < 1/4.
    - The threshold is x* = √a − a in the units of σ0. The mapping to physical δ is the identity:
      the contrast acts on δ itself and σ0 must be the std of δ of the reference field
      (``Source.sigma0``: z = 127 tiles in physical δ, ≈ 0.0137 on the default track). With
      ``a=None`` the threshold therefore equals σ0; a given ``a`` gives x* = √a − a and the
      C_nl it implies.

    Parameters
    ----------
    sigma0 : float
        Std of the reference (z = 127) field, physical δ.
    a : float, optional
        Contrast parameter; solved for when omitted.

    Returns
    -------
    SeedThreshold
        ``(a, threshold, c_nl)``, threshold in physical δ.
    """
    try:
        sigma0 = float(sigma0)
    except (TypeError, ValueError):
        raise CosmobenchError(f"sigma0={sigma0!r} is not a number; pass the std of the z=127 reference δ") from None
    if not (math.isfinite(sigma0) and sigma0 > 0):
        raise CosmobenchError(f"sigma0={sigma0!r}; it must be a positive std of the z=127 reference δ")
    if a is None:
        if sigma0 >= 0.25:
            raise CosmobenchError(
                f"sigma0={sigma0:g} >= 1/4: √a − a never reaches it (its maximum is 1/4), so no a gives C_nl = 1; "
                "pass a explicitly or a σ0 of the z=127 field in physical δ"
            )
        s = 0.5 * (1.0 - math.sqrt(1.0 - 4.0 * sigma0))
        a = s * s
    else:
        a = float(a)
        if not (math.isfinite(a) and 0 < a < 1):
            raise CosmobenchError(f"a={a!r}; the contrast x/(x+a) needs 0 < a < 1 so that √a − a > 0")
    xstar = math.sqrt(a) - a
    return SeedThreshold(a=a, threshold=xstar, c_nl=sigma0 / xstar)


_N_PER_T = _k.N_SUMMARY


class StructureStatistic(Statistic):
    """Structure counts and shapes at a few thresholds.

    Settings
    --------
    thresholds : sequence of float
        Thresholds in physical δ (default (1, 3, 10): filaments, their thick parts, nodes, for
        z = 0 fields with 3.9 Mpc/h pixels and σ ≈ 1.5–2).
    connectivity : {8, 4}
        Default 8.
    min_area : int
        Smallest structure counted, pixels (default 1).
    sigma0 : float, optional
        If given, the seed-rule threshold :func:`seed_threshold` (σ0) is appended.

    Summary, per threshold (5 columns, in this order; 0 when a map has no structure):
    ``n`` number of structures; ``log_area`` mean log10 area [pixels]; ``largest`` area of the
    largest structure / total structure area; ``filamentarity`` area-weighted mean F;
    ``mass_frac`` Σ(1+δ) in structures / Σ(1+δ) of the map.
    """

    name = "structures"
    version = "1"
    distance = "chi2"
    description = "threshold-graph structures: count, size, largest share, filamentarity, mass fraction"
    allow_constant = True
    columns = ("n", "log_area", "largest", "filamentarity", "mass_frac")

    def __init__(self, track=None, *, thresholds=(1.0, 3.0, 10.0), connectivity: int = 8, min_area: int = 1,
                 sigma0: "float | None" = None) -> None:
        ts = [_check_threshold(t) for t in np.atleast_1d(np.asarray(thresholds, dtype=float))]
        if sigma0 is not None:
            ts.append(seed_threshold(sigma0).threshold)
        if not ts:
            raise CosmobenchError("StructureStatistic needs at least one threshold")
        super().__init__(track, thresholds=ts, connectivity=_check_connectivity(connectivity),
                         min_area=int(min_area), sigma0=None if sigma0 is None else float(sigma0))
        self.thresholds = np.asarray(ts, dtype=float)

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """``(n, 5 · nt)`` summary columns (see the class docstring), one fused pass per map and threshold."""
        out = np.empty((batch.n, _N_PER_T * self.thresholds.size), dtype=np.float64)
        _k.structure_summary(batch.maps, np.ascontiguousarray(self.thresholds, dtype=np.float64),
                             self.settings["connectivity"], float(self.settings["min_area"]), out)
        return out

    def coords(self) -> dict:
        return {
            "threshold": np.repeat(self.thresholds, _N_PER_T),
            "quantity": np.array(list(self.columns) * self.thresholds.size),
        }
