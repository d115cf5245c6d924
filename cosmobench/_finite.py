"""One reading of "a number, or not measured" for every output and the verdict rule."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none"]


def finite_or_none(x: Any) -> "float | None":
    """``float(x)`` when it is a finite number, else None (None, bools, text, NaN and ±Inf are "not measured").

    JSON has no NaN/Inf and a bool is no measurement, so every writer and reader maps them to None.
    """
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
