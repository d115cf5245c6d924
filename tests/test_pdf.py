"""Pixel PDF and moments: agreement with numpy.histogram and scipy.stats, clipping, batching, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from cosmobench.errors import CosmobenchError
from cosmobench.stats.pdf import (
    DEFAULT_EDGES,
    MeanStatistic,
    MomentsStatistic,
    PDFStatistic,
    PixelPDF,
    pixel_moments,
    pixel_pdf,
)


def lognormal_maps(rng, n, size=64, sigma=1.0):
    return (np.exp(sigma * rng.standard_normal((n, size, size)) - sigma**2 / 2) - 1).astype(np.float32)


def _reference_hist(maps, edges):
    """np.histogram of log10(1+δ) with the tails moved into the end bins."""
    out = []
    for m in maps.astype(np.float64):
        x = 1.0 + m.ravel()
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), -np.inf)
        y = np.clip(y, edges[0], np.nextafter(edges[-1], -np.inf))
        out.append(np.histogram(y, edges)[0])
    return np.array(out)


def test_histogram_matches_numpy(rng):
    maps = lognormal_maps(rng, 5, sigma=1.5)
    maps[0, 0, :7] = -1.0  # empty pixels go to the first bin
    maps[1, 3, 3] = 1e4  # overflow goes to the last bin
    pdf = pixel_pdf(maps)
    assert isinstance(pdf, PixelPDF)
    assert pdf.hist.shape == (5, 60) and pdf.edges.size == 61
    np.testing.assert_allclose(pdf.centers, 0.5 * (DEFAULT_EDGES[1:] + DEFAULT_EDGES[:-1]))
    np.testing.assert_array_equal(np.rint(pdf.hist * 64 * 64), _reference_hist(maps, DEFAULT_EDGES))
    np.testing.assert_allclose(pdf.hist.sum(axis=1), 1.0)
    assert pdf.hist[0, 0] >= 7 / 4096 and pdf.hist[1, -1] >= 1 / 4096


def test_nonuniform_edges(rng):
    maps = lognormal_maps(rng, 3)
    edges = np.array([-0.7, -0.2, 0.0, 0.05, 0.4, 1.3])
    pdf = pixel_pdf(maps, edges)
    np.testing.assert_array_equal(np.rint(pdf.hist * 4096), _reference_hist(maps, edges))


def test_moments_match_scipy(rng):
    maps = lognormal_maps(rng, 6)
    pdf = pixel_pdf(maps)
    flat = maps.reshape(6, -1).astype(np.float64)
    np.testing.assert_allclose(pdf.mean, flat.mean(axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(pdf.var, flat.var(axis=1), rtol=1e-12)
    np.testing.assert_allclose(pdf.skew, scipy.stats.skew(flat, axis=1), rtol=1e-10)
    np.testing.assert_allclose(pdf.kurt, scipy.stats.kurtosis(flat, axis=1), rtol=1e-10)
    np.testing.assert_allclose(pixel_moments(maps), np.stack([pdf.mean, pdf.var, pdf.skew, pdf.kurt], axis=1))


def test_gaussian_field_moments(rng):
    g = rng.standard_normal((200, 64, 64))
    pdf = pixel_pdf(g, allow_below_minus_one=True)
    assert abs(pdf.skew.mean()) < 4 * pdf.skew.std() / np.sqrt(200)
    assert abs(pdf.kurt.mean()) < 4 * pdf.kurt.std() / np.sqrt(200)
    # every δ < 10^-1.5 − 1 (including δ < −1) collects in the first bin
    np.testing.assert_allclose(pdf.hist[:, 0].mean(), scipy.stats.norm.cdf(10**-1.5 - 1), atol=3e-3)


def test_batch_size_independence(rng):
    maps = lognormal_maps(rng, 40)
    whole = pixel_pdf(maps)
    parts = [pixel_pdf(maps[s : s + 7]) for s in range(0, 40, 7)]
    np.testing.assert_array_equal(whole.hist, np.concatenate([p.hist for p in parts]))
    np.testing.assert_array_equal(whole.kurt, np.concatenate([p.kurt for p in parts]))


def test_statistics(rng):
    maps = lognormal_maps(rng, 8)
    maps += 0.05  # a mean bias
    pdf = pixel_pdf(maps)
    s = PDFStatistic()
    assert (s.name, s.distance) == ("pdf", "hist_w1")
    np.testing.assert_allclose(s.summarize(maps), pdf.hist)
    np.testing.assert_allclose(s.coords()["log10(1+delta)"], pdf.centers)
    m = MomentsStatistic()
    assert (m.name, m.distance) == ("moments", "chi2")
    np.testing.assert_allclose(m.summarize(maps), np.stack([pdf.var, pdf.skew, pdf.kurt], axis=1))
    mean = MeanStatistic()
    assert (mean.name, mean.distance) == ("mean", "abs_mean")
    out = mean.summarize(maps)
    assert out.shape == (8, 1) and out.dtype == np.float64
    np.testing.assert_allclose(out[:, 0], pdf.mean, rtol=1e-6)
    assert out.mean() > 0.03
    with pytest.raises(CosmobenchError):
        mean.summarize(lognormal_maps(rng, 2, size=32))


@pytest.mark.parametrize(
    "bad",
    [np.ones((2, 64, 64), np.int64), np.full((1, 64, 64), np.inf), np.full((1, 64, 64), -3.0), np.zeros((3, 64))],
)
def test_bad_maps(bad):
    with pytest.raises(CosmobenchError):
        pixel_pdf(bad)


@pytest.mark.parametrize("edges", [[0.0], [1.0, 0.0], [0.0, np.nan, 1.0], np.zeros((2, 2))])
def test_bad_edges(rng, edges):
    with pytest.raises(CosmobenchError):
        pixel_pdf(lognormal_maps(rng, 1), edges)
