"""Every statistic's *summary* (what the comparison layer sees) against an independent computation.

The kernel tests check ``power_spectrum``, ``structures``, ``minkowski``... This module checks the layer
above them: ``Statistic.summarize`` of every registered statistic, in the units the statistic documents,
on the track it is configured for. Each reference is computed here without the code under test:
a full-grid numpy FFT and powerbox (power), ``np.histogram`` (pdf, peaks), ``scipy.stats`` (moments),
``scipy.ndimage.label`` with a brute-force crossing count (structures), quantimpy and exact excursion-set
counts (Minkowski), a brute-force sum over grid triangles (bispectrum), explicit block loops (diversity).
A wrong connectivity, a scaled mass fraction, a pixel size left out of V1/V2 or a scaled Q fails here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from cosmobench.data.track import get_track
from cosmobench.stats import (
    STATISTICS,
    BispectrumStatistic,
    CollapseStatistic,
    DiversityStatistic,
    MeanStatistic,
    MinkowskiStatistic,
    MomentsStatistic,
    PDFStatistic,
    PeakStatistic,
    PowerStatistic,
    StructureStatistic,
)

TRACKS = ["quijote-z0", "camels-mtot-z0"]  # pixels of 3.906 and 0.0977 Mpc/h: units must follow the track


def _lognormal(seed, n=6, size=64, sigma=1.2, smooth=1.5):
    """Smooth lognormal δ maps (δ > −1, mean 0 per map): clustered enough for structures, peaks and Q."""
    rng = np.random.default_rng(seed)
    k = 2 * np.pi * np.fft.fftfreq(size)
    wk = np.exp(-0.5 * (k[:, None] ** 2 + k[None, :] ** 2) * smooth**2)
    g = np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, size, size))) * wk).real
    g /= g.std(axis=(1, 2), keepdims=True)
    f = np.exp(sigma * g)
    return f / f.mean(axis=(1, 2), keepdims=True) - 1.0


@pytest.fixture(scope="module")
def maps():
    return _lognormal(0)


# ----------------------------------------------------------------------------------------- coverage


TESTED = {"power", "pdf", "mean", "moments", "structures", "minkowski", "peaks", "bispectrum", "diversity", "collapse"}


def test_every_registered_statistic_has_an_independent_summary_check():
    assert set(STATISTICS) == TESTED, "a statistic was added or renamed: give it an independent summary test here"


# ----------------------------------------------------------------------------------------- power


def _power_brute(maps, box):
    """log10 P(k) = L²/N⁴ mean |FFT|² over every full-grid mode with (j − ½) k_F <= |k| < (j + ½) k_F, j = 1 … N/2."""
    n, N, _ = maps.shape
    kf = 2 * np.pi / box
    q = np.fft.fftfreq(N, d=1.0 / N)  # integer wavenumbers
    kmag = np.sqrt(q[:, None] ** 2 + q[None, :] ** 2)  # in units of k_F
    F2 = np.abs(np.fft.fft2(maps)) ** 2
    out = np.empty((n, N // 2))
    for j in range(1, N // 2 + 1):
        sel = (kmag >= j - 0.5) & (kmag < j + 0.5)
        out[:, j - 1] = F2[:, sel].mean(axis=1) * box**2 / N**4
    k = np.array([kmag[(kmag >= j - 0.5) & (kmag < j + 0.5)].mean() for j in range(1, N // 2 + 1)]) * kf
    return np.log10(out), k


@pytest.mark.parametrize("track", TRACKS)
def test_power_summary_is_log10_of_the_full_grid_estimator_in_physical_units(maps, track):
    t = get_track(track)
    stat = PowerStatistic(t)
    got = stat.summarize(maps)
    ref, k = _power_brute(maps, t.tile_size)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stat.coords()["k"], k, rtol=1e-12)


def test_power_summary_matches_powerbox(maps):
    import powerbox  # a test dependency: a missing peer is an error, not a skip

    t = get_track(None)
    edges = 2 * np.pi / t.tile_size * (np.arange(t.tile // 2 + 1) + 0.5)
    ref = np.array([powerbox.get_power(m, t.tile_size, bins=edges, ignore_zero_mode=True, nthreads=1).power for m in maps])
    np.testing.assert_allclose(PowerStatistic(t).summarize(maps), np.log10(ref), rtol=1e-9)


def test_power_summary_of_white_noise_is_its_analytic_level():
    """White noise of pixel variance σ² has P(k) = σ² × pixel area at every k (Parseval): an absolute check."""
    t = get_track(None)
    sigma = 0.1
    noise = np.random.default_rng(3).normal(0.0, sigma, (64, 64, 64))
    got = PowerStatistic(t).summarize(noise).mean(axis=0)
    # mean of log10 of a χ²-distributed bin average: unbiased to within a few % at the bins' mode counts
    level = np.log10(sigma**2 * t.pixel_size**2)
    assert np.abs(np.median(got) - level) < 0.02


# ----------------------------------------------------------------------------------------- one-point


def _clipped_hist(y, edges):
    """np.histogram of y with values outside the edges counted in the end bins."""
    return np.histogram(np.clip(y, edges[0], edges[-1]), edges)[0]


def test_pdf_summary_is_the_clipped_histogram_of_log_density(maps):
    edges = np.linspace(-1.5, 2.5, 61)  # documented: 60 fixed bins on [−1.5, 2.5]
    m = maps.copy()
    m[0, 0, 0] = -1.0  # an empty pixel: log10(0) = −inf lands in the first bin
    m[0, 0, 1] = 1e4  # far above the last edge: last bin
    ref = np.stack([_clipped_hist(np.log10(np.maximum(1 + x.ravel(), 1e-300)), edges) for x in m]) / m[0].size
    got = PDFStatistic().summarize(m)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-15)
    assert got[0, 0] >= 1 / m[0].size and got[0, -1] >= 1 / m[0].size
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    # edges that start below the shared field's density clip (1e-3) are histogrammed from δ itself
    low = np.linspace(-4.0, 2.0, 31)
    ref = np.stack([_clipped_hist(np.log10(np.maximum(1 + x.ravel(), 1e-300)), low) for x in m]) / m[0].size
    np.testing.assert_allclose(PDFStatistic(edges=low).summarize(m), ref, rtol=0, atol=1e-15)


def test_moments_summary_matches_scipy(maps):
    flat = maps.reshape(len(maps), -1)
    ref = np.stack([flat.var(axis=1), scipy.stats.skew(flat, axis=1), scipy.stats.kurtosis(flat, axis=1)], axis=1)
    np.testing.assert_allclose(MomentsStatistic().summarize(maps), ref, rtol=1e-10)


def test_mean_summary_is_the_mean_delta(maps):
    shifted = maps + np.linspace(0.0, 0.3, len(maps))[:, None, None]  # mean biases, δ stays > −1
    np.testing.assert_allclose(MeanStatistic().summarize(shifted)[:, 0], shifted.mean(axis=(1, 2)), rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------------------- structures


_EIGHT = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _crossings(lab, k):
    """Per label 1..k: (structure pixel, neighbour) pairs whose neighbour is another label or off the tile, per direction."""
    h, w = lab.shape
    P = np.pad(lab, 1)  # 0 outside the tile: a border pixel always crosses
    out = {}
    for dy, dx in _EIGHT:
        nb = P[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        cross = (lab > 0) & (nb != lab)
        out[(dy, dx)] = np.bincount(lab[cross], minlength=k + 1)[1:]
    horiz = out[(0, -1)] + out[(0, 1)]
    vert = out[(-1, 0)] + out[(1, 0)]
    diag = out[(-1, -1)] + out[(1, 1)]
    anti = out[(-1, 1)] + out[(1, -1)]
    return horiz, vert, diag, anti


def _structure_summary_brute(maps, thresholds, connectivity, min_area=1):
    """The documented 5 columns per threshold from scipy.ndimage.label and explicit sums."""
    structure = ndimage.generate_binary_structure(2, 2 if connectivity == 8 else 1)
    rows = []
    for m in maps:
        row = []
        for t in thresholds:
            lab, k = ndimage.label(m > t, structure=structure)
            if min_area > 1:  # drop small structures, renumber the rest 1..k
                sizes = np.bincount(lab.ravel())
                keep = np.flatnonzero(sizes >= min_area)
                keep = keep[keep > 0]
                relabel = np.zeros(sizes.size, dtype=int)
                relabel[keep] = np.arange(1, keep.size + 1)
                lab, k = relabel[lab], keep.size
            if k == 0:
                row += [0.0] * 5
                continue
            idx = np.arange(1, k + 1)
            area = ndimage.sum(np.ones_like(m), lab, idx)
            mass = ndimage.sum(1.0 + m, lab, idx)
            horiz, vert, diag, anti = _crossings(lab, k)
            p = math.pi / 8 * (horiz + vert + (diag + anti) / math.sqrt(2))  # Crofton perimeter
            fil = (p**2 - 4 * math.pi * area) / (p**2 + 4 * math.pi * area)
            row += [
                k,
                np.log10(area).mean(),
                area.max() / area.sum(),
                (area * fil).sum() / area.sum(),
                mass.sum() / (1.0 + m).sum(),
            ]
        rows.append(row)
    return np.array(rows, dtype=float)


@pytest.mark.parametrize("connectivity", [8, 4])
def test_structure_summary_matches_ndimage(maps, connectivity):
    thresholds = (1.0, 3.0, 10.0)  # documented defaults
    stat = StructureStatistic(connectivity=connectivity) if connectivity == 4 else StructureStatistic()
    got = stat.summarize(maps)
    ref = _structure_summary_brute(maps, thresholds, connectivity)
    assert got.shape == (len(maps), 15)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    # the case is discriminating: 4- and 8-connected summaries differ on these maps, and structures exist
    other = _structure_summary_brute(maps, thresholds, 12 - connectivity)
    assert not np.allclose(ref, other) and (ref[:, 0::5] > 0).all()


def test_structure_summary_with_the_seed_threshold(maps):
    """sigma0 appends the seed-rule threshold, which equals σ0 in physical δ (a = None)."""
    sigma0 = 0.0137
    got = StructureStatistic(sigma0=sigma0).summarize(maps)
    ref = _structure_summary_brute(maps, (1.0, 3.0, 10.0, sigma0), 8)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_structure_summary_of_a_map_without_structures_is_zero():
    flat = np.full((2, 64, 64), -0.5)
    np.testing.assert_array_equal(StructureStatistic().summarize(flat), 0.0)


# ----------------------------------------------------------------------------------------- minkowski


@pytest.mark.parametrize("track", TRACKS)
def test_minkowski_summary_matches_quantimpy_in_physical_units(maps, track, quantimpy_minkowski):
    """quantimpy ``functionals(map >= ν)`` gives (area, L/2π, χ/π) of the window in pixel units; the summary is
    per unit area in h/Mpc units of the track's pixel (quantimpy's ``res`` must be >= 1, so the units are put in here)."""
    t = get_track(track)
    p = t.pixel_size
    stat = MinkowskiStatistic(t)
    thresholds = stat.thresholds
    got = stat.summarize(maps).reshape(len(maps), 3, thresholds.size)
    ncell = (t.tile - 1) ** 2
    for i in range(len(maps)):
        for j, nu in enumerate(thresholds):
            a, l2pi, chi_pi = quantimpy_minkowski.functionals(maps[i] >= nu)
            expected = [a / ncell, 2 * math.pi * l2pi / ncell / p, math.pi * chi_pi / ncell / p**2]
            np.testing.assert_allclose(got[i, :, j], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("track", TRACKS)
def test_minkowski_summary_exact_cases_in_physical_units(track):
    """Isolated blobs: χ = number of blobs, so V2 × window area (Mpc/h)² is an integer; a disc's V1 × area ≈ 2πr."""
    t = get_track(track)
    p = t.pixel_size
    window = (t.tile - 1) ** 2 * p**2
    m = np.full((1, 64, 64), -0.5)
    m[0, 5:9, 5:9] = 1.0  # three separate blobs above ν = 0
    m[0, 20, 40] = 1.0
    m[0, 50:53, 10:12] = 1.0
    yy, xx = np.mgrid[:64, :64]
    disc = np.where((yy - 32.0) ** 2 + (xx - 32.0) ** 2 <= 20.0**2, 1.0, -0.5)[None]
    stat = MinkowskiStatistic(t, thresholds=[0.0])
    v = stat.summarize(np.concatenate([m, disc]))
    assert v[0, 0] * (t.tile - 1) ** 2 == pytest.approx(16 + 1 + 6)  # V0: pixels in the set (none on the window edge)
    assert v[0, 2] * window == pytest.approx(3.0, rel=1e-12)  # V2 in (h/Mpc)²
    assert v[1, 2] * window == pytest.approx(1.0, rel=1e-12)
    assert v[1, 1] * window == pytest.approx(2 * math.pi * 20.0 * p, rel=0.03)  # V1 in h/Mpc: perimeter / area


# ----------------------------------------------------------------------------------------- peaks


def test_peak_summary_matches_maximum_filter_and_histogram(maps):
    edges = np.linspace(-0.5, 2.0, 11)  # documented: 10 bins of 0.25 on [−0.5, 2.0]
    ring = np.ones((3, 3), dtype=bool)
    ring[1, 1] = False
    maps = maps.copy()
    maps[0, 30, 30] = 500.0  # a peak above the last edge (10^2): clipped into the last bin
    ref = []
    for m in maps:
        nbmax = ndimage.maximum_filter(m, footprint=ring, mode="constant", cval=-np.inf)
        peak = m > nbmax
        peak[0, :] = peak[-1, :] = peak[:, 0] = peak[:, -1] = False  # border pixels excluded
        ref.append(_clipped_hist(np.log10(1 + m[peak]), edges))
    got = PeakStatistic().summarize(maps)
    np.testing.assert_array_equal(got, np.array(ref, dtype=float))
    assert got.sum() > 100 and got[:, 0].sum() > 0 and got[:, -1].sum() > 0  # both clipped end bins are used


# ----------------------------------------------------------------------------------------- bispectrum


def _q_brute(m, configs, box, dk):
    """Reduced bispectrum from an explicit sum over ordered grid triangles q1 + q2 + q3 = 0 (mod N)."""
    N = m.shape[0]
    F = np.fft.fft2(m)
    q = np.fft.fftfreq(N, d=1.0 / N).astype(int)
    kmag = 2 * np.pi / box * np.sqrt(q[:, None] ** 2 + q[None, :] ** 2)

    def shell(k):
        return np.argwhere((kmag >= k - dk / 2) & (kmag < k + dk / 2) & (kmag > 0))

    def power(k):
        s = shell(k)
        return box**2 / N**4 * np.mean(np.abs(F[s[:, 0], s[:, 1]]) ** 2)

    out = []
    for k1, k2, k3 in configs:
        s1, s2 = shell(k1), shell(k2)
        i3 = (-(s1[:, None, 0] + s2[None, :, 0])) % N
        j3 = (-(s1[:, None, 1] + s2[None, :, 1])) % N
        ok = (kmag[i3, j3] >= k3 - dk / 2) & (kmag[i3, j3] < k3 + dk / 2) & (kmag[i3, j3] > 0)
        prod = F[s1[:, 0], s1[:, 1]][:, None] * F[s2[:, 0], s2[:, 1]][None, :] * F[i3, j3]
        B = box**4 / N**6 * prod[ok].mean().real
        P1, P2, P3 = power(k1), power(k2), power(k3)
        out.append(B / (P1 * P2 + P2 * P3 + P3 * P1))
    return np.array(out)


def test_bispectrum_summary_matches_brute_force_triangle_sum(maps):
    t = get_track(None)
    stat = BispectrumStatistic(t)
    configs = stat.coords()
    configs = np.stack([configs["k1"], configs["k2"], configs["k3"]], axis=1)
    got = stat.summarize(maps[:3])
    ref = np.stack([_q_brute(m, configs, t.tile_size, 4 * np.pi / t.tile_size) for m in maps[:3]])
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-12)
    assert np.abs(ref).max() > 0.3  # lognormal maps: Q is far from 0, so a scaled Q cannot hide


# ----------------------------------------------------------------------------------------- diversity


def _block_features(maps, blocks=16):
    n, h, w = maps.shape
    bh, bw = h // blocks, w // blocks
    out = np.empty((n, blocks * blocks))
    for i in range(blocks):
        for j in range(blocks):
            b = maps[:, i * bh : (i + 1) * bh, j * bw : (j + 1) * bw]
            out[:, i * blocks + j] = np.log10(np.maximum(1.0 + b, 1e-3)).mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("cls", [DiversityStatistic, CollapseStatistic])
def test_diversity_and_collapse_summaries_are_block_means_of_log_density(maps, cls):
    m = maps.copy()
    m[0, :4, :4] = -1.0  # empty pixels are clipped at 1 + δ = 1e-3: the block mean is exactly −3
    got = cls().summarize(m)
    np.testing.assert_allclose(got, _block_features(m), rtol=1e-12, atol=1e-12)
    assert got[0, 0] == pytest.approx(-3.0)


# ----------------------------------------------------------------------------------------- batching


def _all_statistics():
    return [cls() for cls in STATISTICS.values()]


@settings(max_examples=5, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=3, unique=True))
def test_summaries_do_not_depend_on_how_the_batch_is_cut(cuts):
    """Per-map summaries: any split of a batch into sub-batches gives the same rows (float32 input, as evaluate hands it)."""
    maps = _lognormal(1, n=6).astype(np.float32)
    bounds = [0, *sorted(cuts), 6]
    for stat in _all_statistics():
        whole = stat.summarize(maps)
        parts = np.concatenate([stat.summarize(maps[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
        np.testing.assert_array_equal(parts, whole, err_msg=stat.name)


# ----------------------------------------------------------------------------------------- settings and tracks


def test_every_statistic_refuses_maps_of_another_tracks_shape(maps):
    from cosmobench.errors import CosmobenchError

    small = maps[:2, :32, :32]
    for stat in _all_statistics():
        with pytest.raises(CosmobenchError, match="32"):
            stat.summarize(small)


def test_bispectrum_summary_honours_configs_dk_and_the_tracks_box(maps):
    from cosmobench.data.track import Track

    wide = Track(name="wide", pixel_size=2 * 1000.0 / 256, tile=64, slab_thickness=7.8)  # L = 500 Mpc/h
    configs = np.array([[0.15, 0.15, 0.15], [0.2, 0.1, 0.25]])
    dk = 0.06
    stat = BispectrumStatistic(wide, configs=configs, dk=dk)
    got = stat.summarize(maps[:2])
    ref = np.stack([_q_brute(m, configs, wide.tile_size, dk) for m in maps[:2]])
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-12)


def test_power_summary_follows_a_tracks_box_size(maps):
    from cosmobench.data.track import Track

    wide = Track(name="wide", pixel_size=2 * 1000.0 / 256, tile=64, slab_thickness=7.8)
    np.testing.assert_allclose(PowerStatistic(wide).summarize(maps), _power_brute(maps, wide.tile_size)[0], rtol=1e-10)


def test_pdf_and_peak_summaries_honour_their_edges_and_border_setting(maps):
    edges = np.array([-1.0, -0.2, 0.0, 0.3, 1.0])
    ref = np.stack([_clipped_hist(np.log10(1 + x.ravel()), edges) for x in maps]) / maps[0].size
    np.testing.assert_allclose(PDFStatistic(edges=edges).summarize(maps), ref, atol=1e-15)
    ring = np.ones((3, 3), dtype=bool)
    ring[1, 1] = False
    ref = []
    for m in maps:
        peak = m > ndimage.maximum_filter(m, footprint=ring, mode="constant", cval=-np.inf)  # border pixels kept
        ref.append(_clipped_hist(np.log10(1 + m[peak]), edges))
    got = PeakStatistic(edges=edges, exclude_border=False).summarize(maps)
    np.testing.assert_array_equal(got, np.array(ref, dtype=float))
    assert got.sum() > PeakStatistic(edges=edges).summarize(maps).sum()  # the border holds peaks here


def test_minkowski_summary_honours_thresholds_and_connectivity(quantimpy_minkowski):
    """8-connectivity of the foreground: a diagonal pair of pixels is one component, so χ counts it once."""
    t = get_track(None)
    m = np.full((1, 64, 64), -0.5)
    m[0, 10, 10] = m[0, 11, 11] = 2.0  # one diagonal pair
    m[0, 30:33, 30:33] = 0.5  # a 3x3 block above ν = 0 only
    window = 63**2 * t.pixel_size**2
    four = MinkowskiStatistic(t, thresholds=[1.0, 0.0]).summarize(m).reshape(3, 2)
    eight = MinkowskiStatistic(t, thresholds=[1.0, 0.0], connectivity=8).summarize(m).reshape(3, 2)
    assert four[2] * window == pytest.approx([2.0, 3.0]) and eight[2] * window == pytest.approx([1.0, 2.0])
    np.testing.assert_allclose(four[:2], eight[:2])  # area and boundary do not depend on connectivity
    a, _, chi_pi = quantimpy_minkowski.functionals(m[0] >= 1.0)
    assert four[0, 0] == pytest.approx(a / 63**2) and four[2, 0] * window == pytest.approx(math.pi * chi_pi)


def test_structure_summary_honours_thresholds_and_min_area(maps):
    got = StructureStatistic(thresholds=(0.5, 2.0), min_area=3).summarize(maps)
    ref = _structure_summary_brute(maps, (0.5, 2.0), 8, min_area=3)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ref, _structure_summary_brute(maps, (0.5, 2.0), 8))  # small structures existed


# ----------------------------------------------------------------------------------------- batching


def test_summaries_do_not_depend_on_how_the_maps_are_batched(maps, monkeypatch):
    """``summarize`` splits more than MAX_CONTEXT_MAPS maps into contexts of at most that many (memory) and
    stacks their rows in order; a context given by ``summarize_batch`` is summarised as it is. With contexts of 2
    maps, 6 maps give the rows one context of all 6 gives (the split is the base class's, the same for every
    statistic)."""
    from cosmobench.stats import base
    from cosmobench.stats.batch import BatchContext

    stats = [PowerStatistic(), PDFStatistic(), MomentsStatistic()]
    whole = [s.summarize(maps) for s in stats]
    for s, w in zip(stats, whole):
        np.testing.assert_array_equal(s.summarize(BatchContext(maps)), w)
    monkeypatch.setattr(base, "MAX_CONTEXT_MAPS", 2)
    for s, w in zip(stats, whole):
        got = s.summarize(maps)
        assert got.shape == w.shape, s.name
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-15, err_msg=s.name)
        np.testing.assert_allclose(s.summarize(maps[:5]), w[:5], rtol=1e-12, atol=1e-15, err_msg=s.name)
