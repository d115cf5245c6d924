"""Imports of peer libraries without the parts cosmobench never uses (they dominate a process's start-up).

``import pyfftw`` runs ``pyfftw.interfaces``, which imports ``dask.array`` and ``scipy.fftpack`` to build its
drop-in wrappers: 0.5 s of a 1.5 s import of the evaluation core, for wrappers the core never calls (it
plans through :mod:`pyfftw.builders` and :class:`pyfftw.FFTW`). They are optional in ``pyfftw.interfaces``
(each behind ``try: import ... except ImportError``), so the import below hides the two modules for the
duration of pyfftw's own import; they import normally afterwards, and ``pyfftw.interfaces.dask_fft`` /
``scipy_fftpack`` still import when asked for explicitly.
"""

from __future__ import annotations

import sys

__all__ = ["import_pyfftw"]

_OPTIONAL_OF_PYFFTW = ("dask.array.fft", "scipy.fftpack")


def import_pyfftw():
    """``pyfftw``, imported without its optional dask / scipy.fftpack interface wrappers."""
    if "pyfftw" in sys.modules:
        return sys.modules["pyfftw"]
    hidden = [m for m in _OPTIONAL_OF_PYFFTW if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # None in sys.modules makes the import raise ImportError
    try:
        import pyfftw
    finally:
        for m in hidden:
            if sys.modules.get(m, ...) is None:
                del sys.modules[m]
    return pyfftw
