"""Deprecated location: the batched 2-D FFTs live in :mod:`cosmobench._fft` (one module, one thread policy)."""

from cosmobench._fft import chunk_size, default_threads, iter_rfft2, irfft2, irfft2_plan, rfft2, rfft2_plan

__all__ = ["chunk_size", "default_threads", "rfft2_plan", "irfft2_plan", "iter_rfft2", "rfft2", "irfft2"]
