"""Peak counts: agreement with a maximum_filter reference and a brute force, borders, bins, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from cosmobench.errors import CosmobenchError
from cosmobench.stats.peaks import DEFAULT_EDGES, PeakStatistic, peak_counts, peak_mask


def smooth_maps(rng, n, size=64):
    g = ndi.gaussian_filter(rng.standard_normal((n, size, size)), (0, 1.5, 1.5))
    return (np.exp(g / g.std() * 0.8) - 1).astype(np.float32)


def _filter_reference(maps, exclude_border):
    fp = np.ones((1, 3, 3), bool)
    fp[0, 1, 1] = False
    ref = maps > ndi.maximum_filter(maps, footprint=fp, mode="constant", cval=-np.inf)
    if exclude_border:
        ref[:, [0, -1], :] = False
        ref[:, :, [0, -1]] = False
    return ref


def _brute(m, exclude_border):
    h, w = m.shape
    out = np.zeros((h, w), bool)
    for i in range(h):
        for j in range(w):
            if exclude_border and (i in (0, h - 1) or j in (0, w - 1)):
                continue
            nb = [m[a, b] for a in range(i - 1, i + 2) for b in range(j - 1, j + 2)
                  if (a, b) != (i, j) and 0 <= a < h and 0 <= b < w]
            out[i, j] = all(m[i, j] > v for v in nb)
    return out


@pytest.mark.parametrize("exclude_border", [True, False])
def test_mask_matches_maximum_filter(rng, exclude_border):
    maps = smooth_maps(rng, 20)
    np.testing.assert_array_equal(peak_mask(maps, exclude_border=exclude_border), _filter_reference(maps, exclude_border))


@pytest.mark.parametrize("exclude_border", [True, False])
def test_mask_matches_brute_force_on_tiny_maps(rng, exclude_border):
    maps = rng.integers(0, 4, size=(6, 5, 6)).astype(np.float64) - 0.5  # many ties: plateaus are not peaks
    mask = peak_mask(maps, exclude_border=exclude_border, allow_below_minus_one=True)
    for m, got in zip(maps, mask):
        np.testing.assert_array_equal(got, _brute(m, exclude_border))


def test_no_wraparound():
    m = np.zeros((1, 8, 8))
    m[0, 0, 3] = 1.0  # on the border: a peak only with exclude_border=False
    m[0, 7, 3] = 2.0  # higher, on the opposite border (would hide the first if tiles wrapped)
    m[0, 4, 4] = 0.5
    assert peak_mask(m, exclude_border=True)[0].sum() == 1
    got = peak_mask(m, exclude_border=False)[0]
    assert got[0, 3] and got[7, 3] and got[4, 4] and got.sum() == 3


def test_counts_match_reference_histogram(rng):
    maps = smooth_maps(rng, 15)
    counts = peak_counts(maps)
    assert counts.shape == (15, DEFAULT_EDGES.size - 1) and counts.dtype == np.int64
    ref = _filter_reference(maps, True)
    for i in range(15):
        y = np.log10(1.0 + maps[i][ref[i]].astype(np.float64))
        y = np.clip(y, DEFAULT_EDGES[0], np.nextafter(DEFAULT_EDGES[-1], -np.inf))
        np.testing.assert_array_equal(counts[i], np.histogram(y, DEFAULT_EDGES)[0])


def test_custom_edges_and_clipping(rng):
    maps = smooth_maps(rng, 4)
    total = peak_mask(maps).sum(axis=(1, 2))
    c = peak_counts(maps, [0.0, 0.1])  # every peak is clipped into the single bin
    np.testing.assert_array_equal(c[:, 0], total)


def test_batch_size_independence(rng):
    maps = smooth_maps(rng, 600)  # more than one slicing chunk
    whole = peak_counts(maps)
    parts = np.concatenate([peak_counts(maps[s : s + 101]) for s in range(0, 600, 101)])
    np.testing.assert_array_equal(whole, parts)


def test_statistic(rng):
    maps = smooth_maps(rng, 5)
    s = PeakStatistic()
    assert (s.name, s.distance) == ("peaks", "chi2")
    out = s.summarize(maps)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, peak_counts(maps))
    assert s.coords()["log10(1+delta)"].shape == (out.shape[1],)


@pytest.mark.parametrize("bad", [np.ones((1, 64, 64), np.int16), np.full((2, 64, 64), np.nan), np.zeros((2, 2, 2))])
def test_bad_input(bad):
    with pytest.raises(CosmobenchError):
        peak_counts(bad)


def test_bad_edges(rng):
    with pytest.raises(CosmobenchError):
        peak_counts(smooth_maps(rng, 1), [1.0, 0.0])
