"""The one rule that turns a metric's numbers into a verdict.

Every output (score card, HTML report, leaderboard) calls :func:`verdict`; nothing else decides
whether a metric reads "≈ reference".

The rule, for a schema-v2 metric (one scored against a measured null):

- A lower-is-better metric is **flagged** ("worse than reference") when its p-value — the share of
  null draws (sets of real reference maps scored exactly like the model) at least as far from the
  reference as the model, ``(k + 1) / (K + 1)`` — is ≤ :data:`ALPHA` after Holm's correction over the
  metrics of the result (``p_adjusted``). Otherwise it reads "≈ reference": at this n the model is
  not distinguishable from real maps by this statistic.
- Memorisation (higher is better) is flagged ("copies training maps") the same way; its p-value
  combines the nearest-neighbour ratio and the share of copied maps (see
  :func:`cosmobench.compare.score.memorisation_score`).

Holm's step-down correction keeps the chance that a perfect generator gets *any* flag on a result
at ≤ 5 %, where ten uncorrected 5 % tests would flag one of its metrics ~40 % of the time; each
metric's own false-flag rate stays ≤ 5 %.

Schema-v1 results (no null, no p-value) are judged by their interval: flagged when the 95 % bootstrap
interval of ×floor excludes 1 (for memorisation: when its interval lies below the range of held-out
halvings, or below 1). The old rule "≈ reference while the interval reaches ×1.5" is gone: it called
a metric at ×2.2 [1.36, 3.26] "≈ reference" though its own interval excluded 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from cosmobench._finite import finite_or_none

__all__ = ["ALPHA", "Verdict", "verdict", "holm", "combine", "LABELS"]

#: Level of every verdict (family-wise over the metrics of a result, by Holm's method).
ALPHA = 0.05

SIMILAR = "≈ reference"
WORSE = "worse than reference"
COPIES = "copies training maps"
NA = "n/a"
MIXED = "mixed"
INVALID = "invalid maps"
#: Every label :func:`verdict` and :func:`combine` can return.
LABELS = (SIMILAR, WORSE, COPIES, NA, MIXED, INVALID)


@dataclass(frozen=True)
class Verdict:
    """A metric's verdict.

    Attributes
    ----------
    label : str
        One of :data:`LABELS`.
    flagged : bool or None
        True when the metric tells the model from the reference (None: not judged).
    p : float or None
        The p-value the decision used (Holm-adjusted when the result has one).
    basis : str
        ``"p_adjusted"``, ``"p_value"``, ``"interval"`` (schema-v1 results) or ``"none"``.
    """

    label: str
    flagged: "bool | None"
    p: "float | None"
    basis: str

    def __str__(self) -> str:
        return self.label


_num = finite_or_none


def _get(m: Any, key: str) -> Any:
    if isinstance(m, Mapping):
        return m.get(key)
    return getattr(m, key, None)


def _pair(x: Any) -> "tuple[float, float] | None":
    if isinstance(x, (list, tuple)) and len(x) == 2:
        lo, hi = _num(x[0]), _num(x[1])
        if lo is not None and hi is not None:
            return lo, hi
    return None


def _ratio_interval(m: Any) -> "tuple[float, float] | None":
    """×floor interval of a v1 metric: ``extra.ratio_ci``, else the value's interval scaled by ratio / value."""
    extra = _get(m, "extra") or {}
    given = _pair(extra.get("ratio_ci")) if isinstance(extra, Mapping) else None
    if given is not None:
        return given
    value, ratio, ci = _num(_get(m, "value")), _num(_get(m, "ratio")), _pair(_get(m, "ci"))
    if not value or ratio is None or ci is None:
        return None
    return ci[0] * ratio / value, ci[1] * ratio / value


def verdict(metric: Any, name: str = "") -> Verdict:
    """The verdict of one metric (a result-file metric dict or a :class:`~cosmobench.compare.score.MetricScore`).

    Parameters
    ----------
    metric : mapping or MetricScore
        Reads ``p_adjusted`` (else ``p_value``), ``higher_is_better``; for schema-v1 metrics without
        a p-value, ``ratio`` and its interval (``extra.ratio_ci`` or ``ci``).
    name : str
        Metric name; ``"memorisation"`` (or a higher-is-better metric) reads "copies training maps" when flagged.

    Returns
    -------
    Verdict
    """
    name = name or str(_get(metric, "name") or "")
    if name == "validity" or _get(metric, "distance") == "valid_fraction":
        # No noise floor: a real map is never invalid, so one invalid map tells the model from the reference.
        share = _num(_get(metric, "value"))
        if share is None:
            return Verdict(NA, None, None, "none")
        return Verdict(INVALID if share < 1.0 else SIMILAR, share < 1.0, None, "validity")
    hib = bool(_get(metric, "higher_is_better"))
    bad = COPIES if (name == "memorisation" or hib) else WORSE
    for key in ("p_adjusted", "p_value"):
        p = _num(_get(metric, key))
        if p is not None:
            flagged = p <= ALPHA
            return Verdict(bad if flagged else SIMILAR, flagged, p, key)
    ratio = _num(_get(metric, "ratio"))
    if ratio is None:
        return Verdict(NA, None, None, "none")
    rci = _ratio_interval(metric)
    if rci is None:  # neither a p-value nor an interval: no evidence either way
        return Verdict(NA, None, None, "none")
    if hib:
        extra = _get(metric, "extra") or {}
        band = _pair(extra.get("floor_ci")) if isinstance(extra, Mapping) else None
        flagged = rci[1] < (band[0] if band is not None else 1.0)
    else:
        flagged = rci[0] > 1.0
    return Verdict(bad if flagged else SIMILAR, flagged, None, "interval")


def holm(pvalues: "Mapping[str, float | None]") -> "dict[str, float | None]":
    """Holm–Bonferroni adjusted p-values (family-wise error control); None stays None.

    Parameters
    ----------
    pvalues : mapping of str to float or None

    Returns
    -------
    dict
        Same keys; ``p_adj(i) = max over j ≤ i of min(1, (m − j + 1) p(j))`` in ascending order of p.
    """
    items = [(k, _num(v)) for k, v in pvalues.items()]
    known = sorted(((p, k) for k, p in items if p is not None), key=lambda t: (t[0], t[1]))
    m = len(known)
    out: dict[str, "float | None"] = {k: None for k, _ in items}
    running = 0.0
    for j, (p, k) in enumerate(known):
        running = max(running, min(1.0, (m - j) * p))
        out[k] = running
    return out


def combine(verdicts: "Iterable[Verdict]") -> Verdict:
    """One verdict for several results of the same model (seeds): their common label, else ``"mixed"``.

    The p-value is the largest of the inputs' (the weakest evidence), when all have one.
    """
    vs = [v for v in verdicts if v.label != NA]
    if not vs:
        return Verdict(NA, None, None, "none")
    labels = {v.label for v in vs}
    ps = [v.p for v in vs]
    p = max(ps) if all(x is not None for x in ps) else None
    if len(labels) == 1:
        return Verdict(vs[0].label, vs[0].flagged, p, vs[0].basis)
    return Verdict(MIXED, None, p, "mixed")
