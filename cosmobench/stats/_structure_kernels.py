"""Numba kernels behind :mod:`cosmobench.stats.structures` and :mod:`cosmobench.stats.minkowski`.

Private: the public functions validate their input and call these on C-contiguous float64 arrays.
Every kernel works on a whole batch ``(n, H, W)`` and runs ``prange`` over maps (each map owns its
own rows of the scratch arrays, so there are no races).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# ---------------------------------------------------------------------------------------------
# Connected components: union-find with path halving, union by smallest index.
# The root of every tree is the smallest (raster-order first) pixel of its component, so the
# second pass can hand out labels 1..k in order of each component's first pixel.
# ---------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True, inline="always")
def _union(parent, a, b):
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


@njit(cache=True, inline="always")
def _union_pass(img, threshold, connectivity, parent):
    """Union-find forest of the pixels of ``img > threshold`` (``parent`` −1 for the others)."""
    h, w = img.shape
    for i in range(h):
        for j in range(w):
            p = i * w + j
            if img[i, j] > threshold:
                parent[p] = p
                if j > 0 and img[i, j - 1] > threshold:
                    _union(parent, p, p - 1)
                if i > 0:
                    if img[i - 1, j] > threshold:
                        _union(parent, p, p - w)
                    if connectivity == 8:
                        if j > 0 and img[i - 1, j - 1] > threshold:
                            _union(parent, p, p - w - 1)
                        if j < w - 1 and img[i - 1, j + 1] > threshold:
                            _union(parent, p, p - w + 1)
            else:
                parent[p] = -1


@njit(cache=True, inline="always")
def _label_map(img, threshold, connectivity, parent, lab):
    """Label the components of ``img > threshold`` into the flat ``lab`` (0 or 1..k); returns k."""
    h, w = img.shape
    _union_pass(img, threshold, connectivity, parent)
    k = 0
    for p in range(h * w):
        if parent[p] < 0:
            lab[p] = 0
        else:
            r = _find(parent, p)
            if r == p:
                k += 1
                lab[p] = k
            else:
                lab[p] = lab[r]  # r < p is already labelled
    return k


@njit(cache=True, parallel=True)
def label_batch(maps, threshold, connectivity, labels, counts):
    """Label the components of ``maps > threshold`` of every map.

    ``labels`` (n, H, W) int32 is filled with 0 (background) or 1..k; ``counts`` (n,) gets k.
    """
    n, h, w = maps.shape
    for m in prange(n):
        parent = np.empty(h * w, dtype=np.int32)
        counts[m] = _label_map(maps[m], threshold, connectivity, parent, labels[m].reshape(h * w))


# Per-structure raw sums, columns of ``acc``.
_AREA, _MASS, _SI, _SJ, _SII, _SJJ, _SIJ, _NH, _NV, _ND1, _ND2 = range(11)
N_ACC = 11


@njit(cache=True, parallel=True)
def measure_batch(maps, labels, offsets, acc):
    """Accumulate per-structure sums into ``acc[offsets[m] + label - 1, :]`` (``offsets`` has n + 1 entries).

    Columns: area, mass Σ(1+δ), Σi, Σj, Σi², Σj², Σij (coordinates relative to the structure's
    first pixel), and the boundary crossings along the four lattice directions (0°, 90°, 45°, 135°):
    the number of (structure pixel, neighbour) pairs in that direction whose neighbour is not in
    the structure or lies outside the tile. N0 + N90 is the pixel-edge perimeter.
    """
    n, h, w = maps.shape
    for m in prange(n):
        img = maps[m]
        lab = labels[m]
        off = offsets[m]
        nlab = offsets[m + 1] - off
        # reference pixel of every label = its first pixel in raster order (labels are numbered
        # in that order), so moments are taken about a nearby point (no cancellation on big maps)
        ref = np.empty((nlab, 2))
        nxt = 1
        for i in range(h):
            for j in range(w):
                if lab[i, j] == nxt:
                    ref[nxt - 1, 0] = i
                    ref[nxt - 1, 1] = j
                    nxt += 1
        for i in range(h):
            for j in range(w):
                l = lab[i, j]
                if l == 0:
                    continue
                s = off + l - 1
                di = i - ref[l - 1, 0]
                dj = j - ref[l - 1, 1]
                acc[s, _AREA] += 1.0
                acc[s, _MASS] += 1.0 + img[i, j]
                acc[s, _SI] += di
                acc[s, _SJ] += dj
                acc[s, _SII] += di * di
                acc[s, _SJJ] += dj * dj
                acc[s, _SIJ] += di * dj
                # horizontal crossings (along a row): left and right neighbours
                if j == 0 or lab[i, j - 1] != l:
                    acc[s, _NH] += 1.0
                if j == w - 1 or lab[i, j + 1] != l:
                    acc[s, _NH] += 1.0
                if i == 0 or lab[i - 1, j] != l:
                    acc[s, _NV] += 1.0
                if i == h - 1 or lab[i + 1, j] != l:
                    acc[s, _NV] += 1.0
                # diagonal (i-1, j-1)/(i+1, j+1)
                if i == 0 or j == 0 or lab[i - 1, j - 1] != l:
                    acc[s, _ND1] += 1.0
                if i == h - 1 or j == w - 1 or lab[i + 1, j + 1] != l:
                    acc[s, _ND1] += 1.0
                # anti-diagonal (i-1, j+1)/(i+1, j-1)
                if i == 0 or j == w - 1 or lab[i - 1, j + 1] != l:
                    acc[s, _ND2] += 1.0
                if i == h - 1 or j == 0 or lab[i + 1, j - 1] != l:
                    acc[s, _ND2] += 1.0


@njit(cache=True, inline="always")
def _outside(img, i, j, t):
    """Whether pixel (i, j) is off the tile or not above ``t``: with 8-connectivity, exactly when a
    neighbour of a structure pixel is not in that structure."""
    h, w = img.shape
    return i < 0 or j < 0 or i >= h or j >= w or not img[i, j] > t


@njit(cache=True, inline="always")
def _label_measure8(img, t, parent, flat, acc):
    """8-connected labelling whose assigning pass also accumulates area, mass and the four crossing
    counts into ``acc[label - 1]`` (columns as :func:`structure_summary`'s); returns k."""
    h, w = img.shape
    _union_pass(img, t, 8, parent)
    k = 0
    for i in range(h):
        for j in range(w):
            p = i * w + j
            if parent[p] < 0:
                flat[p] = 0
                continue
            r = _find(parent, p)
            if r == p:  # a structure's first pixel in raster order is its root
                k += 1
                flat[p] = k
                for q in range(6):
                    acc[k - 1, q] = 0.0
            else:
                flat[p] = flat[r]
            s = flat[p] - 1
            acc[s, 0] += 1.0
            acc[s, 1] += 1.0 + img[i, j]
            acc[s, 2] += _outside(img, i, j - 1, t) + _outside(img, i, j + 1, t)
            acc[s, 3] += _outside(img, i - 1, j, t) + _outside(img, i + 1, j, t)
            acc[s, 4] += _outside(img, i - 1, j - 1, t) + _outside(img, i + 1, j + 1, t)
            acc[s, 5] += _outside(img, i - 1, j + 1, t) + _outside(img, i + 1, j - 1, t)
    return k


@njit(cache=True, inline="always")
def _label_measure(img, t, connectivity, parent, flat, acc):
    """Labelling, then a measuring pass that compares labels (needed for 4-connectivity, where a
    diagonal neighbour above ``t`` may belong to another structure); same columns as :func:`_label_measure8`."""
    h, w = img.shape
    k = _label_map(img, t, connectivity, parent, flat)
    lab = flat.reshape(h, w)
    for s in range(k):
        for q in range(6):
            acc[s, q] = 0.0
    for i in range(h):
        for j in range(w):
            l = lab[i, j]
            if l == 0:
                continue
            s = l - 1
            acc[s, 0] += 1.0
            acc[s, 1] += 1.0 + img[i, j]
            if j == 0 or lab[i, j - 1] != l:
                acc[s, 2] += 1.0
            if j == w - 1 or lab[i, j + 1] != l:
                acc[s, 2] += 1.0
            if i == 0 or lab[i - 1, j] != l:
                acc[s, 3] += 1.0
            if i == h - 1 or lab[i + 1, j] != l:
                acc[s, 3] += 1.0
            if i == 0 or j == 0 or lab[i - 1, j - 1] != l:
                acc[s, 4] += 1.0
            if i == h - 1 or j == w - 1 or lab[i + 1, j + 1] != l:
                acc[s, 4] += 1.0
            if i == 0 or j == w - 1 or lab[i - 1, j + 1] != l:
                acc[s, 5] += 1.0
            if i == h - 1 or j == 0 or lab[i + 1, j - 1] != l:
                acc[s, 5] += 1.0
    return k


# Columns of structure_summary, per threshold.
N_SUMMARY = 5


@njit(cache=True, parallel=True)
def structure_summary(maps, thresholds, connectivity, min_area, out):
    """Per map and threshold: count, mean log10 area, largest share, area-weighted filamentarity and
    mass fraction of the structures of ``maps > t`` with at least ``min_area`` pixels.

    ``out`` is ``(n, 5 * nt)``. One labelling and one measuring pass per map and threshold, with the
    per-structure sums in scratch arrays of the map; the same numbers as ``structures()`` followed by
    the statistic's reductions, without building the catalogue.
    """
    n, h, w = maps.shape
    nt = thresholds.shape[0]
    r2 = 1.0 / math.sqrt(2.0)
    for m in prange(n):
        img = maps[m]
        parent = np.empty(h * w, dtype=np.int32)
        flat = np.empty(h * w, dtype=np.int32)
        acc = np.empty((h * w, 6))
        total = 0.0
        for i in range(h):
            for j in range(w):
                total += img[i, j]
        total += h * w
        for it in range(nt):
            if connectivity == 8:
                k = _label_measure8(img, thresholds[it], parent, flat, acc)
            else:
                k = _label_measure(img, thresholds[it], connectivity, parent, flat, acc)
            cnt = 0
            sum_log = 0.0
            tot_area = 0.0
            largest = 0.0
            fil_w = 0.0
            mass = 0.0
            for s in range(k):
                a = acc[s, 0]
                if a < min_area:
                    continue
                cnt += 1
                sum_log += math.log10(a)
                tot_area += a
                largest = max(largest, a)
                crofton = (math.pi / 8.0) * (acc[s, 2] + acc[s, 3] + r2 * (acc[s, 4] + acc[s, 5]))
                p2 = crofton * crofton
                fa = 4.0 * math.pi * a
                fil_w += a * ((p2 - fa) / (p2 + fa))
                mass += acc[s, 1]
            c0 = it * N_SUMMARY
            out[m, c0] = cnt
            if cnt > 0:
                out[m, c0 + 1] = sum_log / cnt
                out[m, c0 + 2] = largest / tot_area
                out[m, c0 + 3] = fil_w / tot_area
            else:
                out[m, c0 + 1] = 0.0
                out[m, c0 + 2] = 0.0
                out[m, c0 + 3] = 0.0
            out[m, c0 + 4] = mass / total if mass != 0.0 else 0.0  # an all-empty map has no mass to share


@njit(cache=True)
def shapes_from_acc(acc, out_perimeter, out_crofton, out_elong):
    """Perimeters and inertia-tensor elongation from the raw sums (serial; cheap)."""
    r2 = 1.0 / math.sqrt(2.0)
    for s in range(acc.shape[0]):
        a = acc[s, _AREA]
        out_perimeter[s] = acc[s, _NH] + acc[s, _NV]
        out_crofton[s] = (math.pi / 8.0) * (acc[s, _NH] + acc[s, _NV] + r2 * (acc[s, _ND1] + acc[s, _ND2]))
        mi = acc[s, _SI] / a
        mj = acc[s, _SJ] / a
        # covariance of pixel centres + 1/12 (second moment of a unit square about its centre)
        cii = acc[s, _SII] / a - mi * mi + 1.0 / 12.0
        cjj = acc[s, _SJJ] / a - mj * mj + 1.0 / 12.0
        cij = acc[s, _SIJ] / a - mi * mj
        tr = 0.5 * (cii + cjj)
        d = math.sqrt(max(0.25 * (cii - cjj) ** 2 + cij * cij, 0.0))
        lmax = tr + d
        lmin = max(tr - d, 1.0 / 12.0)
        out_elong[s] = math.sqrt(lmax / lmin)


# ---------------------------------------------------------------------------------------------
# Minkowski functionals: Ohser & Mücklich 2x2-configuration counting (as quantimpy), for all
# thresholds in one sweep. A pixel's rank r = #{thresholds t_j <= value} says it is in the
# excursion set {δ >= t_j} exactly for j < r. Every count below is a piecewise-constant function
# of j with breakpoints at the ranks of the cell's pixels, accumulated as a difference array.
# Bits of a cell (x, y): 1 = (x, y), 2 = (x+1, y), 4 = (x, y+1), 8 = (x+1, y+1), x = row.
# ---------------------------------------------------------------------------------------------

# Euler weights per configuration, times 4 (Gray 1971's symmetric local counting, which is what
# quantimpy 0.2.6 returns for 4-connectivity): χ = (n(Q1) − n(Q3) ± 2 n(QD)) / 4, where Q1 are the
# cells with one pixel set (masks 1, 2, 4, 8), Q3 with three (7, 11, 13, 14), QD the two diagonal
# pairs (6, 9): + for a 4-connected foreground (diagonal pixels are apart), − for 8-connected.
# (The tables document the convention; the kernel below evaluates the same sums from ranks.)
EULER4 = np.array([0, 1, 1, 0, 1, 0, 2, -1, 1, 2, 0, -1, 0, -1, -1, 0], dtype=np.int64)
EULER8 = np.array([0, 1, 1, 0, 1, 0, -2, -1, 1, -2, 0, -1, 0, -1, -1, 0], dtype=np.int64)


# histogram rows of minkowski_counts
(_P, _EV, _EH, _D03, _D12, _F, _RT, _RB, _CL, _CR, _C00, _C0L, _CL0, _CLL,
 _EVC0, _EVCL, _EHR0, _EHRL, _QD) = range(19)


@njit(cache=True, parallel=True)
def minkowski_counts(maps, thresholds, conn8, out):
    """Fill ``out[m, 0|1|2, j]`` with the area count, the crossing count (4 directions) and 4×
    the Euler sum of map m's excursion set {δ >= thresholds[j]}; ``thresholds`` ascending.

    Every per-cell term is an indicator [j < k] for an integer k (a pixel's rank, or the min of
    the ranks of a pair / of the whole cell), so each term type is a histogram over k and the
    counts are suffix sums. Per cell, with ranks r0..r3 of bits 1, 2, 4, 8:
    area = [j<r0]; crossings of a pair = [j<ra] + [j<rb] − 2[j<min]; 4χ4 = Σ pixels
    − 2 Σ cell edges (01, 02, 13, 23) + 4 [j<min4] (= n(Q1) − n(Q3) + 2 n(QD)); 8-connectivity
    subtracts 4 n(QD), QD being [max(other two) <= j < min(diagonal pair)].
    """
    n, h, w = maps.shape
    nt = thresholds.shape[0]
    for m in prange(n):
        img = maps[m]
        flat = img.reshape(h * w)
        rflat = np.zeros(h * w, dtype=np.int32)
        for q in range(nt):  # threshold-outer: the inner loop vectorises
            t = thresholds[q]
            for p in range(h * w):
                rflat[p] += flat[p] >= t
        rank = rflat.reshape(h, w)
        # unit-weight histograms of the k of each term type; the cell terms of the 4 pixel
        # positions and of the 4 cell edges are rebuilt from whole-map histograms minus border
        # strips, so the inner loop does 6 updates per cell.
        hist = np.zeros((19, nt + 1), dtype=np.int64)
        for x in range(h - 1):
            for y in range(w - 1):
                r0 = rank[x, y]
                r1 = rank[x + 1, y]
                r2 = rank[x, y + 1]
                r3 = rank[x + 1, y + 1]
                m01 = min(r0, r1)
                m23 = min(r2, r3)
                hist[_P, r0] += 1
                hist[_EV, m01] += 1
                hist[_EH, min(r0, r2)] += 1
                hist[_D03, min(r0, r3)] += 1
                hist[_D12, min(r1, r2)] += 1
                hist[_F, min(m01, m23)] += 1
        for y in range(w):  # last row: pixels, and its horizontal pairs
            r = rank[h - 1, y]
            hist[_P, r] += 1
            hist[_RB, r] += 1
            hist[_RT, rank[0, y]] += 1
            if y < w - 1:
                e = min(r, rank[h - 1, y + 1])
                hist[_EH, e] += 1
                hist[_EHRL, e] += 1
                hist[_EHR0, min(rank[0, y], rank[0, y + 1])] += 1
        for x in range(h):  # last column: pixels, and its vertical pairs
            r = rank[x, w - 1]
            if x < h - 1:
                hist[_P, r] += 1
                e = min(r, rank[x + 1, w - 1])
                hist[_EV, e] += 1
                hist[_EVCL, e] += 1
                hist[_EVC0, min(rank[x, 0], rank[x + 1, 0])] += 1
            hist[_CR, r] += 1
            hist[_CL, rank[x, 0]] += 1
        hist[_C00, rank[0, 0]] += 1
        hist[_C0L, rank[0, w - 1]] += 1
        hist[_CL0, rank[h - 1, 0]] += 1
        hist[_CLL, rank[h - 1, w - 1]] += 1
        if conn8:
            for x in range(h - 1):
                for y in range(w - 1):
                    r0 = rank[x, y]
                    r1 = rank[x + 1, y]
                    r2 = rank[x, y + 1]
                    r3 = rank[x + 1, y + 1]
                    a = min(r0, r3)
                    b = max(r1, r2)
                    if b < a:
                        hist[_QD, b] += 1
                        hist[_QD, a] -= 1
                    a = min(r1, r2)
                    b = max(r0, r3)
                    if b < a:
                        hist[_QD, b] += 1
                        hist[_QD, a] -= 1
        s = np.zeros(18, dtype=np.int64)
        for j in range(nt - 1, -1, -1):
            for q in range(18):
                s[q] += hist[q, j + 1]
            pall = s[_P]
            # pixel terms over the four cell positions (inclusion–exclusion of border strips)
            h0 = pall - s[_RB] - s[_CR] + s[_CLL]
            h1 = pall - s[_RT] - s[_CR] + s[_C0L]
            h2 = pall - s[_RB] - s[_CL] + s[_CL0]
            h3 = pall - s[_RT] - s[_CL] + s[_C00]
            e01 = s[_EV] - s[_EVCL]
            e23 = s[_EV] - s[_EVC0]
            e02 = s[_EH] - s[_EHRL]
            e13 = s[_EH] - s[_EHR0]
            out[m, 0, j] = h0
            out[m, 1, j] = 3 * h0 + 2 * h1 + 2 * h2 + h3 - 2 * (e01 + e02 + s[_D03] + s[_D12])
            out[m, 2, j] = h0 + h1 + h2 + h3 - 2 * (e01 + e02 + e13 + e23) + 4 * s[_F]
        if conn8:
            qd = 0
            for j in range(nt):
                qd += hist[_QD, j]
                out[m, 2, j] -= 4 * qd
