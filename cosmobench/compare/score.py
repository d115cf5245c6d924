"""Scores: a distance, its measured null, a calibrated p-value, a bootstrap interval, effect sizes.

A raw distance means little on its own: a power spectrum χ² of 0.003 may be excellent or awful
depending on n, m and the statistic. So every metric is reported against its **measured null**
(:mod:`cosmobench.compare.null`): the distances that ``K`` sets of *real* reference maps (from boxes
outside the compare set, drawn to behave like a model's n independent maps) get.

- ``value`` = d(model, ref_compare).
- ``floor`` = the median of the null; ``ratio`` = value / floor (≈ 1 for a model like real maps; a
  fresh draw's ratio scatters over the null's own range, ``null["lo"]``–``null["hi"]`` over the median).
  A zero floor gives ratio 1 for a zero value and :data:`RATIO_CAP` otherwise.
- ``p_value`` = share of null draws at least as far as the model, ``(k + 1) / (K + 1)``: calibrated,
  whatever the distance's distribution. :mod:`cosmobench.compare.verdict` turns it into the verdict.
- ``ci`` = (2.5, 97.5) percentiles of the value over ``n_boot`` bootstrap resamples of the model's
  rows (the reference is held fixed); ``extra["ratio_ci"]`` is the same interval over the floor. A
  bootstrap of a distance ≥ 0 is biased upwards, so the interval describes the model's own
  variability, not whether it differs from the reference: the p-value says that.
- ``effects`` = effect sizes in physical units with bootstrap intervals and their null medians
  (:mod:`cosmobench.compare.effects`).

Everything is deterministic in ``seed`` and independent of the order of the rows: every set is put
in a canonical order (:func:`cosmobench.stats._order.canonical_order`, robust to FFT round-off)
before any random draw, so a permuted or re-batched model gives identical numbers.

The **composite** (:func:`composite_score`) is the geometric mean of the ratios of the
lower-is-better metrics; 1 means as close as a fresh draw of the reference on every statistic.
Memorisation (:func:`~cosmobench.compare.memorisation.memorisation_score`, re-exported here) is a
different axis, reported beside the composite; :class:`~cosmobench.compare.metric.MetricScore` (also
re-exported) is the record every producer returns.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np

from cosmobench.compare.distances import _as_summaries, prepare_distance
from cosmobench.compare.memorisation import copy_p_value, memorisation_score
from cosmobench.compare.metric import (
    RATIO_CAP,
    MetricScore,
    _canonical,
    _check_counts,
    _percentile_ci,
    _safe_ratio,
)
from cosmobench.compare.null import NULL_DRAWS, NullDistribution, null_distribution
from cosmobench.errors import CosmobenchError

__all__ = [
    "MetricScore",
    "score_statistic",
    "memorisation_score",
    "copy_p_value",
    "bootstrap_means",
    "composite_score",
    "COMPOSITE_DEFINITION",
    "RATIO_CAP",
]

#: Smallest ratio entering the composite's logarithm.
_RATIO_MIN = 1e-6

COMPOSITE_DEFINITION = (
    "geometric mean over the lower-is-better metrics of value / null median, the null being the distances of "
    "sets of real reference maps from boxes outside the compare set, drawn like the model's n independent maps "
    "(1 = as close as a fresh draw, ratios clipped to [1e-6, 1e12]); memorisation is reported separately and "
    "not included"
)


def bootstrap_means(X: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Column means of ``n_boot`` bootstrap resamples of the rows of ``X``, ``(n_boot, d)``.

    Each resample is drawn as ``n`` row indices (as ``X[idx]`` would be) and applied as multinomial
    weights, one matrix product for all resamples.
    """
    n = X.shape[0]
    b = int(n_boot)
    out = np.empty((b, X.shape[1]))
    # Resamples in chunks bound the (chunk, n) index and weight matrices (24 bytes each per map and
    # resample); the generator fills arrays sequentially, so the draws equal one (b, n) call.
    chunk = max(1, min(b, (1 << 21) // max(n, 1)))
    for lo in range(0, b, chunk):
        c = min(chunk, b - lo)
        draws = rng.integers(0, n, size=(c, n))
        W = np.bincount((draws + (np.arange(c) * n)[:, None]).ravel(), minlength=c * n).reshape(c, n)
        out[lo : lo + c] = W.astype(np.float64) @ X / n
    return out


def score_statistic(
    name,
    distance=None,
    model=None,
    ref_compare=None,
    ref_floor=None,
    *,
    version: str = "1",
    seed: int = 0,
    n_boot: int = 100,
    n_floor_draws: "int | None" = None,
    null: "NullDistribution | None" = None,
    effects=None,
) -> MetricScore:
    """Score one statistic: distance to the reference, measured null, p-value, bootstrap CI, effect sizes.

    Parameters
    ----------
    name : str or Statistic
        Metric name. A :class:`~cosmobench.stats.base.Statistic` instance may be passed instead,
        followed by ``model, ref_compare, ref_floor``: its ``name``, ``distance`` and ``version``
        are used (``score_statistic(stat, model, ref_compare, ref_floor, seed=0)``).
    distance : str
        Key of :data:`cosmobench.compare.distances.DISTANCES`.
    model : array_like
        Model summaries ``(n, d)``, n ≥ 2.
    ref_compare : array_like
        Reference summaries the model is compared with ``(m, d)``.
    ref_floor : array_like, optional
        The null pool: summaries ``(f, d)`` of reference maps disjoint from ``ref_compare`` (other
        boxes). Needed unless ``null`` is given.
    version : str
        Version of the statistic, recorded in the score.
    seed : int
        Seed of the bootstrap (the null's draws have their own fixed seed).
    n_boot : int
        Bootstrap resamples of the model rows for the CI (0: no interval, ``ci`` is NaN).
    n_floor_draws : int, optional
        Null sets drawn from ``ref_floor`` (default :data:`~cosmobench.compare.null.NULL_DRAWS`).
    null : NullDistribution, optional
        A null measured beforehand (e.g. cached by the evaluation) for this reference and n.
    effects : Effects, optional
        Effect sizes to measure (:func:`cosmobench.compare.effects.effects_for`).

    Returns
    -------
    MetricScore
        ``higher_is_better`` is False; ``p_value``, ``null`` and ``effects`` filled. ``extra`` holds
        ``n, m, seed, n_boot, ratio_ci`` and the distance's details (e.g. ``chi2_per_dof``).

    Raises
    ------
    CosmobenchError
        Unknown distance, mismatched or malformed summaries, too few rows, bad counts.
    """
    if not isinstance(name, str):
        stat = name
        if not all(hasattr(stat, a) for a in ("name", "distance", "version")):
            raise CosmobenchError(
                f"score_statistic got {type(stat).__name__} as its first argument; pass a metric name and a "
                "distance name, or a Statistic instance"
            )
        model, ref_compare, ref_floor = distance, model, ref_compare
        name, distance, version = stat.name, stat.distance, stat.version
    if not isinstance(distance, str):
        raise CosmobenchError(f"distance must be a distance name (str), got {type(distance).__name__}")
    if model is None or ref_compare is None or (ref_floor is None and null is None):
        raise CosmobenchError("score_statistic needs model and ref_compare summaries, and ref_floor (the null pool) or a null")
    draws = NULL_DRAWS if n_floor_draws is None else n_floor_draws
    _check_counts(n_boot, draws)

    X = _canonical(_as_summaries(model, "model"))
    Y = _canonical(_as_summaries(ref_compare, "reference"))
    f_dist = prepare_distance(distance, Y)
    value, details = f_dist(X)
    n, m = X.shape[0], Y.shape[0]
    if null is None:
        F = _as_summaries(ref_floor, "floor reference")
        if F.shape[1] != Y.shape[1]:
            raise CosmobenchError(
                f"floor reference summaries have {F.shape[1]} columns but comparison reference summaries have "
                f"{Y.shape[1]}; both must come from the same statistic"
            )
        if F.shape[0] < 4:
            raise CosmobenchError(f"the null needs at least 4 held-out reference rows, got {F.shape[0]}")
        F = _canonical(F)
        null = null_distribution(
            distance, Y, F, n, draws=int(draws), effects=effects,
            effect_rows=effects.transform(F) if effects is not None else None,
        )
    floor = null.median
    ratio = _safe_ratio(value, floor)
    p = null.p_value(value)

    _, boot_ss, eff_ss = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(boot_ss)
    if not n_boot:
        boots = np.empty(0)
    elif f_dist.from_means is not None:
        boots = f_dist.from_means(bootstrap_means(X, rng, int(n_boot)))
    else:  # the distance's own fast estimator, or resampled rows (PreparedDistance.bootstrap)
        boots = f_dist.bootstrap(X, rng, int(n_boot))
    ci = _percentile_ci(boots)
    eff = effects.measure(X, np.random.default_rng(eff_ss), int(n_boot), null.effects) if effects is not None else {}

    extra: dict = {
        "n": n, "m": m, "seed": int(seed), "n_boot": int(n_boot),
        "ratio_ci": [_safe_ratio(ci[0], floor), _safe_ratio(ci[1], floor)] if n_boot else [None, None],
        "details": details,
    }
    return MetricScore(
        name=name,
        version=str(version),
        distance=distance,
        value=float(value),
        floor=floor,
        ratio=ratio,
        ci=ci,
        higher_is_better=False,
        extra=extra,
        p_value=p,
        null=null.summary(),
        effects=eff,
    )


def composite_score(scores: "Iterable[MetricScore] | Mapping[str, MetricScore | Mapping]") -> float:
    """Geometric mean of the ratios of the lower-is-better metrics (see :data:`COMPOSITE_DEFINITION`).

    Parameters
    ----------
    scores : iterable of MetricScore, or mapping name → MetricScore (or its ``to_dict()`` form)
        Higher-is-better metrics (memorisation) are skipped; ratios are clipped to [1e-6, 1e12]
        before the logarithm; a missing (None/NaN) ratio is an error.

    Returns
    -------
    float
        1 = indistinguishable from a fresh draw of the reference on every statistic; larger is worse.

    Raises
    ------
    CosmobenchError
        No lower-is-better metric, or a metric without a ratio.
    """
    items = list(scores.items()) if isinstance(scores, Mapping) else [(None, s) for s in scores]
    logs = []
    for key, s in items:
        if isinstance(s, Mapping):
            s = MetricScore.from_dict(s, name=key)
        if not isinstance(s, MetricScore):
            raise CosmobenchError(f"composite_score got a {type(s).__name__}; pass MetricScore objects")
        if s.higher_is_better:
            continue
        r = s.ratio
        if r is None or math.isnan(float(r)):
            raise CosmobenchError(f"metric {s.name!r} has no ratio ({r!r}); rescore it before building the composite")
        logs.append(math.log(min(max(float(r), _RATIO_MIN), RATIO_CAP)))
    if not logs:
        raise CosmobenchError("no lower-is-better metric to combine; score at least one statistic first")
    return float(math.exp(sum(logs) / len(logs)))
