"""Comparison layer: distances between two sets of per-map summaries, noise floors, scores.

The layer only sees ``(n, d)`` float64 summaries (one vector per map), never maps:

- :mod:`cosmobench.compare.distances` — :data:`DISTANCES` (``chi2``, ``frechet``, ``hist_w1``,
  ``abs_mean``, ``diversity``) and :func:`distance`.
- :mod:`cosmobench.compare.null` — the measured null (sets of held-out reference maps scored like a
  model), its median (the floor) and calibrated p-values.
- :mod:`cosmobench.compare.score` — :func:`score_statistic` (value, floor, ratio, p-value, bootstrap
  CI, effect sizes) and :func:`composite_score`; :mod:`cosmobench.compare.metric` — :class:`MetricScore`.
- :mod:`cosmobench.compare.memorisation` — :func:`memorisation_score` (closeness ratio, copy share).
- :mod:`cosmobench.compare.effects`, :mod:`~cosmobench.compare.verdict`,
  :mod:`~cosmobench.compare.validity` — effect sizes, the verdict rule, the validity metric.
"""

from __future__ import annotations

from cosmobench.compare.distances import (
    DISTANCE_DESCRIPTIONS,
    DISTANCES,
    distance,
    distance_details,
    prepare_distance,
)
from cosmobench.compare.memorisation import memorisation_score
from cosmobench.compare.metric import RATIO_CAP, MetricScore
from cosmobench.compare.score import COMPOSITE_DEFINITION, composite_score, score_statistic

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
