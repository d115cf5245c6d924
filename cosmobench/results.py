"""Result objects and the versioned result-file schema.

One JSON file per (model, source, n, seed) holds everything a leaderboard or a report needs: who
made it (cosmobench version, git commit, date), what was scored (model spec, checkpoint sha256),
against what (source name and content hash, split, compare boxes and null pool) and the numbers (per
metric: value, null median ("floor"), ratio, bootstrap interval and — schema v2 — the calibrated
p-value, its Holm adjustment, the null's summary and effect sizes in physical units). A companion
``<stem>.maps.npz`` holds 8 model and 8 reference maps for the report's map grid.

The schema itself (its version, the validator, the upgraders of old versions, the JSON reader) is
:mod:`cosmobench.result_schema`; its names are re-exported here. Old files keep loading:
:func:`load_result` upgrades every earlier ``schema_version`` to the current one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from cosmobench._escape import filename_component
from cosmobench._finite import finite_or_none
from cosmobench._io import atomic_paths, user_errors_on_write
from cosmobench._version import __version__
# The composite is defined where it is computed; results only record that definition.
from cosmobench.compare.score import COMPOSITE_DEFINITION
from cosmobench.compare.verdict import ALPHA
from cosmobench.compare.verdict import verdict as _verdict
from cosmobench.data.track import Track
from cosmobench.result_schema import (  # noqa: F401 - MAX_N, _UPGRADES: old import paths
    _UPGRADES, MAX_N, MODEL_KINDS, SCHEMA_VERSION, read_result_json, upgrade_result, validate_result)
# Formatting and the verdict live in presentation; the old names stay importable from here.
from cosmobench.presentation import (  # noqa: F401 - SIMILAR_RATIO, verdict: old import paths
    SIMILAR_RATIO, fmt_effect, fmt_interval, fmt_null_band, fmt_number, fmt_p, fmt_ratio, fmt_seconds, ratio_ci,
    validity_flag, verdict)

format_ratio = fmt_ratio

__all__ = [
    "SCHEMA_VERSION",
    "MODEL_KINDS",
    "COMPOSITE_DEFINITION",
    "Result",
    "result_filename",
    "maps_path",
    "load_result",
    "read_result_dict",
    "scorecard",
    "validate_result",
    "git_commit",
    "utc_now",
]


def __getattr__(name: str) -> Any:
    if name == "SIMILAR_RATIO":
        import warnings

        warnings.warn("results.SIMILAR_RATIO is gone: verdicts come from calibrated p-values "
                      "(cosmobench.compare.verdict)", DeprecationWarning, stacklevel=2)
        return 1.5
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------ provenance


def utc_now() -> str:
    """ISO-8601 UTC timestamp to the second, e.g. ``2026-11-30T00:12:03Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_commit() -> "str | None":
    """``git rev-parse HEAD`` of the checkout cosmobench runs from, or None (installed, no git)."""
    pkg_dir = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=pkg_dir, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if re.fullmatch(r"[0-9a-f]{40}", sha) else None


# ------------------------------------------------------------------------------------------ the object


# JSON has no NaN/Inf: non-finite numbers become null (a reader sees "not measured", not a number).
_finite_or_none = finite_or_none


def _jsonable(obj: Any) -> Any:
    """Plain JSON types all the way down (numpy scalars/arrays, tuples, paths, non-finite floats)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _finite_or_none(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # torch tensors and the like
        return _jsonable(obj.tolist())
    return str(obj)


def metric_to_dict(score: Any) -> dict:
    """Schema-v2 dict of a :class:`~cosmobench.compare.score.MetricScore` (or anything with its attributes)."""
    ci = getattr(score, "ci", None) or (None, None)
    return {
        "version": str(getattr(score, "version", "")),
        "distance": str(getattr(score, "distance", "")),
        "value": _finite_or_none(getattr(score, "value", None)),
        "floor": _finite_or_none(getattr(score, "floor", None)),
        "ratio": _finite_or_none(getattr(score, "ratio", None)),
        "ci": [_finite_or_none(ci[0]), _finite_or_none(ci[1])],
        "higher_is_better": bool(getattr(score, "higher_is_better", False)),
        "p_value": _finite_or_none(getattr(score, "p_value", None)),
        "p_adjusted": _finite_or_none(getattr(score, "p_adjusted", None)),
        "null": _jsonable(dict(getattr(score, "null", None) or {})),
        "effects": _jsonable(dict(getattr(score, "effects", None) or {})),
        "extra": _jsonable(dict(getattr(score, "extra", None) or {})),
    }


@dataclass
class Result:
    """The outcome of one evaluation.

    Attributes
    ----------
    metrics : dict of str to MetricScore
        Per metric, in score-card order.
    composite : float
        Geometric mean of the metrics' ratios to their noise floors (1 = indistinguishable).
    model : dict
        ``spec``, ``name``, ``kind``, ``checkpoint_sha256``, ``info``.
    reference : dict
        ``source``, ``content_hash``, ``split``, ``n_compare``, ``n_floor``, ``floor_split``, ``summaries``.
    track : Track
        Geometry of the maps.
    n, seed : int
        Number of model maps and the seed of the draw.
    wall_time : dict of str to float
        Seconds: ``total``, ``sampling``, ``statistics``, ``comparison`` (and ``reference``).
    curves : dict
        Per statistic: ``coords`` (dict of lists), ``model_mean``, ``model_std``, ``ref_mean``, ``ref_std``.
    model_maps, reference_maps : numpy.ndarray
        A few maps of each, ``(k, H, W)``, for the report.
    cosmobench_version, git_commit, date : str
        Provenance, filled at creation.
    """

    metrics: dict
    composite: float
    model: dict
    reference: dict
    track: Track
    n: int
    seed: int
    wall_time: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    model_maps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.float32))
    reference_maps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.float32))
    cosmobench_version: str = __version__
    git_commit: "str | None" = field(default_factory=git_commit)
    date: str = field(default_factory=utc_now)

    # -- serialisation
    def to_dict(self) -> dict:
        """The schema-v2 dictionary written to the result JSON (plain JSON types only)."""
        model = dict(self.model)
        model.setdefault("checkpoint_sha256", None)
        model["info"] = _jsonable(model.get("info") or {})
        return {
            "schema_version": SCHEMA_VERSION,
            "cosmobench_version": self.cosmobench_version,
            "git_commit": self.git_commit,
            "date": self.date,
            "model": _jsonable(model),
            "track": _jsonable(self.track.to_dict()),
            "reference": _jsonable(self.reference),
            "n": int(self.n),
            "seed": int(self.seed),
            "wall_time": {k: round(float(v), 4) for k, v in self.wall_time.items()},
            "metrics": {name: metric_to_dict(score) for name, score in self.metrics.items()},
            "composite": {"value": _finite_or_none(self.composite), "definition": COMPOSITE_DEFINITION},
            "curves": _jsonable(self.curves),
        }

    def to_frame(self):
        """A pandas DataFrame with one row per metric.

        Columns: metric, version, distance, value, floor, ratio, ci_lo, ci_hi, ratio_lo, ratio_hi,
        p_value, p_adjusted, higher_is_better, verdict, model, source, n, seed.
        """
        import pandas as pd

        rows = []
        for name, m in self.to_dict()["metrics"].items():
            lo, hi = ratio_ci(m) or (None, None)
            rows.append(
                {
                    "metric": name,
                    "version": m["version"],
                    "distance": m["distance"],
                    "value": m["value"],
                    "floor": m["floor"],
                    "ratio": m["ratio"],
                    "ci_lo": m["ci"][0],
                    "ci_hi": m["ci"][1],
                    "ratio_lo": lo,
                    "ratio_hi": hi,
                    "p_value": m.get("p_value"),
                    "p_adjusted": m.get("p_adjusted"),
                    "higher_is_better": m["higher_is_better"],
                    "verdict": verdict(m, name),
                    "model": self.model.get("name"),
                    "source": self.reference.get("source"),
                    "n": self.n,
                    "seed": self.seed,
                }
            )
        return pd.DataFrame(rows)

    def save(self, out_dir: "str | os.PathLike" = "results") -> Path:
        """Write ``<out_dir>/<result_filename>`` and its ``.maps.npz`` companion, both atomically.

        Both are written to temporary files first and renamed together, so that a JSON file on disk
        always has its maps next to it and a failed write leaves neither.

        Returns
        -------
        pathlib.Path
            Path of the JSON file.
        """
        out_dir = Path(out_dir)
        d = self.to_dict()
        path = out_dir / result_filename(d)
        text = json.dumps(d, indent=2, default=_jsonable) + "\n"
        # One pair, renamed together: a full disk or a crash never leaves maps without their result
        # (or a result without its maps).
        with user_errors_on_write(f"the result {path}"):
            with atomic_paths([maps_path(path), path], [".npz", ".json"]) as (tmp_maps, tmp_json):
                with open(tmp_maps, "wb") as fh:
                    np.savez_compressed(
                        fh,
                        model=np.asarray(self.model_maps, dtype=np.float32),
                        reference=np.asarray(self.reference_maps, dtype=np.float32),
                    )
                tmp_json.write_text(text, encoding="utf-8")
        return path

    def scorecard(self) -> str:
        """A readable table: metric, value, floor, ratio to the floor with its CI, verdict."""
        return scorecard(self)

    @classmethod
    def from_dict(cls, d: dict, path: Any = "<result>") -> "Result":
        """The typed result of a current-schema dictionary (validated first, see :func:`validate_result`).

        Metrics become :class:`~cosmobench.compare.score.MetricScore` (keys that are fields of it), the track a
        :class:`~cosmobench.data.track.Track`. Maps are not part of the dictionary: they stay empty (the report
        reads the companion ``.maps.npz`` itself).
        """
        from cosmobench.compare.score import MetricScore

        d = validate_result(d, path)
        names = {f.name for f in fields(MetricScore)}
        metrics = {}
        for name, m in d["metrics"].items():
            kw = {k: v for k, v in m.items() if k in names and k != "name"}
            kw["ci"] = tuple(m["ci"])
            kw["extra"] = dict(m.get("extra") or {})
            metrics[name] = MetricScore(name=name, **kw)
        track_names = {f.name for f in fields(Track)}
        return cls(
            metrics=metrics,
            composite=_finite_or_none(d["composite"].get("value")),
            model=dict(d["model"]),
            reference=dict(d["reference"]),
            track=Track(**{k: v for k, v in d["track"].items() if k in track_names}),
            n=d["n"],
            seed=d["seed"],
            wall_time=dict(d["wall_time"]),
            curves=dict(d.get("curves") or {}),
            cosmobench_version=d["cosmobench_version"],
            git_commit=d.get("git_commit"),
            date=d["date"],
        )

    def __getitem__(self, key: str) -> Any:
        """Deprecated dictionary access (``load_result`` returned a dict before it returned a Result)."""
        warnings.warn("indexing a Result is deprecated; read its attributes (or Result.to_dict()[key])",
                      DeprecationWarning, stacklevel=2)
        return self.to_dict()[key]

    def __repr__(self) -> str:
        return (
            f"Result(model={self.model.get('name')!r}, source={self.reference.get('source')!r}, n={self.n}, "
            f"seed={self.seed}, composite={fmt_number(self.composite, 3)}, metrics={list(self.metrics)})"
        )


# ------------------------------------------------------------------------------------------ score card


def scorecard(result: "Result | dict") -> str:
    """Score card of a result (see :meth:`Result.scorecard`); a result dictionary is read with :meth:`Result.from_dict`."""
    r = result if isinstance(result, Result) else Result.from_dict(result)
    model, ref = r.model, r.reference
    null = ref.get("null") or {}
    head = [
        f"cosmobench {r.cosmobench_version} — model {model.get('name')} ({model.get('kind')}: {model.get('spec')})",
        f"reference {ref.get('source')} [{str(ref.get('content_hash', ''))[:12]}], {ref.get('split')} split: "
        f"{ref.get('n_compare')} compare maps; null pool {ref.get('n_floor')} maps"
        + (f" of boxes {null.get('pool_boxes')}, {null.get('draws')} null sets" if null else f" (split by {ref.get('floor_split')})")
        + f" (summaries {ref.get('summaries')}); n={r.n} seed={r.seed}",
    ]
    valid = r.metrics.get("validity")
    flag = validity_flag(valid)
    if flag:
        head.append(f"WARNING: {flag}; scored by the rule: {(valid.extra or {}).get('rule', '?')}")
    rows = [("metric", "value", "×null", "null 95%", "p (Holm)", "verdict")]
    effects = []
    for name, m in r.metrics.items():
        v = _verdict(m, name)
        rows.append((name, fmt_number(m.value), fmt_ratio(m.ratio), fmt_null_band(m), fmt_p(v.p), verdict(m, name)))
        for ename, e in (m.effects or {}).items():
            effects.append(f"  {name}.{ename}: {fmt_effect(e)} — {e.get('description', '')}")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    tail = [
        f"verdict: worse when the Holm-adjusted p-value (share of null sets of real maps at least as far) is ≤ {ALPHA:g}",
        f"composite (geometric mean of ×null, 1 = as close as a fresh draw of real maps): {fmt_ratio(r.composite)}",
        "wall time: " + ", ".join(f"{k} {fmt_seconds(v)}" for k, v in r.wall_time.items()
                                  if isinstance(v, (int, float))),
    ]
    eff = ["", "effect sizes (95% bootstrap interval; null = median for a fresh draw of real maps):"] + effects if effects else []
    return "\n".join(head + [""] + lines + eff + [""] + tail)


# ------------------------------------------------------------------------------------------ file names


def _safe(s: Any) -> str:
    """File-name-safe: letters, digits, '.', '-', '_' only; never empty, never hidden."""
    return filename_component(s, fallback="unnamed")


def result_filename(result: dict) -> str:
    """``<model-name>__<source>-<hash8>__n<n>__s<seed>.json`` with only safe characters.

    The reference's identity is part of the name: its recipe id (simulated sources; results files
    written before recipe ids: the content hash), so two builds of a source with the same name (say 4
    and 12 simulated boxes) never overwrite each other's results, while two builds of one recipe on two
    machines share file names.

    Parameters
    ----------
    result : dict
        A result dictionary (:meth:`Result.to_dict` or :func:`load_result`).
    """
    name = _safe(result["model"].get("name") or "model")
    ref = result["reference"]
    source = _safe(ref.get("source") or "source")
    short = _safe(str(ref.get("recipe_id") or ref.get("content_hash") or ""))[:8]
    tag = f"{source}-{short}" if short else source
    return f"{name}__{tag}__n{int(result['n'])}__s{int(result['seed'])}.json"


def maps_path(result_path: "str | os.PathLike") -> Path:
    """The companion maps file of a result JSON: ``<stem>.maps.npz``."""
    p = Path(result_path)
    return p.with_name(p.stem + ".maps.npz")


# ------------------------------------------------------------------------------------------ loading


def load_result(path: "str | os.PathLike") -> Result:
    """Read a result JSON of any schema version, upgraded to the current one, validated and typed.

    Parameters
    ----------
    path : path-like
        A file written by :meth:`Result.save`.

    Returns
    -------
    Result
        The result (:meth:`Result.from_dict` of the file upgraded to :data:`SCHEMA_VERSION`); its maps are
        empty (they live in the companion ``.maps.npz``). :func:`read_result_dict` gives the dictionary.

    Raises
    ------
    CosmobenchError
        If the file is missing, not JSON, from a newer cosmobench, or lacks fields.
    """
    return Result.from_dict(read_result_dict(path), path)


def read_result_dict(path: "str | os.PathLike") -> dict:
    """The current-schema dictionary of a result file of any schema version, validated (see :func:`load_result`)."""
    path = Path(path)
    return validate_result(upgrade_result(read_result_json(path), path, SCHEMA_VERSION), path)
