"""Reading a result's curves and maps, and splitting a summary into panels by its own coordinates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cosmobench.presentation import fmt_number
from cosmobench.results import Result


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


def _curve(result: Result, name: str) -> "dict | None":
    """``result["curves"][name]`` as float arrays, or None when missing or inconsistent."""
    c = result.curves.get(name)
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


def _model_name(result: Result) -> str:
    return str(result.model.get("name") or "model")

def _source_name(result: Result) -> str:
    return str(result.reference.get("source") or "reference")
