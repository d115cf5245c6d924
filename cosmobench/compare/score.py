"""Scores: a distance, its noise floor, a bootstrap interval, and the composite.

A raw distance means little on its own: a power spectrum χ² of 0.003 may be excellent or awful
depending on n, m and the statistic. So every metric is reported next to its **noise floor**, the
distance that a *fresh draw from the reference law* of the same size gets, and as their **ratio**:

- ``value`` = d(model, ref_compare).
- ``floor`` = median over ``n_floor_draws`` draws of d(S, ref_compare), S = a random subset of
  ``ref_floor`` (held-out reference maps, disjoint from ``ref_compare``) of the model's size n,
  drawn without replacement. When ``ref_floor`` has fewer than n rows, all of it is used once,
  ``extra["floor_n"]`` records its size and ``extra["floor_note"]`` says so: such a floor is
  noisier than the model's own draw, so the ratio is then conservative (biased low).
- ``ratio`` = value / floor: ≈ 1 indistinguishable from a fresh draw, ≫ 1 distinguishable. Since
  the floor is a *median*, a fresh draw's ratio has median ≈ 1 (for folded distances such as
  ``|log spread ratio|`` its mean is somewhat above 1: ≈ 1.4 in the tests). A zero floor gives
  ratio 1 for a zero value and :data:`RATIO_CAP` otherwise.
- ``ci`` = (2.5, 97.5) percentiles of the value over ``n_boot`` bootstrap resamples of the model's
  rows (the reference is held fixed); ``extra["ratio_ci"]`` is the same interval divided by the floor.
  The ``diversity`` distance, which only ever looks at ≤ 1,000 model rows, resamples those rows
  (as weights on their distance matrix: same estimator, ~100× cheaper). A bootstrap of a distance
  that is ≥ 0 is biased upwards near 0, so for a model at the floor the interval may sit above
  the value; what matters is whether ``ratio_ci`` excludes 1.

Everything is deterministic in ``seed`` and independent of the order of the rows: every set is put
in a canonical (lexicographic) row order before any random draw, so a permuted or re-batched
model gives bit-identical numbers.

The **composite** (:func:`composite_score`) is the geometric mean of the ratios of the
lower-is-better metrics; 1 means indistinguishable from a fresh draw of the reference on every
statistic. Memorisation (:func:`memorisation_score`, higher is better, ≈ 1 normal, ≪ 1 copying)
is a different axis — a perfect copy of the training set would ace every other statistic — so it
is *not* folded into the composite; it is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from cosmobench.compare.distances import _as_summaries, prepare_distance
from cosmobench.errors import CosmobenchError

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
    "geometric mean over the lower-is-better metrics of value / noise floor, the floor being the median "
    "distance of same-size fresh draws of held-out reference maps (1 = indistinguishable from a fresh draw, "
    "ratios clipped to [1e-6, 1e12]); memorisation is reported separately and not included"
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
    """One metric of a result: a distance, its noise floor, their ratio, and an interval.

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
        What a fresh draw of the reference of the same size gets.
    ratio : float
        ``value / floor`` for lower-is-better metrics (≈ 1 is ideal); see each producer.
    ci : tuple of float
        95 % bootstrap interval of ``value``.
    higher_is_better : bool
        Direction of ``value``.
    extra : dict
        JSON-friendly details (sizes, seed, floor draws, ratio interval, distance details).
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
            "extra": _jsonable(self.extra),
        }

    @classmethod
    def from_dict(cls, d: Mapping, name: "str | None" = None) -> "MetricScore":
        """Inverse of :meth:`to_dict`; ``name`` is needed when the dict comes from a result's ``metrics[name]``."""
        try:
            ci = d.get("ci") or [None, None]
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
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CosmobenchError(f"malformed metric entry {name or ''!s} ({exc!r}); the result file may be corrupt") from None


def _canonical(a: np.ndarray) -> np.ndarray:
    """Rows of ``a`` in a canonical order, sorted by their bytes (so results do not depend on the order rows came in)."""
    if a.shape[0] < 2:
        return a
    a = np.ascontiguousarray(a)
    keys = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()
    return np.ascontiguousarray(a[np.argsort(keys, kind="stable")])


def _safe_ratio(value: float, floor: float) -> float:
    if not (math.isfinite(value) and math.isfinite(floor)):
        return RATIO_CAP
    if floor > 0:
        return min(value / floor, RATIO_CAP)
    return 1.0 if value == 0 else RATIO_CAP


def _check_counts(n_boot: int, n_floor_draws: int) -> None:
    if int(n_boot) != n_boot or n_boot < 0:
        raise CosmobenchError(f"n_boot={n_boot}; pass a non-negative integer (0 skips the interval)")
    if int(n_floor_draws) != n_floor_draws or n_floor_draws < 1:
        raise CosmobenchError(f"n_floor_draws={n_floor_draws}; pass a positive integer")


def _percentile_ci(samples: np.ndarray) -> "tuple[float, float]":
    if samples.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return (float(lo), float(hi))


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
    n_floor_draws: int = 10,
) -> MetricScore:
    """Score one statistic: distance of the model to the reference, noise floor, ratio, bootstrap CI.

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
    ref_floor : array_like
        Held-out reference summaries ``(f, d)``, disjoint from ``ref_compare`` (other boxes), for the
        noise floor.
    version : str
        Version of the statistic, recorded in the score.
    seed : int
        Seed of the floor subsets and of the bootstrap (independent streams).
    n_boot : int
        Bootstrap resamples of the model rows for the CI (0: no interval, ``ci`` is NaN).
    n_floor_draws : int
        Subsets of ``ref_floor`` whose median distance is the floor.

    Returns
    -------
    MetricScore
        ``higher_is_better`` is False. ``extra`` holds ``n, m, f, floor_n, seed, n_boot,
        n_floor_draws`` (draws actually made), ``floor_draws``, ``ratio_ci`` and the distance's
        details (e.g. ``chi2_per_dof``, signed mean difference, spreads).

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
    if model is None or ref_compare is None or ref_floor is None:
        raise CosmobenchError("score_statistic needs model, ref_compare and ref_floor summaries")
    _check_counts(n_boot, n_floor_draws)

    X = _canonical(_as_summaries(model, "model"))
    Y = _canonical(_as_summaries(ref_compare, "reference"))
    F = _canonical(_as_summaries(ref_floor, "floor reference"))
    if F.shape[1] != Y.shape[1]:
        raise CosmobenchError(
            f"floor reference summaries have {F.shape[1]} columns but comparison reference summaries have "
            f"{Y.shape[1]}; both must come from the same statistic"
        )
    if F.shape[0] < 2:
        raise CosmobenchError(f"the noise floor needs at least 2 held-out reference rows, got {F.shape[0]}")
    f_dist = prepare_distance(distance, Y)
    value, details = f_dist(X)
    n, m, nf = X.shape[0], Y.shape[0], F.shape[0]

    floor_ss, boot_ss = np.random.SeedSequence(seed).spawn(2)
    extra: dict = {"n": n, "m": m, "f": nf, "seed": int(seed)}
    if nf <= n:
        floor_draws = [f_dist(F)[0]]
        extra["floor_n"] = nf
        if nf < n:
            extra["floor_note"] = (
                f"only {nf} held-out reference rows for a model of {n}: the floor uses all of them once and is "
                "noisier than a same-size draw, so the ratio is conservative (biased low)"
            )
    else:
        rng = np.random.default_rng(floor_ss)
        floor_draws = []
        for _ in range(int(n_floor_draws)):
            idx = np.sort(rng.choice(nf, size=n, replace=False))
            floor_draws.append(f_dist(F[idx])[0])
        extra["floor_n"] = n
    floor = float(np.median(floor_draws))
    if distance == "abs_mean":
        # The tiles of one periodic box average to exactly the box mean (δ̄ = 0), so a floor drawn from
        # whole held-out boxes is ~0 and any generator of independent tiles would look infinitely far.
        # A fresh draw of n independent tiles misses the reference mean by E|N(0, s²(1/n + 1/m))|.
        analytic = math.sqrt(2.0 / math.pi * (1.0 / n + 1.0 / m)) * float(np.mean(Y.std(axis=0, ddof=1)))
        extra["floor_empirical"] = floor
        extra["floor_independent_draws"] = analytic
        floor = max(floor, analytic)
    elif distance == "pair_correlation":
        # Tiles cut from the same slabs correlate a little, and held-out reference tiles share that with the
        # comparison set; a generator of independent maps (ρ̄ ≈ 0) is a fresh draw too, at distance |ρ̄_ref|.
        independent = abs(float(details.get("pair_correlation_ref", 0.0)))
        extra["floor_empirical"] = floor
        extra["floor_independent_draws"] = independent
        floor = max(floor, independent)
    ratio = _safe_ratio(value, floor)

    rng = np.random.default_rng(boot_ss)
    if hasattr(f_dist, "bootstrap"):
        boots = f_dist.bootstrap(X, rng, int(n_boot))
    else:
        boots = np.empty(int(n_boot))
        for b in range(int(n_boot)):
            idx = np.sort(rng.integers(0, n, size=n))
            boots[b] = f_dist(X[idx])[0]
    ci = _percentile_ci(boots)

    extra.update(
        {
            "n_boot": int(n_boot),
            "n_floor_draws": len(floor_draws),
            "floor_draws": [float(v) for v in floor_draws],
            "ratio_ci": [_safe_ratio(ci[0], floor), _safe_ratio(ci[1], floor)] if n_boot else [None, None],
            "details": details,
        }
    )
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
    )


def memorisation_score(
    model_feats,
    test_feats,
    train_feats,
    *,
    seed: int = 0,
    n_boot: int = 100,
    n_floor_draws: int = 100,
    version: str = "1",
    chunk: int = 4096,
) -> MetricScore:
    """Does the model copy its training maps? Nearest-neighbour distances to the training set.

    ``value = median_i NN(model_i → train) / median_j NN(test_j → train)``: how close model maps sit
    to the training set, relative to how close unseen maps of the same law (the held-out test
    maps) sit. ≈ 1 for a model that generalises, ≪ 1 for a model that reproduces training maps.
    Values above 1 mean the samples lie *farther* from the training maps than real maps do, which
    is a quality problem (the other metrics say which), not memorisation.

    Parameters
    ----------
    model_feats, test_feats, train_feats : array_like
        Features ``(n, d)``, ``(t, d)``, ``(r, d)``, e.g.
        :func:`cosmobench.stats.diversity.map_features`; ``t ≥ 4``.
    seed : int
        Seed of the bootstrap and of the test-set halvings.
    n_boot : int
        Bootstrap resamples (model rows and test rows, independently) for the CI.
    n_floor_draws : int
        Random halvings of the test set for the floor (cheap: distances are computed once).
    version : str
        Recorded in the score.
    chunk : int
        Row chunk of the nearest-neighbour search (memory bounded, see
        :func:`cosmobench.stats.diversity.nearest_neighbour_distances`).

    Returns
    -------
    MetricScore
        name ``"memorisation"``, distance ``"nn_median_ratio"``, ``higher_is_better=True`` (up to 1).
        ``floor`` = median over halvings of the same statistic between two disjoint halves of the
        test set (≈ 1: what unseen real maps get). ``ratio`` is the value itself — the statistic
        is already relative to held-out maps, and dividing by a floor ≈ 1 would only add noise.
        ``extra`` holds the medians, ``floor_ci`` (2.5–97.5 % of the halvings: the spread a
        non-memorising model falls in) and ``copy_fraction`` (share of model maps closer to the
        training set than the closest 1 % of test maps; ≈ 0.01 normally).

    Raises
    ------
    CosmobenchError
        Malformed features, mismatched columns or too few rows.
    """
    from cosmobench.stats.diversity import nearest_neighbour_distances

    _check_counts(n_boot, n_floor_draws)
    M = _canonical(_as_summaries(model_feats, "model"))
    T = _canonical(_as_summaries(test_feats, "test"))
    R = _canonical(_as_summaries(train_feats, "training"))
    d = R.shape[1]
    for arr, who in ((M, "model"), (T, "test")):
        if arr.shape[1] != d:
            raise CosmobenchError(f"{who} features have {arr.shape[1]} columns but training features have {d}; use the same features")
    if M.shape[0] < 1:
        raise CosmobenchError("memorisation needs at least 1 model map")
    if T.shape[0] < 4:
        raise CosmobenchError(f"memorisation needs at least 4 held-out test maps (got {T.shape[0]}) for its floor")
    if R.shape[0] < 1:
        raise CosmobenchError("memorisation needs at least 1 training map")

    nn_m = nearest_neighbour_distances(M, R, chunk=chunk)
    nn_t = nearest_neighbour_distances(T, R, chunk=chunk)
    med_m, med_t = float(np.median(nn_m)), float(np.median(nn_t))

    def rat(a: float, b: float) -> float:
        return _safe_ratio(a, b)

    value = rat(med_m, med_t)
    floor_ss, boot_ss = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(floor_ss)
    t = nn_t.size
    half = t // 2
    halvings = np.empty(int(n_floor_draws))
    for k in range(int(n_floor_draws)):
        perm = rng.permutation(t)
        halvings[k] = rat(float(np.median(nn_t[perm[:half]])), float(np.median(nn_t[perm[half : 2 * half]])))
    floor = float(np.median(halvings))

    rng = np.random.default_rng(boot_ss)
    boots = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        bm = nn_m[rng.integers(0, nn_m.size, size=nn_m.size)]
        bt = nn_t[rng.integers(0, t, size=t)]
        boots[b] = rat(float(np.median(bm)), float(np.median(bt)))
    ci = _percentile_ci(boots)

    extra = {
        "n": int(M.shape[0]),
        "n_test": int(t),
        "n_train": int(R.shape[0]),
        "seed": int(seed),
        "n_boot": int(n_boot),
        "n_floor_draws": int(n_floor_draws),
        "median_nn_model": med_m,
        "median_nn_test": med_t,
        "floor_ci": list(_percentile_ci(halvings)),
        "copy_fraction": float(np.mean(nn_m < np.quantile(nn_t, 0.01))),
        "ratio_definition": "ratio = value (already relative to held-out test maps)",
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
