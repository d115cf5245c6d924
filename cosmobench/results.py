"""Result objects and the versioned result-file schema.

One JSON file per (model, source, n, seed) holds everything a leaderboard or a report needs: who
made it (cosmobench version, git commit, date), what was scored (model spec, checkpoint sha256),
against what (source name and content hash, split, compare boxes and null pool) and the numbers (per
metric: value, null median ("floor"), ratio, bootstrap interval and — schema v2 — the calibrated
p-value, its Holm adjustment, the null's summary and effect sizes in physical units). A companion
``<stem>.maps.npz`` holds 8 model and 8 reference maps for the report's map grid.

Old files keep loading: :func:`load_result` upgrades every earlier ``schema_version`` to the current
one, step by step (one function per step in ``_UPGRADES``); tests keep a fixture of every version.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

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
from cosmobench.errors import CosmobenchError
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

SCHEMA_VERSION = 2
MODEL_KINDS = ("file", "samples", "checkpoint", "registered", "module", "object")

_TOP_KEYS = {
    "schema_version": int,
    "cosmobench_version": str,
    "date": str,
    "model": dict,
    "track": dict,
    "reference": dict,
    "n": int,
    "seed": int,
    "wall_time": dict,
    "metrics": dict,
    "composite": dict,
}
_METRIC_KEYS = ("version", "distance", "value", "floor", "ratio", "ci", "higher_is_better", "extra",
                "p_value", "p_adjusted", "null", "effects")


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

# schema_version k -> function upgrading a version-k dict to version k+1. Add one per schema bump and
# keep a fixture file of the old version in tests/fixtures/results/.
def _v1_to_v2(d: dict) -> dict:
    """Schema v1 → v2: metrics gain ``p_value``, ``p_adjusted`` (None: they were never measured against a
    null), ``null`` and ``effects`` (empty); their verdict then comes from their interval."""
    d = dict(d)
    if isinstance(d.get("metrics"), dict):  # anything else is reported by validate_result
        d["metrics"] = {
            name: {**m, "p_value": None, "p_adjusted": None, "null": {}, "effects": {}} if isinstance(m, dict) else m
            for name, m in d["metrics"].items()
        }
    return d


_UPGRADES: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


def _malformed(path: Any, what: str) -> CosmobenchError:
    return CosmobenchError(
        f"{path} is not a valid cosmobench result file ({what}); re-run `cosmobench evaluate` to regenerate it"
    )


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


#: Largest n a result file may claim (sanity bound: far above any feasible evaluation).
MAX_N = 10**9


def _finite_number(x: Any) -> bool:
    return _is_number(x) and math.isfinite(x)


def _positive_number(x: Any, *, allow_zero: bool = True) -> bool:
    """A finite number ≥ 0 (> 0 without ``allow_zero``): distances, floors, ratios, the composite."""
    return _finite_number(x) and (x >= 0 if allow_zero else x > 0)


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN / Infinity / -Infinity, which are not JSON and which no writer of ours emits.
    raise ValueError(f"{name} is not a JSON number")


def validate_result(d: Any, path: Any = "<result>") -> dict:
    """Check a current-schema result dictionary; return it (``curves`` and ``git_commit`` defaulted).

    The one validator of result files: :func:`load_result`, :meth:`Result.from_dict`, the leaderboard and
    the report all go through it.

    Raises
    ------
    CosmobenchError
        Naming the first missing or mistyped field.
    """
    if not isinstance(d, dict):
        raise _malformed(path, f"top level is {type(d).__name__}, not an object")
    for key, kind in _TOP_KEYS.items():
        if key not in d:
            raise _malformed(path, f"missing field {key!r}")
        if not isinstance(d[key], kind) or (kind is int and isinstance(d[key], bool)):
            raise _malformed(path, f"field {key!r} is {type(d[key]).__name__}, expected {kind.__name__}")
    for key in ("name", "spec", "kind"):
        if not isinstance(d["model"].get(key), str):
            raise _malformed(path, f"model.{key} is missing or not a string")
    for key in ("source", "content_hash"):
        if not isinstance(d["reference"].get(key), str):
            raise _malformed(path, f"reference.{key} is missing or not a string")
    if not isinstance(d["track"].get("name"), str) or not d["track"]["name"].strip():
        raise _malformed(path, "track.name is missing")
    for key in ("pixel_size", "tile", "slab_thickness"):
        if not _positive_number(d["track"].get(key), allow_zero=key == "slab_thickness"):
            raise _malformed(path, f"track.{key} is missing or not a positive finite number")
    try:
        datetime.fromisoformat(d["date"])
    except ValueError:
        raise _malformed(path, f"its date {d['date']!r} is not an ISO date") from None
    # Numbers a leaderboard ranks by: a hand-edited or corrupted file must not sort first.
    if not 2 <= d["n"] <= MAX_N:
        raise _malformed(path, f"n = {d['n']} is outside 2..{MAX_N}")
    if d["seed"] < 0:
        raise _malformed(path, f"seed = {d['seed']} is negative")
    comp = d["composite"].get("value")
    if comp is not None and not _positive_number(comp, allow_zero=False):
        raise _malformed(path, f"composite.value = {comp!r} is not a positive finite number (or null)")
    if not d["metrics"]:
        raise _malformed(path, "it has no metrics")
    for name, m in d["metrics"].items():
        if not isinstance(m, dict):
            raise _malformed(path, f"metric {name!r} is not an object")
        missing = [k for k in _METRIC_KEYS if k not in m]
        if missing:
            raise _malformed(path, f"metric {name!r} lacks {', '.join(missing)}")
        for k in ("value", "floor", "ratio"):
            if m[k] is not None and not _positive_number(m[k]):
                raise _malformed(path, f"metric {name!r}.{k} = {m[k]!r} is not a finite number ≥ 0 (or null)")
        if not (isinstance(m["ci"], list) and len(m["ci"]) == 2):
            raise _malformed(path, f"metric {name!r}.ci is not a [lo, hi] pair")
        if any(c is not None and not _finite_number(c) for c in m["ci"]):
            raise _malformed(path, f"metric {name!r}.ci = {m['ci']!r} holds a non-number")
        for k in ("p_value", "p_adjusted"):
            p = m[k]
            if p is not None and (not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1):
                raise _malformed(path, f"metric {name!r}.{k} is not a probability")
        for k in ("null", "effects"):
            if not isinstance(m[k], dict):
                raise _malformed(path, f"metric {name!r}.{k} is not an object")
    d.setdefault("curves", {})
    d.setdefault("git_commit", None)
    return d


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
    try:
        d = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except FileNotFoundError:
        raise CosmobenchError(f"no such result file: {path}") from None
    except IsADirectoryError:
        raise CosmobenchError(f"{path} is a directory, not a result file; pass the .json written by `cosmobench evaluate`") from None
    except OSError as exc:
        raise CosmobenchError(f"{path} cannot be read ({exc.strerror or exc}); check its permissions") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise _malformed(path, f"not valid JSON: {exc}") from None
    if not isinstance(d, dict):
        raise _malformed(path, "top level is not an object")
    version = d.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _malformed(path, f"schema_version is {version!r}")
    if version > SCHEMA_VERSION:
        raise CosmobenchError(
            f"{path} has result schema version {version}, newer than this cosmobench reads ({SCHEMA_VERSION}); "
            "upgrade cosmobench"
        )
    while version < SCHEMA_VERSION:
        d = _UPGRADES[version](d)
        version = d["schema_version"] = version + 1
    return validate_result(d, path)
