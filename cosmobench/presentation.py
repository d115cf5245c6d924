"""How numbers read to people: formatting, metric labels and units, and the verdict of a metric.

Every output (the score card, the Markdown and CSV leaderboard, the HTML report, the leaderboard web page)
formats and judges through this module, so that one result reads the same everywhere. Nothing here
computes a statistic; it only turns recorded numbers into text.

The verdict
-----------
Whether a metric is flagged is decided in one place, :func:`cosmobench.compare.verdict.verdict`: a metric
is "worse than reference" (memorisation: "copies training maps") when its Holm-adjusted p-value against the
measured null is ≤ 0.05, else "≈ reference"; results of schema v1 (no p-value) are flagged when their ×floor
interval excludes 1; "n/a" when nothing was measured. This module only words and colours it: a flagged
metric is graded "close" below ×3, "off" below ×10, "far" beyond (:func:`verdict_level`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from cosmobench._finite import finite_or_none

__all__ = [
    "SIMILAR_RATIO",
    "METRIC_ORDER",
    "METRICS",
    "MetricInfo",
    "VERDICT_LEVELS",
    "VERDICT_RULE",
    "VERDICT_COLORS",
    "DASH",
    "RATIO_UNIT",
    "verdict_color",
    "fmt_number",
    "fmt_ratio",
    "fmt_interval",
    "fmt_decade",
    "fmt_seconds",
    "metric_info",
    "COORD_LABELS",
    "COORD_VALUE_LABELS",
    "coord_label",
    "coord_value_label",
    "metric_sort_key",
    "ratio_ci",
    "verdict",
    "verdict_level",
    "level_word",
    "fmt_p",
    "fmt_effect",
    "fmt_null_band",
    "validity_flag",
]

#: No longer used by the verdict (p-values decide, :mod:`cosmobench.compare.verdict`); kept for old imports.
SIMILAR_RATIO = 1.5
#: Factor bounds of the graded verdicts beyond "≈ reference".
_CLOSE, _OFF = 3.0, 10.0

DASH = "—"  # a number that was not measured
RATIO_UNIT = "×floor"

VERDICT_LEVELS = ("similar", "close", "off", "far", "na")
#: Colour of each verdict level (bars of the report's score card, badges of the web page).
VERDICT_COLORS = {"similar": "#2ca02c", "close": "#bcbd22", "off": "#ff7f0e", "far": "#d62728", "na": "#999999"}
#: The verdict rule in one sentence, for legends.
VERDICT_RULE = ("worse than reference when the Holm-adjusted p-value (the share of null sets of real maps at least as far "
                "as the model) is ≤ 0.05, else ≈ reference; memorisation: copies training maps; results without "
                f"p-values (schema v1): when the ×floor interval excludes 1. Flagged metrics are graded close (below "
                f"×{_CLOSE:g}), off (below ×{_OFF:g}) or far off.")
_WORDS = {"similar": "≈ reference", "close": "close", "off": "off", "far": "far off", "na": "n/a"}


# ------------------------------------------------------------------------------------------ numbers


_finite = finite_or_none


def fmt_number(x: Any, digits: int = 4) -> str:
    """``x`` to ``digits`` significant figures (``%g``); :data:`DASH` when missing or not finite."""
    v = _finite(x)
    return DASH if v is None else f"{v:.{digits}g}"


def fmt_ratio(x: Any) -> str:
    """A ×floor ratio for people: ``×1.16``, ``×23.8``, ``×5245``, ``×1.50e+05``; :data:`DASH` when not finite."""
    v = _finite(x)
    if v is None:
        return DASH
    if v < 10:
        return f"×{v:.2f}"
    if v < 100:
        return f"×{v:.1f}"
    if v < 1e5:
        return f"×{v:.0f}"
    return f"×{v:.2e}"


def fmt_decade(e: int) -> str:
    """The tick label of a log ×floor axis at ``10**e``: ``×0.1``, ``×1``, ``×1000``, ``×1e4``."""
    return f"×{10.0 ** e:g}" if -3 <= e <= 3 else f"×1e{e}"


def fmt_seconds(x: Any) -> str:
    """A wall time: ``12.3s``; :data:`DASH` when missing."""
    v = _finite(x)
    return DASH if v is None else f"{v:.1f}s"


def fmt_interval(lo: Any, hi: Any, fmt: "Callable[[Any], str]" = fmt_number) -> str:
    """``[lo, hi]``, each end with ``fmt`` (:func:`fmt_number` or :func:`fmt_ratio`); :data:`DASH` when either is missing."""
    if _finite(lo) is None or _finite(hi) is None:
        return DASH
    return f"[{fmt(lo)}, {fmt(hi)}]"


# ------------------------------------------------------------------------------------------ metrics


@dataclass(frozen=True)
class MetricInfo:
    """How a metric is named to people: a short ``label`` and a one-line ``description``.

    A metric's value is in the units of its distance (named in the result, ``metric["distance"]``); its
    ratio is in :data:`RATIO_UNIT`, noise floors of a fresh reference draw of the same size.
    """

    name: str
    label: str
    description: str


#: Score-card order of the metrics; metrics not listed here follow, alphabetically.
METRIC_ORDER = ("validity", "power", "pdf", "mean", "moments", "structures", "minkowski", "peaks", "bispectrum",
                "diversity", "memorisation")

METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("power", "power spectrum", "P(k) of the maps"),
    MetricInfo("pdf", "pixel PDF", "one-point distribution of log10(1+δ)"),
    MetricInfo("mean", "mean δ", "mean δ per map"),
    MetricInfo("moments", "moments", "variance/skewness/kurtosis of δ"),
    MetricInfo("structures", "structures", "connected over-dense regions (count, size, shape)"),
    MetricInfo("minkowski", "Minkowski functionals", "Minkowski functionals V0, V1, V2 vs threshold"),
    MetricInfo("peaks", "peak counts", "peak counts vs height"),
    MetricInfo("bispectrum", "bispectrum", "reduced bispectrum Q"),
    MetricInfo("diversity", "diversity", "spread of the generated maps (mode collapse)"),
    MetricInfo("collapse", "collapse", "mean correlation between the generated maps' features (one template "
               "repeated: ≈ 1 against ≈ 0 for real tiles)"),
    MetricInfo("memorisation", "memorisation",
               "(higher is better) distance of generated maps to their nearest training map relative to unseen "
               "test maps: ×1 = no copying, below 1 = closer to training maps than real maps are"),
    MetricInfo("validity", "validity",
               "(higher is better, not in the composite) share of physically valid maps: a map with a pixel "
               "δ < −1 or without fluctuations is invalid and is scored with δ clipped at −1; rows with invalid "
               "maps are marked ⚠"),
)}


def metric_info(name: str) -> MetricInfo:
    """The :class:`MetricInfo` of a metric; an unknown metric is labelled by its own name."""
    return METRICS.get(name) or MetricInfo(name, name, name)


def metric_sort_key(column: str) -> tuple:
    """Sort key putting metrics (or ``"name (vK)"`` columns) in :data:`METRIC_ORDER`, unknown ones after."""
    name = column.split(" (v")[0]
    return (METRIC_ORDER.index(name) if name in METRIC_ORDER else len(METRIC_ORDER), name, column)


#: Axis label (with its unit) of each coordinate name a statistic gives in ``Statistic.coords()``.
COORD_LABELS = {
    "k": "k [h/Mpc]",
    "log10(1+delta)": "log10(1+δ)",
    "threshold": "threshold δ",
    "k1, k2, k3": "triangle (k1, k2, k3) [h/Mpc]",
    "index": "summary component",
    "bin": "bin",
}
#: Readable name of the categorical coordinate values (minkowski ``functional``, structures ``quantity``,
#: moments ``moment``).
COORD_VALUE_LABELS = {
    "V0": "V0 (area fraction)", "V1": "V1 (boundary length)", "V2": "V2 (Euler characteristic)",
    "n": "number of structures", "log_area": "log10 mean area [px]", "largest": "largest structure",
    "filamentarity": "filamentarity", "mass_frac": "mass fraction in structures",
    "var": "variance of δ", "skew": "skewness of δ", "kurt": "excess kurtosis of δ",
}


def coord_label(name: str) -> str:
    """Axis label of a coordinate (:data:`COORD_LABELS`), else the coordinate's own name."""
    return COORD_LABELS.get(name, name)


def coord_value_label(value: str) -> str:
    """Readable name of a categorical coordinate value (:data:`COORD_VALUE_LABELS`), else the value itself."""
    return COORD_VALUE_LABELS.get(value, value)


# ------------------------------------------------------------------------------------------ verdict


def _get(m: Any, key: str, default: Any = None) -> Any:
    if isinstance(m, Mapping):
        return m.get(key, default)
    return getattr(m, key, default)


def ratio_ci(m: Any) -> "tuple[float, float] | None":
    """Confidence interval of a metric's ×floor, or None.

    ``extra["ratio_ci"]`` when the scorer gave it, else the value's CI scaled by ratio / value
    (1/floor for distances; 1 for scores whose ratio is the value itself). ``m`` is a metric's dict
    (result file) or any object with the same attributes (:class:`~cosmobench.compare.score.MetricScore`).
    """
    extra = _get(m, "extra") or {}
    given = extra.get("ratio_ci") if isinstance(extra, Mapping) else None
    if isinstance(given, (list, tuple)) and len(given) == 2:
        lo, hi = _finite(given[0]), _finite(given[1])
        if lo is not None and hi is not None:
            return lo, hi
    value, ratio, ci = _finite(_get(m, "value")), _finite(_get(m, "ratio")), _get(m, "ci")
    if not value or ratio is None or not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return None
    lo, hi = _finite(ci[0]), _finite(ci[1])
    if lo is None or hi is None:
        return None
    scale = ratio / value
    return lo * scale, hi * scale


def _is_validity(m: Any, name: str = "") -> bool:
    return (name or _get(m, "name", "")) == "validity" or _get(m, "distance", "") == "valid_fraction"


def validity_flag(m: Any) -> str:
    """How physically invalid a model's maps were, in one phrase; ``""`` when all were valid (or not measured).

    ``m`` is the ``validity`` metric of a result (see :mod:`cosmobench.compare.validity`), or None.
    """
    value = _finite(_get(m, "value")) if m is not None else None
    if value is None or value >= 1.0:
        return ""
    x = _get(m, "extra") or {}
    parts = [f"{100 * (1 - value):.3g}% of maps invalid"]
    if x.get("maps_below_minus_one"):
        parts.append(f"{100 * x.get('pixels_below_minus_one_fraction', 0):.3g}% of pixels δ < −1, clipped to −1")
    if x.get("constant_maps"):
        parts.append(f"{x['constant_maps']} constant maps")
    return parts[0] + (" (" + "; ".join(parts[1:]) + ")" if len(parts) > 1 else "")


def verdict_level(m: Any, name: str = "") -> str:
    """The verdict of a metric as one of :data:`VERDICT_LEVELS`, for colours and grading.

    Whether a metric is flagged is decided by :func:`cosmobench.compare.verdict.verdict` (the one rule:
    Holm-adjusted p ≤ 0.05, or, for schema-v1 results, an interval excluding ×1; validity: any invalid
    map); a flagged metric is then graded by how far it is: "close" below ×3, "off" below ×10, "far"
    beyond (mirrored for memorisation). A flagged validity is always "far": a physically impossible map
    is never close.
    """
    from cosmobench.compare.verdict import verdict as _rule

    v = _rule(m, name or str(_get(m, "name", "") or ""))
    ratio = _finite(_get(m, "ratio"))
    if v.flagged is None or ratio is None:
        return "na"
    if not v.flagged:
        return "similar"
    if _is_validity(m, name):
        return "far"
    factor = (1.0 / ratio if ratio > 0 else math.inf) if _get(m, "higher_is_better", False) else ratio
    if factor < _CLOSE:
        return "close"
    if factor < _OFF:
        return "off"
    return "far"


def verdict(m: Any, name: str = "") -> str:
    """The verdict label of a metric (its dict in a result file, or a ``MetricScore``).

    :func:`cosmobench.compare.verdict.verdict` decides: "≈ reference", "worse than reference", "copies
    training maps" (memorisation), "invalid maps" (validity, phrased here with its shares) or "n/a".
    """
    from cosmobench.compare.verdict import verdict as _rule

    v = _rule(m, name or str(_get(m, "name", "") or ""))
    if _is_validity(m, name) and v.flagged is not None:
        return validity_flag(m) or "all maps valid"
    return v.label


def level_word(level: str) -> str:
    """The words of a verdict level (``"similar"`` → ``"≈ reference"``)."""
    return _WORDS[level]


def fmt_p(p: Any) -> str:
    """A p-value for people: ``0.003``, ``0.42``; :data:`DASH` when there is none."""
    v = _finite(p)
    if v is None:
        return DASH
    return f"{v:.2g}" if v < 0.01 else f"{v:.2f}"


def fmt_effect(e: Mapping) -> str:
    """One effect size: ``3.1% [2.5%, 3.8%] (null 1.2%)`` for fractions, plain numbers otherwise."""
    pct = e.get("unit") in ("fraction", "fraction of maps")

    def one(x: Any) -> str:
        v = _finite(x)
        if v is None:
            return DASH
        return f"{100 * v:.3g}%" if pct else f"{v:.3g}"

    lo, hi = (list(e.get("ci") or []) + [None, None])[:2]
    ci = f" [{one(lo)}, {one(hi)}]" if _finite(lo) is not None and _finite(hi) is not None else ""
    null = f" (null {one(e['null_median'])})" if _finite(e.get("null_median")) is not None else ""
    return f"{one(e.get('value'))}{ci}{null}"


def fmt_null_band(m: Any) -> str:
    """The null's 95 % band beside a ratio (``×0.41–×2.6``; for memorisation the band of its ratio), else the ratio's CI."""
    band = _get(m, "null") or {}
    med, lo, hi = (_finite(band.get(k)) for k in ("median", "lo", "hi")) if isinstance(band, Mapping) else (None,) * 3
    if lo is not None and hi is not None:
        if _get(m, "higher_is_better", False):
            return f"{lo:.3g}–{hi:.3g}"
        if med:
            return f"×{lo / med:.2g}–×{hi / med:.2g}"
    rci = ratio_ci(m)
    return f"CI {fmt_interval(*rci, fmt=fmt_ratio)}" if rci is not None else DASH


def verdict_color(m: Any, name: str = "") -> str:
    """The colour of a metric's verdict (:data:`VERDICT_COLORS`)."""
    return VERDICT_COLORS[verdict_level(m, name)]
