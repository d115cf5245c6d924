"""Exact nearest-neighbour distances between two sets of feature rows (:func:`nearest_neighbour_distances`).

The memorisation score's cost: every model map against every training map (10,000 × 57,344 rows of 256
features on the 40-box reference). A float32 matrix product screens, a numba kernel ranks the few
candidates in float64 (:mod:`cosmobench.stats._nn_kernels`), so the answer is the brute-force float64 one
at the float32 product's speed. In its own module, not in :mod:`cosmobench.stats.diversity`, because the
reference-summary cache is keyed on the code of the file defining a statistic: a change here does not
invalidate the cached diversity features.
"""

from __future__ import annotations

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats._validate import check_rows

__all__ = ["nearest_neighbour_distances"]

# Screening tile: rows of a × columns of b per matrix product (8 MiB of float32, in cache for the scan that
# follows; 2,048 × 1,024 runs the product at 184 GFLOP/s on this machine's 2 cores, the 292 × 57,344 blocks
# of a 64 MiB budget at 148, and the scan then read them from memory).
_ROW_TILE = 2048
_COL_TILE = 1024


def nearest_neighbour_distances(a, b, chunk: int = 4096) -> np.ndarray:
    """Euclidean distance from every row of ``a`` to its nearest row of ``b``.

    Parameters
    ----------
    a : array_like
        ``(n, d)`` query vectors.
    b : array_like
        ``(m, d)`` candidate vectors.
    chunk : int
        Most rows of ``a`` handled at once (at most 2,048); the screening distances are formed in tiles
        of those rows × 1,024 rows of ``b`` (8 MiB of float32), which bounds memory for any ``n`` and ``m``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 distances (0 where a row of ``a`` is also a row of ``b``), exact: the same
        ``‖a_i − b_j‖`` in float64 as a brute-force search.

    Notes
    -----
    Rows are centred on ``b``'s mean. A float32 matrix product screens the candidates: every ``j``
    whose screened squared distance is within the float32 rounding bound of the row's smallest
    (:func:`_screen_slack`) is a candidate, so the true nearest neighbour is always among them; the
    candidates are ranked by their exact float64 distance (a numba kernel that scans each tile of the
    product while it is in cache, against the row's running minimum), and the winner's distance is
    computed directly as ``‖a_i − b_j‖`` (not cancellation-limited, so near-copies get accurate
    distances). The float32 product is about twice as fast as float64, and a row has one or two candidates.
    """
    a = check_rows(a, "query features", min_rows=1)
    b = check_rows(b, "candidate features", min_rows=1)
    if a.shape[1] != b.shape[1]:
        raise CosmobenchError(
            f"query features have {a.shape[1]} columns but candidates have {b.shape[1]}; compare summaries of the same statistic"
        )
    if int(chunk) < 1:
        raise CosmobenchError(f"chunk={chunk}; pass a positive number of rows")
    from cosmobench.stats._nn_kernels import scan_tile

    centre = b.mean(axis=0)
    # augmented rows: [-2a, 1] · [b, ‖b‖²] = ‖b‖² − 2a·b, the squared distance less ‖a‖², in one product;
    # centred on b's mean (smaller norms, a tighter screen)
    b_aug = np.empty((b.shape[0], b.shape[1] + 1), dtype=np.float32)
    np.subtract(b, centre, out=b_aug[:, :-1], casting="same_kind")
    bsq = np.einsum("ij,ij->i", b_aug[:, :-1], b_aug[:, :-1], dtype=np.float64)
    b_aug[:, -1] = bsq
    b_norm_max = float(np.sqrt(bsq.max()))
    slack = _screen_slack(a.shape[1])
    n, m = a.shape[0], b.shape[0]
    rows, cols = max(1, min(int(chunk), n, _ROW_TILE)), min(m, _COL_TILE)
    out = np.empty(n)
    a_aug = np.ones((rows, b.shape[1] + 1), dtype=np.float32)
    screen = np.empty((rows, cols), dtype=np.float32)  # reused: a fresh block a step costs its page faults
    for i0 in range(0, n, rows):
        ac = a[i0 : i0 + rows] - centre
        r = ac.shape[0]
        a_aug[:r, :-1] = ac
        a_aug[:r, :-1] *= -2.0
        pad = slack * (np.sqrt(np.einsum("ij,ij->i", ac, ac)) + b_norm_max) ** 2
        vmin = np.full(r, np.inf, dtype=np.float32)
        best = np.full(r, np.inf)
        j = np.full(r, -1, dtype=np.int64)
        tmin = np.empty(r, dtype=np.float32)
        for j0 in range(0, m, cols):
            c = min(cols, m - j0)
            v = np.matmul(a_aug[:r], b_aug[j0 : j0 + c].T, out=screen[:r, :c])
            scan_tile(v, v.view(np.int32), pad, a[i0 : i0 + rows], b, j0, vmin, best, j, tmin, tmin.view(np.int32))
        diff = ac - (b[j] - centre)
        out[i0 : i0 + rows] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def _screen_slack(d: int) -> float:
    """Bound on float32 screening error over ``(‖a‖ + ‖b‖)²``, doubled (the candidate's and the minimum's).

    The screen is the float32 product of ``[−2a, 1]`` and ``[b, ‖b‖²]`` (u = 2⁻²⁴): rounding a and b to
    float32 moves ``‖b‖² − 2a·b`` by ≤ u(4‖a‖‖b‖ + 2‖b‖²) (‖b‖² is that of the rounded b, then rounded
    once more), the (d + 1)-term float32 dot product adds ≤ (d + 1)·u·(2‖a‖‖b‖ + ‖b‖²) (any summation
    order), the row minimum and the comparison are exact: in all ≤ (d + 4)·u·(‖a‖ + ‖b‖)². The 1 % on top
    covers the second-order terms.
    """
    return 2.0 * 1.01 * (d + 4) * float(np.finfo(np.float32).eps) / 2.0
