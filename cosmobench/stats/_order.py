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


#: Leading columns whose float32 values order the rows first; only rows tied on them are compared on
#: the full key. Continuous summaries almost never tie there, so the full key (12 bytes per element,
#: several temporaries) is built for a few rows instead of all n × d values.
_LEAD = 8


def _full_key(a: np.ndarray) -> np.ndarray:
    """Byte keys of the rows of ``a`` (finite float64, 2-D): float32-rounded values, then exact values."""
    n = a.shape[0]
    a = a + 0.0  # -0.0 -> 0.0, so the sign of a zero never decides an order
    with np.errstate(over="ignore"):
        coarse = np.ascontiguousarray(a.astype(np.float32))
    return np.concatenate(
        [
            _order_preserving(coarse, np.uint32).view(np.uint8).reshape(n, -1),
            _order_preserving(np.ascontiguousarray(a), np.uint64).view(np.uint8).reshape(n, -1),
        ],
        axis=1,
    )


def _rows(key: np.ndarray) -> np.ndarray:
    key = np.ascontiguousarray(key)
    return key.view(np.dtype((np.void, key.shape[1]))).ravel()


def canonical_order(a: np.ndarray) -> np.ndarray:
    """Indices putting the rows of a finite ``(n, d)`` float array in a canonical, round-off-robust order.

    Rows are compared lexicographically by their float32-rounded values (numeric order), then by
    their exact float64 values. Any permutation of the same rows gives the same sorted array, and
    perturbing values by a few ulp reorders only rows that agree to float32 precision.

    The order is found in two passes with the same result as one sort on the full key: rows are
    sorted by their first :data:`_LEAD` float32 values, and only the rows tied there are sorted on
    the full key within their tie group (memory ~ n × 4 · 8 bytes instead of n × d × ~40).

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
    lead = min(a.shape[1], _LEAD)
    with np.errstate(over="ignore"):
        coarse = np.ascontiguousarray((a[:, :lead] + 0.0).astype(np.float32))
    lead_key = _order_preserving(coarse, np.uint32).view(np.uint8).reshape(n, -1)
    rows = _rows(lead_key)
    order = np.argsort(rows, kind="stable")
    srt = rows[order]
    same = srt[1:] == srt[:-1]
    if not same.any():
        return order
    # Tie groups on the leading values: resolve each on the full key (which starts with the same
    # leading values, so groups keep their place and the result equals a single full-key sort).
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, n)))
    sizes = np.bincount(group)
    tied = sizes[group] > 1
    pos = np.flatnonzero(tied)
    idx = order[pos]
    gid = group[pos].astype(">u8").view(np.uint8).reshape(-1, 8)
    sub = np.argsort(_rows(np.concatenate([gid, _full_key(a[idx])], axis=1)), kind="stable")
    order = order.copy()
    order[pos] = idx[sub]
    return order
