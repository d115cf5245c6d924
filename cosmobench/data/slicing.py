"""Cut 3-D δ cubes and 2-D δ maps into the 64² tiles of a track.

The default track (after the seed study) averages two adjacent planes of a 256³ CIC grid along z
into a 7.8 Mpc/h slab and cuts each 256² slab into 16 tiles of 64². Everything here is reshapes
and means: no Python loop ever touches a pixel.

Tile order is slab-major, then tile row, then tile column, so tile ``j`` of a cube comes from slab
``j // ntiles`` and tiles of one slab are contiguous.
"""

from __future__ import annotations

import numpy as np

from cosmobench.errors import CosmobenchError

__all__ = ["cube_to_tiles", "maps_to_tiles", "block_average"]


def _check_divisible(n: int, by: int, what: str, name: str) -> None:
    if by < 1:
        raise CosmobenchError(f"{what} must be a positive integer, got {by}")
    if n % by:
        raise CosmobenchError(
            f"{name}: {what} {by} does not divide the grid size {n}; "
            f"use a grid whose size is a multiple of {by} (e.g. 64 or 256)"
        )


def cube_to_tiles(cube, planes: int = 2, tile: int = 64, axis: int = 2, *, name: str = "cube") -> np.ndarray:
    """Average adjacent planes of a 3-D field into slabs and cut the slabs into square tiles.

    Parameters
    ----------
    cube : array_like, shape (Nx, Ny, Nz)
        3-D δ field (any float dtype; a read-only memory map is fine).
    planes : int
        Number of adjacent planes averaged into one slab along ``axis`` (2 on the default track:
        256 planes give 128 slabs).
    tile : int
        Side of the square tiles in pixels.
    axis : int
        Axis along which planes are averaged (the line of sight).
    name : str
        What to call the input in error messages (e.g. a file name).

    Returns
    -------
    numpy.ndarray, shape (n_slabs * ntiles, tile, tile), float32
        ``n_slabs = N_axis / planes`` and ``ntiles = (N_a / tile) * (N_b / tile)`` for the two
        other axes, in the order (slab, tile row, tile column).

    Raises
    ------
    CosmobenchError
        If the input is not 3-D or its sizes are not divisible by ``planes`` and ``tile``.
    """
    cube = np.asarray(cube)
    if cube.ndim != 3:
        raise CosmobenchError(f"{name}: expected a 3-D cube, got shape {cube.shape}; pass an (N, N, N) δ grid")
    if not -3 <= axis <= 2:
        raise CosmobenchError(f"{name}: axis must be 0, 1 or 2, got {axis}")
    # Line of sight first: planes along axis 0, the map plane keeps the other axes in their order.
    c = np.moveaxis(cube, axis, 0)
    nz, na, nb = c.shape
    _check_divisible(nz, planes, "planes", name)
    _check_divisible(na, tile, "tile", name)
    _check_divisible(nb, tile, "tile", name)
    # Accumulate in float64 so slabs do not depend on the input's precision or plane order.
    slabs = c.reshape(nz // planes, planes, na, nb).mean(axis=1, dtype=np.float64)
    return _slabs_to_tiles(slabs, tile)


def maps_to_tiles(maps2d, tile: int = 64, *, name: str = "maps") -> np.ndarray:
    """Cut 2-D maps (e.g. 256² Quijote or CAMELS maps) into square tiles.

    Parameters
    ----------
    maps2d : array_like, shape (H, W) or (n, H, W)
        One map or a batch of maps.
    tile : int
        Side of the square tiles in pixels; must divide H and W.
    name : str
        What to call the input in error messages.

    Returns
    -------
    numpy.ndarray, shape (n * (H/tile) * (W/tile), tile, tile), float32
        Tiles in the order (map, tile row, tile column).

    Raises
    ------
    CosmobenchError
        If the input is not 2-D/3-D or ``tile`` does not divide the map size.
    """
    maps2d = np.asarray(maps2d)
    if maps2d.ndim == 2:
        maps2d = maps2d[None]
    if maps2d.ndim != 3:
        raise CosmobenchError(f"{name}: expected (H, W) or (n, H, W) maps, got shape {maps2d.shape}")
    _check_divisible(maps2d.shape[1], tile, "tile", name)
    _check_divisible(maps2d.shape[2], tile, "tile", name)
    return _slabs_to_tiles(maps2d, tile)


def block_average(cube, factor: int, *, name: str = "cube") -> np.ndarray:
    """Average non-overlapping ``factor``³ blocks of a 3-D grid (e.g. 512³ → 256³ for factor 2).

    Block-averaging a CIC δ grid is the CIC δ of the coarser grid up to the assignment kernel,
    and it conserves the mean. Works plane block by plane block so that a memory-mapped 512³ file
    never has to sit in memory as float64.

    Parameters
    ----------
    cube : array_like, shape (N, N, N)
        Input grid; ``factor`` must divide every size.
    factor : int
        Block side in cells (1 returns a float32 copy).
    name : str
        What to call the input in error messages.

    Returns
    -------
    numpy.ndarray, shape (N/factor,)*3, float32
    """
    cube = np.asarray(cube) if not isinstance(cube, np.ndarray) else cube
    if cube.ndim != 3:
        raise CosmobenchError(f"{name}: expected a 3-D cube, got shape {cube.shape}")
    for n in cube.shape:
        _check_divisible(n, factor, "regridding factor", name)
    if factor == 1:
        return np.asarray(cube, dtype=np.float32).copy()
    nx, ny, nz = (n // factor for n in cube.shape)
    out = np.empty((nx, ny, nz), dtype=np.float32)
    for i in range(nx):  # one output plane per iteration: bounded memory, vectorised inside
        block = np.asarray(cube[i * factor:(i + 1) * factor], dtype=np.float64)
        out[i] = block.reshape(factor, ny, factor, nz, factor).mean(axis=(0, 2, 4))
    return out


def _slabs_to_tiles(slabs: np.ndarray, tile: int) -> np.ndarray:
    n, na, nb = slabs.shape
    tiles = slabs.reshape(n, na // tile, tile, nb // tile, tile).transpose(0, 1, 3, 2, 4)
    return np.ascontiguousarray(tiles.reshape(-1, tile, tile), dtype=np.float32)
