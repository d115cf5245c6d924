"""The memorisation score: does a model copy its training maps? (:func:`memorisation_score`).

Higher is better, ≈ 1 normal, ≪ 1 copying. It is a different axis from the statistics — a perfect copy
of the training set would ace every one of them — so it is reported beside the composite, not in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmobench.compare.distances import _as_summaries
from cosmobench.compare.metric import MetricScore, _canonical, _check_counts, _percentile_ci, _safe_ratio
from cosmobench.compare.null import NULL_DRAWS, NULL_SEED, NullDistribution, draw_sets, null_set_size, p_value
from cosmobench.errors import CosmobenchError
from cosmobench.stats._order import canonical_order

__all__ = ["memorisation_score", "copy_p_value", "UnseenCloseness", "unseen_closeness", "closeness_null"]


def copy_p_value(copies: int, n: int, n_unseen: int) -> float:
    """P(at least ``copies`` of n fresh maps fall below the smallest of ``n_unseen`` unseen maps' NN distances).

    Under the null the n + N nearest-neighbour distances are exchangeable, so the chance that the j
    smallest of them all belong to the model is ``∏_{i<j} (n − i) / (N + n − i)`` (exact, no draws).
    """
    p = 1.0
    for i in range(int(copies)):
        p *= (n - i) / (n_unseen + n - i)
    return p


@dataclass(frozen=True, eq=False)
class UnseenCloseness:
    """The reference-only half of the memorisation score (:func:`unseen_closeness`).

    Attributes
    ----------
    nn_test : numpy.ndarray
        ``(t,)`` NN distance of each test map to the training maps, in the order of ``test_feats`` as given.
    closeness : numpy.ndarray
        Sorted ``NN(u → train) / NN(u → U2)`` over the U1 maps (the null's pool and the copy threshold).
    u2 : numpy.ndarray
        The U2 feature rows (a model map's closeness is measured against them too).
    """

    nn_test: np.ndarray
    closeness: np.ndarray
    u2: np.ndarray


def unseen_closeness(test_feats, train_feats, *, nn_test=None, test_split=None, chunk: int = 4096) -> UnseenCloseness:
    """What memorisation measures of unseen real maps: their NN distances and closeness to the training maps.

    It depends on the reference only, so an evaluation caches it (:mod:`cosmobench.summary_cache`). The
    parameters are those of :func:`memorisation_score` (``test_feats`` with at least 8 rows, or a
    ``test_split`` leaving at least 4 in U1).
    """
    from cosmobench.stats.nearest import nearest_neighbour_distances

    T = _as_summaries(test_feats, "test")
    R = _as_summaries(train_feats, "training")
    if T.shape[1] != R.shape[1]:
        raise CosmobenchError(f"test features have {T.shape[1]} columns but training features have {R.shape[1]}; use the same features")
    if T.shape[0] < 4:
        raise CosmobenchError(f"memorisation needs at least 4 held-out test maps (got {T.shape[0]}) for its null")
    if nn_test is None:
        nn_t = nearest_neighbour_distances(T, R, chunk=chunk)
    else:
        nn_t = np.asarray(nn_test, dtype=np.float64)
        if nn_t.shape != (T.shape[0],):
            raise CosmobenchError(f"nn_test has shape {nn_t.shape}; pass one distance per test map ({T.shape[0]})")
    nn_given = nn_t
    # Relative closeness: U1 / U2 = the two parts of the test rows (by box when the caller says where).
    if test_split is None:
        order = canonical_order(T)
        T, nn_t = T[order], nn_t[order]
        half = T.shape[0] // 2
    else:
        half = int(test_split)
        if not 2 <= half <= T.shape[0] - 2:
            raise CosmobenchError(f"test_split={test_split}; pass a row index leaving >= 2 test maps on each side")
    if half < 4:  # U1 is the null's pool
        raise CosmobenchError(
            f"memorisation's null is drawn from the first {half} test maps (U1) and needs at least 4; pass at least "
            "8 test maps, or a test_split of at least 4"
        )
    U1, U2 = T[:half], T[half:]
    rel_t = nn_t[:half] / np.maximum(nearest_neighbour_distances(U1, U2, chunk=chunk), 1e-300)
    # a canonical order: the null draws must not depend on the rows' order
    return UnseenCloseness(nn_test=nn_given, closeness=np.sort(rel_t), u2=U2)


def closeness_null(closeness, n: int, draws: "int | None" = None) -> np.ndarray:
    """The closeness ratio's null: ``median(set) / median(all)`` over ``draws`` sets of U1 maps of the model's size.

    Parameters
    ----------
    closeness : numpy.ndarray
        :attr:`UnseenCloseness.closeness`.
    n : int
        Model maps (the sets are finite-population matched to them, :func:`~cosmobench.compare.null.null_set_size`).
    draws : int, optional
        Null sets (default :data:`~cosmobench.compare.null.NULL_DRAWS`).
    """
    rel_t = np.asarray(closeness, dtype=np.float64)
    t = rel_t.size
    med_t = float(np.median(rel_t))
    s = null_set_size(int(n), t)
    k = NULL_DRAWS if draws is None else int(draws)
    return np.array([_safe_ratio(float(np.median(rel_t[idx])), med_t) for idx in draw_sets(t, s, k, NULL_SEED)])


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
    unseen: "UnseenCloseness | None" = None,
    null_values: "np.ndarray | None" = None,
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
    unseen : UnseenCloseness, optional
        The reference-only part, :func:`unseen_closeness` of these test and training features
        (``nn_test`` and ``test_split`` are then not used).
    null_values : numpy.ndarray, optional
        :func:`closeness_null` of ``unseen.closeness`` for this model's n (reference-only as well).

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
    from cosmobench.stats.nearest import nearest_neighbour_distances

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

    if unseen is None:
        unseen = unseen_closeness(T, R, nn_test=nn_test, test_split=test_split, chunk=chunk)
    elif unseen.nn_test.shape != (T.shape[0],):
        raise CosmobenchError(f"unseen was measured on {unseen.nn_test.size} test maps, not these {T.shape[0]}; measure it again")
    rel_t, U2 = unseen.closeness, unseen.u2
    nn_m = nearest_neighbour_distances(M, R, chunk=chunk)
    rel_m = nn_m / np.maximum(nearest_neighbour_distances(M, U2, chunk=chunk), 1e-300)
    # raw NN medians, a diagnostic: rounded, since BLAS round-off of the training rows' order moves their last bits
    med_nn_m, med_nn_t = (float(f"{np.median(a):.10g}") for a in (nn_m, unseen.nn_test))
    nn_m, nn_t = rel_m, rel_t
    med_m, med_t = float(np.median(nn_m)), float(np.median(nn_t))
    n, t = nn_m.size, nn_t.size
    value = _safe_ratio(med_m, med_t)

    s = null_set_size(n, t)
    if null_values is None:
        null_vals = closeness_null(rel_t, n, draws)
    else:
        null_vals = np.asarray(null_values, dtype=np.float64)
        if null_vals.shape != (int(draws),):
            raise CosmobenchError(f"null_values has shape {null_vals.shape}; pass the {int(draws)} null draws of closeness_null")
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
