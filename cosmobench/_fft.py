"""pyFFTW plans, wisdom and the thread policy for every FFT in cosmobench.

Two kinds of transform, one module:

- **3-D grids of the particle-mesh solver** (:class:`RealFFT3D`, :func:`rfftn`, :func:`irfftn`). FFTW
  plans bind to fixed, aligned buffers: building the plan once per simulation and reusing its buffers
  at every step avoids re-planning and re-allocating 0.5 GB arrays (512³ float32) each step.
- **Batched 2-D transforms of map stacks** (:func:`rfft2`, :func:`irfft2`, :func:`iter_rfft2`). One
  plan per ``(direction, H, W, threads)`` is kept in a small per-thread LRU cache with its own aligned
  buffers, and every batch is processed in chunks of that plan's fixed size (:func:`chunk_size`: 256
  maps of 64², an 8 MiB input buffer). A last, shorter chunk reuses the same plan: the unused rows of
  the buffers hold stale maps whose transforms are ignored (batched transforms are independent),
  which avoids planning for every batch size (``FFTW_ESTIMATE`` plans for odd batch sizes were
  measured up to 6x slower).

Why FFTW_MEASURE with wisdom on disk: for a 512³ float32 transform on 2 threads the FFTW_ESTIMATE
plan took 3.3 s and the measured plan 0.25 s (13× faster), but measuring costs ~16 s per transform.
Every plan is therefore made through :func:`plan`, which imports the wisdom saved under
``<data home>/fftw/`` (one file per host and pyFFTW version) and saves what it adds; later runs plan
in milliseconds *and* get the same plans, which is also what keeps two runs with the same seed
bit-identical (a different plan rounds differently).

Threads (:func:`default_threads`): the caller's number, else ``$COSMOBENCH_THREADS``, else the CPUs
this process may run on; the batched 2-D transforms of small maps use at most 4 of those CPUs
(their plans do not get faster past that).

Conventions are numpy's: forward transforms are unnormalised, ``irfft2``/``irfftn`` divide by the
number of pixels.
"""

from __future__ import annotations

import os
import platform
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cosmobench._lazy_peers import import_pyfftw

pyfftw = import_pyfftw()

from cosmobench._io import atomic_path
from cosmobench._paths import data_home
from cosmobench.errors import CosmobenchError

__all__ = [
    "default_threads",
    "plan",
    "planner",
    "RealFFT3D",
    "rfftn",
    "irfftn",
    "chunk_size",
    "rfft2_plan",
    "irfft2_plan",
    "iter_rfft2",
    "rfft2",
    "irfft2",
]

# Batched 2-D transforms of small maps do not get faster with more threads than this.
_MAX_2D_THREADS = 4


def default_threads(threads: "int | None" = None, *, cap: "int | None" = None) -> int:
    """FFTW threads: ``threads`` if given, else ``$COSMOBENCH_THREADS``, else the CPUs this process may use.

    Parameters
    ----------
    threads : int, optional
        An explicit positive whole number.
    cap : int, optional
        Upper bound applied to the CPU count (not to an explicit number or the environment variable).

    Raises
    ------
    CosmobenchError
        For a ``threads`` that is not a positive whole number.
    """
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
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, cap) if cap else cpus)


_WISDOM_LOCK = threading.Lock()
_WISDOM_LOADED = False
_PLANNING_TIMELIMIT = 120.0  # seconds; FFTW falls back to its best plan so far


def _wisdom_path() -> Path:
    home = data_home()
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", platform.node() or "host")
    return home / "fftw" / f"wisdom_{host}_pyfftw{pyfftw.__version__}.npz"


def _load_wisdom() -> None:
    global _WISDOM_LOADED
    if _WISDOM_LOADED:
        return
    _WISDOM_LOADED = True
    path = _wisdom_path()
    if path.exists():
        try:
            with np.load(path) as f:
                pyfftw.import_wisdom(tuple(f[f"w{i}"].tobytes() for i in range(3)))
        except Exception:
            pass  # unreadable wisdom only costs planning time


def _save_wisdom() -> None:
    try:
        w = pyfftw.export_wisdom()
        with atomic_path(_wisdom_path(), suffix=".npz") as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{f"w{i}": np.frombuffer(b, dtype=np.uint8) for i, b in enumerate(w)})
    except OSError:
        pass  # a read-only data home only costs planning time


def planner() -> str:
    """FFTW planner in use: ``"measure"`` (default) or ``"estimate"`` (``$COSMOBENCH_FFTW_PLANNER=estimate``).

    Estimated plans need no measuring and no wisdom, transform slower and round differently: builds of
    one reference recipe with either planner are the same reference (``tests/test_recipe.py``).
    """
    return "estimate" if os.environ.get("COSMOBENCH_FFTW_PLANNER", "").strip().lower() == "estimate" else "measure"


def plan(inp: np.ndarray, out: np.ndarray, direction: str, threads: int, *, axes=(0, 1, 2),
         destroy_input: bool = True, estimate: bool = False) -> pyfftw.FFTW:
    """An FFTW_MEASURE plan using (and extending) the on-disk wisdom. Overwrites ``inp``/``out``.

    Parameters
    ----------
    inp, out : numpy.ndarray
        Aligned buffers the plan binds to.
    direction : {"FFTW_FORWARD", "FFTW_BACKWARD"}
    threads : int
    axes : tuple of int
        Transformed axes (default the three of a grid; ``(-2, -1)`` for a stack of maps).
    destroy_input : bool
        Let FFTW overwrite ``inp`` while executing (faster for c2r).
    estimate : bool
        Use FFTW_ESTIMATE whatever :func:`planner` says (a plan chosen without timing).
    """
    if estimate or planner() == "estimate":
        flags = ("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT") if destroy_input else ("FFTW_ESTIMATE",)
        return pyfftw.FFTW(inp, out, axes=axes, direction=direction, flags=flags, threads=threads)
    flags = ("FFTW_MEASURE", "FFTW_DESTROY_INPUT") if destroy_input else ("FFTW_MEASURE",)
    with _WISDOM_LOCK:
        _load_wisdom()
        before = pyfftw.export_wisdom()
        p = pyfftw.FFTW(inp, out, axes=axes, direction=direction, flags=flags, threads=threads,
                        planning_timelimit=_PLANNING_TIMELIMIT)
        if pyfftw.export_wisdom() != before:
            _save_wisdom()
    return p


class RealFFT3D:
    """Real-to-complex 3-D FFT of an ``n³`` float32 grid with reusable buffers.

    Attributes
    ----------
    real : ndarray, float32, shape (n, n, n)
        Input of :meth:`forward`, output of :meth:`backward`.
    spec : ndarray, complex64, shape (n, n, n//2+1)
        Output of :meth:`forward`, input of :meth:`backward` (destroyed by it).

    Both transforms are unnormalised (numpy's ``rfftn`` convention forward, ``n³ × irfftn`` backward).
    """

    def __init__(self, n: int, threads: int | None = None):
        self.n = int(n)
        self.threads = int(threads or default_threads())
        self.real = pyfftw.empty_aligned((n, n, n), dtype=np.float32)
        self.spec = pyfftw.empty_aligned((n, n, n // 2 + 1), dtype=np.complex64)
        self._fwd = plan(self.real, self.spec, "FFTW_FORWARD", self.threads)
        self._bwd = plan(self.spec, self.real, "FFTW_BACKWARD", self.threads)

    def forward(self) -> np.ndarray:
        """``spec ← rfftn(real)``; returns ``spec``. ``real`` may be overwritten."""
        self._fwd.execute()
        return self.spec

    def backward(self) -> np.ndarray:
        """``real ← n³ · irfftn(spec)``; returns ``real``. ``spec`` is destroyed."""
        self._bwd.execute()
        return self.real


def rfftn(field: np.ndarray, threads: int | None = None) -> np.ndarray:
    """One-off unnormalised real 3-D FFT (complex64 for float32 input, else complex128)."""
    field = np.asarray(field)
    if field.dtype == np.float32:
        cdt = np.complex64
    else:
        field = field.astype(np.float64, copy=False)
        cdt = np.complex128
    n0, n1, n2 = field.shape
    inp = pyfftw.empty_aligned(field.shape, dtype=field.dtype)
    out = pyfftw.empty_aligned((n0, n1, n2 // 2 + 1), dtype=cdt)
    p = plan(inp, out, "FFTW_FORWARD", threads or default_threads())
    inp[...] = field
    p.execute()
    return out


def irfftn(spec: np.ndarray, n: int, threads: int | None = None) -> np.ndarray:
    """One-off normalised inverse of :func:`rfftn` for an ``n³`` grid (``spec`` is not modified)."""
    real_dt = np.float32 if spec.dtype == np.complex64 else np.float64
    inp = pyfftw.empty_aligned(spec.shape, dtype=spec.dtype)
    out = pyfftw.empty_aligned((n, n, n), dtype=real_dt)
    p = plan(inp, out, "FFTW_BACKWARD", threads or default_threads())
    inp[...] = spec
    p.execute()
    out *= real_dt(1.0 / n**3)
    return out


# ---------------------------------------------------------------------- batched 2-D map stacks

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


def chunk_size(h: int, w: int) -> int:
    """Maps per FFT chunk for ``h x w`` maps: min(256, 2²⁰ / (h w)), at least 1."""
    return max(1, min(_MAX_CHUNK, _MAX_PIXELS // (h * w)))


def _get_plan(kind: str, h: int, w: int, threads: int) -> pyfftw.FFTW:
    n = chunk_size(h, w)
    key = (kind, h, w, threads)
    plans = _cache()
    cached = plans.get(key)
    if cached is not None:
        plans.move_to_end(key)
        return cached
    real = pyfftw.empty_aligned((n, h, w), dtype=np.float64)
    cplx = pyfftw.empty_aligned((n, h, w // 2 + 1), dtype=np.complex128)
    # Estimated, not measured: a measured plan depends on timings and on the wisdom other processes
    # left (FFTW records sub-problems of multi-threaded plans), so two processes could round a map's
    # statistics differently (seen in CI: bispectrum values 1e-15 apart between two fresh processes).
    # Estimated plans make every summary a pure function of the maps and the thread count; the small
    # 2-D transforms lose little speed.
    if kind == "r2c":
        p = plan(real, cplx, "FFTW_FORWARD", threads, axes=(-2, -1), destroy_input=False, estimate=True)
    else:
        p = plan(cplx, real, "FFTW_BACKWARD", threads, axes=(-2, -1), estimate=True)
    plans[key] = p
    while len(plans) > _MAX_PLANS:
        plans.popitem(last=False)
    return p


def rfft2_plan(h: int, w: int, threads: "int | None" = None) -> pyfftw.FFTW:
    """Cached forward plan for a ``(chunk_size(h, w), h, w)`` float64 stack; fill ``input_array``, ``execute()``."""
    return _get_plan("r2c", h, w, default_threads(threads, cap=_MAX_2D_THREADS))


def irfft2_plan(h: int, w: int, threads: "int | None" = None) -> pyfftw.FFTW:
    """Cached unnormalised inverse plan ``(chunk, h, w//2+1)`` complex128 → ``(chunk, h, w)`` float64."""
    return _get_plan("c2r", h, w, default_threads(threads, cap=_MAX_2D_THREADS))


def _run_chunks(p: pyfftw.FFTW, src: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """Run a stack plan over ``src`` chunk by chunk; yield ``(slice, view of the plan's output)``."""
    chunk = p.input_array.shape[0]
    n = src.shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        p.input_array[: stop - start] = src[start:stop]
        p.execute()
        yield slice(start, stop), p.output_array[: stop - start]


def iter_rfft2(maps: np.ndarray, *, threads: "int | None" = None) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(slice, F)`` with ``F = rfft2(maps[slice])`` chunk by chunk.

    ``F`` is a view of the plan's output buffer: it is overwritten by the next iteration, so consume
    (or copy) it before advancing. Input of any float dtype is converted to float64 while being
    copied into the plan's input buffer (no separate conversion pass).
    """
    _, h, w = maps.shape
    yield from _run_chunks(rfft2_plan(h, w, threads), maps)


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
    for sl, real in _run_chunks(irfft2_plan(h, w, threads), F):
        np.multiply(real, 1.0 / (h * w), out=out[sl])
    return out
