"""One metric of a result (:class:`MetricScore`) and the number rules every score producer shares.

The producers are :func:`cosmobench.compare.score.score_statistic` (the statistics),
:func:`cosmobench.compare.memorisation.memorisation_score` and
:meth:`cosmobench.compare.validity.ValidityTally.score`; they all report a ``ratio`` capped at
:data:`RATIO_CAP`, a 2.5–97.5 % percentile interval over the finite bootstrap values, and put every set
of rows in a canonical order before any random draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats._order import canonical_order

__all__ = ["MetricScore", "RATIO_CAP"]

#: Largest ratio reported (a zero floor with a non-zero value, or an absurd mismatch).
RATIO_CAP = 1e12


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
