"""The shape of a distance: :class:`Distance` (prepare, bootstrap, description) and the
:class:`PreparedDistance` that the scores use. The distances themselves are in
:mod:`cosmobench.compare.distances`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats._validate import check_rows

__all__ = ["Distance", "Prepared", "PreparedDistance"]

# X -> (value, details); (X, rng, n_boot) -> values.
_Value = Callable[[np.ndarray], "tuple[float, dict]"]
_Bootstrap = Callable[[np.ndarray, np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class Prepared:
    """What a distance's ``prepare(Y)`` returns: the reference is fixed, X varies.

    Attributes
    ----------
    value : callable
        ``value(X) -> (distance, details)`` on validated model rows.
    bootstrap : callable, optional
        ``bootstrap(X, rng, n_boot) -> (n_boot,) values``, a faster estimator of the row-resampling
        bootstrap; ``None`` resamples the rows and calls ``value`` (see :meth:`PreparedDistance.bootstrap`).
    """

    value: _Value
    bootstrap: "Optional[_Bootstrap]" = None
    #: ``from_means(M (K, d)) -> (K,)`` for distances that depend on X only through its column means
    #: (what the measured null and the bootstrap use for K sets at once); None otherwise.
    from_means: "Optional[Callable[[np.ndarray], np.ndarray]]" = None


def _as_summaries(a, name: str) -> np.ndarray:
    return check_rows(a, f"{name} summaries")


def _check_pair(name: str, X, Y, *, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    X = _as_summaries(X, "model")
    Y = _as_summaries(Y, "reference")
    if X.shape[1] != Y.shape[1]:
        raise CosmobenchError(
            f"model summaries have {X.shape[1]} columns but reference summaries have {Y.shape[1]}; "
            "compare summaries of the same statistic with the same settings"
        )
    for arr, who in ((X, "model"), (Y, "reference")):
        if arr.shape[0] < min_rows:
            raise CosmobenchError(
                f"the {name!r} distance needs at least {min_rows} {who} rows, got {arr.shape[0]}: pass more maps"
            )
    return X, Y


@dataclass(frozen=True)
class Distance:
    """One distance between sets of summaries: how to fix the reference, bootstrap it, describe it.

    Calling it, ``spec(X, Y) -> float``, validates both sets and returns the distance.

    Attributes
    ----------
    name : str
        Key in :data:`DISTANCES` and the ``distance`` of a :class:`~cosmobench.stats.base.Statistic`.
    description : str
        One line for score cards.
    prepare : callable
        ``prepare(Y) -> Prepared`` on validated reference rows (at least 2).

    The floor of every distance is the median of its measured null (:mod:`cosmobench.compare.null`),
    so a distance carries no floor rule of its own.
    """

    name: str
    description: str
    prepare: Callable[[np.ndarray], Prepared]

    def __call__(self, X, Y) -> float:
        return self.value_and_details(X, Y)[0]

    def value_and_details(self, X, Y) -> "tuple[float, dict]":
        """``(value, details)`` of model summaries ``X`` against reference summaries ``Y`` (both validated here)."""
        X, Y = _check_pair(self.name, X, Y)
        return self.prepare(Y).value(X)


class PreparedDistance:
    """A distance with its reference fixed: ``f(X) -> (value, details)``, ``f.bootstrap(X, rng, n_boot)``.

    Attributes
    ----------
    spec : Distance
        The distance.
    reference_rows : int
        Rows of the reference it was prepared with.
    """

    def __init__(self, spec: Distance, Y: np.ndarray) -> None:
        self.spec = spec
        self.reference_rows = Y.shape[0]
        self._d = Y.shape[1]
        self._inner = spec.prepare(Y)
        # None for distances that need more than the column means of X
        self.from_means = self._from_means if self._inner.from_means is not None else None

    def _from_means(self, M) -> np.ndarray:
        M = np.asarray(M, dtype=np.float64)
        if M.ndim != 2 or M.shape[1] != self._d:
            raise CosmobenchError(f"from_means needs (K, {self._d}) mean vectors, got shape {M.shape}")
        return np.asarray(self._inner.from_means(M), dtype=np.float64)

    def _check(self, X) -> np.ndarray:
        Xc = _as_summaries(X, "model")
        if Xc.shape[1] != self._d:
            raise CosmobenchError(
                f"model summaries have {Xc.shape[1]} columns but reference summaries have {self._d}; "
                "compare summaries of the same statistic with the same settings"
            )
        if Xc.shape[0] < 2:
            raise CosmobenchError(
                f"the {self.spec.name!r} distance needs at least 2 model rows, got {Xc.shape[0]}: pass more maps"
            )
        return Xc

    def __call__(self, X) -> "tuple[float, dict]":
        return self._inner.value(self._check(X))

    def bootstrap(self, X, rng: np.random.Generator, n_boot: int) -> np.ndarray:
        """``n_boot`` values of the distance on resamples (with replacement) of the model rows.

        Distances with a fast estimator use it; the others draw ``sort(rng.integers(0, n, n))`` per
        resample and recompute the value, the draws of :func:`cosmobench.compare.score.score_statistic`.
        """
        X = self._check(X)
        if self._inner.bootstrap is not None:
            return self._inner.bootstrap(X, rng, int(n_boot))
        n = X.shape[0]
        out = np.empty(int(n_boot))
        for b in range(int(n_boot)):
            out[b] = self._inner.value(X[np.sort(rng.integers(0, n, size=n))])[0]
        return out
