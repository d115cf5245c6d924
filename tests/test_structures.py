"""Threshold-graph structures: same partition as the seed's networkx graph and scipy.ndimage.label."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from scipy import ndimage

from cosmobench.errors import CosmobenchError
from cosmobench.stats.structures import (
    StructureStatistic,
    label_structures,
    seed_threshold,
    structures,
)

EIGHT = np.ones((3, 3), dtype=int)


def _maps(rng, kind, n, size):
    if kind == "random":
        return rng.random((n, size, size)) * 3.0 - 1.0  # uniform δ in [−1, 2): many tiny clusters
    g = ndimage.gaussian_filter(rng.standard_normal((n, size, size)), (0, 1.5, 1.5))
    g /= g.std()
    f = np.exp(1.0 * g)
    return f / f.mean(axis=(1, 2), keepdims=True) - 1.0  # lognormal δ, σ ≈ 1.3


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Relabel a partition 1..k in raster order of each part's first pixel (0 stays 0)."""
    flat = labels.ravel()
    out = np.zeros_like(flat)
    mapping = {}
    for p, l in enumerate(flat):
        if l:
            out[p] = mapping.setdefault(l, len(mapping) + 1)
    return out.reshape(labels.shape)


def _networkx_labels(img: np.ndarray, threshold: float, connectivity: int) -> np.ndarray:
    """The seed's formulation: pixels are nodes joined to their neighbours, sub-threshold nodes removed."""
    h, w = img.shape
    g = nx.grid_2d_graph(h, w)
    if connectivity == 8:
        g.add_edges_from(((i, j), (i + 1, j + 1)) for i in range(h - 1) for j in range(w - 1))
        g.add_edges_from(((i, j + 1), (i + 1, j)) for i in range(h - 1) for j in range(w - 1))
    g.remove_nodes_from([(i, j) for i in range(h) for j in range(w) if not img[i, j] > threshold])
    out = np.zeros((h, w), dtype=np.int64)
    for k, comp in enumerate(nx.connected_components(g), start=1):
        for i, j in comp:
            out[i, j] = k
    return _canonical(out)


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("kind", ["random", "lognormal"])
def test_partition_matches_networkx(rng, kind, connectivity):
    maps = _maps(rng, kind, 4, 24)
    t = 0.5
    labels, counts = label_structures(maps, t, connectivity)
    for m in range(maps.shape[0]):
        ref = _networkx_labels(maps[m], t, connectivity)
        np.testing.assert_array_equal(_canonical(labels[m]), ref)
        assert counts[m] == ref.max()


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("kind", ["random", "lognormal"])
def test_partition_areas_masses_match_ndimage(rng, kind, connectivity):
    maps = _maps(rng, kind, 12, 64)
    for t in (0.0, 1.0, 3.0):
        labels, counts = label_structures(maps, t, connectivity)
        assert labels.dtype == np.int32
        cat = structures(maps, t, connectivity)
        assert len(cat) == counts.sum()
        np.testing.assert_array_equal(cat.counts, counts)
        for m in range(maps.shape[0]):
            ref, k = ndimage.label(maps[m] > t, structure=EIGHT if connectivity == 8 else None)
            assert k == counts[m]
            np.testing.assert_array_equal(_canonical(labels[m]), _canonical(ref))
            sel = cat.map_index == m
            idx = np.arange(1, k + 1)
            # labels are numbered in raster order of first pixel, like ndimage: compare per label
            np.testing.assert_allclose(cat.area[sel], ndimage.sum(np.ones_like(maps[m]), labels[m], idx))
            np.testing.assert_allclose(cat.mass[sel], ndimage.sum(1.0 + maps[m], labels[m], idx), rtol=1e-12)


def test_perimeter_and_elongation_match_direct_computation(rng):
    maps = _maps(rng, "lognormal", 6, 48)
    t = 0.8
    cat = structures(maps, t, 8)
    labels, counts = label_structures(maps, t, 8)
    s = 0
    for m in range(maps.shape[0]):
        lab = np.pad(labels[m], 1)  # non-periodic: outside the tile is "not the structure"
        for l in range(1, counts[m] + 1):
            inside = lab == l
            edges = sum(
                np.count_nonzero(inside & ~np.roll(inside, sh, axis=ax)) for ax in (0, 1) for sh in (1, -1)
            )
            assert cat.perimeter[s] == edges
            ii, jj = np.nonzero(labels[m] == l)
            cov = np.cov(np.vstack([ii, jj]), bias=True) + np.eye(2) / 12.0
            ev = np.linalg.eigvalsh(cov)
            assert cat.elongation[s] == pytest.approx(math.sqrt(ev[1] / ev[0]), rel=1e-9)
            s += 1
    assert s == len(cat)


def _single(img, connectivity=8):
    cat = structures(img[None], 0.5, connectivity)
    assert len(cat) == 1
    return cat


def test_hand_made_shapes():
    yy, xx = np.mgrid[:64, :64]
    px = np.zeros((64, 64))
    px[3, 3] = 1.0
    c = _single(px)
    assert (c.area[0], c.perimeter[0], c.elongation[0]) == (1, 4, 1.0)

    line = np.zeros((64, 64))
    line[10, 5:45] = 1.0
    c = _single(line)
    assert c.perimeter[0] == 2 * 40 + 2
    assert c.elongation[0] == pytest.approx(40.0)
    assert c.filamentarity[0] > 0.8

    disc = (((yy - 32) ** 2 + (xx - 32) ** 2) <= 15**2).astype(float)
    c = _single(disc)
    assert abs(c.filamentarity[0]) < 0.05
    assert c.elongation[0] == pytest.approx(1.0, abs=0.01)

    ellipse = ((yy - 32) ** 2 / 15**2 + (xx - 32) ** 2 / 3**2 <= 1).astype(float)
    c = _single(ellipse)
    assert 0.2 < c.filamentarity[0] < 0.8
    assert 4.0 < c.elongation[0] < 6.0

    square = np.zeros((64, 64))
    square[0:10, 0:10] = 1.0  # touching the border: border edges count
    c = _single(square)
    assert c.perimeter[0] == 40
    assert c.area_phys[0] == pytest.approx(100 * (1000 / 256) ** 2)


def test_connectivity_and_no_periodic_wrap():
    img = np.zeros((1, 8, 8))
    img[0, 2, 2] = img[0, 3, 3] = 1.0  # diagonal neighbours
    img[0, 5, 0] = img[0, 5, 7] = 1.0  # opposite borders: never joined
    assert label_structures(img, 0.5, 8)[1][0] == 3
    assert label_structures(img, 0.5, 4)[1][0] == 4
    assert label_structures(img, 1.0, 8)[1][0] == 0  # strict: δ > threshold


def test_min_area_and_batch_independence(rng):
    maps = _maps(rng, "lognormal", 8, 64)
    cat = structures(maps, 1.0)
    big = structures(maps, 1.0, min_area=5)
    assert np.all(big.area >= 5)
    for m in range(8):
        assert big.counts[m] == np.count_nonzero(cat.area[cat.map_index == m] >= 5)
    part = structures(maps[3:5], 1.0)
    sel = (cat.map_index >= 3) & (cat.map_index < 5)
    np.testing.assert_array_equal(part.area, cat.area[sel])
    np.testing.assert_array_equal(part.filamentarity, cat.filamentarity[sel])


def test_seed_threshold():
    st = seed_threshold(0.107)
    assert st.a == pytest.approx(0.014847, rel=1e-4)  # smaller root of √a − a = σ0
    assert st.c_nl == pytest.approx(1.0)
    assert st.threshold == pytest.approx(0.107)
    assert math.sqrt(st.a) - st.a == pytest.approx(0.107)
    other = seed_threshold(0.107, a=0.1)
    assert other.threshold == pytest.approx(math.sqrt(0.1) - 0.1)
    assert other.c_nl == pytest.approx(0.107 / (math.sqrt(0.1) - 0.1))
    with pytest.raises(CosmobenchError):
        seed_threshold(0.3)  # √a − a ≤ 1/4: no a gives C_nl = 1
    with pytest.raises(CosmobenchError):
        seed_threshold(-1.0)


def test_statistic(rng):
    maps = _maps(rng, "lognormal", 6, 64).astype(np.float32)
    maps[0] = -0.5  # a constant empty map: no structures at any threshold
    stat = StructureStatistic()
    x = stat.summarize(maps)
    assert x.shape == (6, 15)
    assert np.isfinite(x).all()
    np.testing.assert_array_equal(x[0], 0.0)
    assert np.all(x[1:, 0] > 0)  # structures above δ = 1
    assert np.all((x[:, 2] >= 0) & (x[:, 2] <= 1)) and np.all((x[:, 4] >= 0) & (x[:, 4] <= 1))
    with_seed = StructureStatistic(sigma0=0.0137)
    assert with_seed.summarize(maps).shape == (6, 20)
    assert with_seed.thresholds[-1] == pytest.approx(0.0137)
    assert with_seed.key() != stat.key()
    assert stat.coords()["threshold"].shape == (15,)


def test_errors(rng):
    maps = _maps(rng, "lognormal", 2, 16)
    with pytest.raises(CosmobenchError):
        label_structures(maps, 1.0, connectivity=6)
    with pytest.raises(CosmobenchError):
        structures(maps, float("nan"))
    with pytest.raises(CosmobenchError):
        structures(maps, 1.0, min_area=0)


def test_float32_same_as_float64(rng):
    maps = _maps(rng, "lognormal", 4, 32).astype(np.float32)
    a = structures(maps, float(np.float32(1.0)))
    b = structures(maps.astype(np.float64), float(np.float32(1.0)))
    np.testing.assert_array_equal(a.area, b.area)
    np.testing.assert_allclose(a.mass, b.mass, rtol=1e-12)
    np.testing.assert_allclose(a.total_mass, b.total_mass, rtol=1e-12)
