"""Slicing cubes and maps into track tiles: shapes, plane averages, exact tiling, errors."""

import numpy as np
import pytest

from cosmobench.data.slicing import block_average, cube_to_tiles, maps_to_tiles
from cosmobench.errors import CosmobenchError


def test_cube_to_tiles_default_track_shape(rng):
    cube = rng.standard_normal((256, 256, 256), dtype=np.float32)
    tiles = cube_to_tiles(cube)
    assert tiles.shape == (128 * 16, 64, 64) and tiles.dtype == np.float32
    # Slab 5 = mean of planes 10, 11 along z; its tile (row 2, col 3) is tile 5*16 + 2*4 + 3.
    slab = cube[:, :, 10:12].mean(axis=2)
    np.testing.assert_allclose(tiles[5 * 16 + 2 * 4 + 3], slab[128:192, 192:256], rtol=1e-6, atol=1e-6)


def test_tiles_cover_slab_exactly(rng):
    cube = rng.standard_normal((128, 128, 8)).astype(np.float64)
    tiles = cube_to_tiles(cube, planes=2, tile=64, axis=2)
    assert tiles.shape == (4 * 4, 64, 64)
    for s in range(4):
        slab = cube[:, :, 2 * s:2 * s + 2].mean(axis=2)
        t = tiles[4 * s:4 * s + 4].reshape(2, 2, 64, 64)
        np.testing.assert_allclose(np.block([[t[0, 0], t[0, 1]], [t[1, 0], t[1, 1]]]), slab, rtol=1e-6, atol=1e-6)
    # Averaging and cutting conserve the mean.
    assert tiles.mean(dtype=np.float64) == pytest.approx(cube.mean(), abs=1e-6)


def test_small_cube_and_axis(rng):
    cube = rng.standard_normal((64, 64, 64), dtype=np.float32)
    t2 = cube_to_tiles(cube)
    assert t2.shape == (32, 64, 64)
    t0 = cube_to_tiles(cube, axis=0)
    np.testing.assert_allclose(t0[3], cube[6:8].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(t2[3], cube[:, :, 6:8].mean(axis=2), atol=1e-6)


@pytest.mark.parametrize("shape,kwargs", [((100, 100, 100), {}), ((64, 64, 63), {}), ((64, 64), {}),
                                          ((128, 128, 128), {"tile": 0})])
def test_cube_to_tiles_errors(shape, kwargs):
    with pytest.raises(CosmobenchError):
        cube_to_tiles(np.zeros(shape, np.float32), **kwargs)


def test_maps_to_tiles(rng):
    maps = rng.standard_normal((3, 256, 256), dtype=np.float32)
    tiles = maps_to_tiles(maps)
    assert tiles.shape == (48, 64, 64) and tiles.dtype == np.float32
    np.testing.assert_array_equal(tiles[16 + 4 * 1 + 2], maps[1, 64:128, 128:192])
    assert maps_to_tiles(maps[0]).shape == (16, 64, 64)
    with pytest.raises(CosmobenchError, match="tile"):
        maps_to_tiles(np.zeros((2, 100, 100)))


def test_block_average(rng):
    cube = rng.standard_normal((8, 8, 8))
    out = block_average(cube, 2)
    assert out.shape == (4, 4, 4) and out.dtype == np.float32
    assert out[1, 2, 3] == pytest.approx(cube[2:4, 4:6, 6:8].mean(), abs=1e-6)
    with pytest.raises(CosmobenchError):
        block_average(cube, 3)
