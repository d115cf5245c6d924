"""Comparison layer: distances between two sets of per-map summaries, noise floors, scores.

The layer only sees ``(n, d)`` float64 summaries (one vector per map), never maps:

- :mod:`cosmobench.compare.distances` — :data:`DISTANCES` (``chi2``, ``frechet``, ``hist_w1``,
  ``abs_mean``, ``diversity``) and :func:`distance`.
- :mod:`cosmobench.compare.score` — :class:`MetricScore`, :func:`score_statistic` (value, noise
  floor, ratio, bootstrap CI), :func:`memorisation_score`, :func:`composite_score`.
"""

from __future__ import annotations

from cosmobench.compare.distances import (
    DISTANCE_DESCRIPTIONS,
    DISTANCES,
    distance,
    distance_details,
    prepare_distance,
)
from cosmobench.compare.score import (
    COMPOSITE_DEFINITION,
    RATIO_CAP,
    MetricScore,
    composite_score,
    memorisation_score,
    score_statistic,
)

__all__ = [
    "DISTANCES",
    "DISTANCE_DESCRIPTIONS",
    "distance",
    "distance_details",
    "prepare_distance",
    "MetricScore",
    "score_statistic",
    "memorisation_score",
    "composite_score",
    "COMPOSITE_DEFINITION",
    "RATIO_CAP",
]
