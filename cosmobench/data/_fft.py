"""Deprecated location: the FFTW plans live in :mod:`cosmobench._fft` (one module, one thread policy)."""

from cosmobench._fft import RealFFT3D, default_threads, irfftn, plan, planner, rfftn

__all__ = ["RealFFT3D", "default_threads", "plan", "planner", "rfftn", "irfftn"]
