"""Batched 2-D real FFTs of map stacks with cached pyFFTW plans.

The statistics transform many small maps (typically 64²) at once. Planning an FFTW transform costs
far more than executing one, so one ``FFTW_MEASURE`` plan is built per ``(direction, H, W, threads)``
and kept in a small per-thread LRU cache with its own aligned input/output buffers. Every batch is
processed in chunks of that plan's fixed size (:func:`chunk_size`: 256 maps of 64², an 8 MiB input buffer),
which bounds memory and keeps the working set in cache. A last, shorter chunk reuses the same plan:
the unused rows of the buffers hold stale maps whose transforms are ignored (batched transforms are
independent), which costs at most one chunk of wasted work and avoids planning for every batch size
(``FFTW_ESTIMATE`` plans for odd batch sizes were measured up to 6x slower).

Conventions are numpy's: ``rfft2`` is unnormalised, ``irfft2`` divides by ``H*W``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
import pyfftw

from cosmobench.errors import CosmobenchError

__all__ = ["chunk_size", "default_threads", "rfft2_plan", "irfft2_plan", "iter_rfft2", "rfft2", "irfft2"]

# At most this many maps per chunk, and at most this many pixels per chunk (8 MiB of float64).
_MAX_CHUNK = 256
_MAX_PIXELS = 1 << 20
_MAX_PLANS = 16
# Plans own their buffers, so a plan must never run in two threads at once: the cache is per thread.
_local = threading.local()


def _cache() -> "OrderedDict[tuple, pyfftw.FFTW]":
    plans = getattr(_local, "plans", None)
    if plans is None:
        plans = _local.plans = OrderedDict()
    return plans


def default_threads(threads: "int | None" = None) -> int:
    """Number of FFTW threads: ``threads`` if given, else ``$COSMOBENCH_THREADS``, else min(4, cpus)."""
    if threads is not None:
        try:
            t = int(threads)
        except (TypeError, ValueError):
            t = 0
        if t < 1 or t != threads:
            raise CosmobenchError(
                f"threads={threads!r}; pass a positive whole number of threads (or None for the default)"
            )
        return t
    env = os.environ.get("COSMOBENCH_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, min(4, os.cpu_count() or 1))


def chunk_size(h: int, w: int) -> int:
    """Maps per FFT chunk for ``h x w`` maps: min(256, 2²⁰ / (h w)), at least 1."""
    return max(1, min(_MAX_CHUNK, _MAX_PIXELS // (h * w)))


def _get_plan(kind: str, h: int, w: int, threads: int) -> pyfftw.FFTW:
    n = chunk_size(h, w)
    key = (kind, h, w, threads)
    plans = _cache()
    plan = plans.get(key)
    if plan is not None:
        plans.move_to_end(key)
        return plan
    real = pyfftw.empty_aligned((n, h, w), dtype=np.float64)
    cplx = pyfftw.empty_aligned((n, h, w // 2 + 1), dtype=np.complex128)
    effort = "FFTW_MEASURE"
    if kind == "r2c":
        plan = pyfftw.FFTW(real, cplx, axes=(-2, -1), direction="FFTW_FORWARD", flags=(effort,), threads=threads)
    else:
        plan = pyfftw.FFTW(
            cplx, real, axes=(-2, -1), direction="FFTW_BACKWARD", flags=(effort, "FFTW_DESTROY_INPUT"), threads=threads
        )
    plans[key] = plan
    while len(plans) > _MAX_PLANS:
        plans.popitem(last=False)
    return plan


def rfft2_plan(h: int, w: int, threads: "int | None" = None) -> pyfftw.FFTW:
    """Cached forward plan for a ``(chunk_size(h, w), h, w)`` float64 stack; fill ``input_array``, ``execute()``."""
    return _get_plan("r2c", h, w, default_threads(threads))


def irfft2_plan(h: int, w: int, threads: "int | None" = None) -> pyfftw.FFTW:
    """Cached unnormalised inverse plan ``(chunk, h, w//2+1)`` complex128 → ``(chunk, h, w)`` float64."""
    return _get_plan("c2r", h, w, default_threads(threads))


def iter_rfft2(maps: np.ndarray, *, threads: "int | None" = None) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(slice, F)`` with ``F = rfft2(maps[slice])`` chunk by chunk.

    ``F`` is a view of the plan's output buffer: it is overwritten by the next iteration, so consume
    (or copy) it before advancing. Input of any float dtype is converted to float64 while being
    copied into the plan's input buffer (no separate conversion pass).
    """
    n, h, w = maps.shape
    plan = rfft2_plan(h, w, threads)
    chunk = plan.input_array.shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        plan.input_array[: stop - start] = maps[start:stop]
        plan.execute()
        yield slice(start, stop), plan.output_array[: stop - start]


def rfft2(maps: np.ndarray, *, threads: "int | None" = None) -> np.ndarray:
    """``numpy.fft.rfft2`` of a ``(n, h, w)`` stack over the last two axes (new complex128 array)."""
    maps = np.asarray(maps)
    n, h, w = maps.shape
    out = np.empty((n, h, w // 2 + 1), dtype=np.complex128)
    for sl, F in iter_rfft2(maps, threads=threads):
        out[sl] = F
    return out


def irfft2(F: np.ndarray, shape: tuple[int, int], *, threads: "int | None" = None) -> np.ndarray:
    """``numpy.fft.irfft2(F, s=shape)`` of a ``(n, h, w//2+1)`` stack (normalised by ``h*w``)."""
    n = F.shape[0]
    h, w = shape
    out = np.empty((n, h, w), dtype=np.float64)
    plan = irfft2_plan(h, w, threads)
    chunk = plan.input_array.shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        plan.input_array[: stop - start] = F[start:stop]
        plan.execute()
        np.multiply(plan.output_array[: stop - start], 1.0 / (h * w), out=out[start:stop])
    return out
