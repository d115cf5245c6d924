"""Import real reference files (Quijote 3-D cubes, Quijote 2-D maps, CAMELS CMD maps) as sources.

Every file is opened with ``allow_pickle=False`` (a data file is never code) and memory-mapped, its
header is checked before any data is read (dtype, shape, truncation; :mod:`cosmobench.data.npyfile`),
every chunk is checked for NaN/Inf, and values are cast explicitly to float32. The source is written into a hidden temporary
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

A new kind of file is a reader (file → checked tiles) and a plan (files → settings and boxes) in this
module, registered as one :class:`ImportKind` in :data:`IMPORT_KINDS`.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from cosmobench._escape import filename_component
from cosmobench._files import check_file
from cosmobench._io import sha256_file
from cosmobench.data import store as _store
from cosmobench.data.npyfile import check_mean, check_values, inspect_npy, open_npy
from cosmobench.data.slicing import block_average, cube_to_tiles, maps_to_tiles
from cosmobench.data.track import DEFAULT_TRACK, TRACKS, Track
from cosmobench.data.writer import new_meta, save_box, source_lock, write_meta
from cosmobench.errors import CosmobenchError

__all__ = ["import_files", "KINDS", "IMPORT_KINDS", "ImportKind", "ImportPlan", "detect_kind", "inspect_npy", "open_npy"]

QUIJOTE_BOX = 1000.0  # Mpc/h
CAMELS_MAPS_PER_SIM = 15


# --------------------------------------------------------------------------------------------- readers

_RE_Q3D = re.compile(r"^df_m_(\d+)_.*z=0(\.0+)?\.npy$")
_RE_Z127 = re.compile(r"^df_m_.*z=127(\.0+)?\.npy$")
_RE_Q2D = re.compile(r"^df_z=0(\.0+)?\.npy$")
_RE_CAMELS = re.compile(r"^Maps_.*\.npy$")


def _is_companion(path: Path) -> bool:
    return bool(_RE_Z127.match(path.name))


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
        check_values(path, chunk)
        total += float(chunk.sum(dtype=np.float64))
    check_mean(path, total / float(np.prod(shape)))
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
    check_values(path, maps)
    check_mean(path, float(maps.mean(dtype=np.float64)))
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
        check_values(path, raw, delta=False)
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


# --------------------------------------------------------------------------------------------- kinds

@dataclass(frozen=True)
class ImportPlan:
    """What one import will write: its settings and, lazily, its boxes.

    Attributes
    ----------
    settings : dict
        The kind's settings besides ``kind`` and ``tile`` (recorded in ``meta.json``; they enter the
        content hash, so a key once written is never renamed).
    boxes : iterator of (dict, dict)
        Per box, in index order: tiles (n, tile, tile) per redshift (``"0"``, optionally ``"127"``) and
        the extra fields of its meta entry (where the maps came from).
    files : list of Path
        The files read, in order (recorded with their sha256 in ``meta["files"]``).
    notes : str, optional
        Recorded as ``meta["notes"]``.
    """

    settings: dict
    boxes: Iterator[tuple[dict, dict]]
    files: list
    notes: "str | None" = None


@dataclass(frozen=True)
class ImportKind:
    """One kind of importable file: how it is recognised, the track its tiles feed, how it becomes boxes.

    Attributes
    ----------
    track : Track
    cosmology : str
        Recorded as ``meta["cosmology"]``.
    names : tuple of re.Pattern
        File names that are of this kind.
    plan : callable
        ``plan(paths, track, **options) -> ImportPlan``; checks everything it can before any data is
        read (the options are :func:`import_files`' keywords; it ignores those of other kinds).
    options : tuple of str
        The :func:`import_files` keywords that apply to this kind (giving another is refused).
    shape : callable, optional
        ``shape(shape) -> bool``: the kind of a file whose name says nothing.
    """

    track: Track
    cosmology: str
    names: tuple
    plan: Callable[..., ImportPlan]
    options: tuple = ()
    shape: "Callable[[tuple], bool] | None" = None


def _plan_quijote3d(paths: list[Path], track: Track, *, box_size=None, **_) -> ImportPlan:
    # Cubes and their z=127 companions pair by directory, as in Quijote's <cosmo>/<i>/ layout.
    mains = [p for p in paths if not _is_companion(p)]
    companions = {p.parent.resolve(): p for p in paths if _is_companion(p)}
    for p in mains:
        if p.parent.resolve() not in companions:
            found = sorted(q for q in p.parent.glob("df_m*z=127*.npy") if _RE_Z127.match(q.name))
            if found:
                companions[p.parent.resolve()] = found[0]
    if not mains:
        raise CosmobenchError("only z=127 files were given; pass the z=0 cubes (df_m_256_CIC_z=0.npy) too")
    if len({p.resolve() for p in mains}) != len(mains):
        raise CosmobenchError("the same file is given twice; each cube is one box")
    if box_size is not None and (isinstance(box_size, bool) or not isinstance(box_size, (int, float, np.number))
                                 or not math.isfinite(float(box_size)) or float(box_size) <= 0):
        raise CosmobenchError(f"box size {box_size!r} must be a positive number of Mpc/h (Quijote boxes are 1000)")
    box = QUIJOTE_BOX if box_size is None else float(box_size)

    pairs = [(p, companions.get(p.parent.resolve())) for p in mains]

    def boxes():
        for p, comp in pairs:
            tiles, info = _cube_tiles(p, box, track)
            box_tiles, sources = {"0": tiles}, {"0": {"path": str(p.resolve()), **info}}
            if comp is not None:
                box_tiles["127"], info127 = _cube_tiles(comp, box, track)
                sources["127"] = {"path": str(comp.resolve()), **info127}
            yield box_tiles, {"source_files": sources}

    return ImportPlan({"box_size": box, "planes": 2, "axis": 2, "regrid": "block average"}, boxes(),
                      [f for pair in pairs for f in pair if f is not None])


def _plan_quijote2d(paths: list[Path], track: Track, **_) -> ImportPlan:
    def boxes():
        for p in paths:
            tiles, info = _maps2d_tiles(p, track)
            yield {"0": tiles}, {"source_files": {"0": {"path": str(p.resolve()), **info}}}

    return ImportPlan({}, boxes(), list(paths))


def _plan_camels(paths: list[Path], track: Track, *, maps_per_sim: int = CAMELS_MAPS_PER_SIM, **_) -> ImportPlan:
    per_sim = int(maps_per_sim)

    def boxes():
        for p in paths:  # one box per simulation, numbered across the files
            for sim, tiles in _camels_chunks(p, track, per_sim):
                yield {"0": tiles}, {"source_file": str(p.resolve()), "simulation": sim}

    notes = ("δ of each map uses that map's own mean (δ = map / mean(map) − 1); "
             f"box i = simulation i (maps {per_sim}·i … {per_sim}·i+{per_sim - 1}, "
             "params row i) counted across the files in the order given")
    return ImportPlan({"maps_per_sim": per_sim, "delta": "per-map mean: delta = map / mean(map) - 1"}, boxes(),
                      list(paths), notes)


#: Every kind :func:`import_files` reads; a new data source is a reader and one entry here.
IMPORT_KINDS: dict[str, ImportKind] = {
    "quijote3d": ImportKind(DEFAULT_TRACK, "Quijote (as provided)", (_RE_Q3D, _RE_Z127), _plan_quijote3d,
                            options=("box_size",), shape=lambda s: len(s) == 3 and s[0] == s[1] == s[2]),
    "quijote2d": ImportKind(TRACKS["quijote2d-z0"], "Quijote (as provided)", (_RE_Q2D,), _plan_quijote2d,
                            shape=lambda s: len(s) == 2),
    "camels": ImportKind(TRACKS["camels-mtot-z0"], "CAMELS LH (varies per simulation; see the params file)",
                         (_RE_CAMELS,), _plan_camels, options=("maps_per_sim",)),
}
KINDS = tuple(IMPORT_KINDS)  # the built-in kinds' names (the CLI's --kind choices)


def detect_kind(path: "str | os.PathLike", shape: "tuple[int, ...] | None" = None) -> str:
    """Kind of a file from its name, else from its shape; raise if it cannot be told."""
    path = Path(path)
    for kind, spec in IMPORT_KINDS.items():
        if any(r.match(path.name) for r in spec.names):
            return kind
    for kind, spec in IMPORT_KINDS.items():
        if shape is not None and spec.shape is not None and spec.shape(tuple(shape)):
            return kind
    raise CosmobenchError(
        f"{path}: cannot tell its kind from the name or shape {shape}; pass kind= "
        f"(--kind {'|'.join(IMPORT_KINDS)})"
    )


# --------------------------------------------------------------------------------------------- import

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
    if kind is not None and kind not in IMPORT_KINDS:
        raise CosmobenchError(f"unknown kind {kind!r}; use one of {', '.join(IMPORT_KINDS)}")
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
    spec = IMPORT_KINDS[kind]
    if box_size is not None and "box_size" not in spec.options:
        raise CosmobenchError("box_size applies to quijote3d cubes only")
    plan = spec.plan(paths, spec.track, box_size=box_size, maps_per_sim=maps_per_sim)

    root = _store.sources_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-import-{secrets.token_hex(6)}"
    tmp.mkdir()
    try:
        meta = new_meta(None, kind, spec.track, cosmology=spec.cosmology,
                        settings={"kind": kind, "tile": spec.track.tile, **plan.settings})
        if plan.notes:
            meta["notes"] = plan.notes
        for i, (tiles, fields) in enumerate(plan.boxes):
            meta["boxes"][str(i)] = {**save_box(tmp, i, tiles), **fields}
        meta["files"] = [
            {"path": str(p.resolve()), "name": p.name, "sha256": sha256_file(p), "size": p.stat().st_size, "kind": kind}
            for p in plan.files
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
