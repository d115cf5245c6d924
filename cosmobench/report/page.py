"""The report's self-contained HTML page: metrics table, embedded figures, provenance."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path
from typing import Any

from cosmobench import presentation
from cosmobench.presentation import fmt_interval, fmt_number, fmt_ratio
from cosmobench.report._curves import _model_name
from cosmobench.report.figures import FigureSpec, metric_rows
from cosmobench.results import COMPOSITE_DEFINITION, SCHEMA_VERSION, Result

__all__ = ["page"]

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

def _validity_banner(result: Result) -> str:
    """A warning paragraph when some of the model's maps were physically invalid (else empty)."""
    m = result.metrics.get("validity")
    flag = presentation.validity_flag(m)
    if not flag:
        return ""
    rule = (m.extra or {}).get("rule", "")
    return (f"<p class=warn style='border-left:4px solid #d62728;padding:.3em .6em'><b>Invalid maps: {_e(flag)}.</b> "
            f"<span class=muted>Scored by the rule: {_e(rule)}.</span></p>")


def page(result: Result, result_path: Path, images: "list[tuple[FigureSpec, str, bytes]]") -> str:
    """The report's HTML: ``images`` are ``(figure, png file name, png bytes)`` in page order."""
    model, ref, track = result.model, result.reference, result.track.to_dict()
    rows = metric_rows(result)
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
    comp_txt = fmt_ratio(result.composite)
    comp_def = COMPOSITE_DEFINITION
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>cosmobench report — {_e(_model_name(result))}</title><style>{_CSS}</style></head><body>",
        f"<h1>cosmobench report: {_e(_model_name(result))}</h1>",
        f"<p class=muted>Result file <code>{_e(result_path.name)}</code> · track <code>{_e(track.get('name', '?'))}</code> · "
        f"reference <code>{_e(ref.get('source', '?'))}</code> ({_e(str(ref.get('content_hash', ''))[:12])}) · "
        f"n = {_e(result.n)} · seed {_e(result.seed)} · {_e(result.date)}</p>",
        f"<p><span class=big>composite {comp_txt}</span> <span class=muted>({_e(comp_def)}; 1 = indistinguishable "
        "from a fresh draw of reference maps of the same size, lower is better)</span></p>",
        _validity_banner(result),
        "<h2>Metrics</h2>",
        "<p class=muted>value: distance between model and reference summaries · floor: the same distance for a fresh "
        "reference draw of the same size · ×floor = value / floor · CI: bootstrap interval over the model maps · "
        f"verdict: {_e(presentation.VERDICT_RULE)}</p>",
        "\n".join(table),
    ]
    for spec, fname, data in images:
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f"<h2>{_e(spec.title)}</h2><figure><img src=\"data:image/png;base64,{b64}\" "
                     f"alt=\"{_e(spec.title)}\"><figcaption>{_e(spec.caption)} <span class=muted>({_e(fname)})</span>"
                     "</figcaption></figure>")
    wall = result.wall_time
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
        _dl([("n (model maps)", result.n), ("seed", result.seed), ("date", result.date),
             ("cosmobench", result.cosmobench_version), ("git commit", result.git_commit),
             ("schema version", SCHEMA_VERSION),
             ("wall time [s]", {k: round(v, 2) if isinstance(v, (int, float)) else v for k, v in wall.items()})]),
        f"<p class=muted>Generated by <code>cosmobench report</code> on "
        f"{_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; self-contained (images embedded).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
