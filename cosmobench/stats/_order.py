"""A canonical order of the rows of a summary array that round-off cannot change.

Scores must not depend on the order in which a model's maps arrive (a permuted or re-batched sample
file is the same model), so every random draw over rows (bootstrap, subsets) is made on the rows in a
canonical order. Sorting by the raw float64 bytes is not enough: two runs whose FFT round-off differs
by 1e-16 then order rows differently, and every interval changes in its third digit. Here rows are
ordered *numerically* by their values rounded to float32 (a 1e-16 change moves a row only past rows
equal to it at float32 precision, ~6e-8 relative), with the exact float64 values breaking ties.
"""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_order"]


def _order_preserving(a: np.ndarray, uint: type) -> np.ndarray:
    """Big-endian unsigned integers whose byte-wise (memcmp) order is the numeric order of the floats ``a``."""
    bits = a.view(uint)
    sign = np.array(1, dtype=uint) << np.array(8 * a.dtype.itemsize - 1, dtype=uint)
    out = np.where(bits & sign, ~bits, bits | sign)
    return out.astype(out.dtype.newbyteorder(">"))


def canonical_order(a: np.ndarray) -> np.ndarray:
    """Indices putting the rows of a finite ``(n, d)`` float array in a canonical, round-off-robust order.

    Rows are compared lexicographically by their float32-rounded values (numeric order), then by
    their exact float64 values. Any permutation of the same rows gives the same sorted array, and
    perturbing values by a few ulp reorders only rows that agree to float32 precision.

    Parameters
    ----------
    a : numpy.ndarray
        ``(n, d)`` finite floats (a 1-D array is one column).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int64 indices (``a[idx]`` is the canonical order).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    n = a.shape[0]
    if n < 2:
        return np.arange(n)
    a = a + 0.0  # -0.0 -> 0.0, so the sign of a zero never decides an order
    with np.errstate(over="ignore"):
        coarse = np.ascontiguousarray(a.astype(np.float32))
    key = np.concatenate(
        [
            _order_preserving(coarse, np.uint32).view(np.uint8).reshape(n, -1),
            _order_preserving(np.ascontiguousarray(a), np.uint64).view(np.uint8).reshape(n, -1),
        ],
        axis=1,
    )
    rows = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel()
    return np.argsort(rows, kind="stable")
