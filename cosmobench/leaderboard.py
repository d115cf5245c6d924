"""Leaderboards built from result files only (pandas → Markdown + CSV), never typed by hand.

``build_leaderboards`` reads every result JSON under a directory and writes, per track,
``<track>.md`` and ``<track>.csv``. Numbers measured against different reference sources are
never compared: each (track, reference id) gets its own section in the Markdown, and its own
``source_hash`` value in the CSV. The reference id is the source's recipe id when the result records
one (simulated sources: two builds of one recipe are one reference), else its content hash.

Rows
----
One row per (model, checkpoint, source hash, n). Several result files for one such row (different
seeds) are **aggregated**: every metric value, every ×floor ratio and the composite are the mean
over seeds; ``seeds`` lists them, ``composite_sd`` is the standard deviation of the composite over
seeds (empty for a single seed), ``date`` is the newest date and ``commit`` lists the distinct short
commits. When the *same* seed was evaluated more than once, only the newest file (by ``date``)
counts, so a re-run supersedes the old file instead of being averaged with it.

Rows are sorted by composite, lower is better; 1 means indistinguishable from a fresh reference draw.
"""

from __future__ import annotations

import os
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosmobench._escape import csv_cell, filename_component, md_cell, md_code, md_text
from cosmobench._io import atomic_write_text
from cosmobench.errors import CosmobenchError
from cosmobench.compare.verdict import MIXED, combine
from cosmobench.compare.verdict import verdict as _one_verdict
from cosmobench.results import Result, load_result
from cosmobench.presentation import DASH, METRIC_ORDER, METRICS, fmt_number, fmt_ratio, metric_sort_key

__all__ = ["build_leaderboards", "collect_results", "leaderboard_frame", "METRIC_ORDER", "EFFECT_COLUMNS"]

#: Effect sizes shown as their own leaderboard columns (effect name -> column header).
EFFECT_COLUMNS = {"pk_dev_linear": "P(k) ≤0.5", "pk_dev_small_scales": "P(k) >0.5",
                  "pdf_dev_bulk": "PDF bulk", "pdf_dev_tails": "PDF tails"}

_HASH_CHARS = 8  # characters of the source content hash shown in tables
_COMMIT_CHARS = 7

_LEGEND_HEAD = """\
**How to read this table.** Each metric compares summary statistics of *n* generated maps with maps
of the reference source (its test split) and reports `value (×floor)`:

- *value* — the metric's distance between model and reference summaries (lower is better, 0 = identical).
- *×floor* — value / null median, where the null is the distance of **sets of real reference maps of the
  same size n** (boxes outside the compare set) to the same reference maps. ×1 means the model is as close
  to the reference as another batch of real maps; ×10 means ten times further.
- † — the metric tells the model from real maps: Holm-adjusted p ≤ 0.05, p being the share of 999 null sets
  at least as far (`cosmobench.compare.verdict`, the rule every output uses). *verdict* lists those metrics.
- *P(k) ≤0.5* / *P(k) >0.5* — max |P_model/P_ref − 1| over 0.03–0.5 h/Mpc and 0.5–k_Nyquist; *PDF bulk* /
  *PDF tails* — max |p_model/p_ref − 1| inside the reference's central 90 % and the tails' mass ratios.
- *composite (×floor)* — geometric mean of the metrics' ×floor ratios; the table is sorted by it
  (lower is better, ≈1 = indistinguishable).
- Only rows within one section are comparable: every section is one reference source, identified by its
  reference id (the recipe id of a simulated source, the content hash of imported files). Rows with
  several seeds show the mean value and the geometric mean of ×floor and composite over seeds (ratios
  multiply: a null's ×floor is skewed, ×0.3 and ×3 average to ×1, not ×1.65).

"""
_LEGEND = _LEGEND_HEAD + textwrap.fill(
    "Metrics: " + "; ".join(f"`{m.name}` {m.description}" for m in METRICS.values()) + ".", width=104) + "\n"


# --------------------------------------------------------------------------------------------------
# reading


def _load_result(path: Path) -> Result:
    """Read one result with :func:`cosmobench.results.load_result` (every schema version, the one validator)."""
    try:
        return load_result(path)
    except CosmobenchError as exc:
        raise CosmobenchError(
            f"{exc} (or move it out of the results directory), then run `cosmobench leaderboard` again"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
        raise CosmobenchError(
            f"{path} is not a valid cosmobench result: {type(exc).__name__}: {exc}. Leaderboards are built only "
            "from valid result files: re-create it with `cosmobench evaluate` (or move it out of the results "
            "directory), then run `cosmobench leaderboard` again"
        ) from exc


def collect_results(results_dir: "str | os.PathLike") -> list[tuple[Path, Result]]:
    """Every result under ``results_dir`` (recursively), validated, as ``(path, result)`` pairs.

    Files named ``*.json`` count; hidden files (``.name``, e.g. unfinished atomic writes) are ignored.

    Raises
    ------
    CosmobenchError
        If the directory does not exist or holds no result, or if any file is not a valid result.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise CosmobenchError(
            f"results directory {root} does not exist; evaluate a model first (`cosmobench evaluate ... "
            f"--out {root}`) or pass the directory that holds the result files"
        )
    paths = sorted(
        p for p in root.rglob("*.json") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    if not paths:
        raise CosmobenchError(
            f"no result files (*.json) under {root}; evaluate a model first (`cosmobench evaluate ... --out "
            f"{root}`) or pass the directory that holds the result files"
        )
    return [(p, _load_result(p)) for p in paths]


# --------------------------------------------------------------------------------------------------
# tables


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _utc(date: str) -> pd.Timestamp:
    ts = pd.Timestamp(date)  # an ISO date: the validator checked it
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def verdict(m, name: str):
    """The one rule (:func:`cosmobench.compare.verdict.verdict`), as a Verdict."""
    return _one_verdict(m, name)


def _records(results: list[tuple[Path, Result]]) -> pd.DataFrame:
    """One long-format row per (result file, metric)."""
    rows = []
    for path, r in results:
        model, ref = r.model, r.reference
        base = {
            "file": str(path),
            "track": r.track.name,
            "model": model["name"],
            "checkpoint": (model.get("checkpoint_sha256") or "")[:_HASH_CHARS],
            # how a trained model was made (a generator's info["trained"]), e.g. "9917 steps, 360 s on NVIDIA H200"
            "trained": str((model.get("info") or {}).get("trained") or ""),
            "source": ref["source"],
            "source_hash": ref.get("recipe_id") or ref["content_hash"],
            "n": int(r.n),
            "seed": int(r.seed),
            "date": _utc(r.date),
            "commit": (r.git_commit or "")[:_COMMIT_CHARS],
            "composite": _num(r.composite),
        }
        for name, m in r.metrics.items():
            eff = {e: _num((v or {}).get("value")) for e, v in (m.effects or {}).items() if isinstance(v, dict)}
            rows.append({**base, "metric": name, "version": str(m.version), "value": _num(m.value),
                         "ratio": _num(m.ratio), "verdict": verdict(m, name),
                         **{f"effect:{e}": v for e, v in eff.items() if e in EFFECT_COLUMNS}})
    return pd.DataFrame(rows)


def geometric_mean(x) -> float:
    """Geometric mean of the finite, non-negative numbers of ``x`` (NaN when there are none; 0 if one is 0).

    How ×floor ratios and composites are combined over seeds: they are ratios, and a fresh draw's ×floor
    is skewed (its null spans ×0.05–×3 on some metrics), so an arithmetic mean over seeds would read a perfect
    generator as worse than ×1.
    """
    a = np.asarray(pd.to_numeric(pd.Series(x), errors="coerce"), dtype=np.float64)
    a = a[np.isfinite(a) & (a >= 0)]
    if a.size == 0:
        return float("nan")
    if np.any(a == 0):
        return 0.0
    return float(np.exp(np.mean(np.log(a))))


def _row_verdict(columns: list, labels) -> str:
    """A row's verdict from its metrics' labels: flagged metrics, and apart from them those flagged on some seeds only."""
    worse = [str(c) for c, v in zip(columns, labels) if isinstance(v, str) and v not in ("≈ reference", "n/a", MIXED)]
    mixed = [str(c) for c, v in zip(columns, labels) if v == MIXED]
    if not worse and not mixed:
        return "≈ reference"
    parts = (["worse on: " + ", ".join(worse)] if worse else []) + (["mixed over seeds: " + ", ".join(mixed)] if mixed else [])
    return "; ".join(parts)


def _metric_columns(section: pd.DataFrame) -> pd.DataFrame:
    """Add the ``column`` name of each metric: its name, plus ``(v<version>)`` when versions differ in the section."""
    nversions = section.groupby("metric")["version"].transform("nunique")
    label = section["metric"].where(nversions <= 1, section["metric"] + " (v" + section["version"] + ")")
    return section.assign(column=label)


def leaderboard_frame(long: pd.DataFrame) -> pd.DataFrame:
    """Wide leaderboard of one (track, source hash) section from the long records.

    Columns: ``rank, model, checkpoint, composite, composite_sd, <metric>, <metric>_xfloor ..., source,
    source_hash, n, n_seeds, seeds, date, commit``; sorted by composite (NaN last).
    """
    # a re-run of the same seed supersedes the older file
    files = long.drop_duplicates("file")[["file", "model", "checkpoint", "n", "seed", "date"]]
    newest = files.sort_values(["date", "file"]).drop_duplicates(["model", "checkpoint", "n", "seed"], keep="last")
    long = _metric_columns(long[long["file"].isin(newest["file"])])

    keys = ["model", "checkpoint", "n"]
    per_file = long.drop_duplicates("file")
    rows = (
        per_file.groupby(keys, sort=False)
        .agg(
            composite=("composite", geometric_mean),
            composite_sd=("composite", lambda s: s.std(ddof=1) if len(s) > 1 else np.nan),
            trained=("trained", "first"),
            source=("source", "first"),
            source_hash=("source_hash", "first"),
            n_seeds=("seed", "nunique"),
            seeds=("seed", lambda s: ",".join(str(x) for x in sorted(set(s)))),
            date=("date", "max"),
            commit=("commit", lambda s: ",".join(sorted({c for c in s if c}))),
        )
        .reset_index()
    )
    # groupby/unstack (not pivot_table, which drops a metric whose numbers are all missing)
    grouped = long.groupby(keys + ["column"], sort=False)
    values = grouped["value"].mean().unstack("column")
    ratios = grouped["ratio"].agg(geometric_mean).unstack("column")
    verdicts = grouped["verdict"].agg(lambda v: combine(list(v)).label).unstack("column")
    columns = sorted(values.columns, key=metric_sort_key)
    wide = pd.DataFrame(index=values.index)
    for c in columns:
        wide[c] = values[c]
        wide[f"{c}_xfloor"] = ratios[c]
        wide[f"{c}_verdict"] = verdicts[c]
    effect_cols = [f"effect:{e}" for e in EFFECT_COLUMNS]
    per_file_eff = long.groupby(["file"] + keys, sort=False)[[c for c in effect_cols if c in long]].first()
    eff = per_file_eff.groupby(keys, sort=False).mean() if len(per_file_eff.columns) else pd.DataFrame(index=values.index)
    for e in EFFECT_COLUMNS:
        wide[e] = eff[f"effect:{e}"] if f"effect:{e}" in eff else np.nan
    wide["verdict"] = [_row_verdict(columns, row) for row in verdicts[columns].itertuples(index=False)]
    out = rows.merge(wide.reset_index(), on=keys, how="left")
    out = out.sort_values(["composite", "model", "n"], na_position="last", kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    ordered = ["rank", "model", "checkpoint", "composite", "composite_sd", "verdict"]
    ordered += [c for m in columns for c in (m, f"{m}_xfloor", f"{m}_verdict")] + list(EFFECT_COLUMNS)
    ordered += ["trained", "source", "source_hash", "n", "n_seeds", "seeds", "date", "commit"]
    out = out[ordered]
    out["date"] = out["date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out




def _markdown_table(frame: pd.DataFrame) -> str:
    metrics = [c for c in frame.columns if f"{c}_xfloor" in frame.columns]
    effects = list(EFFECT_COLUMNS)
    header = (["#", "model", "composite (×floor)"] + metrics + [EFFECT_COLUMNS[e] for e in effects]
              + ["verdict", "trained", "source", "n", "seed(s)", "date", "commit"])
    # Every cell goes through md_cell: model names, checkpoints, sources, hashes, trained notes,
    # metric names and commits all come from result files, which anybody can write.
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |",
             "|" + "|".join(["---:", ":---", "---:"] + ["---:"] * (len(metrics) + len(effects))
                            + [":---", ":---", ":---", "---:", ":---", ":---", ":---"]) + "|"]
    for row in frame.itertuples(index=False):
        r = dict(zip(frame.columns, row))
        model = r["model"] + (f" [ckpt {r['checkpoint']}]" if r["checkpoint"] else "")
        valid = r.get("validity", np.nan)
        if np.isfinite(valid) and valid < 1.0:
            model += f" ⚠ {100 * (1 - valid):.3g}% invalid maps"
        comp = fmt_ratio(r["composite"])
        if np.isfinite(r["composite_sd"]):
            comp += f" ± {fmt_number(r['composite_sd'], 2)}"
        cells = [str(r["rank"]), model, comp]
        cells += [
            DASH if not np.isfinite(r[m]) else f"{fmt_number(r[m], 3)} ({fmt_ratio(r[f'{m}_xfloor'])})"
            + (" †" if r[f"{m}_verdict"] in ("worse than reference", "copies training maps") else "")
            for m in metrics
        ]
        cells += [DASH if not np.isfinite(r[e]) else f"{fmt_number(100 * r[e], 3)}%" for e in effects]
        cells += [r["verdict"]]
        cells += [r["trained"] or DASH, f"{r['source']} ({r['source_hash'][:_HASH_CHARS]})", str(r["n"]), str(r["seeds"]),
                  r["date"][:10], r["commit"] or DASH]
        lines.append("| " + " | ".join(md_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _track_markdown(track: str, sections: list[tuple[str, str, pd.DataFrame]], description: str,
                    csv_name: str) -> str:
    parts = [
        f"# Leaderboard — track {md_code(track)}",
        "",
        "<!-- GENERATED FILE: do not edit by hand. -->",
        f"> Generated from result files by `cosmobench leaderboard`; do not edit by hand — add or fix result "
        f"files and run `cosmobench leaderboard` again. Raw numbers: {md_code(csv_name)}.",
        "",
    ]
    if description:
        parts += [f"Track: {md_text(description)}", ""]
    parts += [_LEGEND]
    for source, source_hash, frame in sections:
        parts += [
            f"## Reference source {md_code(source)} (reference id {md_code(source_hash[:_HASH_CHARS])})",
            "",
            f"Full reference id: {md_code(source_hash)}. {len(frame)} row(s), sorted by composite (lower is better).",
            "",
            _markdown_table(frame),
            "",
        ]
    return "\n".join(parts).rstrip() + "\n"


def track_sections(results: list[tuple[Path, Result]]) -> list[tuple[str, str, list[tuple[str, str, pd.DataFrame]]]]:
    """The leaderboard of every (track, reference) section: ``[(track, description, [(source, hash, frame)])]``.

    Tracks in alphabetical order, sections by (source name, content hash); ``frame`` is
    :func:`leaderboard_frame` of the section. A content hash carrying several source names is one
    section, under the first name (with a warning).
    """
    long = _records(results)
    descriptions = {r.track.name: r.track.description for _, r in results}
    tracks = []
    for track, tlong in sorted(long.groupby("track", sort=True), key=lambda kv: kv[0]):
        sections = []
        keys = tlong[["source", "source_hash"]].drop_duplicates().sort_values(["source", "source_hash"])
        for source, source_hash in keys.itertuples(index=False):
            sl = tlong[tlong["source_hash"] == source_hash]
            names = sorted(set(sl["source"]))
            if len(names) > 1:
                if source != names[0]:
                    continue
                warnings.warn(f"source hash {source_hash[:_HASH_CHARS]} carries several names {names}; "
                              f"the rows share one section", stacklevel=3)
            sections.append((source, source_hash, leaderboard_frame(sl)))
        tracks.append((track, descriptions.get(track, ""), sections))
    return tracks


def build_leaderboards(
    results_dir: "str | os.PathLike" = "leaderboards/results", out_dir: "str | os.PathLike" = "leaderboards"
) -> list[Path]:
    """Build ``<track>.md`` and ``<track>.csv`` in ``out_dir`` from every result file under ``results_dir``.

    Parameters
    ----------
    results_dir : path-like
        Directory searched recursively for result files (``*.json``).
    out_dir : path-like
        Where the leaderboards are written (atomically); created if needed.

    Returns
    -------
    list of Path
        The files written, ``.md`` then ``.csv`` per track, tracks in alphabetical order.

    Raises
    ------
    CosmobenchError
        If the directory is missing or empty, or any result file is malformed (the message names the
        file): a leaderboard must be built from trustworthy files only, so nothing is skipped.
    """
    results = collect_results(results_dir)
    out = Path(out_dir)
    written: list[Path] = []
    used_names: dict[str, str] = {}
    pending: list[tuple[Path, str, Path, str]] = []
    for track, description, sections in track_sections(results):
        safe = filename_component(track, fallback="track")
        if safe in used_names:  # two track names that differ only in unsafe characters
            raise CosmobenchError(
                f"tracks {used_names[safe]!r} and {track!r} map to the same file name {safe!r}; rename one of "
                "them in its result files"
            )
        used_names[safe] = track
        md_path, csv_path = out / f"{safe}.md", out / f"{safe}.csv"
        md = _track_markdown(track, sections, description, csv_path.name)
        csv = pd.concat([f.assign(track=track) for _, _, f in sections], ignore_index=True)
        csv = csv[["track"] + [c for c in csv.columns if c != "track"]]
        # Text cells can open a spreadsheet formula (=HYPERLINK...): guard every string cell.
        for col in csv.columns:
            if csv[col].map(lambda v: isinstance(v, str)).any():
                csv[col] = csv[col].map(csv_cell)
        csv.columns = [csv_cell(c) for c in csv.columns]  # metric names head columns
        pending.append((md_path, md, csv_path, csv.to_csv(index=False, float_format="%.6g")))
    # Written only once every track rendered: a bad section leaves no half-updated set of tables.
    for md_path, md, csv_path, csv_text in pending:
        atomic_write_text(md_path, md)
        atomic_write_text(csv_path, csv_text)
        written += [md_path, csv_path]
    return written
