"""The leaderboard as a static web page: ``cosmobench leaderboard --site DIR`` writes ``DIR/index.html``.

One self-contained file (style, script and plots inline; nothing fetched, so it opens from disk on a
machine without internet) built from the same result files and the same sections as the Markdown
leaderboard (:func:`cosmobench.leaderboard.track_sections`), with every number formatted and judged by
:mod:`cosmobench.presentation`. Per reference section: a sortable table (real ``<table>`` markup, sort
buttons in the headers, ``aria-sort``), the composite and per-metric ×floor as small bars coloured by
verdict, filters by family and by training, a link to each row's HTML report when one exists, the
provenance and the reference in a details row, and an SVG plot of per-metric ×floor across models.

Every string that comes from a result file is HTML-escaped (model names are user input), and the script
only moves and hides rows, so no result file can inject markup or code. The page is a pure function of
the result files and reports: rebuilding it without new results gives the same bytes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from cosmobench import presentation as P
from cosmobench._io import atomic_path, atomic_write_text
from cosmobench.errors import CosmobenchError
from cosmobench.leaderboard import collect_results, track_sections
from cosmobench.results import Result
from cosmobench.site._assets import CSS, JS
from cosmobench.site._svg import ratio_plot

__all__ = ["build_site", "find_reports", "screenshot"]

_HASH_CHARS = 8


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def find_reports(*dirs: "str | os.PathLike | None") -> dict[str, Path]:
    """HTML reports under ``dirs`` (recursively), by the stem of their result file (``<stem>.html``)."""
    found: dict[str, Path] = {}
    for d in dirs:
        if d is None or not Path(d).is_dir():
            continue
        for p in sorted(Path(d).rglob("*.html")):
            found.setdefault(p.stem, p)
    return found


def _family(r: Result) -> str:
    fam = (r.model.get("info") or {}).get("family")
    return str(fam) if isinstance(fam, str) and fam else "unspecified"


def _training(r: Result) -> str:
    info = r.model.get("info") or {}
    return "trained" if info.get("trained") or info.get("train_steps") else "not trained"


def _reference_id(r: Result) -> str:
    """The key of a result's leaderboard section: the recipe id of a simulated source (the content hash of
    imported files and of results written before recipe ids), as :mod:`cosmobench.leaderboard` keys it."""
    return str(r.reference.get("recipe_id") or r.reference.get("content_hash") or "")


def _row_results(results: list[tuple[Path, Result]], row: dict, source_hash: str) -> list[tuple[Path, Result]]:
    """The result files behind one leaderboard row, newest first (a re-run of a seed supersedes the old one)."""
    mine = [(p, r) for p, r in results
            if r.model.get("name") == row["model"] and (r.model.get("checkpoint_sha256") or "")[:_HASH_CHARS]
            == row["checkpoint"] and int(r.n) == int(row["n"]) and _reference_id(r) == source_hash]
    mine.sort(key=lambda pr: (pd.Timestamp(pr[1].date), str(pr[0])), reverse=True)
    seen, out = set(), []
    for p, r in mine:
        if r.seed not in seen:
            seen.add(r.seed)
            out.append((p, r))
    return out


def _judged(files: list[tuple[Path, Result]], column: str, ratio: float) -> tuple[str, str]:
    """Verdict (level, words) of one cell: the metric itself for a single file, else the mean ratio over seeds
    (seeds have no joint interval)."""
    name = column.split(" (v")[0]
    metrics = [r.metrics[name] for _, r in files if name in r.metrics]
    if len(files) == 1 and metrics:
        m: Any = metrics[0]
        return P.verdict_level(m), P.verdict(m, name)
    if name == "validity" and metrics:  # no null: the seed with the most invalid maps speaks for the row
        m = min(metrics, key=lambda x: x.value if x.value is not None else -math.inf)
        return P.verdict_level(m), P.verdict(m, name)
    from cosmobench.compare.verdict import MIXED, combine
    from cosmobench.compare.verdict import verdict as _rule

    # Over seeds: flagged when every seed is (the weakest seed's p, as the tables' † and combine() say),
    # graded by the row's (geometric-mean) ratio.
    both = combine([_rule(x, name) for x in metrics])
    m = {"ratio": ratio, "higher_is_better": bool(metrics and metrics[0].higher_is_better)}
    if both.p is not None:
        m.update(p_value=both.p, p_adjusted=both.p)
    words = "mixed over seeds" if both.label == MIXED else P.verdict(m, name)
    return P.verdict_level(m), words


def _factor(ratio: float, hib: bool) -> float:
    """How many floors from the reference (a higher-is-better score mirrored), for the bar's length."""
    if not np.isfinite(ratio):
        return float("nan")
    return ratio if not hib else (1.0 / ratio if ratio > 0 else math.inf)


def _bar_scale(x: float) -> float:
    return math.log10(max(x, 0.1)) + 1.0  # ×0.1 → 0, ×1 → 1, ×10 → 2 ...


def _ratio_cell(ratio: float, judged: tuple[str, str], width: float, cls: str = "ratio") -> str:
    level, words = judged
    text = P.fmt_ratio(ratio)
    v = "" if not np.isfinite(ratio) else f"{ratio:.6g}"
    bar = (f'<span class="track"><span class="bar" style="width:{width:.1f}%"></span></span>'
           if np.isfinite(ratio) else "")
    return (f'<td class="{cls} lvl-{level}" data-v="{v}" title="verdict: {_e(words)}">'
            f'<span class="cell">{bar}<span>{_e(text)}</span></span></td>')


def _dl(items: list[tuple[str, Any]]) -> str:
    out = ["<dl>"]
    for k, v in items:
        if v is None or v == "" or v == {} or v == []:
            continue
        if isinstance(v, list) and all(isinstance(x, (str, int, float)) for x in v):
            v = ", ".join(str(x) for x in v)
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, default=str, ensure_ascii=False)
        out.append(f"<dt>{_e(k)}</dt><dd><code>{_e(v)}</code></dd>")
    out.append("</dl>")
    return "".join(out)


def _details(files: list[tuple[Path, Result]], ncols: int, row_id: str) -> str:
    _, r = files[0]
    m, ref = r.model, r.reference
    known = ("source", "content_hash", "split", "n_compare", "n_floor", "floor_split", "summaries")
    body = [
        "<h4>Model</h4>",
        _dl([("name", m.get("name")), ("spec", m.get("spec")), ("kind", m.get("kind")),
             ("checkpoint sha256", m.get("checkpoint_sha256"))]
            + [(f"info.{k}", v) for k, v in (m.get("info") or {}).items()]),
        "<h4>Reference</h4>",
        _dl([("source", ref.get("source")), ("content hash", ref.get("content_hash")), ("split", ref.get("split")),
             ("maps compared", ref.get("n_compare")), ("maps for the floor", ref.get("n_floor")),
             ("floor split", ref.get("floor_split")), ("summaries", ref.get("summaries"))]
            + [(k, v) for k, v in ref.items() if k not in known]
            + [("track", r.track.name), ("track description", r.track.description)]),
        "<h4>Runs</h4>",
        _dl([("result files", [p.name for p, _ in files]), ("seeds", sorted(x.seed for _, x in files)),
             ("cosmobench", sorted({x.cosmobench_version for _, x in files})),
             ("git commit", sorted({x.git_commit or "" for _, x in files} - {""})),
             ("dates", sorted({x.date for _, x in files})),
             ("wall time of the newest", ", ".join(f"{k} {P.fmt_seconds(v)}" for k, v in r.wall_time.items()))]),
    ]
    return (f'<tr class="details" id="{row_id}" hidden><td colspan="{ncols}">' + "".join(body) + "</td></tr>")


def _section_html(sid: str, source: str, source_hash: str, frame: pd.DataFrame,
                  results: list[tuple[Path, Result]], reports: dict[str, Path], site_dir: Path) -> str:
    metrics = [c for c in frame.columns if f"{c}_xfloor" in frame.columns]
    rows = frame.to_dict("records")
    files_of = [_row_results(results, row, source_hash) for row in rows]
    hib = {c: any(r.metrics[c.split(" (v")[0]].higher_is_better for fs in files_of for _, r in fs
                  if c.split(" (v")[0] in r.metrics) for c in metrics}
    factors = [_factor(row[f"{c}_xfloor"], hib[c]) for row in rows for c in metrics] + [row["composite"] for row in rows]
    top = max([_bar_scale(f) for f in factors if np.isfinite(f)] + [1.0])
    width = lambda f: 100.0 * min(_bar_scale(f), top) / top if np.isfinite(f) else 0.0  # noqa: E731

    head = ['<th scope="col" aria-sort="none" data-type="num"><button class="sort" type="button">#</button></th>',
            '<th scope="col" class="l" aria-sort="none" data-type="text"><button class="sort" type="button">model'
            '</button></th>',
            '<th scope="col" aria-sort="ascending" data-type="num"><button class="sort" type="button" '
            'title="geometric mean of the metrics\' ×floor">composite</button></th>']
    for c in metrics:
        info = P.metric_info(c.split(" (v")[0])
        arrow = " ↑" if hib[c] else ""
        head.append(f'<th scope="col" aria-sort="none" data-type="num"><button class="sort" type="button" '
                    f'title="{_e(info.label)}: {_e(info.description)}">{_e(c)}{arrow}</button></th>')
    head += ['<th scope="col" aria-sort="none" data-type="num"><button class="sort" type="button">n</button></th>',
             '<th scope="col" class="l">seeds</th>' if (frame["n_seeds"] > 1).any() else "",
             '<th scope="col" class="l" aria-sort="none" data-type="text"><button class="sort" type="button">date'
             '</button></th>',
             '<th scope="col" class="l">report</th>']
    body = []
    for i, (row, files) in enumerate(zip(rows, files_of)):
        rid = f"{sid}-r{i + 1}"
        newest = files[0][1] if files else None
        family = _family(newest) if newest else "unspecified"
        training = _training(newest) if newest else "not trained"
        stem = next((p.name[:-5] for p, _ in files if p.name[:-5] in reports), None)
        if stem is not None:
            href = quote(Path(os.path.relpath(reports[stem], site_dir)).as_posix())
            link = f'<a href="{_e(href)}">report</a>'
        else:
            link = f'<span class="muted">{P.DASH}</span>'
        ckpt = f'<span class="tag" title="checkpoint sha256">ckpt {_e(row["checkpoint"])}</span>' if row["checkpoint"] else ""
        comp = P.fmt_ratio(row["composite"])
        comp_lvl = P.verdict_level({"ratio": row["composite"]})
        comp_cell = _ratio_cell(row["composite"], (comp_lvl, P.level_word(comp_lvl)), width(row["composite"]),
                                cls="comp")
        if np.isfinite(row["composite_sd"]):
            comp_cell = comp_cell.replace(f"<span>{_e(comp)}</span>",
                                          f"<span>{_e(comp)} ± {_e(P.fmt_number(row['composite_sd'], 2))}</span>")
        cells = [f'<td data-v="{row["rank"]}">{row["rank"]}</td>',
                 f'<td class="l name" data-v="{_e(row["model"])}"><span class="model">{_e(row["model"])}</span>{ckpt}'
                 f'<span class="tag">{_e(family)}</span><span class="tag">{_e(training)}</span>'
                 f'<button class="more" type="button" aria-expanded="false" aria-controls="{rid}-d" '
                 f'aria-label="details of {_e(row["model"])}">details</button></td>',
                 comp_cell]
        for c in metrics:
            ratio = row[f"{c}_xfloor"]
            cells.append(_ratio_cell(ratio, _judged(files, c, ratio), width(_factor(ratio, hib[c]))))
        cells += [f'<td data-v="{row["n"]}">{row["n"]}</td>',
                  f'<td class="l">{_e(row["seeds"])}</td>' if (frame["n_seeds"] > 1).any() else "",
                  f'<td class="l date" data-v="{_e(row["date"])}">{_e(row["date"][:10])}</td>', f'<td class="l">{link}</td>']
        body.append(f'<tr class="row" data-rank="{row["rank"]}" data-family="{_e(family)}" '
                    f'data-training="{_e(training)}" data-details="{rid}-d">' + "".join(cells) + "</tr>")
        if files:
            body.append(_details(files, sum(1 for h in head if h), f"{rid}-d"))
    plot = ratio_plot(metrics, [(str(row["model"]) + (f" [{row['checkpoint']}]" if row["checkpoint"] else ""),
                                 [row[f"{c}_xfloor"] if np.isfinite(row[f"{c}_xfloor"]) else None for c in metrics])
                                for row in rows],
                      title=f"×floor per metric and model, reference {source} ({source_hash[:_HASH_CHARS]})")
    return (f'<section aria-labelledby="{sid}-h"><h2 id="{sid}-h">Reference <code>{_e(source)}</code> '
            f'<span class="muted">reference id <code title="{_e(source_hash)}">{_e(source_hash[:_HASH_CHARS])}</code>'
            f'</span></h2><p class="muted"><span class="count"></span> · sorted by composite, lower is better; '
            f'bars: ×floor on a log scale, coloured by verdict.</p>'
            f'<div class="scroll"><table class="lb" id="{sid}"><caption class="muted">Leaderboard against reference '
            f'{_e(source)} ({_e(source_hash[:_HASH_CHARS])})</caption><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>'
            f'<h3>×floor per metric across models</h3>{plot}</section>')


def _options(values: list[str], label: str) -> str:
    opts = [f'<option value="">all {label}</option>'] + [f'<option value="{_e(v)}">{_e(v)}</option>' for v in values]
    return "".join(opts)


def build_site(results_dir: "str | os.PathLike" = "leaderboards/results", out_dir: "str | os.PathLike" = "leaderboards/site",
               reports_dirs: "list[str | os.PathLike] | None" = None) -> Path:
    """Write the leaderboard web page ``<out_dir>/index.html`` from every result file under ``results_dir``.

    Parameters
    ----------
    results_dir : path-like
        Directory searched recursively for result files, as for :func:`cosmobench.leaderboard.build_leaderboards`.
    out_dir : path-like
        Directory of the page (created if needed; the file is written atomically).
    reports_dirs : list of path-like, optional
        Where HTML reports (``cosmobench report``) are looked for, by the stem of their result file; the
        results directory is always searched too. A row links to its report only when one exists.

    Returns
    -------
    Path
        The page.

    Raises
    ------
    CosmobenchError
        As :func:`cosmobench.leaderboard.collect_results` (missing directory, no or malformed results).
    """
    results = collect_results(results_dir)
    site_dir = Path(out_dir)
    reports = find_reports(*(reports_dirs or []), results_dir)
    families = sorted({_family(r) for _, r in results})
    trainings = sorted({_training(r) for _, r in results})
    newest = max(r.date for _, r in results)
    parts = []
    for t, (track, description, sections) in enumerate(track_sections(results)):
        parts.append(f'<h2 class="trackname">Track <code>{_e(track)}</code></h2>'
                     + (f'<p class="muted">{_e(description)}</p>' if description else ""))
        for s, (source, source_hash, frame) in enumerate(sections):
            parts.append(_section_html(f"t{t + 1}s{s + 1}", source, source_hash, frame, results, reports, site_dir))
    metrics_legend = "".join(f"<li><code>{_e(m.name)}</code> {_e(m.description)}</li>" for m in P.METRICS.values())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><title>cosmobench leaderboard</title><style>{CSS}</style></head>
<body><header><h1>cosmobench leaderboard</h1>
<p class="muted">Generated by <code>cosmobench leaderboard</code> from {len(results)} result file(s), newest
{_e(newest)}; do not edit by hand. Each metric compares summary statistics of <i>n</i> generated maps with
held-out reference maps; ×floor is the distance in units of the distance a fresh reference draw of the same size
gets (×1 = indistinguishable at this n). Only rows within one section are comparable.</p>
<details class="legend"><summary>How to read the table</summary>
<p>composite: geometric mean of the metrics' ×floor (lower is better). Bars: ×floor on a log scale, coloured by
verdict — {_e(P.VERDICT_RULE)} Click a column header (or focus it and press Enter) to sort; "details" shows the
provenance of the row and its reference.</p><ul>{metrics_legend}</ul></details></header>
<div class="controls" role="group" aria-label="filters">
<label for="f-family">family</label><select id="f-family">{_options(families, "families")}</select>
<label for="f-training">training</label><select id="f-training">{_options(trainings, "models")}</select>
</div>
<main>{"".join(parts)}</main>
<script>{JS}</script></body></html>
"""
    path = site_dir / "index.html"
    atomic_write_text(path, page)
    return path


def screenshot(page: "str | os.PathLike", png: "str | os.PathLike", *, width: int = 1480, height: int = 1120) -> Path:
    """A PNG of the page as headless Chromium draws it from disk (for the README), written atomically.

    Raises
    ------
    CosmobenchError
        If no Chromium is installed or it fails.
    """
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise CosmobenchError("--screenshot needs headless Chromium on PATH (apt-get install chromium)")
    png = Path(png)
    with atomic_path(png, suffix=".png") as tmp, tempfile.TemporaryDirectory() as work:
        shot = Path(work) / "shot.png"  # Chromium picks the format from the name, so not the .tmp name
        try:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--window-size={width},{height}", f"--screenshot={shot}", Path(page).resolve().as_uri()],
                           check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            raise CosmobenchError(f"Chromium could not draw {page} ({exc}); run it without --screenshot") from None
        if not shot.is_file() or shot.stat().st_size == 0:
            raise CosmobenchError(f"Chromium wrote no screenshot of {page}; run it without --screenshot")
        shutil.copyfile(shot, tmp)
    return png
