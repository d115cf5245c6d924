"""The one writer of sources: locks, temporary files, box entries and ``meta.json``.

Both producers of sources write through these functions, so a simulated box and an imported one are
recorded alike: :mod:`cosmobench.data.build` (simulated boxes, possibly on dask workers) and
:mod:`cosmobench.data.loaders` (Quijote and CAMELS files). What they write is read by
:mod:`cosmobench.data.store`.

Writes are atomic. A box's tiles go to temporary files ``.<final name>.<hex>.tmp`` next to their final
names (:func:`write_box`); :func:`commit_box` checks their hashes and renames them into place, in the
process that holds the source lock (a dask worker only ever writes temporaries). ``meta.json`` is
rewritten after each box (:func:`write_meta`), so an interrupted build loses at most the boxes in
progress and a rerun resumes. Imports write a whole source into a hidden ``.tmp-import-*`` directory
and rename it into place when complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np

from cosmobench._io import atomic_write_json, sha256_file
from cosmobench._version import __version__
from cosmobench.data.store import (
    META_FORMAT,
    META_VERSION,
    Source,
    box_filename,
    box_hash,
    content_hash,
    recipe_id,
    sources_dir,
    split_of_box,
)
from cosmobench.data.track import Track
from cosmobench.errors import CosmobenchError

__all__ = [
    "source_lock",
    "new_meta",
    "write_box",
    "commit_box",
    "save_box",
    "write_meta",
    "tile_stats",
    "remove_temporaries",
    "remove_stale_temporaries",
]


@contextlib.contextmanager
def source_lock(name: str):
    """Hold an exclusive lock on source ``name`` while writing it (waits for another writer).

    Two processes completing the same source (e.g. parallel evaluations calling
    :func:`cosmobench.data.load_reference`) would otherwise simulate the same boxes twice and race on
    ``meta.json``. ``flock`` is released by the OS if the holder dies, so a crash never leaves a
    stale lock. On platforms without ``fcntl`` nothing is locked.
    """
    root = sources_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(root / f".{name}.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process writing source {name!r}...", file=sys.stderr)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def new_meta(name: "str | None", kind: str, track: Track, *, cosmology, **description) -> dict:
    """The ``meta.json`` of a source without boxes yet.

    Parameters
    ----------
    name : str or None
        Source name (an import names itself once its content hash is known).
    kind : str
        ``"simulated"``, or the import kind (``"quijote3d"``, ``"quijote2d"``, ``"camels"``).
    track : Track
        Track of the tiles.
    cosmology : dict or str or None
        The cosmology (a simulated source's parameters; an import's description of it).
    **description
        What produced the maps, recorded after the cosmology: ``simulator``, ``base_seed`` and
        ``slicing`` of a simulated source, ``settings`` of an import (both enter the content hash).

    Returns
    -------
    dict
        With ``format``, ``format_version``, ``code_version``, ``created``, empty ``boxes`` and
        ``sigma0`` None; :func:`write_meta` fills the hashes.
    """
    return {
        "format": META_FORMAT,
        "format_version": META_VERSION,
        "name": name,
        "kind": kind,
        "track": track.to_dict(),
        "cosmology": cosmology,
        **description,
        "code_version": __version__,
        "created": _now(),
        "boxes": {},
        "sigma0": None,
    }


def tile_stats(tiles: np.ndarray) -> dict:
    """Count, sum and sum of squares (float64) of an array, for pooled moments across boxes."""
    t = np.asarray(tiles, dtype=np.float64)
    return {"n": int(t.size), "sum": float(t.sum()), "sumsq": float(np.square(t).sum())}


def _sigma0_from_stats(meta: dict) -> "float | None":
    """Pooled std of the z=127 tiles over all boxes, from per-box sums (no file re-read)."""
    n = s = ss = 0.0
    for box in meta.get("boxes", {}).values():
        st = box.get("z127_stats")
        if not st:
            continue
        n += st["n"]
        s += st["sum"]
        ss += st["sumsq"]
    if n == 0:
        return None
    mean = s / n
    return float(math.sqrt(max(ss / n - mean * mean, 0.0)))


def write_box(path: Path, i: int, tiles: dict) -> dict:
    """Save the tiles of box ``i`` to temporary files in ``path``; return the box's meta entry.

    Parameters
    ----------
    path : pathlib.Path
        Source directory (created if missing).
    i : int
        Box index (it fixes the split and the file names).
    tiles : dict of str to numpy.ndarray
        Tiles (n, tile, tile) per redshift, ``"0"`` (required) and ``"127"`` (initial conditions).

    Returns
    -------
    dict
        ``split``, ``n_maps``, ``z127_stats`` (with z = 127 tiles), ``files`` (per redshift: final
        ``file``, ``sha256`` and the ``tmp`` name) and the box ``sha256``. Nothing is final until
        :func:`commit_box`.
    """
    files = {}
    entry: dict = {"split": split_of_box(i)}
    path.mkdir(parents=True, exist_ok=True)
    for z, t in tiles.items():
        fname = box_filename(i, z)
        tmp = path / f".{fname}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(t, dtype=np.float32), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        files[z] = {"file": fname, "sha256": sha256_file(tmp), "tmp": tmp.name}
        if z == "0":
            entry["n_maps"] = int(t.shape[0])
        if z == "127":
            entry["z127_stats"] = tile_stats(t)
    entry["files"] = files
    entry["sha256"] = box_hash(files)
    return entry


def commit_box(path: Path, entry: dict) -> dict:
    """Rename a box's temporary files into place; return its meta entry (without ``tmp`` names or ``index``).

    Raises
    ------
    CosmobenchError
        If a temporary file is gone or no longer has the hash :func:`write_box` recorded.
    """
    entry = dict(entry)
    entry.pop("index", None)
    files = {}
    for z, f in entry["files"].items():
        f = dict(f)
        tmp = path / f.pop("tmp")
        if not tmp.is_file() or sha256_file(tmp) != f["sha256"]:
            raise CosmobenchError(f"{tmp} is missing or changed before it was committed; run the build again")
        os.replace(tmp, path / f["file"])
        files[z] = f
    entry["files"] = files
    return entry


def save_box(path: Path, i: int, tiles: dict) -> dict:
    """:func:`write_box` and :func:`commit_box` in one step, for a writer that holds the directory."""
    return commit_box(path, write_box(path, i, tiles))


def write_meta(path: Path, meta: dict) -> Source:
    """Fill the derived fields of ``meta`` and write it as ``path/meta.json`` atomically.

    The derived fields are ``sigma0`` (pooled from the boxes' ``z127_stats``), ``content_hash``,
    ``recipe_id`` and ``updated``.

    Returns
    -------
    Source
        The source at ``path`` as now on disk.
    """
    meta["sigma0"] = _sigma0_from_stats(meta)
    meta["content_hash"] = content_hash(meta)
    meta["recipe_id"] = recipe_id(meta)
    meta["updated"] = _now()
    atomic_write_json(path / "meta.json", meta)
    return Source(path)


def remove_temporaries(path: Path) -> None:
    """Delete the ``.*.tmp`` files in one source directory (only while holding its lock: they may be in use)."""
    for f in path.glob(".*.tmp"):
        f.unlink(missing_ok=True)


def remove_stale_temporaries(root: "Path | None" = None) -> list[Path]:
    """Delete leftovers of killed writers: ``.*.tmp`` files in sources and ``.tmp-*`` import directories.

    Returns the paths removed. Safe to call when nothing else is writing to the data home.
    """
    root = sources_dir() if root is None else Path(root)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for p in root.iterdir():
        if p.is_dir() and p.name.startswith(".tmp-"):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
        elif p.is_dir():
            for f in p.glob(".*.tmp"):
                f.unlink(missing_ok=True)
                removed.append(f)
    return removed
