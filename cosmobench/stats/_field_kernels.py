"""Numba kernels on the log density field shared by the pixel PDF and the diversity features.

Private: :class:`cosmobench.stats.batch.BatchContext` and :mod:`cosmobench.stats.pdf` call them on
validated, C-contiguous ``(n, H*W)`` arrays. Each runs ``prange`` over maps and touches every pixel
once.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def log_density(maps, clip, out):  # pragma: no cover - compiled
    """``out[i, p] = log10(max(1 + maps[i, p], clip))`` in float64 (float32 maps are widened first)."""
    n, m = maps.shape
    for i in prange(n):
        for p in range(m):
            x = 1.0 + np.float64(maps[i, p])
            out[i, p] = np.log10(x if x > clip else clip)


@njit(cache=True, parallel=True)
def block_means(y, h, w, blocks, out):  # pragma: no cover - compiled
    """``out[i, b]``: mean of ``y[i]`` (a flattened ``h x w`` map) over each of ``blocks²`` equal blocks, row-major."""
    n = y.shape[0]
    bh = h // blocks
    bw = w // blocks
    count = float(bh * bw)
    for i in prange(n):
        acc = np.zeros(blocks * blocks)
        for r in range(h):
            base = (r // bh) * blocks
            for c in range(w):
                acc[base + c // bw] += y[i, r * w + c]
        for b in range(blocks * blocks):
            out[i, b] = acc[b] / count


@njit(cache=True, inline="always")
def _bin(y, edges, inv, uniform):  # pragma: no cover - compiled
    """Bin ``[e_j, e_j+1)`` of ``y``, tails clipped into the end bins (as :func:`numpy.histogram` for uniform edges)."""
    nb = edges.shape[0] - 1
    if uniform:
        b = int(np.floor((y - edges[0]) * inv))
        if b < 0:
            b = 0
        elif b >= nb:
            b = nb - 1
        # the arithmetic bin can be off by one at an edge: correct against the edges themselves
        if b < nb - 1 and y >= edges[b + 1]:
            b += 1
        elif b > 0 and y < edges[b]:
            b -= 1
        return b
    b = np.searchsorted(edges[1:nb], y, side="right")
    return b


@njit(cache=True, parallel=True)
def log_histogram(values, edges, uniform, of_delta, out):  # pragma: no cover - compiled
    """Counts of log10(1 + δ) per map: of ``log10(1 + values)`` when ``of_delta`` (``1 + δ <= 0`` counts
    in the first bin), else of ``values`` themselves (an already computed log field)."""
    n, m = values.shape
    nb = out.shape[1]
    inv = nb / (edges[nb] - edges[0])
    for i in prange(n):
        for j in range(nb):
            out[i, j] = 0
        for p in range(m):
            if of_delta:
                x = 1.0 + np.float64(values[i, p])
                b = _bin(np.log10(x), edges, inv, uniform) if x > 0.0 else 0
            else:
                b = _bin(values[i, p], edges, inv, uniform)
            out[i, b] += 1


def uniform_edges(edges: np.ndarray) -> bool:
    """Whether the edges are equally spaced (to 1e-10 relative), so bins can be found arithmetically."""
    d = np.diff(edges)
    return bool(np.allclose(d, d[0], rtol=1e-10, atol=0.0))
