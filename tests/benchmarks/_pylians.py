"""The Pylians3 peer of the benchmarks: ``Pk_library.Pk_plane`` looped over maps, or its stand-in.

Pylians3 (``pip install Pylians``: an sdist, built with the C compiler and Cython, ~? min on 2 cores) is the
tool the field uses for P(k); the issue's targets are in units of its per-map ``Pk_plane`` loop. When it is
not installed the benchmarks time the stand-in of :mod:`test_bench_statistics` (numpy FFT + bincount, the
same estimator on the same bins, checked there against ours to 1e-9) and say so in ``extra_info``.
"""

from __future__ import annotations

import numpy as np

try:
    import Pk_library as _PKL
except ImportError:  # the stand-in is used, and named in extra_info
    _PKL = None

HAVE_PYLIANS = _PKL is not None


def pylians_pk_plane_loop(maps: np.ndarray, box_size: float) -> np.ndarray:
    """``Pk_library.Pk_plane(map, box_size, 'None', 1)`` of every map, ``(n, nbins)`` (Pylians' own bins)."""
    out = []
    for m in maps:
        out.append(_PKL.Pk_plane(np.ascontiguousarray(m, dtype=np.float32), box_size, "None", 1, False).Pk)
    return np.asarray(out)
