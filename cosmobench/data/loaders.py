"""Import real reference files (Quijote 3-D cubes, Quijote 2-D maps, CAMELS CMD maps) as sources.

Every file is opened with ``allow_pickle=False`` (a data file is never code) and memory-mapped, its
header is checked before any data is read (dtype, shape, truncation), every chunk is checked for
NaN/Inf, and values are cast explicitly to float32. The source is written into a hidden temporary
directory, through the writer simulated builds use (:mod:`cosmobench.data.writer`: box entries and
``meta.json``), and renamed into place only when complete, so nothing half-imported ever looks like a
source.

Kinds
-----
``quijote3d``
    ``df_m_<G>_<MAS>_z=0.npy`` δ cubes of the 1000 Mpc/h box; one file is one box. Grids finer than
    the track's 3.906 Mpc/h cell by an integer factor (512³) are block-averaged to 256³; coarser
    ones are refused. Cut with :func:`cube_to_tiles` (2 planes, 64² tiles) → track "quijote-z0".
    A ``df_m_z=127.npy`` next to a cube (same directory) gives its initial-condition tiles and σ0.
``quijote2d``
    ``df_z=0.npy`` 256² δ maps (one map, or a stack, per file); one file is one box; 16 tiles per
    map → track "quijote2d-z0".
``camels``
    CAMELS CMD ``Maps_Mtot_<suite>_LH_z=0.00.npy`` (n × 256² float32, 25 Mpc/h). Each map becomes
    δ = map / mean(map) − 1 with its own mean (a map with a negative pixel is refused: a mass map
    cannot be negative, and δ would fall below −1); the 15 maps of one simulation (params row i // 15)
    form one box → track "camels-mtot-z0". Read one simulation at a time so a 3.75 GB file never
    sits in memory.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from cosmobench._escape import filename_component
from cosmobench._files import DESCRIPTIONS, check_file
from cosmobench._io import sha256_file
from cosmobench.data import store as _store
from cosmobench.data.slicing import block_average, cube_to_tiles, maps_to_tiles
from cosmobench.data.track import DEFAULT_TRACK, TRACKS, Track
from cosmobench.data.writer import new_meta, save_box, source_lock, write_meta
from cosmobench.errors import CosmobenchError

__all__ = ["import_files", "KINDS", "inspect_npy", "open_npy"]

KINDS = ("quijote3d", "quijote2d", "camels")
_KIND_TRACK = {"quijote3d": DEFAULT_TRACK, "quijote2d": TRACKS["quijote2d-z0"], "camels": TRACKS["camels-mtot-z0"]}
QUIJOTE_BOX = 1000.0  # Mpc/h
CAMELS_MAPS_PER_SIM = 15
# CIC δ cannot go below −1; float32 rounding of a painter can undershoot a little.
_DELTA_FLOOR = -1.0 - 1e-4
# A full δ cube or map averages to 0 up to float error; far from 0 means the file holds ρ or ρ/ρ̄.
_MEAN_TOL = 0.05


# --------------------------------------------------------------------------------------------- reading

def inspect_npy(path: "str | os.PathLike") -> tuple[tuple[int, ...], np.dtype]:
    """Read and check the header of a ``.npy`` file without loading its data.

    Parameters
    ----------
    path : path-like
        File to inspect.

    Returns
    -------
    shape : tuple of int
    dtype : numpy.dtype

    Raises
    ------
    CosmobenchError
        If the file is missing, not a ``.npy`` array (e.g. an ``.npz`` or pickle), holds Python
        objects, is not floating point, or is shorter than its header says (truncated download).
    """
    path = Path(path)
    # Directories, missing or empty files, text, .npz, pickles: each said as what it is.
    kind = check_file(path, ".npy file")
    if kind != "npy":
        raise CosmobenchError(f"{path}: holds {DESCRIPTIONS[kind]}, not a .npy array; save δ with numpy.save(path, array)")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _fortran, dtype = reader(fh, max_header_size=100_000)
        except Exception as exc:  # any malformed header: numpy raises ValueError or similar
            raise CosmobenchError(f"{path}: has a damaged .npy header ({exc}); download or save the file again") from None
        offset = fh.tell()
    if dtype.hasobject:
        raise CosmobenchError(
            f"{path}: holds Python objects (a pickled array), which cosmobench never loads; "
            "save δ as a plain float32 array"
        )
    if dtype.kind != "f":
        raise CosmobenchError(
            f"{path}: holds {dtype} values, expected floating-point δ; save δ = ρ/ρ̄ − 1 as float32"
        )
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < need:
        raise CosmobenchError(
            f"{path}: is truncated ({size} of {need} bytes for a {dtype} array of shape {shape}); "
            "download or copy it again"
        )
    return tuple(int(s) for s in shape), dtype


def open_npy(path: "str | os.PathLike") -> np.ndarray:
    """Memory-map a checked ``.npy`` file (read-only, ``allow_pickle=False``)."""
    inspect_npy(path)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CosmobenchError(f"{path}: could not be read ({exc}); download or save the file again") from None


def _check_values(path: Path, chunk: np.ndarray, *, delta: bool = True) -> None:
    finite = np.isfinite(chunk)
    if not finite.all():
        bad = int(chunk.size - np.count_nonzero(finite))
        raise CosmobenchError(f"{path}: contains {bad} NaN/Inf values; fix or re-download the file")
    if delta and chunk.size and float(chunk.min()) < _DELTA_FLOOR:
        raise CosmobenchError(
            f"{path}: has δ = {float(chunk.min()):.3g} < −1, impossible for δ = ρ/ρ̄ − 1; "
            "check the file holds a density contrast"
        )


def _check_mean(path: Path, mean: float) -> None:
    if abs(mean) > _MEAN_TOL:
        raise CosmobenchError(
            f"{path}: mean value is {mean:.4g}, but a δ = ρ/ρ̄ − 1 field averages to 0; if the file holds "
            "ρ or ρ/ρ̄, convert it to δ first"
        )


# --------------------------------------------------------------------------------------------- kinds

_RE_Q3D = re.compile(r"^df_m_(\d+)_.*z=0(\.0+)?\.npy$")
_RE_Z127 = re.compile(r"^df_m_.*z=127(\.0+)?\.npy$")
_RE_Q2D = re.compile(r"^df_z=0(\.0+)?\.npy$")
_RE_CAMELS = re.compile(r"^Maps_.*\.npy$")


def _is_companion(path: Path) -> bool:
    return bool(_RE_Z127.match(path.name))


def detect_kind(path: "str | os.PathLike", shape: "tuple[int, ...] | None" = None) -> str:
    """Kind of a file from its name, else from its shape; raise if it cannot be told."""
    path = Path(path)
    if _RE_CAMELS.match(path.name):
        return "camels"
    if _RE_Q3D.match(path.name) or _is_companion(path):
        return "quijote3d"
    if _RE_Q2D.match(path.name):
        return "quijote2d"
    if shape is not None:
        if len(shape) == 2:
            return "quijote2d"
        if len(shape) == 3 and shape[0] == shape[1] == shape[2]:
            return "quijote3d"
    raise CosmobenchError(
        f"{path}: cannot tell its kind from the name or shape {shape}; pass kind= "
        f"(--kind {'|'.join(KINDS)})"
    )


def _regrid_factor(path: Path, grid: int, box_size: float, track: Track) -> int:
    """Integer block factor taking ``box_size/grid`` cells to the track's pixel, or a clear error."""
    cell = box_size / grid
    f = track.pixel_size / cell
    k = int(round(f))
    if k < 1 or not math.isclose(f, k, rel_tol=1e-6):
        need = box_size / track.pixel_size
        raise CosmobenchError(
            f"{path}: a {grid}³ grid of a {box_size:g} Mpc/h box has {cell:.4g} Mpc/h cells; the track "
            f"{track.name!r} needs {track.pixel_size:.4g} Mpc/h cells, i.e. a grid of {need:g}³ or a multiple "
            f"of it (e.g. the df_m_256 or df_m_512 files)"
        )
    return k


def _cube_tiles(path: Path, box_size: float, track: Track) -> tuple[np.ndarray, dict]:
    shape, dtype = inspect_npy(path)
    if len(shape) != 3 or not (shape[0] == shape[1] == shape[2]):
        raise CosmobenchError(f"{path}: expected a cubic 3-D δ grid (G, G, G), got shape {shape}")
    k = _regrid_factor(path, shape[0], box_size, track)
    mm = open_npy(path)
    # Check values a few planes at a time: a 512³ float64 cube is 1 GB.
    step = max(1, (1 << 24) // (shape[1] * shape[2]))
    total = 0.0
    for s in range(0, shape[0], step):
        chunk = np.asarray(mm[s:s + step], dtype=np.float32)
        _check_values(path, chunk)
        total += float(chunk.sum(dtype=np.float64))
    _check_mean(path, total / float(np.prod(shape)))
    cube = block_average(mm, k, name=str(path))
    tiles = cube_to_tiles(cube, planes=2, tile=track.tile, axis=2, name=str(path))
    return tiles, {"shape": list(shape), "dtype": str(dtype), "regrid_factor": k}


def _maps2d_tiles(path: Path, track: Track) -> tuple[np.ndarray, dict]:
    shape, dtype = inspect_npy(path)
    if len(shape) not in (2, 3) or shape[-1] != shape[-2]:
        raise CosmobenchError(f"{path}: expected a square 2-D δ map (256, 256) or a stack (n, 256, 256), got shape {shape}")
    if shape[-1] != 256:
        raise CosmobenchError(
            f"{path}: Quijote 2-D maps are 256² (3.906 Mpc/h pixels); got {shape[-2]}×{shape[-1]}. "
            "Regrid to 256² or import the 3-D cubes instead"
        )
    mm = open_npy(path)
    maps = np.asarray(mm, dtype=np.float32)
    _check_values(path, maps)
    _check_mean(path, float(maps.mean(dtype=np.float64)))
    return maps_to_tiles(maps, tile=track.tile, name=str(path)), {"shape": list(shape), "dtype": str(dtype)}


def _camels_chunks(path: Path, track: Track, per_sim: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (simulation index, δ tiles of its maps), reading one simulation at a time."""
    shape, _ = inspect_npy(path)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise CosmobenchError(f"{path}: expected CAMELS maps of shape (n, 256, 256), got {shape}")
    if shape[0] % per_sim:
        raise CosmobenchError(
            f"{path}: has {shape[0]} maps, not a multiple of {per_sim} maps per simulation (CAMELS CMD map i "
            f"belongs to simulation i // {per_sim}); import the complete file"
        )
    if shape[1] % track.tile:
        raise CosmobenchError(f"{path}: map side {shape[1]} is not a multiple of the {track.tile}-pixel tile")
    mm = open_npy(path)
    for sim in range(shape[0] // per_sim):
        raw = np.asarray(mm[sim * per_sim:(sim + 1) * per_sim], dtype=np.float64)
        _check_values(path, raw, delta=False)
        if raw.min() < 0:
            # A mass map cannot be negative; δ = map / mean − 1 would go below −1 and pass as data.
            j = int(np.argmin(raw.reshape(per_sim, -1).min(axis=1)))
            raise CosmobenchError(
                f"{path}: map {sim * per_sim + j} has negative pixels (min {float(raw[j].min()):.3g}), impossible for "
                "a total-mass map; the file is damaged or not a CAMELS Mtot map: re-download it"
            )
        mean = raw.mean(axis=(1, 2), keepdims=True)
        if (mean <= 0).any():
            bad = int(np.argmax(mean.ravel() <= 0)) + sim * per_sim
            raise CosmobenchError(
                f"{path}: map {bad} has mean {float(mean.ravel()[bad - sim * per_sim]):.3g} <= 0, impossible for a "
                "mass map (expected Mtot in (Msun/h)/(Mpc/h)^2); check the file"
            )
        delta = (raw / mean - 1.0).astype(np.float32)
        yield sim, maps_to_tiles(delta, tile=track.tile, name=str(path))


# --------------------------------------------------------------------------------------------- import

def _hash_files(files: Sequence[Path]) -> dict[str, str]:
    return {str(p): sha256_file(p) for p in files}


def import_files(
    paths,
    name: "str | None" = None,
    kind: "str | None" = None,
    *,
    box_size: "float | None" = None,
    maps_per_sim: int = CAMELS_MAPS_PER_SIM,
) -> _store.Source:
    """Import Quijote or CAMELS files as a reference source.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        Files of one kind. For ``quijote3d`` each ``df_m_*_z=0.npy`` cube is one box, and a
        ``df_m_z=127.npy`` in the same directory (found automatically, or listed) adds its
        initial-condition tiles and σ0. Boxes are numbered in the order the files are given.
    name : str, optional
        Source name; default ``<kind>-<first 8 hex of the content hash>``.
    kind : {"quijote3d", "quijote2d", "camels"}, optional
        Default: detected from file names, else from shapes.
    box_size : float, optional
        Side of the simulation box in Mpc/h for ``quijote3d`` (default 1000, Quijote's); the grid
        must then have cells equal to, or an integer fraction of, the track's pixel.
    maps_per_sim : int
        CAMELS maps per simulation (15 in CMD): maps of one simulation share a box, hence a split.

    Returns
    -------
    Source
        The new source (or the existing one, when a source of that name already holds exactly
        the same content).

    Raises
    ------
    CosmobenchError
        For missing, truncated, pickled, non-float, NaN/Inf or wrongly shaped files, mixed kinds,
        or a name already holding different content. Nothing is left behind on error.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [Path(p).expanduser() for p in paths]
    if not paths:
        raise CosmobenchError("no files given; pass one or more .npy files to import")
    for p in paths:
        check_file(p, ".npy file")
    if kind is not None and kind not in KINDS:
        raise CosmobenchError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind is None:
        kinds = {detect_kind(p, inspect_npy(p)[0]) for p in paths}
        if len(kinds) > 1:
            raise CosmobenchError(
                f"the files are of several kinds ({', '.join(sorted(kinds))}); import each kind separately"
            )
        kind = kinds.pop()
    if name is not None and (not isinstance(name, str) or filename_component(name, fallback="") != name
                             or name in _store.SIM_SOURCE_CONFIGS):
        raise CosmobenchError(
            f"invalid source name {name!r} for an import: use letters, digits, '.', '-' and '_' (not starting with "
            "'.'; names 'sim' and 'sim-small' are for simulations)"
        )
    track = _KIND_TRACK[kind]

    # Cubes and their z=127 companions pair by directory, as in Quijote's <cosmo>/<i>/ layout.
    companions: dict[Path, Path] = {}
    mains = paths
    if kind == "quijote3d":
        mains = [p for p in paths if not _is_companion(p)]
        for p in paths:
            if _is_companion(p):
                companions[p.parent.resolve()] = p
        for p in mains:
            if p.parent.resolve() not in companions:
                found = sorted(q for q in p.parent.glob("df_m*z=127*.npy") if _RE_Z127.match(q.name))
                if found:
                    companions[p.parent.resolve()] = found[0]
        if not mains:
            raise CosmobenchError("only z=127 files were given; pass the z=0 cubes (df_m_256_CIC_z=0.npy) too")
        if len({p.resolve() for p in mains}) != len(mains):
            raise CosmobenchError("the same file is given twice; each cube is one box")
    if box_size is not None and kind != "quijote3d":
        raise CosmobenchError("box_size applies to quijote3d cubes only")
    if box_size is not None and (isinstance(box_size, bool) or not isinstance(box_size, (int, float, np.number))
                                 or not math.isfinite(float(box_size)) or float(box_size) <= 0):
        raise CosmobenchError(f"box size {box_size!r} must be a positive number of Mpc/h (Quijote boxes are 1000)")
    box = QUIJOTE_BOX if box_size is None else float(box_size)

    root = _store.sources_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-import-{secrets.token_hex(6)}"
    tmp.mkdir()
    try:
        cosmology = "CAMELS LH (varies per simulation; see the params file)" if kind == "camels" else "Quijote (as provided)"
        meta = new_meta(None, kind, track, cosmology=cosmology, settings={"kind": kind, "tile": track.tile})
        boxes = meta["boxes"]
        used_files: list[Path] = []
        if kind == "quijote3d":
            meta["settings"].update(box_size=box, planes=2, axis=2, regrid="block average")
            for i, p in enumerate(mains):
                tiles, info = _cube_tiles(p, box, track)
                box_tiles, sources = {"0": tiles}, {"0": {"path": str(p.resolve()), **info}}
                used_files.append(p)
                comp = companions.get(p.parent.resolve())
                if comp is not None:
                    box_tiles["127"], info127 = _cube_tiles(comp, box, track)
                    sources["127"] = {"path": str(comp.resolve()), **info127}
                    used_files.append(comp)
                boxes[str(i)] = {**save_box(tmp, i, box_tiles), "source_files": sources}
                del tiles, box_tiles  # a box's tiles are 64 MB per redshift: free them before the next cube
        elif kind == "quijote2d":
            for i, p in enumerate(paths):
                tiles, info = _maps2d_tiles(p, track)
                boxes[str(i)] = {**save_box(tmp, i, {"0": tiles}), "source_files": {"0": {"path": str(p.resolve()), **info}}}
                used_files.append(p)
        else:
            meta["settings"].update(maps_per_sim=int(maps_per_sim), delta="per-map mean: delta = map / mean(map) - 1")
            meta["notes"] = ("δ of each map uses that map's own mean (δ = map / mean(map) − 1); "
                             f"box i = simulation i (maps {maps_per_sim}·i … {maps_per_sim}·i+{maps_per_sim - 1}, "
                             "params row i) counted across the files in the order given")
            offset = 0
            for p in paths:
                n_sims = 0
                for sim, tiles in _camels_chunks(p, track, int(maps_per_sim)):
                    boxes[str(offset + sim)] = {**save_box(tmp, offset + sim, {"0": tiles}),
                                                "source_file": str(p.resolve()), "simulation": sim}
                    n_sims = sim + 1
                offset += n_sims
                used_files.append(p)
        meta["files"] = [
            {"path": str(p.resolve()), "name": p.name, "sha256": h, "size": p.stat().st_size, "kind": kind}
            for p, h in zip(used_files, _hash_files(used_files).values())
        ]
        final_name = meta["name"] = name or f"{kind}-{_store.content_hash(meta)[:8]}"
        write_meta(tmp, meta)

        dest = root / final_name
        with source_lock(final_name):
            if (dest / "meta.json").exists():
                old = _store.Source(dest)
                if old.meta.get("content_hash") == meta["content_hash"]:
                    return old  # same content imported again: nothing to do
                raise CosmobenchError(
                    f"a source named {final_name!r} already exists with different content; pass another --name "
                    f"or delete {dest}"
                )
            if dest.exists():  # a directory without meta.json is debris, never a source
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        return _store.Source(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
