"""Visual report of one result: PNG figures and one self-contained HTML page.

``make_report(result_path)`` reads a result JSON (and its companion ``<stem>.maps.npz`` when present)
and writes, in ``out_dir`` (default ``<result dir>/<stem>_report/``):

- ``<stem>_<figure>.png`` — one PNG per figure that the result has data for (``power``, ``pdf``,
  ``onepoint``, ``minkowski``, ``structures``, ``peaks``, ``bispectrum``, ``diversity``, ``maps``,
  ``xfloor``); a figure whose curves are missing is skipped, never an error;
- ``<stem>.html`` — one page with the PNGs embedded (base64), the table of metrics (value, floor,
  ×floor, confidence interval, verdict) and the provenance of the model and of the reference.

Figures are drawn with :class:`matplotlib.figure.Figure` on the Agg canvas, never through pyplot, so
the report works headless and does not touch the user's matplotlib backend.

Curves (``result["curves"][stat]``) hold the mean and standard deviation over maps of the statistic's
per-map summary, for the model and for the reference, and ``coords`` naming the summary's columns.
The power summary is log10 P(k) (see :mod:`cosmobench.stats.power`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cosmobench._io import atomic_path, atomic_write_text
from cosmobench.errors import CosmobenchError
from cosmobench import presentation
from cosmobench.presentation import SIMILAR_RATIO, fmt_interval, fmt_number, fmt_ratio, ratio_ci  # noqa: F401 (old paths)

__all__ = ["make_report", "verdict", "ratio_ci", "SIMILAR_RATIO"]

MODEL_COLOR = "C0"  # blue, as the seed report's generated maps
REF_COLOR = "C3"  # red, as the seed report's training maps
_DPI = 110


# --------------------------------------------------------------------------------------------------
# reading


def _load(path: Path) -> dict:
    """The result, read and upgraded by :func:`cosmobench.results.load_result`."""
    from cosmobench.results import load_result

    if not path.is_file():
        raise CosmobenchError(f"result file {path} does not exist; pass the .json written by `cosmobench evaluate`")
    return load_result(path)


def _stem(path: Path) -> str:
    name = path.name
    return name[: -len(".json")] if name.endswith(".json") else path.stem


def _load_maps(path: Path) -> "tuple[np.ndarray, np.ndarray] | None":
    """The companion ``<stem>.maps.npz`` as ``(model, reference)``, or None when absent or unreadable."""
    npz = path.with_name(f"{_stem(path)}.maps.npz")
    if not npz.is_file():
        return None
    try:
        with np.load(npz, allow_pickle=False) as z:
            model, ref = np.asarray(z["model"], dtype=np.float64), np.asarray(z["reference"], dtype=np.float64)
    except Exception:  # noqa: BLE001 - the map grid is illustrative; a bad companion must not block the report
        return None
    if model.ndim != 3 or ref.ndim != 3 or not len(model) or not len(ref):
        return None
    return model, ref


def _curve(result: dict, name: str) -> "dict | None":
    """``result["curves"][name]`` as float arrays, or None when missing or inconsistent."""
    c = (result.get("curves") or {}).get(name)
    if not isinstance(c, dict):
        return None
    try:
        out = {k: np.atleast_1d(np.asarray(c[k], dtype=np.float64)) for k in ("model_mean", "ref_mean")}
        d = out["model_mean"].size
        if d == 0 or out["ref_mean"].size != d:
            return None
        for k in ("model_std", "ref_std"):
            v = c.get(k)
            v = np.zeros(d) if v is None else np.atleast_1d(np.asarray(v, dtype=np.float64))
            out[k] = v if v.size == d else np.zeros(d)
    except (KeyError, TypeError, ValueError):
        return None
    out["coords"] = c.get("coords") or {}
    return out


def _numeric(values: Any) -> "np.ndarray | None":
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 1 and np.all(np.isfinite(arr)) else None


class _Panel:
    """One panel of a summary: the columns ``idx`` plotted against ``x`` (numeric) or ``labels`` (categories)."""

    def __init__(self, title: str, idx: np.ndarray, xname: str, x: "np.ndarray | None", labels: "list[str] | None"):
        self.title, self.idx, self.xname, self.x, self.labels = title, idx, xname, x, labels


def _layout(coords: dict, d: int) -> list[_Panel]:
    """Split a summary of ``d`` columns into panels, from its ``coords``.

    Coordinates are per column (length d), as :meth:`Statistic.coords` gives them: a categorical
    coordinate with repeated values (minkowski ``functional``, structures ``quantity``) makes one panel per
    value, plotted against a numeric coordinate (``threshold``) when there is one; a single numeric
    coordinate is the x axis; several numeric ones (bispectrum ``k1, k2, k3``) label the columns. A numeric
    coordinate of length ``d / g`` is taken as the x of ``g`` flattened groups (row-major). Without a
    usable coordinate, x is the column index.
    """
    full, short = {}, {}
    for k, v in (coords or {}).items():
        if isinstance(v, (list, tuple, np.ndarray)) and len(v):
            (full if len(v) == d else short)[str(k)] = list(v)
    num = {k: _numeric(v) for k, v in full.items() if _numeric(v) is not None}
    cat = {k: [str(s) for s in v] for k, v in full.items() if k not in num}
    everything = np.arange(d)
    group_key = next((k for k, v in cat.items() if len(set(v)) < d), None)
    if group_key is not None:
        values = cat[group_key]
        order = list(dict.fromkeys(values))
        xkey = next(iter(num), None)
        other = next((k for k in cat if k != group_key), None)
        panels = []
        for g in order:
            idx = np.array([i for i, v in enumerate(values) if v == g])
            if xkey is not None:
                idx = idx[np.argsort(num[xkey][idx], kind="stable")]  # e.g. an appended seed threshold
                panels.append(_Panel(g, idx, xkey, num[xkey][idx], None))
            elif other is not None:
                panels.append(_Panel(g, idx, other, None, [cat[other][i] for i in idx]))
            else:
                panels.append(_Panel(g, idx, "index", np.arange(idx.size, dtype=float), None))
        return panels
    if len(num) == 1:
        (k, x), = num.items()
        idx = np.argsort(x, kind="stable")
        return [_Panel("", idx, k, x[idx], None)]
    if len(num) > 1:
        keys = list(num)
        labels = ["(" + ", ".join(fmt_number(num[k][i], 3) for k in keys) + ")" for i in range(d)]
        return [_Panel("", everything, ", ".join(keys), None, labels)]
    if cat:
        k, v = next(iter(cat.items()))
        return [_Panel("", everything, k, None, v)]
    for k, v in short.items():
        x = _numeric(v)
        if x is not None and d % len(x) == 0 and d // len(x) > 1:
            ng, nx = d // len(x), len(x)
            return [_Panel(f"group {g + 1}", np.arange(g * nx, (g + 1) * nx), k, x, None) for g in range(ng)]
    return [_Panel("", everything, "index", np.arange(d, dtype=float), None)]


# --------------------------------------------------------------------------------------------------
# drawing helpers


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _band(ax, x, mean, std, color, label, *, scale: Callable | None = None, lw: float = 1.6, marker=None,
          floor: "float | None" = None):
    lo, hi = mean - std, mean + std
    if scale is not None:
        mean, lo, hi = scale(mean), scale(lo), scale(hi)
    if floor is not None:  # log axes: a band reaching 0 would fill down to the axis edge
        lo = np.maximum(lo, floor)
    ax.fill_between(x, lo, hi, color=color, alpha=0.22, lw=0)
    ax.plot(x, mean, color=color, lw=lw, label=label, marker=marker, ms=3)


def _pair(ax, x, c, idx=slice(None), *, scale=None, marker=None, floor=None):
    _band(ax, x, c["ref_mean"][idx], c["ref_std"][idx], REF_COLOR, "reference (mean ± 1σ)", scale=scale,
          marker=marker, floor=floor)
    _band(ax, x, c["model_mean"][idx], c["model_std"][idx], MODEL_COLOR, "model (mean ± 1σ)", scale=scale,
          marker=marker, floor=floor)


def _categorical(ax, labels, c, idx=slice(None)):
    """Model and reference means ± 1σ as offset error bars over categories."""
    pos = np.arange(len(labels))
    ax.errorbar(pos - 0.12, c["ref_mean"][idx], yerr=c["ref_std"][idx], fmt="o", color=REF_COLOR, capsize=3,
                label="reference (mean ± 1σ)")
    ax.errorbar(pos + 0.12, c["model_mean"][idx], yerr=c["model_std"][idx], fmt="s", color=MODEL_COLOR, capsize=3,
                label="model (mean ± 1σ)")
    ax.set_xticks(pos, labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _log_floor(*arrays) -> "float | None":
    """Lower y limit for a log axis over these curves (None when they are not all positive)."""
    vals = np.concatenate([np.ravel(a) for a in arrays])
    vals = vals[np.isfinite(vals)]
    if not vals.size or np.any(vals <= 0):
        return None
    return max(vals.min() / 3.0, vals.max() * 1e-6)


def _xlabel(name: str) -> str:
    return {"k": "k [h/Mpc]", "log10(1+delta)": "log10(1+δ)", "theta": "θ [rad]", "height": "peak height",
            "k1, k2, k3": "triangle (k1, k2, k3) [h/Mpc]",
            "threshold": "threshold δ", "index": "summary component"}.get(name, name)


# --------------------------------------------------------------------------------------------------
# figures: each returns a Figure or None (nothing to draw)


def _fig_power(result: dict):
    c = _curve(result, "power")
    if c is None:
        return None
    k = _numeric(c["coords"].get("k")) if c["coords"].get("k") is not None else None
    if k is None or k.size != c["model_mean"].size or np.any(k <= 0):
        k, klabel = np.arange(1, c["model_mean"].size + 1, dtype=float), "k bin"
    else:
        klabel = "k [h/Mpc]"
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
        bot.yaxis.set_minor_formatter(_null_formatter())
    else:
        pad = 0.05 * (hi - lo)
        bot.set_ylim(max(lo - pad, 0.0), hi + pad)
    if klabel.startswith("k ["):
        from matplotlib.ticker import LogLocator, NullFormatter

        bot.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        bot.xaxis.set_major_formatter(_plain_formatter())
        bot.xaxis.set_minor_formatter(NullFormatter())
    track = result.get("track") or {}
    pix = track.get("pixel_size")
    if klabel.startswith("k [") and isinstance(pix, (int, float)) and pix > 0:
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


def _null_formatter():
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _log_x(ax):
    """Log x axis labelled 0.1, 0.2, 0.5, 1, 2, 5... in plain numbers."""
    from matplotlib.ticker import LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(_plain_formatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plain_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:g}")


def _fig_pdf(result: dict):
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
        ax.set_xlabel(_xlabel(name))
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


def _fig_onepoint(result: dict):
    """Mean δ and moments (variance, skewness, kurtosis): one panel per quantity, since scales differ."""
    panels = []
    c = _curve(result, "mean")
    if c is not None:
        panels += [("mean δ", c, i) for i in range(c["model_mean"].size)]
    c = _curve(result, "moments")
    if c is not None:
        panel = _layout(c["coords"], c["model_mean"].size)[0]
        labels = panel.labels if len(panel.idx) == c["model_mean"].size else None
        nice = {"var": "variance of δ", "skew": "skewness of δ", "kurt": "excess kurtosis of δ"}
        default = ["variance of δ", "skewness of δ", "kurtosis of δ"]
        if labels is not None:
            labels = [nice.get(v, v) for v in labels]
        else:
            labels = default if c["model_mean"].size == 3 else [f"moment {i + 1}" for i in range(c["model_mean"].size)]
        panels += [(labels[i], c, i) for i in range(c["model_mean"].size)]
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


def _fig_grid(result: dict, stat: str, title: str, ylabel: "str | None" = None, logy: bool = False,
              titles: "dict[str, str] | None" = None, xlabels: "dict[str, str] | None" = None,
              delta_threshold: bool = False):
    """A summary split into panels by its coords (see :func:`_layout`): model vs reference in each."""
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
                      (xlabels or {}).get(p.xname) or _xlabel(p.xname))
        panel_title = (titles or {}).get(p.title, p.title)
        ax.set_ylabel(ylabel or panel_title or stat)
        if panel_title:
            ax.set_title(panel_title, fontsize=10)
        ax.grid(alpha=0.25)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{title} — {_model_name(result)} vs {_source_name(result)}")
    return fig


def _fig_minkowski(result: dict):
    c = _curve(result, "minkowski")
    if c is None:
        return None
    d = c["model_mean"].size
    coords = dict(c["coords"])
    if not any(isinstance(v, (list, tuple)) and len(v) == d and _numeric(v) is None for v in coords.values()) and d % 3 == 0:
        # (3, nt) flattened without a functional label: V0, V1, V2 are the outer axis
        nt = d // 3
        th = next((_numeric(v) for v in coords.values() if isinstance(v, (list, tuple)) and len(v) in (nt, d)
                   and _numeric(v) is not None), None)
        th = np.arange(nt, dtype=float) if th is None else th[:nt]
        coords = {"threshold": np.tile(th, 3).tolist(), "functional": np.repeat(["V0", "V1", "V2"], nt).tolist()}
    result = {**result, "curves": {**result["curves"], "minkowski": {**result["curves"]["minkowski"], "coords": coords}}}
    return _fig_grid(result, "minkowski", "Minkowski functionals vs threshold",
                     delta_threshold=True, titles={"V0": "V0 (area fraction)", "V1": "V1 (boundary length)", "V2": "V2 (Euler characteristic)"})


def _fig_structures(result: dict):
    return _fig_grid(result, "structures", "Structures above threshold (per map, mean ± 1σ)", delta_threshold=True, titles={
        "n": "number of structures", "log_area": "log10 mean area [px]", "largest": "largest structure",
        "filamentarity": "filamentarity", "mass_frac": "mass fraction in structures"})


def _fig_peaks(result: dict):
    return _fig_grid(result, "peaks", "Peak counts per map vs height", ylabel="peaks per map", logy=True,
                     xlabels={"log10(1+delta)": "peak height log10(1+δ)"})


def _fig_bispectrum(result: dict):
    return _fig_grid(result, "bispectrum", "Reduced bispectrum Q", ylabel="Q(k1, k2, k3)")


def _fig_diversity(result: dict):
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
    left.set_xlabel("feature (block mean of log10(1+δ))" if d == 256 else "feature")
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
        right.axvline(float(np.median(ratio)), color=MODEL_COLOR, lw=1.5, label=f"median {np.median(ratio):.2f}")
        right.legend(fontsize=8)
    right.set_xlabel("model spread / reference spread")
    right.set_ylabel("features")
    right.set_title("< 1: less diverse than the reference")
    fig.suptitle(f"Diversity — {_model_name(result)} vs {_source_name(result)}")
    return fig


def _fig_maps(result: dict, maps: "tuple[np.ndarray, np.ndarray] | None"):
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
    fig.suptitle("Maps: reference (top row) and model (bottom row), shared colour scale")
    track = result.get("track") or {}
    if isinstance(track.get("pixel_size"), (int, float)) and isinstance(track.get("tile"), int):
        side = track["pixel_size"] * track["tile"]
        fig.suptitle(f"Maps: reference (top row) and model (bottom row), {fmt_number(side)} Mpc/h on a side, shared colour scale")
    return fig


def verdict(ratio: "float | None", rci: "tuple[float, float] | None" = None, higher_is_better: bool = False) -> str:
    """Deprecated: use :func:`cosmobench.presentation.verdict` on the metric's dict."""
    warnings.warn("cosmobench.report.verdict is deprecated; use cosmobench.presentation.verdict(metric)",
                  DeprecationWarning, stacklevel=2)
    extra = {"ratio_ci": list(rci)} if rci is not None else {}
    return presentation.verdict({"ratio": ratio, "higher_is_better": higher_is_better, "extra": extra})


def _metric_rows(result: dict) -> list[dict]:
    rows = []
    for name, m in (result.get("metrics") or {}).items():
        if not isinstance(m, dict):
            continue
        f = lambda key: (float(m[key]) if isinstance(m.get(key), (int, float)) else float("nan"))  # noqa: E731
        ci = m.get("ci") if isinstance(m.get("ci"), (list, tuple)) and len(m.get("ci")) == 2 else None
        if ci is not None and any(not isinstance(v, (int, float)) for v in ci):
            ci = None
        hib = bool(m.get("higher_is_better", False))
        rci = ratio_ci(m)
        rows.append({"name": name, "distance": str(m.get("distance", "")), "version": str(m.get("version", "")),
                     "value": f("value"), "floor": f("floor"), "ratio": f("ratio"), "ci": ci, "rci": rci,
                     "higher_is_better": hib, "verdict": presentation.verdict(m, name),
                     "color": presentation.verdict_color(m)})
    return rows


def _fig_xfloor(result: dict):
    rows = [r for r in _metric_rows(result) if np.isfinite(r["ratio"]) and r["ratio"] > 0]
    if not rows:
        return None
    rows = rows[::-1]  # first metric on top
    fig = _figure(7.5, 0.45 * len(rows) + 1.6)
    ax = fig.subplots()
    y = np.arange(len(rows))
    ratios = np.array([r["ratio"] for r in rows])
    colors = [r["color"] for r in rows]
    ax.barh(y, ratios - 1.0, left=1.0, color=colors, height=0.6)  # bars grow from the floor (×1)
    right_end = ratios.copy()
    for i, r in enumerate(rows):
        if r["rci"] is not None:
            lo, hi = r["rci"]
            if lo > 0 and hi > 0:
                ax.plot([lo, hi], [i, i], color="k", lw=1.2, marker="|", ms=8)
                right_end[i] = max(right_end[i], hi)
        ax.text(max(right_end[i], 1.0) * 1.08, i, f"{fmt_ratio(r['ratio'])} {r['verdict']}", va="center", fontsize=8)
    ax.axvline(1.0, color="k", lw=1.2, ls="--", label="×1 = fresh reference draw (noise floor)")
    ax.set_yticks(y, [r["name"] + (" (↑ better)" if r["higher_is_better"] else "") for r in rows])
    ax.set_xscale("log")
    from matplotlib.ticker import LogLocator, NullFormatter

    hi = max(right_end.max() * 4.0, 4.0)
    lo = min(ratios.min(), 1.0) / 1.6
    ax.set_xlim(lo, hi)
    if hi / lo < 1e3:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(_plain_formatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("×floor = distance / distance of a fresh reference draw of the same size (log scale)")
    comp = (result.get("composite") or {}).get("value")
    title = "Distance to the reference in units of its noise floor"
    if isinstance(comp, (int, float)):
        ax.axvline(comp, color="0.3", lw=1, ls=":", label=f"composite {fmt_ratio(comp)}")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.25, axis="x", which="both")
    return fig


def _model_name(result: dict) -> str:
    return str((result.get("model") or {}).get("name") or "model")


def _source_name(result: dict) -> str:
    return str((result.get("reference") or {}).get("source") or "reference")


# --------------------------------------------------------------------------------------------------
# HTML


_FIGURES: list[tuple[str, str, str]] = [  # (key, title, caption)
    ("xfloor", "Score card", "Each bar is a metric's distance divided by its noise floor (the distance a fresh draw "
     "of reference maps of the same size gets); black lines: confidence interval of ×floor; dashed line: ×1."),
    ("power", "Power spectrum", "Mean P(k) over maps with ±1σ bands (spread over maps). Lower panel: model / reference, "
     "with the reference's ±1σ band. The grey region k > k_Nyquist/2 is affected by the pixel grid."),
    ("pdf", "Pixel PDF", "Distribution of log10(1+δ) per map, mean ± 1σ over maps; the log panel shows the tails."),
    ("onepoint", "One-point statistics", "Mean δ, variance, skewness and kurtosis of δ per map (mean ± 1σ over maps)."),
    ("minkowski", "Minkowski functionals", "V0 (area), V1 (boundary length), V2 (Euler characteristic) of the excursion "
     "sets vs threshold."),
    ("structures", "Structures", "Connected regions above threshold: per-map statistics, mean ± 1σ over maps."),
    ("peaks", "Peaks", "Number of local maxima per map vs height."),
    ("bispectrum", "Bispectrum", "Reduced bispectrum Q of the configurations of the track."),
    ("diversity", "Diversity", "Spread over maps of each coarse feature; a mode-collapsed model has a smaller spread."),
    ("maps", "Maps", "Random maps from the model beside reference maps, log10(2+δ) on one shared colour scale."),
]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em} th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right}
th{background:#f4f4f4} td.l,th.l{text-align:left} .verdict{font-weight:600;border-radius:3px;padding:.1em .4em;color:#fff}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#555;font-size:.9em}
.big{font-size:1.3em;font-weight:600} .muted{color:#777;font-size:.9em} code{background:#f6f6f6;padding:0 .2em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em} dt{font-weight:600} dd{margin:0}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _dl(items: list[tuple[str, Any]]) -> str:
    out = ["<dl>"]
    for k, v in items:
        if v is None or v == "" or v == {}:
            continue
        if isinstance(v, (dict, list)):
            v = json.dumps(v, default=str)
        out.append(f"<dt>{_e(k)}</dt><dd><code>{_e(v)}</code></dd>")
    out.append("</dl>")
    return "\n".join(out)


def _validity_banner(result: dict) -> str:
    """A warning paragraph when some of the model's maps were physically invalid (else empty)."""
    m = (result.get("metrics") or {}).get("validity")
    flag = presentation.validity_flag(m)
    if not flag:
        return ""
    rule = (m.get("extra") or {}).get("rule", "")
    return (f"<p class=warn style='border-left:4px solid #d62728;padding:.3em .6em'><b>Invalid maps: {_e(flag)}.</b> "
            f"<span class=muted>Scored by the rule: {_e(rule)}.</span></p>")


def _html(result: dict, result_path: Path, images: list[tuple[str, str, str, bytes]]) -> str:
    model, ref, track = result.get("model") or {}, result.get("reference") or {}, result.get("track") or {}
    comp = (result.get("composite") or {}).get("value")
    rows = _metric_rows(result)
    table = ["<table><tr><th class=l>metric</th><th class=l>distance</th><th>value</th><th>CI (value)</th>"
             "<th>floor</th><th>×floor</th><th>CI (×floor)</th><th class=l>verdict</th></tr>"]
    for r in rows:
        ci = fmt_interval(*(r["ci"] or (None, None)))
        rci = fmt_interval(*(r["rci"] or (None, None)), fmt=fmt_ratio)
        hib = " (higher is better)" if r["higher_is_better"] else ""
        color = r["color"]
        table.append(
            f"<tr><td class=l>{_e(r['name'])} <span class=muted>v{_e(r['version'])}</span></td>"
            f"<td class=l>{_e(r['distance'])}{_e(hib)}</td><td>{fmt_number(r['value'])}</td><td>{ci}</td>"
            f"<td>{fmt_number(r['floor'])}</td><td><b>{fmt_ratio(r['ratio'])}</b></td><td>{rci}</td>"
            f"<td class=l><span class=verdict style='background:{color}'>{_e(r['verdict'])}</span></td></tr>"
        )
    table.append("</table>")
    comp_txt = fmt_ratio(comp)
    comp_def = (result.get("composite") or {}).get("definition", "geometric mean of the ×floor ratios")
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>cosmobench report — {_e(_model_name(result))}</title><style>{_CSS}</style></head><body>",
        f"<h1>cosmobench report: {_e(_model_name(result))}</h1>",
        f"<p class=muted>Result file <code>{_e(result_path.name)}</code> · track <code>{_e(track.get('name', '?'))}</code> · "
        f"reference <code>{_e(ref.get('source', '?'))}</code> ({_e(str(ref.get('content_hash', ''))[:12])}) · "
        f"n = {_e(result.get('n', '?'))} · seed {_e(result.get('seed', '?'))} · {_e(result.get('date', ''))}</p>",
        f"<p><span class=big>composite {comp_txt}</span> <span class=muted>({_e(comp_def)}; 1 = indistinguishable "
        "from a fresh draw of reference maps of the same size, lower is better)</span></p>",
        _validity_banner(result),
        "<h2>Metrics</h2>",
        "<p class=muted>value: distance between model and reference summaries · floor: the same distance for a fresh "
        "reference draw of the same size · ×floor = value / floor · CI: bootstrap interval over the model maps · "
        f"verdict: {_e(presentation.VERDICT_RULE)}</p>",
        "\n".join(table),
    ]
    captions = {k: (t, c) for k, t, c in _FIGURES}
    for key, fname, _, data in images:
        title, caption = captions.get(key, (key, ""))
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f"<h2>{_e(title)}</h2><figure><img src=\"data:image/png;base64,{b64}\" alt=\"{_e(title)}\">"
                     f"<figcaption>{_e(caption)} <span class=muted>({_e(fname)})</span></figcaption></figure>")
    wall = result.get("wall_time") or {}
    parts += [
        "<h2>Provenance</h2><h3>Model</h3>",
        _dl([("name", model.get("name")), ("spec", model.get("spec")), ("kind", model.get("kind")),
             ("checkpoint sha256", model.get("checkpoint_sha256")), ("info", model.get("info"))]),
        "<h3>Reference</h3>",
        _dl([("source", ref.get("source")), ("content hash", ref.get("content_hash")), ("split", ref.get("split")),
             ("maps compared", ref.get("n_compare")), ("maps for the floor", ref.get("n_floor")),
             ("floor split", ref.get("floor_split")), ("summaries", ref.get("summaries"))]),
        "<h3>Track</h3>",
        _dl([(k, v) for k, v in track.items()]),
        "<h3>Run</h3>",
        _dl([("n (model maps)", result.get("n")), ("seed", result.get("seed")), ("date", result.get("date")),
             ("cosmobench", result.get("cosmobench_version")), ("git commit", result.get("git_commit")),
             ("schema version", result.get("schema_version")),
             ("wall time [s]", {k: round(v, 2) if isinstance(v, (int, float)) else v for k, v in wall.items()})]),
        f"<p class=muted>Generated by <code>cosmobench report</code> on "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; self-contained (images embedded).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------------
# entry point


def make_report(result_path: "str | os.PathLike", out_dir: "str | os.PathLike | None" = None) -> Path:
    """Write the PNG figures and the self-contained HTML report of one result.

    Parameters
    ----------
    result_path : path-like
        A result JSON written by ``cosmobench evaluate``. A companion ``<stem>.maps.npz`` (arrays
        ``model`` and ``reference``) next to it adds the map grid; without it the grid is skipped.
    out_dir : path-like, optional
        Output directory (created if needed); default ``<result dir>/<stem>_report``.

    Returns
    -------
    Path
        The HTML page, ``<out_dir>/<stem>.html``. The PNGs are ``<out_dir>/<stem>_<figure>.png``.

    Raises
    ------
    CosmobenchError
        If the result file is missing or not a result.
    """
    path = Path(result_path)
    result = _load(path)
    stem = _stem(path)
    out = Path(out_dir) if out_dir is not None else path.parent / f"{stem}_report"
    out.mkdir(parents=True, exist_ok=True)
    maps = _load_maps(path)
    builders: dict[str, Callable[[], Any]] = {
        "xfloor": lambda: _fig_xfloor(result),
        "power": lambda: _fig_power(result),
        "pdf": lambda: _fig_pdf(result),
        "onepoint": lambda: _fig_onepoint(result),
        "minkowski": lambda: _fig_minkowski(result),
        "structures": lambda: _fig_structures(result),
        "peaks": lambda: _fig_peaks(result),
        "bispectrum": lambda: _fig_bispectrum(result),
        "diversity": lambda: _fig_diversity(result),
        "maps": lambda: _fig_maps(result, maps),
    }
    images = []
    for key, _, _ in _FIGURES:
        fig = builders[key]()
        if fig is None:
            continue
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=_DPI)
        data = buf.getvalue()
        png = out / f"{stem}_{key}.png"
        with atomic_path(png, suffix=".png") as tmp:
            tmp.write_bytes(data)
        images.append((key, png.name, "", data))
    html_path = out / f"{stem}.html"
    atomic_write_text(html_path, _html(result, path, images))
    return html_path
