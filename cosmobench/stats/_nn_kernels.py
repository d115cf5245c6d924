"""Numba kernel of the exact nearest-neighbour search (:func:`cosmobench.stats.diversity.nearest_neighbour_distances`).

Private. BLAS forms the screened squared distances ``‖b_j‖² − 2 a_i·b_j`` of a block of rows in float32 (one
matrix product of the augmented rows ``[−2a, 1]`` and ``[b, ‖b‖²]``) and numpy their row minima; this kernel
reads each row once more, keeps the ``j`` within the rounding bound of the row's minimum, and ranks them
by their exact float64 squared distance ``‖a_i − b_j‖²`` (``prange`` over rows; the rows as given, not centred).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def nearest_in_block(v, limit, a, b, out):  # pragma: no cover - compiled
    """``out[i]`` = the ``j`` with ``v[i, j] ≤ limit[i]`` minimising ``‖a[i] − b[j]‖`` (first ``j`` on a tie)."""
    rows, m = v.shape
    d = a.shape[1]
    for i in prange(rows):
        best = np.inf
        best_j = -1
        lim = limit[i]
        for j in range(m):
            if v[i, j] <= lim:
                s = 0.0
                for k in range(d):
                    t = a[i, k] - b[j, k]
                    s += t * t
                if s < best:
                    best = s
                    best_j = j
        out[i] = best_j
