"""How numbers read to people: formatting, metric labels and units, and the verdict of a metric.

Every output (the score card, the Markdown and CSV leaderboard, the HTML report, the leaderboard web page)
formats and judges through this module, so that one result reads the same everywhere. Nothing here
computes a statistic; it only turns recorded numbers into text.

The verdict
-----------
A metric's *factor* is how many noise floors it is away from the reference: its ratio to the floor for a
lower-is-better distance, the inverse ratio for a higher-is-better score (memorisation: 1 = like unseen
real maps). The *best case* is the same factor at the favourable end of the ratio's confidence interval.

- ``"≈ reference"`` when the best case is within :data:`SIMILAR_RATIO` (the model cannot be told from a
  fresh draw of reference maps at this n);
- otherwise ``"close"`` below ×3, ``"off"`` below ×10, ``"far off"`` beyond (graded by the factor itself);
- ``"n/a"`` when the ratio was not measured (missing or not finite).

A higher-is-better ratio of 0 (generated maps at distance 0 from training maps: exact copies) is an
infinite factor, "far off", never "n/a". Memorisation reads "no copying" / "copies training maps".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

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
    "validity_flag",
]

#: Best-case ×floor under which a metric reads "≈ reference": within bootstrap noise a model this close
#: cannot be told apart from another draw of real maps at this n.
SIMILAR_RATIO = 1.5
#: Factor bounds of the graded verdicts beyond "≈ reference".
_CLOSE, _OFF = 3.0, 10.0

DASH = "—"  # a number that was not measured
RATIO_UNIT = "×floor"

VERDICT_LEVELS = ("similar", "close", "off", "far", "na")
#: Colour of each verdict level (bars of the report's score card, badges of the web page).
VERDICT_COLORS = {"similar": "#2ca02c", "close": "#bcbd22", "off": "#ff7f0e", "far": "#d62728", "na": "#999999"}
#: The verdict rule in one sentence, for legends.
VERDICT_RULE = (f"≈ reference when the ×floor confidence interval reaches ×{SIMILAR_RATIO:g} (the model cannot be "
                f"told from another draw of real maps at this n), close below ×{_CLOSE:g}, off below ×{_OFF:g}, far "
                "off beyond; higher-is-better scores (memorisation) are mirrored: no copying, or copies training maps.")
_WORDS = {"similar": "≈ reference", "close": "close", "off": "off", "far": "far off", "na": "n/a"}


# ------------------------------------------------------------------------------------------ numbers


def _finite(x: Any) -> "float | None":
    if x is None or isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


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


def verdict_level(m: Any) -> str:
    """The verdict of a metric as one of :data:`VERDICT_LEVELS` (see the module docstring for the rule).

    Validity is not graded by noise floors: all maps valid is "similar", any invalid share "far" (a
    physically impossible map is never close).
    """
    ratio = _finite(_get(m, "ratio"))
    if ratio is None:
        return "na"
    if _is_validity(m):
        return "similar" if ratio >= 1.0 else "far"
    rci = ratio_ci(m)
    if _get(m, "higher_is_better", False):
        factor = 1.0 / ratio if ratio > 0 else math.inf
        # best case: the upper end of a higher-is-better interval; a non-positive end is no better than copies
        best = factor if rci is None else (1.0 / rci[1] if rci[1] > 0 else math.inf)
    else:
        factor = ratio
        best = factor if rci is None else rci[0]
    if best <= SIMILAR_RATIO:
        return "similar"
    if factor < _CLOSE:
        return "close"
    if factor < _OFF:
        return "off"
    return "far"


def verdict(m: Any, name: str = "") -> str:
    """One phrase for a metric (its dict in a result file, or a ``MetricScore``): the words of :func:`verdict_level`.

    Memorisation reads ``"no copying"`` when ≈ reference and ``"copies training maps"`` otherwise.
    """
    level = verdict_level(m)
    if _is_validity(m, name) and level != "na":
        return validity_flag(m) or "all maps valid"
    if (name or _get(m, "name", "")) == "memorisation" and level != "na":
        return "no copying" if level == "similar" else "copies training maps"
    return level_word(level)


def level_word(level: str) -> str:
    """The words of a verdict level (``"similar"`` → ``"≈ reference"``)."""
    return _WORDS[level]


def verdict_color(m: Any) -> str:
    """The colour of a metric's verdict (:data:`VERDICT_COLORS`)."""
    return VERDICT_COLORS[verdict_level(m)]
