"""Reference data: tracks, sources on disk, the built-in simulator, real-file loaders, splits.

Importing this package is light: the simulator (numba, pyFFTW, CAMB) is imported only when a
source has to be built.
"""

from __future__ import annotations

import numpy as np

from cosmobench.data.slicing import block_average, cube_to_tiles, maps_to_tiles
from cosmobench.data.store import (
    DEFAULT_BOXES,
    DEFAULT_SEED,
    SIM_SOURCE_CONFIGS,
    SPLITS,
    Source,
    build_simulated,
    data_home,
    ensure_source,
    get_source,
    list_sources,
    split_of_box,
)
from cosmobench.data.track import DEFAULT_TRACK, TRACKS, Track, get_track
from cosmobench.errors import CosmobenchError

__all__ = [
    "Track",
    "TRACKS",
    "DEFAULT_TRACK",
    "get_track",
    "cube_to_tiles",
    "maps_to_tiles",
    "block_average",
    "data_home",
    "Source",
    "get_source",
    "list_sources",
    "split_of_box",
    "build_simulated",
    "ensure_source",
    "import_files",
    "load_reference",
    "SPLITS",
    "DEFAULT_SEED",
    "SIM_SOURCE_CONFIGS",
    "DEFAULT_BOXES",
]


def import_files(paths, name=None, kind=None, **kwargs) -> Source:
    """Import Quijote or CAMELS files as a source; see :func:`cosmobench.data.loaders.import_files`."""
    from cosmobench.data.loaders import import_files as _import_files

    return _import_files(paths, name=name, kind=kind, **kwargs)


def load_reference(
    split: str = "test",
    *,
    source: str = "sim",
    z="0",
    build: bool = True,
    boxes: "int | None" = None,
    progress: bool = True,
) -> np.ndarray:
    """Reference δ maps of a source's split, building the simulated source if needed.

    Parameters
    ----------
    split : {"test", "val", "train", "all"}
        Which boxes (splits are by simulation box).
    source : str
        Source name: ``"sim"`` (default simulator config), ``"sim-small"`` (small config) or an
        imported source.
    z : {"0", "127"}
        Redshift of the maps (127: initial conditions, simulated and some Quijote sources only).
    build : bool
        If a simulated source is missing or lacks boxes for ``split``, simulate what is missing
        (with a progress bar); otherwise raise.
    boxes : int, optional
        Use boxes ``0 .. boxes-1`` only (building missing ones when ``build``), so the maps do not
        depend on how many boxes the source happens to hold. Default: every box present, or
        ``DEFAULT_BOXES`` (0-3) when the source must be built (see :func:`ensure_source`).
    progress : bool
        Show progress while building.

    Returns
    -------
    numpy.ndarray, shape (n, 64, 64), float32
        δ tiles of the source's track, concatenated in box order.

    Raises
    ------
    CosmobenchError
        If the source is missing (or lacks the split) and cannot or may not be built.
    """
    if split not in (*SPLITS, "all"):
        raise CosmobenchError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} (or 'all')")
    src = ensure_source(source, progress=progress, splits=() if split == "all" else (split,), boxes=boxes, build=build)
    use = [i for i in src.boxes(split) if boxes is None or i < boxes]
    if not use or (boxes is not None and not set(range(boxes)) <= set(src.boxes())):
        simulated = src.kind == "simulated"
        want = boxes if boxes is not None else max(DEFAULT_BOXES, src.n_boxes)
        raise CosmobenchError(
            f"source {source!r} lacks boxes for split {split!r}"
            + (f" among boxes 0..{want - 1}" if boxes is not None else "")
            + ("; call with build=True or run `cosmobench data build "
               f"--source {source} --boxes {want}`" if simulated else "; import more files")
        )
    return np.concatenate([src.box_maps(i, z) for i in use], axis=0)
