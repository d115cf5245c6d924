"""The result-file schema: its version, the one validator, the upgraders of earlier versions, the JSON reader.

:mod:`cosmobench.results` builds and writes results and re-exports these names; this module says what
a result file must hold (``docs/contracts.md``, "Result JSON") and turns any file into a dictionary of
the current version or one :class:`~cosmobench.errors.CosmobenchError` saying what is wrong.

Old files keep loading: :func:`upgrade_result` upgrades every earlier ``schema_version`` to the current
one, step by step (one function per step in ``_UPGRADES``); tests keep a fixture of every version.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from cosmobench.errors import CosmobenchError

__all__ = ["SCHEMA_VERSION", "MODEL_KINDS", "MAX_N", "validate_result", "upgrade_result", "read_result_json"]

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


def read_result_json(path: "str | os.PathLike") -> dict:
    """The JSON object of a result file, as written (any schema version; not yet upgraded or validated).

    Raises
    ------
    CosmobenchError
        If the file is missing, a directory, unreadable, not strict JSON (NaN/Infinity included) or
        not an object.
    """
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
    return d


def upgrade_result(d: dict, path: Any = "<result>", to: int = SCHEMA_VERSION) -> dict:
    """A result dictionary of any earlier schema version upgraded, step by step, to version ``to``.

    Raises
    ------
    CosmobenchError
        If its ``schema_version`` is not a positive integer, or newer than ``to`` (a newer cosmobench wrote it).
    """
    version = d.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _malformed(path, f"schema_version is {version!r}")
    if version > to:
        raise CosmobenchError(
            f"{path} has result schema version {version}, newer than this cosmobench reads ({to}); "
            "upgrade cosmobench"
        )
    while version < to:
        d = _UPGRADES[version](d)
        version = d["schema_version"] = version + 1
    return d
