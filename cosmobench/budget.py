"""Budget first: what scoring ``n`` maps will cost, measured before any model map is drawn.

Summary width and per-map statistics time are measured on a few reference maps: an ``n`` whose
summaries cannot fit in memory is refused with the estimate (and the largest ``n`` that fits), one
whose statistics take hours is warned about.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Sequence

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.reference_split import check_reference_maps, split_plan
from cosmobench.reference_summaries import summarize
from cosmobench.stats.base import Statistic

__all__ = ["estimate_cost", "check_budget", "available_memory", "human_bytes", "human_seconds", "WARN_SECONDS"]

#: Summaries of the model maps are held ~this many times over at the peak (the per-batch parts, their
#: concatenation, and the comparison's standardised copies and bootstrap draws).
_SUMMARY_COPIES = 3
#: float64 copies of a batch of maps the statistics hold at once (FFTs, shells, thresholds).
_BATCH_COPIES = 8
#: Fraction of the available memory an evaluation may plan to use before it is refused.
_MEMORY_FRACTION = 0.8
#: Estimated statistics time above which evaluate warns before starting (seconds).
WARN_SECONDS = 3600.0
_PROBE_MAPS = 16


def available_memory() -> "int | None":
    """Bytes of memory available to a new allocation (Linux MemAvailable; else physical memory), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def human_bytes(b: float) -> str:
    """``1.5 GB``-style size (binary multiples, 3 significant digits)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if b < 1024 or unit == "PB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} PB"  # pragma: no cover


def human_seconds(t: float) -> str:
    """``40 s`` / ``12 min`` / ``3.5 h`` / ``9 days``."""
    if t < 120:
        return f"{t:.0f} s"
    if t < 7200:
        return f"{t / 60:.0f} min"
    if t < 3 * 86400:
        return f"{t / 3600:.1f} h"
    return f"{t / 86400:.0f} days"


def estimate_cost(stats: Sequence[Statistic], probe: np.ndarray, n: int, batch_size: int = 256) -> dict:
    """Memory and statistics time of scoring ``n`` maps, measured on a few reference maps.

    Parameters
    ----------
    stats : sequence of Statistic
        Every statistic the model maps will be summarised with.
    probe : numpy.ndarray
        A few ``(k, H, W)`` maps of the track (reference maps: always valid).
    n : int
        Number of model maps.
    batch_size : int
        Maps per statistics batch: one batch of maps (and the statistics' float64 work arrays on it)
        is in memory at a time.

    Returns
    -------
    dict
        ``width`` (summary floats per map), ``bytes`` (planned peak: the summaries and one batch),
        ``seconds`` (statistics time, from a timed second pass over the probe, so one-time
        compilation and FFT planning are not counted).
    """
    summ = summarize(stats, probe)  # warm-up: numba compilation, FFTW plans
    t = time.perf_counter()
    summarize(stats, probe)
    per_map = (time.perf_counter() - t) / probe.shape[0]
    width = sum(int(x.shape[1]) for x in summ)
    batch = float(min(batch_size, n)) * probe[0].size * 8 * _BATCH_COPIES
    return {"width": width, "bytes": float(n) * width * 8 * _SUMMARY_COPIES + batch, "seconds": per_map * n}


def check_budget(stats: Sequence[Statistic], src, n: int, batch_size: int) -> None:
    """Refuse an ``n`` whose summaries cannot fit in memory; warn when the statistics alone take hours.

    Raises
    ------
    CosmobenchError
        With the estimate and the ``--n`` (or ``--batch-size``) that would fit.
    """
    compare, _, _ = split_plan(src)
    b, start, stop = compare.pieces[0]
    probe = np.asarray(src.box_maps(b)[start : min(stop, start + _PROBE_MAPS)], dtype=np.float32)
    check_reference_maps(src, probe)
    cost = estimate_cost(stats, probe, n, batch_size)
    avail = available_memory()
    if avail is not None and cost["bytes"] > _MEMORY_FRACTION * avail:
        summaries = float(n) * cost["width"] * 8 * _SUMMARY_COPIES
        if summaries <= _MEMORY_FRACTION * avail:  # the batch is what does not fit
            raise CosmobenchError(
                f"batch_size={batch_size} needs about {human_bytes(cost['bytes'] - summaries)} of memory for one batch "
                f"of maps; this machine has {human_bytes(avail)} available: pass a smaller --batch-size (default 256)"
            )
        n_max = int(_MEMORY_FRACTION * avail / (cost["width"] * 8 * _SUMMARY_COPIES))
        raise CosmobenchError(
            f"n={n} needs about {human_bytes(cost['bytes'])} of memory for the summaries ({n} maps × "
            f"{cost['width']} floats × 8 bytes × {_SUMMARY_COPIES}) and the statistics alone would take about "
            f"{human_seconds(cost['seconds'])}; this machine has {human_bytes(avail)} available: pass --n {n_max} "
            "or fewer"
        )
    if cost["seconds"] > WARN_SECONDS:
        warnings.warn(
            f"n={n}: the statistics alone will take about {human_seconds(cost['seconds'])} on this machine "
            f"(measured on {probe.shape[0]} maps; sampling comes on top) and about {human_bytes(cost['bytes'])} "
            "of memory; press Ctrl-C to stop (nothing is written until the end)",
            stacklevel=3,
        )
