"""Drawing helpers of the report's figures (matplotlib Figure on the Agg canvas, never pyplot)."""

from __future__ import annotations

from typing import Callable

import numpy as np

MODEL_COLOR = "C0"  # blue, as the seed report's generated maps

REF_COLOR = "C3"  # red, as the seed report's training maps

_DPI = 110


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
