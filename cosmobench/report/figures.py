"""The report's figures: one registry of (key, title, caption, builder), in page order.

A builder takes the typed result and the companion maps (or None) and returns a matplotlib Figure, or None
when the result has nothing to draw for it. Panels, axes and titles come from the statistics' own
coordinates (``result.curves[stat]["coords"]``, as :meth:`Statistic.coords` gave them), labelled through
:mod:`cosmobench.presentation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from matplotlib.ticker import LogLocator, NullFormatter

from cosmobench import presentation
from cosmobench.presentation import ratio_ci, coord_label, coord_value_label, fmt_number, fmt_ratio, metric_info
from cosmobench.report._curves import _curve, _layout, _model_name, _numeric, _source_name
from cosmobench.report._draw import (MODEL_COLOR, REF_COLOR, _band, _categorical, _figure, _log_floor, _log_x,
                                     _pair, _plain_formatter)
from cosmobench.results import Result

__all__ = ["FigureSpec", "FIGURES", "metric_rows"]


def _fig_power(result: Result, maps: Any = None):
    c = _curve(result, "power")
    if c is None:
        return None
    k = _numeric(c["coords"].get("k")) if c["coords"].get("k") is not None else None
    if k is None or k.size != c["model_mean"].size or np.any(k <= 0):
        k, klabel = np.arange(1, c["model_mean"].size + 1, dtype=float), "k bin"
    else:
        klabel = coord_label("k")
    fig = _figure(7.0, 6.2)
    top, bot = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
    p = lambda v: 10.0 ** v  # noqa: E731 - the power summary is log10 P(k)
    _pair(top, k, c, scale=p)
    top.set_xscale("log")
    top.set_yscale("log")
    top.set_ylabel("P(k) [(Mpc/h)²]")
    # ratio panel: model / reference mean, with the reference's ±1σ band around 1
    _band(bot, k, np.zeros_like(k), c["ref_std"], REF_COLOR, "reference ±1σ", scale=p, lw=0.8)
    bot.plot(k, p(c["model_mean"] - c["ref_mean"]), color=MODEL_COLOR, lw=1.6, label="model / reference")
    bot.axhline(1.0, color="k", lw=0.7, ls=":")
    bot.set_ylabel("model / reference")
    bot.set_xlabel(klabel)
    ratio = p(c["model_mean"] - c["ref_mean"])
    lo = np.nanmin(np.r_[ratio, p(-c["ref_std"])])
    hi = np.nanmax(np.r_[ratio, p(c["ref_std"])])
    lo, hi = min(lo, 0.9), max(hi, 1.1)
    if hi / max(lo, 1e-300) > 8:  # orders of magnitude off: a linear axis would hide the shape
        bot.set_yscale("log")
        bot.yaxis.set_major_formatter(_plain_formatter())
        bot.yaxis.set_minor_formatter(NullFormatter())
    else:
        pad = 0.05 * (hi - lo)
        bot.set_ylim(max(lo - pad, 0.0), hi + pad)
    if klabel.startswith("k ["):
        bot.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        bot.xaxis.set_major_formatter(_plain_formatter())
        bot.xaxis.set_minor_formatter(NullFormatter())
    pix = result.track.pixel_size
    if klabel.startswith("k [") and pix > 0:
        kn = math.pi / pix
        for ax in (top, bot):
            ax.axvspan(0.5 * kn, max(kn, k.max()) * 1.05, color="0.5", alpha=0.15, lw=0,
                       label=f"k > k_Nyq/2 (pixel effects; k_Nyq = {fmt_number(kn, 3)} h/Mpc)" if ax is top else None)
            if kn <= k.max() * 1.05:
                ax.axvline(kn, color="0.4", lw=0.8, ls="--")
        top.set_xlim(k.min() / 1.05, max(k.max(), kn) * 1.05)
    top.legend(fontsize=8, loc="lower left")
    top.set_title(f"Power spectrum of the maps — {_model_name(result)} vs {_source_name(result)}")
    top.grid(alpha=0.25, which="both")
    bot.grid(alpha=0.25, which="both")
    return fig


def _fig_pdf(result: Result, maps: Any = None):
    c = _curve(result, "pdf")
    if c is None:
        return None
    panel = _layout(c["coords"], c["model_mean"].size)[0]
    name, x = panel.xname, panel.x
    if x is None or len(panel.idx) != c["model_mean"].size:
        x, name = np.arange(c["model_mean"].size, dtype=float), "bin"
    fig = _figure(10.0, 4.0)
    lin, log = fig.subplots(1, 2)
    positive = np.r_[c["ref_mean"], c["model_mean"]]
    positive = positive[positive > 0]
    floor = max(positive.min() / 3.0, positive.max() * 1e-6) if positive.size else None
    for ax in (lin, log):
        _pair(ax, x, c, floor=floor if ax is log else None)
        ax.set_xlabel(coord_label(name))
        ax.grid(alpha=0.25)
    dx = float(np.median(np.diff(x))) if x.size > 1 else 1.0
    total = float(np.sum(c["ref_mean"]))
    lin.set_ylabel("fraction of pixels per bin" if abs(total - 1.0) < 0.05 and abs(total * dx - 1.0) > 0.05
                   else "probability density")
    lin.set_ylim(bottom=0)
    lin.set_title("Pixel PDF (linear)")
    if floor is not None:
        log.set_yscale("log")
        log.set_ylim(bottom=floor)
    log.set_title("Pixel PDF (log: tails)")
    lin.legend(fontsize=8)
    fig.suptitle(f"One-point distribution of the maps — {_model_name(result)} vs {_source_name(result)}")
    return fig


def _fig_onepoint(result: Result, maps: Any = None):
    """Mean δ and moments (variance, skewness, kurtosis): one panel per quantity, since scales differ."""
    panels = []
    c = _curve(result, "mean")
    if c is not None:
        panels += [(metric_info("mean").label, c, i) for i in range(c["model_mean"].size)]
    c = _curve(result, "moments")
    if c is not None:
        panel = _layout(c["coords"], c["model_mean"].size)[0]
        labels = panel.labels if len(panel.idx) == c["model_mean"].size else None
        if labels is None:  # no coordinate to name the columns: say which column it is, never guess
            labels = [f"moment {i + 1}" for i in range(c["model_mean"].size)]
        panels += [(coord_value_label(labels[i]), c, i) for i in range(c["model_mean"].size)]
    if not panels:
        return None
    panels = panels[:8]
    fig = _figure(2.3 * len(panels) + 0.6, 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (label, c, i) in zip(axes, panels):
        ax.errorbar([0], [c["ref_mean"][i]], yerr=[c["ref_std"][i]], fmt="o", color=REF_COLOR, capsize=4, label="reference")
        ax.errorbar([1], [c["model_mean"][i]], yerr=[c["model_std"][i]], fmt="s", color=MODEL_COLOR, capsize=4, label="model")
        ax.margins(y=0.12)
        ax.set_xticks([0, 1], ["ref", "model"])
        ax.set_xlim(-0.7, 1.7)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.25, axis="y")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    fig.suptitle(f"One-point statistics per map (mean ± 1σ over maps) — {_model_name(result)} vs {_source_name(result)}")
    return fig


def _fig_grid(result: Result, stat: str, title: str, ylabel: "str | None" = None, logy: bool = False,
              xlabels: "dict[str, str] | None" = None, delta_threshold: bool = False):
    """A summary split into panels by its coords (see :func:`_layout`): model vs reference in each.

    Panel titles are the categorical coordinate's values and x labels its numeric coordinate's name, both
    read through :func:`~cosmobench.presentation.coord_value_label` / :func:`~cosmobench.presentation.coord_label`.
    """
    c = _curve(result, stat)
    if c is None:
        return None
    panels = _layout(c["coords"], c["model_mean"].size)[:12]
    ng = len(panels)
    ncol = min(ng, 3)
    nrow = math.ceil(ng / ncol)
    fig = _figure(max(4.2 * ncol + 0.4, 6.5), 3.4 * nrow + 0.6)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax in axes[ng:]:
        ax.set_visible(False)
    for p, ax in zip(panels, axes):
        log_delta = False
        if p.labels is not None:
            _categorical(ax, p.labels, c, p.idx)
            if max(len(s) for s in p.labels) > 6:
                for t in ax.get_xticklabels():
                    t.set_rotation(30)
                    t.set_horizontalalignment("right")
                    t.set_rotation_mode("anchor")
        else:
            floor = _log_floor(c["ref_mean"][p.idx], c["model_mean"][p.idx]) if logy else None
            x, log_delta = p.x, False
            if delta_threshold and p.xname == "threshold" and np.all(x > -1) and (1 + x).max() / (1 + x).min() > 4:
                x, log_delta = 1.0 + x, True  # thresholds of δ log-spaced in 1 + δ
            _pair(ax, x, c, p.idx, marker="." if len(p.idx) <= 30 else None, floor=floor)
            if log_delta:
                _log_x(ax)
            if floor is not None:
                ax.set_yscale("log")
                ax.set_ylim(bottom=floor)
        ax.set_xlabel("threshold 1 + δ" if p.labels is None and log_delta else
                      (xlabels or {}).get(p.xname) or coord_label(p.xname))
        panel_title = coord_value_label(p.title) if p.title else ""
        ax.set_ylabel(ylabel or panel_title or stat)
        if panel_title:
            ax.set_title(panel_title, fontsize=10)
        ax.grid(alpha=0.25)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{title} — {_model_name(result)} vs {_source_name(result)}")
    return fig


def _fig_minkowski(result: Result, maps: Any = None):
    return _fig_grid(result, "minkowski", "Minkowski functionals vs threshold", delta_threshold=True)


def _fig_structures(result: Result, maps: Any = None):
    return _fig_grid(result, "structures", "Structures above threshold (per map, mean ± 1σ)", delta_threshold=True)


def _fig_peaks(result: Result, maps: Any = None):
    return _fig_grid(result, "peaks", "Peak counts per map vs height", ylabel="peaks per map", logy=True,
                     xlabels={"log10(1+delta)": "peak height log10(1+δ)"})


def _fig_bispectrum(result: Result, maps: Any = None):
    return _fig_grid(result, "bispectrum", "Reduced bispectrum Q", ylabel="Q(k1, k2, k3)")


def _fig_diversity(result: Result, maps: Any = None):
    """Per-feature standard deviation over maps: a collapsed model has a lower spread than the reference."""
    c = _curve(result, "diversity")
    if c is None:
        return None
    d = c["model_mean"].size
    fig = _figure(10.0, 3.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.6, 1])
    x = np.arange(d)
    left.plot(x, c["ref_std"], color=REF_COLOR, lw=1.0, label="reference")
    left.plot(x, c["model_std"], color=MODEL_COLOR, lw=1.0, label="model")
    left.set_xlabel("feature (block mean of log10(1+δ))")  # the diversity summary is map_features
    left.set_ylabel("spread over maps (1σ)")
    left.set_ylim(bottom=0)
    left.legend(fontsize=8)
    left.grid(alpha=0.25)
    left.set_title("Spread of each feature across maps")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = c["model_std"] / c["ref_std"]
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size:
        right.hist(ratio, bins=30, color=MODEL_COLOR, alpha=0.8)
        right.axvline(1.0, color="k", ls=":", lw=1)
        right.axvline(float(np.median(ratio)), color=MODEL_COLOR, lw=1.5, label=f"median {fmt_number(np.median(ratio), 3)}")
        right.legend(fontsize=8)
    right.set_xlabel("model spread / reference spread")
    right.set_ylabel("features")
    right.set_title("< 1: less diverse than the reference")
    fig.suptitle(f"Diversity — {_model_name(result)} vs {_source_name(result)}")
    return fig


def _fig_maps(result: Result, maps: "tuple[np.ndarray, np.ndarray] | None" = None):
    if maps is None:
        return None
    model, ref = maps
    n = min(8, len(model), len(ref))
    if n == 0:
        return None
    show = lambda m: np.log10(np.clip(2.0 + m, 1e-3, None))  # noqa: E731 - δ ≥ -1, so 2+δ ≥ 1 and log ≥ 0
    a, b = show(model[:n]), show(ref[:n])
    both = np.concatenate([a.ravel(), b.ravel()])
    both = both[np.isfinite(both)]
    vmin, vmax = (np.percentile(both, [0.5, 99.5]) if both.size else (0.0, 1.0))
    fig = _figure(1.62 * n + 0.9, 4.1)
    axes = fig.subplots(2, n, squeeze=False)
    im = None
    for row, (arr, label) in enumerate(((b, f"reference\n{_source_name(result)}"), (a, f"model\n{_model_name(result)}"))):
        for i in range(n):
            ax = axes[row, i]
            im = ax.imshow(arr[i], origin="lower", cmap="magma", vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.9, label="log10(2 + δ)")
    fig.suptitle(f"Maps: reference (top row) and model (bottom row), {fmt_number(result.track.tile_size)} Mpc/h on "
                 "a side, shared colour scale")
    return fig


def metric_rows(result: Result) -> list[dict]:
    """Per metric of the result: its numbers (NaN when not measured), intervals, verdict and verdict colour."""
    rows = []
    for name, m in result.metrics.items():
        f = lambda x: float("nan") if x is None else float(x)  # noqa: E731 - JSON null: not measured
        ci = tuple(m.ci) if m.ci is not None and None not in m.ci else None
        rows.append({"name": name, "distance": str(m.distance), "version": str(m.version),
                     "value": f(m.value), "floor": f(m.floor), "ratio": f(m.ratio), "ci": ci, "rci": ratio_ci(m),
                     "higher_is_better": bool(m.higher_is_better), "verdict": presentation.verdict(m, name),
                     "color": presentation.verdict_color(m)})
    return rows


_RATIO_RANGE = (1e-6, 1e12)  # as the composite's clip (cosmobench.compare.score)


def _fig_xfloor(result: Result, maps: Any = None):
    rows = [r for r in metric_rows(result) if np.isfinite(r["ratio"]) and r["ratio"] > 0]
    if not rows:
        return None
    rows = rows[::-1]  # first metric on top
    fig = _figure(7.5, 0.45 * len(rows) + 1.6)
    ax = fig.subplots()
    y = np.arange(len(rows))
    # Drawn on the composite's range (ratios are clipped there too): a ratio of 1e308 must not push the
    # axis to infinity. The printed labels keep the real numbers.
    ratios = np.clip(np.array([r["ratio"] for r in rows]), _RATIO_RANGE[0], _RATIO_RANGE[1])
    colors = [r["color"] for r in rows]
    ax.barh(y, ratios - 1.0, left=1.0, color=colors, height=0.6)  # bars grow from the floor (×1)
    right_end = ratios.copy()
    for i, r in enumerate(rows):
        if r["rci"] is not None:
            lo, hi = np.clip(r["rci"], _RATIO_RANGE[0], _RATIO_RANGE[1])
            if lo > 0 and hi > 0:
                ax.plot([lo, hi], [i, i], color="k", lw=1.2, marker="|", ms=8)
                right_end[i] = max(right_end[i], hi)
        ax.text(max(right_end[i], 1.0) * 1.08, i, f"{fmt_ratio(r['ratio'])} {r['verdict']}", va="center", fontsize=8)
    ax.axvline(1.0, color="k", lw=1.2, ls="--", label="×1 = fresh reference draw (noise floor)")
    ax.set_yticks(y, [r["name"] + (" (↑ better)" if r["higher_is_better"] else "") for r in rows])
    ax.set_xscale("log")
    hi = max(right_end.max() * 4.0, 4.0)
    lo = min(ratios.min(), 1.0) / 1.6
    ax.set_xlim(lo, hi)
    if hi / lo < 1e3:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(_plain_formatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("×floor = distance / distance of a fresh reference draw of the same size (log scale)")
    comp = result.composite
    title = "Distance to the reference in units of its noise floor"
    if comp is not None and np.isfinite(comp):
        ax.axvline(comp, color="0.3", lw=1, ls=":", label=f"composite {fmt_ratio(comp)}")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.25, axis="x", which="both")
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: its file ``key``, the page's ``title`` and ``caption``, and its ``builder``.

    ``builder(result, maps)`` returns a matplotlib Figure, or None when the result has no data for it.
    """

    key: str
    title: str
    caption: str
    builder: Callable[[Result, Any], Any]


#: The report's figures, in page order.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("xfloor", "Score card", "Each bar is a metric's distance divided by its noise floor (the distance a "
               "fresh draw of reference maps of the same size gets); black lines: confidence interval of ×floor; "
               "dashed line: ×1.", _fig_xfloor),
    FigureSpec("power", "Power spectrum", "Mean P(k) over maps with ±1σ bands (spread over maps). Lower panel: model "
               "/ reference, with the reference's ±1σ band. The grey region k > k_Nyquist/2 is affected by the pixel "
               "grid.", _fig_power),
    FigureSpec("pdf", "Pixel PDF", "Distribution of log10(1+δ) per map, mean ± 1σ over maps; the log panel shows the "
               "tails.", _fig_pdf),
    FigureSpec("onepoint", "One-point statistics", "Mean δ, variance, skewness and kurtosis of δ per map (mean ± 1σ "
               "over maps).", _fig_onepoint),
    FigureSpec("minkowski", "Minkowski functionals", "V0 (area), V1 (boundary length), V2 (Euler characteristic) of "
               "the excursion sets vs threshold.", _fig_minkowski),
    FigureSpec("structures", "Structures", "Connected regions above threshold: per-map statistics, mean ± 1σ over "
               "maps.", _fig_structures),
    FigureSpec("peaks", "Peaks", "Number of local maxima per map vs height.", _fig_peaks),
    FigureSpec("bispectrum", "Bispectrum", "Reduced bispectrum Q of the configurations of the track.", _fig_bispectrum),
    FigureSpec("diversity", "Diversity", "Spread over maps of each coarse feature; a mode-collapsed model has a "
               "smaller spread.", _fig_diversity),
    FigureSpec("maps", "Maps", "Random maps from the model beside reference maps, log10(2+δ) on one shared colour "
               "scale.", _fig_maps),
)
