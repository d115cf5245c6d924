"""The leaderboard page's plot of per-metric ×floor across models: inline SVG written in Python.

No plotting library and no script: the page must open from disk on a machine without internet, and a
string of SVG elements is small, themable from CSS (``currentColor``, CSS variables) and printable.
Every text that comes from a result file (model and metric names) is escaped.
"""

from __future__ import annotations

import math
from html import escape

from cosmobench.presentation import fmt_decade, fmt_ratio

__all__ = ["ratio_plot", "PALETTE"]

#: Colour-blind-safe categorical colours (Okabe–Ito), one per model, cycled.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

_W, _H = 760, 330
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 170, 16, 74


def ratio_plot(metrics: list[str], series: list[tuple[str, list["float | None"]]], *, title: str) -> str:
    """An SVG line plot of ×floor (log axis) per metric, one line per model.

    Parameters
    ----------
    metrics : list of str
        The x categories, in column order.
    series : list of (str, list of float or None)
        Per model: its label and its ×floor per metric (None or non-positive: not drawn).
    title : str
        Accessible name of the figure (``<title>`` and ``aria-label``).

    Returns
    -------
    str
        One ``<svg>`` element, or ``""`` when there is nothing to draw.
    """
    values = [v for _, vs in series for v in vs if v is not None and v > 0 and math.isfinite(v)]
    if not metrics or not values:
        return ""
    lo = math.floor(math.log10(min(min(values), 1.0)))
    hi = math.ceil(math.log10(max(max(values), 10.0)))
    pw, ph = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    step = pw / max(len(metrics) - 1, 1)

    def x(i: int) -> float:
        return _LEFT + (i * step if len(metrics) > 1 else pw / 2)

    def y(v: float) -> float:
        return _TOP + ph * (hi - math.log10(v)) / (hi - lo)

    out = [f'<svg class="ratio-plot" viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(title)}">'
           f'<title>{escape(title)}</title>']
    for e in range(lo, hi + 1):  # decade grid lines, ×1 dashed (a fresh reference draw)
        yy = y(10.0 ** e)
        cls = "one" if e == 0 else "grid"
        out.append(f'<line class="{cls}" x1="{_LEFT}" x2="{_LEFT + pw}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
                   f'<text class="tick" x="{_LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{fmt_decade(e)}</text>')
    for i, m in enumerate(metrics):
        out.append(f'<text class="tick" transform="translate({x(i):.1f},{_TOP + ph + 10}) rotate(40)">{escape(m)}</text>')
    for k, (label, vs) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        pts = [(x(i), y(v), v, metrics[i]) for i, v in enumerate(vs)
               if v is not None and v > 0 and math.isfinite(v)]
        if not pts:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in pts)
        out.append(f'<g class="series" style="color:{color}"><polyline points="{path}"/>')
        for px, py, v, m in pts:
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.2"><title>{escape(label)} — {escape(m)}: '
                       f'{escape(fmt_ratio(v))}</title></circle>')
        ly = _TOP + 14 * k + 6
        out.append(f'<line x1="{_W - _RIGHT + 12}" x2="{_W - _RIGHT + 30}" y1="{ly}" y2="{ly}"/>'
                   f'<text class="legend" x="{_W - _RIGHT + 35}" y="{ly + 4}">{escape(label)}</text></g>')
    out.append("</svg>")
    return "".join(out)
