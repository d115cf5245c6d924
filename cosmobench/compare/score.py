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
Memorisation (:func:`memorisation_score`, higher is better, ≈ 1 normal, ≪ 1 copying) is a different
axis — a perfect copy of the training set would ace every other statistic — so it is *not* folded
into the composite; it is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from cosmobench.compare.distances import _as_summaries, prepare_distance
from cosmobench.compare.null import NULL_DRAWS, NullDistribution, null_distribution, null_set_size, p_value
from cosmobench.errors import CosmobenchError
from cosmobench.stats._order import canonical_order

__all__ = [
    "MetricScore",
    "score_statistic",
    "memorisation_score",
    "composite_score",
    "COMPOSITE_DEFINITION",
    "RATIO_CAP",
]

#: Largest ratio reported (a zero floor with a non-zero value, or an absurd mismatch).
RATIO_CAP = 1e12
#: Smallest ratio entering the composite's logarithm.
_RATIO_MIN = 1e-6

COMPOSITE_DEFINITION = (
    "geometric mean over the lower-is-better metrics of value / null median, the null being the distances of "
    "sets of real reference maps from boxes outside the compare set, drawn like the model's n independent maps "
    "(1 = as close as a fresh draw, ratios clipped to [1e-6, 1e12]); memorisation is reported separately and "
    "not included"
)


def _jsonable(x: Any) -> Any:
    """Plain-Python, strict-JSON version of ``x`` (non-finite floats become None)."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def _float_or_nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass
class MetricScore:
    """One metric of a result: a distance, its measured null, p-value, interval and effect sizes.

    Attributes
    ----------
    name : str
        Metric name (the statistic's name, or ``"memorisation"``).
    version : str
        Version of the statistic that produced the summaries.
    distance : str
        Name of the distance (a key of :data:`cosmobench.compare.distances.DISTANCES`, or
        ``"nn_median_ratio"`` for memorisation).
    value : float
        The model's distance to the reference (or the memorisation ratio).
    floor : float
        Median of the null: what a fresh draw of real maps of the same size gets.
    ratio : float
        ``value / floor`` for lower-is-better metrics (≈ 1 is ideal); see each producer.
    ci : tuple of float
        95 % bootstrap interval of ``value``.
    higher_is_better : bool
        Direction of ``value``.
    extra : dict
        JSON-friendly details (sizes, seed, ratio interval, distance details).
    p_value : float or None
        Calibrated p-value against the measured null (None for results scored before schema v2).
    p_adjusted : float or None
        Holm-adjusted over the metrics of the result (set by the evaluation).
    null : dict
        :meth:`~cosmobench.compare.null.NullDistribution.summary` of the null.
    effects : dict
        Effect sizes ``{name: {"value", "ci", "null_median", "unit", "description"}}``.
    """

    name: str
    version: str
    distance: str
    value: float
    floor: float
    ratio: float
    ci: "tuple[float, float]"
    higher_is_better: bool = False
    extra: dict = field(default_factory=dict)
    p_value: "float | None" = None
    p_adjusted: "float | None" = None
    null: dict = field(default_factory=dict)
    effects: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Strict-JSON dict (numpy types converted, NaN/Inf as None), in the result-schema layout plus ``name``."""
        return {
            "name": self.name,
            "version": str(self.version),
            "distance": self.distance,
            "value": _jsonable(self.value),
            "floor": _jsonable(self.floor),
            "ratio": _jsonable(self.ratio),
            "ci": [_jsonable(self.ci[0]), _jsonable(self.ci[1])],
            "higher_is_better": bool(self.higher_is_better),
            "p_value": _jsonable(self.p_value),
            "p_adjusted": _jsonable(self.p_adjusted),
            "null": _jsonable(self.null),
            "effects": _jsonable(self.effects),
            "extra": _jsonable(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping, name: "str | None" = None) -> "MetricScore":
        """Inverse of :meth:`to_dict`; ``name`` is needed when the dict comes from a result's ``metrics[name]``."""
        try:
            ci = d.get("ci") or [None, None]
            p, pa = d.get("p_value"), d.get("p_adjusted")
            return cls(
                name=str(d.get("name", name)),
                version=str(d["version"]),
                distance=str(d["distance"]),
                value=_float_or_nan(d["value"]),
                floor=_float_or_nan(d["floor"]),
                ratio=_float_or_nan(d["ratio"]),
                ci=(_float_or_nan(ci[0]), _float_or_nan(ci[1])),
                higher_is_better=bool(d.get("higher_is_better", False)),
                extra=dict(d.get("extra") or {}),
                p_value=None if p is None else float(p),
                p_adjusted=None if pa is None else float(pa),
                null=dict(d.get("null") or {}),
                effects=dict(d.get("effects") or {}),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CosmobenchError(f"malformed metric entry {name or ''!s} ({exc!r}); the result file may be corrupt") from None


def _canonical(a: np.ndarray) -> np.ndarray:
    """Rows of ``a`` in a canonical order robust to round-off (so results do not depend on the order rows came in)."""
    if a.shape[0] < 2:
        return a
    return np.ascontiguousarray(a[canonical_order(a)])


def _safe_ratio(value: float, floor: float) -> float:
    if not (math.isfinite(value) and math.isfinite(floor)):
        return RATIO_CAP
    if floor > 0:
        return min(value / floor, RATIO_CAP)
    return 1.0 if value == 0 else RATIO_CAP


def _check_counts(n_boot: int, draws: int) -> None:
    if int(n_boot) != n_boot or n_boot < 0:
        raise CosmobenchError(f"n_boot={n_boot}; pass a non-negative integer (0 skips the interval)")
    if int(draws) != draws or draws < 1:
        raise CosmobenchError(f"n_floor_draws={draws} (null draws); pass a positive integer")


def _percentile_ci(samples: np.ndarray) -> "tuple[float, float]":
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return (float(lo), float(hi))


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
    elif hasattr(f_dist, "bootstrap"):
        boots = f_dist.bootstrap(X, rng, int(n_boot))
    else:
        boots = np.empty(int(n_boot))
        for b in range(int(n_boot)):
            idx = np.sort(rng.integers(0, n, size=n))
            boots[b] = f_dist(X[idx])[0]
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


def copy_p_value(copies: int, n: int, n_unseen: int) -> float:
    """P(at least ``copies`` of n fresh maps fall below the smallest of ``n_unseen`` unseen maps' NN distances).

    Under the null the n + N nearest-neighbour distances are exchangeable, so the chance that the j
    smallest of them all belong to the model is ``∏_{i<j} (n − i) / (N + n − i)`` (exact, no draws).
    """
    p = 1.0
    for i in range(int(copies)):
        p *= (n - i) / (n_unseen + n - i)
    return p


def memorisation_score(
    model_feats,
    test_feats,
    train_feats,
    *,
    seed: int = 0,
    n_boot: int = 100,
    n_floor_draws: "int | None" = None,
    version: str = "2",
    chunk: int = 4096,
    nn_test: "np.ndarray | None" = None,
    test_split: "int | None" = None,
) -> MetricScore:
    """Does the model copy its training maps? Nearest-neighbour distances to the training set.

    Two tests, one metric:

    - **Closeness**: with ``c(x) = NN(x → train) / NN(x → U2)`` (U2: the second half of the test maps,
      other boxes; dividing by it keeps smooth "central" maps, near everything, from looking like
      copies), ``value = median_i c(model_i) / median_j c(U1_j)``: ≈ 1 for a model that generalises,
      ≪ 1 for one that reproduces training maps. Its null: the same ratio for sets of U1 maps of the
      model's size (finite-population matched); ``p_ratio`` is the lower-tail share.
    - **Partial copying**: ``copy_share`` = share of model maps relatively closer to a training map
      than any unseen real map ever is. Closeness is ``NN(→ train) / NN(→ U2)``, U2 the second half of
      the test maps (other boxes), so a smooth, "central" map that is near everything is not a copy;
      the threshold is the smallest value over the first half U1. A model that copies a minority of
      its maps keeps a normal median but not a normal copy share; ``p_copy`` is exact under
      exchangeability of model and U1 maps (:func:`copy_p_value`).

    ``p_value = min(1, 2 · min(p_ratio, p_copy))`` (Bonferroni over the two).

    Parameters
    ----------
    model_feats, test_feats, train_feats : array_like
        Features ``(n, d)``, ``(t, d)``, ``(r, d)``, e.g.
        :func:`cosmobench.stats.diversity.map_features`; ``t ≥ 4``.
    seed : int
        Seed of the bootstrap.
    n_boot : int
        Bootstrap resamples (model rows and test rows, independently) for the CI.
    n_floor_draws : int, optional
        Null sets of test maps (default :data:`~cosmobench.compare.null.NULL_DRAWS`).
    version : str
        Recorded in the score.
    chunk : int
        Row chunk of the nearest-neighbour search (memory bounded).
    nn_test : numpy.ndarray, optional
        Precomputed NN distances of ``test_feats`` to ``train_feats`` (they depend on the reference only).
    test_split : int, optional
        U1 = the first ``test_split`` test rows, U2 = the rest, in the order given (pass a split between
        boxes: tiles of one box on both sides are correlated, which only makes the test conservative).
        Default: halves of the test rows in canonical order.

    Returns
    -------
    MetricScore
        name ``"memorisation"``, distance ``"nn_median_ratio"``, ``higher_is_better=True``. ``floor``
        = null median (≈ 1); ``ratio`` = the value itself (already relative to unseen maps). ``extra``
        holds the medians, ``p_ratio``, ``p_copy``, ``copy_share``, ``copy_threshold`` and ``floor_ci``
        (2.5–97.5 % of the null).

    Raises
    ------
    CosmobenchError
        Malformed features, mismatched columns or too few rows.
    """
    from cosmobench.stats.diversity import nearest_neighbour_distances

    draws = NULL_DRAWS if n_floor_draws is None else n_floor_draws
    _check_counts(n_boot, draws)
    M = _canonical(_as_summaries(model_feats, "model"))
    T = _as_summaries(test_feats, "test")
    R = _as_summaries(train_feats, "training")
    d = R.shape[1]
    for arr, who in ((M, "model"), (T, "test")):
        if arr.shape[1] != d:
            raise CosmobenchError(f"{who} features have {arr.shape[1]} columns but training features have {d}; use the same features")
    if M.shape[0] < 1:
        raise CosmobenchError("memorisation needs at least 1 model map")
    if T.shape[0] < 4:
        raise CosmobenchError(f"memorisation needs at least 4 held-out test maps (got {T.shape[0]}) for its null")
    if R.shape[0] < 1:
        raise CosmobenchError("memorisation needs at least 1 training map")

    nn_m = nearest_neighbour_distances(M, R, chunk=chunk)
    if nn_test is None:
        nn_t = nearest_neighbour_distances(T, R, chunk=chunk)
    else:
        nn_t = np.asarray(nn_test, dtype=np.float64)
        if nn_t.shape != (T.shape[0],):
            raise CosmobenchError(f"nn_test has shape {nn_t.shape}; pass one distance per test map ({T.shape[0]})")
    # Relative closeness: U1 / U2 = the two parts of the test rows (by box when the caller says where).
    if test_split is None:
        order = canonical_order(T)
        T, nn_t = T[order], nn_t[order]
        half = T.shape[0] // 2
    else:
        half = int(test_split)
        if not 2 <= half <= T.shape[0] - 2:
            raise CosmobenchError(f"test_split={test_split}; pass a row index leaving >= 2 test maps on each side")
    U1, U2 = T[:half], T[half:]
    rel_t = nn_t[:half] / np.maximum(nearest_neighbour_distances(U1, U2, chunk=chunk), 1e-300)
    rel_m = nn_m / np.maximum(nearest_neighbour_distances(M, U2, chunk=chunk), 1e-300)
    # raw NN medians, a diagnostic: rounded, since BLAS round-off of the training rows' order moves their last bits
    med_nn_m, med_nn_t = (float(f"{np.median(a):.10g}") for a in (nn_m, nn_t))
    rel_t = np.sort(rel_t)  # a canonical order: the null draws below must not depend on the rows' order
    nn_m, nn_t = rel_m, rel_t
    med_m, med_t = float(np.median(nn_m)), float(np.median(nn_t))
    n, t = nn_m.size, nn_t.size
    value = _safe_ratio(med_m, med_t)

    from cosmobench.compare.null import NULL_SEED, draw_sets

    s = null_set_size(n, t)
    null_vals = np.array([_safe_ratio(float(np.median(nn_t[idx])), med_t) for idx in draw_sets(t, s, int(draws), NULL_SEED)])
    floor = float(np.median(null_vals))
    p_ratio = p_value(value, null_vals, "lower")
    tau = float(rel_t[0])
    copied = rel_m < tau
    copies = int(np.count_nonzero(copied))
    p_copy = copy_p_value(copies, n, rel_t.size)
    p = min(1.0, 2.0 * min(p_ratio, p_copy))

    _, boot_ss = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(boot_ss)
    boots = np.empty(int(n_boot))
    shares = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        bm = nn_m[rng.integers(0, n, size=n)]
        bt = nn_t[rng.integers(0, t, size=t)]
        boots[b] = _safe_ratio(float(np.median(bm)), float(np.median(bt)))
        shares[b] = float(np.mean(copied[rng.integers(0, n, size=n)]))
    ci = _percentile_ci(boots)
    null = NullDistribution(null_vals, s, t, n, note="" if s == int(round(n * t / (t + n))) else
                            f"only {t} unseen test maps for a model of {n}: the null is wider than a model's (conservative)")
    extra = {
        "n": int(n),
        "n_test": int(t),
        "n_train": int(R.shape[0]),
        "seed": int(seed),
        "n_boot": int(n_boot),
        "median_nn_model": med_nn_m,
        "median_nn_test": med_nn_t,
        "median_closeness_model": med_m,
        "median_closeness_test": med_t,
        "floor_ci": list(_percentile_ci(null_vals)),
        "p_ratio": p_ratio,
        "p_copy": p_copy,
        "copy_share": copies / n,
        "copy_count": copies,
        "copy_threshold": tau,
        "copy_definition": "NN(map -> train) / NN(map -> second half of the test maps) below its minimum over the first half",
        "ratio_definition": "ratio = value (already relative to held-out test maps)",
    }
    effects = {
        "copy_share": {
            "value": copies / n,
            "ci": list(_percentile_ci(shares)) if n_boot else [None, None],
            "null_median": 1.0 / (rel_t.size + 1),
            "unit": "fraction of maps",
            "description": "share of maps relatively closer to a training map than any unseen real map is (null: 1/(N+1))",
        }
    }
    return MetricScore(
        name="memorisation",
        version=str(version),
        distance="nn_median_ratio",
        value=value,
        floor=floor,
        ratio=value,
        ci=ci,
        higher_is_better=True,
        extra=extra,
        p_value=p,
        null=null.summary(),
        effects=effects,
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
