"""Shared timing for the benchmarks: our time and a peer's, measured in the same test, as a ratio.

``pytest --benchmark-disable`` runs each benchmarked function once and leaves ``benchmark.stats`` empty;
then our time is measured here instead, so every benchmark still checks its output against its peer and
records the ratio in ``benchmark.extra_info``.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable


def best_time(fn: Callable[[], Any], repeat: int = 3) -> "tuple[float, Any]":
    """Fastest of ``repeat`` runs (seconds) and the last output: the minimum filters a busy machine's stalls."""
    best, out = math.inf, None
    for _ in range(max(1, int(repeat))):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def ours_seconds(benchmark, fn: Callable[[], Any]) -> float:
    """Fastest round pytest-benchmark measured, or one timed run of ``fn`` when benchmarking is disabled."""
    stats = getattr(benchmark, "stats", None)
    if not getattr(benchmark, "disabled", False) and stats is not None:
        return float(stats.stats.min)
    return best_time(fn, repeat=1)[0]


def record(benchmark, ours: float, peers: "dict[str, float]", **info: Any) -> "dict[str, float]":
    """Store our time, each peer's and ``speedup_vs_<peer>`` (peer time / ours) in ``benchmark.extra_info``."""
    speedups = {f"speedup_vs_{k}": v / ours for k, v in peers.items()}
    benchmark.extra_info.update({"ours_s": ours, **{f"{k}_s": v for k, v in peers.items()}, **speedups, **info})
    return speedups
