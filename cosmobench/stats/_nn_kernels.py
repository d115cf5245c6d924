"""Numba kernel of the exact nearest-neighbour search (:func:`cosmobench.stats.nearest.nearest_neighbour_distances`).

Private. BLAS forms the screened squared distances ``‖b_j‖² − 2 a_i·b_j`` of a tile of rows and columns in
float32 (one matrix product of the augmented rows ``[−2a, 1]`` and ``[b, ‖b‖²]``); this kernel reads the tile
twice while it is still in cache: the row's minimum of the screen so far, then, ranked by their exact float64
squared distance ``‖a_i − b_j‖²``, every ``j`` whose screen is within the rounding bound ``pad`` of that
minimum (``prange`` over rows; the rows as given, not centred).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def scan_tile(v, v_bits, pad, a, b, j0, vmin, best, best_j, tmin, tmin_bits):  # pragma: no cover - compiled
    """Update row ``i``'s running screen minimum ``vmin[i]`` and its exact nearest ``best_j[i]`` (``best[i]``) over
    the columns ``j0 … j0 + v.shape[1] − 1``.

    ``v_bits`` is ``v.view(np.int32)`` and ``tmin_bits`` ``tmin.view(np.int32)`` (scratch, one per row). The
    minimum so far (this tile's included) is never below the final one, so every ``j`` within ``pad`` of the
    final minimum is ranked (the candidates of a search that knew the minimum first, and a few more); ties go
    to the first ``j``.
    """
    rows, m = v.shape
    d = a.shape[1]
    for i in prange(rows):
        # The tile's minimum as the minimum of order-preserving integer keys of the floats (x for x ≥ 0, the
        # other bits flipped below 0; the map is its own inverse): an integer minimum vectorises, a float one
        # does not (3.4× faster here).
        key = np.int32(2147483647)
        for jj in range(m):
            x = v_bits[i, jj]
            k = x ^ ((x >> 31) & 0x7FFFFFFF)
            key = k if k < key else key
        tmin_bits[i] = key ^ ((key >> 31) & 0x7FFFFFFF)
        lo = min(vmin[i], tmin[i])
        lim = lo + pad[i]
        c = 0
        for jj in range(m):  # counted first (vectorises): most tiles of a row hold no candidate
            c += v[i, jj] <= lim
        bd = best[i]
        bj = best_j[i]
        if c:
            for jj in range(m):
                if v[i, jj] <= lim:
                    j = j0 + jj
                    s = 0.0
                    for k in range(d):
                        t = a[i, k] - b[j, k]
                        s += t * t
                    if s < bd:
                        bd = s
                        bj = j
        vmin[i] = lo
        best[i] = bd
        best_j[i] = bj
