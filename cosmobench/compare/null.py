"""Measured null distributions: the distance that sets of real reference maps get, drawn like a model's.

A model's n maps are scored by ``d(model, compare)``. The null of that number is what a *perfect*
generator — n independent maps of the reference law — would get. We measure it: draw ``K`` sets from a
**pool** of reference maps that are not in the compare set (other boxes), score each exactly like a
model, and keep the ``K`` distances. The p-value of a model is the share of null sets at least as far,
``(k + 1) / (K + 1)``; its ratio is value / median of the null.

How the sets are drawn, and why
-------------------------------
Random sets from a box bootstrap of the pooled boxes (see :func:`draw_sets`: it puts the pool's own
cosmic variance into the null), of the size that makes sampling *without replacement from a finite
pool* as variable as drawing independent maps: a set of ``s`` rows from a pool of ``N`` has
``Var(mean) = S²/s (1 − s/N)``, so a model seeing ``r`` rows is matched by ``s = r N / (N + r)``
(design-based: exact for any correlation between the pool's maps, since the pool is fixed). Sets
never take more than half the pool, so they differ; when the pool is too small for that the null is
wider than a model's (conservative) and ``note`` says so.

Measured on the 13-box default reference (:func:`cosmobench.calibration.effective_maps_per_box`), the
2,048 tiles of a box behave like ~1,600–2,400 independent maps for the box means of every summary
except the diversity features (~800: adjacent slabs correlate at 0.53) and the mean δ (tiles of a
periodic box average to exactly 0: infinitely many). So whole boxes carry little shared variance,
simple random sets of the pooled boxes behave like independent maps, and stratifying by box would
*under*-disperse the null (it removes the between-box variance that independent maps have).

The null depends on the reference and on the rows a model's value sees (``n``, or at most
``DIVERSITY_MAX_ROWS`` for the spread and pair-correlation distances), never on the evaluation seed:
one null serves every model and seed, and is cached by the evaluation layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from cosmobench.compare.distances import DIVERSITY_MAX_ROWS, prepare_distance
from cosmobench.errors import CosmobenchError
from cosmobench.stats._order import canonical_order

__all__ = [
    "NULL_DRAWS",
    "NULL_SEED",
    "NullDistribution",
    "null_distribution",
    "null_set_size",
    "rows_seen",
    "p_value",
]

#: Null sets per metric: p-values resolve down to 1 / (K + 1) = 0.001.
NULL_DRAWS = 999
#: Seed of the null draws (fixed: the null is a property of the reference and n, not of a run).
NULL_SEED = 20261201
# Distances that look at no more than this many rows of a set.
_ROW_LIMITED = {"diversity": DIVERSITY_MAX_ROWS, "pair_correlation": DIVERSITY_MAX_ROWS}


def rows_seen(distance: str, n: int) -> int:
    """How many of a model's ``n`` rows the distance's value depends on."""
    return min(int(n), _ROW_LIMITED.get(distance, int(n)))


def null_set_size(rows: int, pool: int) -> int:
    """Size of a null set drawn without replacement from ``pool`` rows that matches ``rows`` independent maps.

    ``s = rows · pool / (pool + rows)`` (finite-population correction), at most ``pool // 2``, at least 2.
    """
    rows, pool = int(rows), int(pool)
    if pool < 4:
        raise CosmobenchError(f"the null needs at least 4 reference maps outside the compare set, got {pool}; build more boxes")
    s = int(round(rows * pool / (pool + rows)))
    return max(2, min(s, pool // 2))


def p_value(value: float, null: np.ndarray, tail: str = "upper") -> float:
    """Share of null draws at least as extreme as ``value``: ``(k + 1) / (K + 1)``.

    ``tail="upper"``: k = #{null ≥ value} (distances: larger is worse); ``"lower"``: #{null ≤ value}.
    A non-finite value is as extreme as it gets (p = 1 / (K + 1)).
    """
    null = np.asarray(null, dtype=np.float64)
    if not math.isfinite(value):
        k = 0
    elif tail == "upper":
        k = int(np.count_nonzero(null >= value))
    elif tail == "lower":
        k = int(np.count_nonzero(null <= value))
    else:
        raise CosmobenchError(f"tail must be 'upper' or 'lower', got {tail!r}")
    return (k + 1) / (null.size + 1)


@dataclass
class NullDistribution:
    """K null distances of one metric (and the null values of its effect sizes).

    Attributes
    ----------
    values : numpy.ndarray
        ``(K,)`` distances of the null sets to the compare set.
    set_size : int
        Rows per null set (see :func:`null_set_size`).
    pool : int
        Rows of the pool the sets were drawn from.
    rows : int
        Rows of a model's set that the distance sees.
    effects : dict of str to numpy.ndarray
        ``(K,)`` values of each effect size on the null sets.
    note : str
        Empty, or why this null is only approximate (pool too small).
    """

    values: np.ndarray
    set_size: int
    pool: int
    rows: int
    effects: dict = field(default_factory=dict)
    note: str = ""

    @property
    def median(self) -> float:
        return float(np.median(self.values))

    def p_value(self, value: float, tail: str = "upper") -> float:
        """Calibrated p-value of ``value`` (see :func:`p_value`)."""
        return p_value(value, self.values, tail)

    def summary(self) -> dict:
        """JSON-friendly description: draws, median, 2.5 / 97.5 % quantiles, set size, pool, note."""
        lo, hi = np.percentile(self.values, [2.5, 97.5]) if self.values.size else (float("nan"),) * 2
        out = {"draws": int(self.values.size), "median": self.median, "lo": float(lo), "hi": float(hi),
               "set_size": int(self.set_size), "pool": int(self.pool), "rows": int(self.rows),
               "scheme": "random sets from box bootstraps of the pooled boxes, finite-population matched"}
        if self.note:
            out["note"] = self.note
        return out

    def to_arrays(self) -> dict:
        """Arrays for a cache file (inverse: :meth:`from_arrays`)."""
        out = {"values": self.values, "meta": np.array([self.set_size, self.pool, self.rows], dtype=np.int64)}
        out.update({f"effect__{k}": v for k, v in self.effects.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], note: str = "") -> "NullDistribution":
        s, pool, rows = (int(x) for x in arrays["meta"])
        effects = {k[len("effect__"):]: np.asarray(v) for k, v in arrays.items() if k.startswith("effect__")}
        return cls(np.asarray(arrays["values"], dtype=np.float64), s, pool, rows, effects, note)


def null_note(rows: int, pool: int, s: int) -> str:
    if s >= int(round(rows * pool / (pool + rows))):
        return ""
    return (f"the null pool has {pool} maps, too few for sets matching {rows} independent maps; null sets of {s} "
            "are more variable than a model's, so p-values are conservative (build more boxes)")


def draw_sets(pool: int, size: int, draws: int, seed: int = NULL_SEED, strata: "np.ndarray | None" = None):
    """The ``draws`` null index sets (sorted, without replacement), one independent stream each.

    With ``strata`` (the box of each pool row, ≥ 2 boxes) every set is drawn from a **box bootstrap** of
    the pool: boxes are resampled with replacement and rows drawn without replacement with probability
    proportional to their box's multiplicity (Efraimidis–Spirakis keys). The pool's own mean differs from
    the law's by its boxes' cosmic variance; resampling boxes puts that uncertainty into the null (the
    predictive distribution of a fresh set), which a fixed pool would leave out: held-out boxes were then
    flagged 40 % of the time on power at the 5 % level (13-box reference, n = 2048).
    """
    boxes = inv = None
    if strata is not None:
        boxes, inv = np.unique(np.asarray(strata), return_inverse=True)
        if boxes.size < 2:
            boxes = None
    for ss in np.random.SeedSequence([int(seed), int(pool), int(size)]).spawn(int(draws)):
        rng = np.random.default_rng(ss)
        if boxes is None:
            yield np.sort(rng.choice(pool, size=size, replace=False))
            continue
        w = np.bincount(rng.integers(0, boxes.size, boxes.size), minlength=boxes.size)[inv].astype(np.float64)
        while np.count_nonzero(w) < size:  # a resample too thin for the set: draw the boxes again
            w = np.bincount(rng.integers(0, boxes.size, boxes.size), minlength=boxes.size)[inv].astype(np.float64)
        with np.errstate(divide="ignore"):
            keys = np.log(rng.random(pool)) / w  # w = 0 gives -inf: never drawn
        yield np.sort(np.argpartition(-keys, size - 1)[:size])


def null_distribution(
    distance: str,
    ref_compare,
    pool,
    n: int,
    *,
    effects: "Callable[[np.ndarray], dict] | None" = None,
    effect_rows=None,
    draws: int = NULL_DRAWS,
    seed: int = NULL_SEED,
    strata=None,
) -> NullDistribution:
    """Measure the null of ``distance`` for a model of ``n`` maps.

    Parameters
    ----------
    distance : str
        Key of :data:`cosmobench.compare.distances.DISTANCES`.
    ref_compare : array_like
        Compare-set summaries ``(m, d)``.
    pool : array_like
        Summaries ``(N, d)`` of reference maps not in the compare set (other boxes).
    n : int
        The model's number of maps.
    effects : callable, optional
        ``effects(means (K, d')) -> {name: (K,)}``: effect sizes from the mean of ``effect_rows``
        over each null set (see :mod:`cosmobench.compare.effects`).
    effect_rows : array_like, optional
        ``(N, d')`` per-map rows whose set means feed ``effects`` (default: ``pool``).
    draws : int
        Number of null sets K.
    seed : int
        Seed of the draws.
    strata : array_like, optional
        ``(N,)`` box of each pool row: null sets are drawn from box bootstraps of the pool (see
        :func:`draw_sets`). Without it the pool is taken as fixed.

    Returns
    -------
    NullDistribution
    """
    if int(draws) != draws or draws < 1:
        raise CosmobenchError(f"null draws={draws!r}; pass a positive integer")
    Y = np.asarray(ref_compare, dtype=np.float64)
    f = prepare_distance(distance, Y[canonical_order(Y)])  # as score_statistic does: same round-off
    P = np.asarray(pool, dtype=np.float64)
    N = P.shape[0]
    rows = rows_seen(distance, n)
    s = null_set_size(rows, N)
    E = P if effect_rows is None else np.asarray(effect_rows, dtype=np.float64)
    values = np.empty(int(draws))
    means = np.empty((int(draws), P.shape[1]))
    emeans = np.empty((int(draws), E.shape[1])) if effects is not None else None
    by_mean = f.from_means is not None
    if strata is not None and np.asarray(strata).shape != (N,):
        raise CosmobenchError(f"strata has shape {np.asarray(strata).shape}; pass one box label per pool row ({N})")
    for k, idx in enumerate(draw_sets(N, s, draws, seed, strata)):
        if by_mean:
            means[k] = P[idx].mean(axis=0)
        else:
            values[k] = f(P[idx])[0]
        if emeans is not None:
            emeans[k] = E[idx].mean(axis=0)
    if by_mean:
        values = f.from_means(means)
    eff = {k: np.asarray(v, dtype=np.float64) for k, v in effects(emeans).items()} if effects is not None else {}
    return NullDistribution(values, s, N, rows, eff, null_note(rows, N, s))
