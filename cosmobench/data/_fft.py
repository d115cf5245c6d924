"""pyFFTW plans for the particle-mesh solver.

Why a class: FFTW plans bind to fixed, aligned buffers. Building the plan once per simulation and
reusing its buffers at every step avoids re-planning and, more importantly, re-allocating 0.5 GB
arrays (512³ float32) each step. FFTW_ESTIMATE plans in milliseconds and is deterministic, so two
runs with the same seed on the same machine give bit-identical fields.
"""

from __future__ import annotations

import os

import numpy as np
import pyfftw

__all__ = ["RealFFT3D", "default_threads", "rfftn", "irfftn"]


def default_threads() -> int:
    """Threads to use when the caller does not say: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


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
        flags = ("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT")
        self._fwd = pyfftw.FFTW(self.real, self.spec, axes=(0, 1, 2), direction="FFTW_FORWARD",
                                flags=flags, threads=self.threads)
        self._bwd = pyfftw.FFTW(self.spec, self.real, axes=(0, 1, 2), direction="FFTW_BACKWARD",
                                flags=flags, threads=self.threads)

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
    plan = pyfftw.FFTW(inp, out, axes=(0, 1, 2), flags=("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT"),
                       threads=threads or default_threads())
    inp[...] = field
    plan.execute()
    return out


def irfftn(spec: np.ndarray, n: int, threads: int | None = None) -> np.ndarray:
    """One-off normalised inverse of :func:`rfftn` for an ``n³`` grid (``spec`` is not modified)."""
    real_dt = np.float32 if spec.dtype == np.complex64 else np.float64
    inp = pyfftw.empty_aligned(spec.shape, dtype=spec.dtype)
    out = pyfftw.empty_aligned((n, n, n), dtype=real_dt)
    plan = pyfftw.FFTW(inp, out, axes=(0, 1, 2), direction="FFTW_BACKWARD",
                       flags=("FFTW_ESTIMATE", "FFTW_DESTROY_INPUT"), threads=threads or default_threads())
    inp[...] = spec
    plan.execute()
    out *= real_dt(1.0 / n**3)
    return out
