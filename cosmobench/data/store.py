"""Reference sources on disk: where they live, what they hold, how they are read and checked.

A source is a directory ``<data home>/sources/<name>/`` holding, per simulation box ``i``,
``box_{i:04d}_z0.npy`` (the z = 0 tiles of the track, float32, memory-mappable) and optionally
``box_{i:04d}_z127.npy`` (the same tiles of the initial conditions), plus ``meta.json`` describing
everything needed to trust and reproduce it (track, cosmology, simulator version and config, seeds,
splits, per-file sha256, content hash, recipe id, σ0 of the initial tiles, dates).

Two identities: the **content hash** (sha256 over the files) guards integrity (``verify``, summary
caches) and differs between two builds of one recipe on two machines (FFTW plans and thread counts
round differently, and the particle mesh amplifies round-off); the **recipe id** (simulator version,
config with its cosmology, track, base seed and box seeds) is what a simulated reference *is*: results
and leaderboard sections key on it. Imported sources have no recipe: their recipe id is their content hash.

Splits are by box, never by tile (tiles of one box are correlated), and depend on the box index
only, so adding boxes later never moves an existing box to another split.

This module is the read side (paths, :class:`Source`, the hashes, the intact check). The write side
is :mod:`cosmobench.data.writer` (locks, temporaries, box and meta entries: the one writer of
sources) with its two producers, :mod:`cosmobench.data.build` (simulated boxes) and
:mod:`cosmobench.data.loaders` (imported files); the names of the first two are re-exported here, so
``cosmobench.data.store`` stays the one import path of the store.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from cosmobench._io import sha256_file
from cosmobench._paths import data_home
from cosmobench.data.track import Track, get_track
from cosmobench.errors import CosmobenchError

__all__ = [
    "ensure_source",
    "DEFAULT_BOXES",
    "data_home",
    "sources_dir",
    "Source",
    "get_source",
    "list_sources",
    "split_of_box",
    "build_simulated",
    "SPLITS",
    "DEFAULT_SEED",
    "SIM_SOURCE_CONFIGS",
    "META_FORMAT",
    "remove_stale_temporaries",
    "recipe_id",
    "simulate_box",
    "box_intact",
]

SPLITS = ("train", "val", "test")
#: Base seed of the built-in sources; box ``i`` uses a seed derived from (base seed, i).
DEFAULT_SEED = 20_241_129
#: Reserved simulated source names and the simulator config each one must use.
SIM_SOURCE_CONFIGS = {"sim": "default", "sim-small": "small"}
META_FORMAT = "cosmobench-source"
META_VERSION = 1


# --------------------------------------------------------------------------------------------- paths

def sources_dir() -> Path:
    """Directory holding one sub-directory per source: ``<data home>/sources``."""
    return data_home() / "sources"


def split_of_box(i: int) -> str:
    """Split of box ``i``: ``i % 10`` in {0, 1} → "test", 2 → "val", otherwise "train".

    The rule depends on the index only, so it is stable when boxes are added later; the first four
    boxes give test 0, 1 / val 2 / train 3.
    """
    i = int(i)
    if i < 0:
        raise CosmobenchError(f"box index must be >= 0, got {i}")
    r = i % 10
    return "test" if r in (0, 1) else "val" if r == 2 else "train"


def box_filename(i: int, z: str = "0") -> str:
    """File name of box ``i`` at redshift ``z`` inside a source directory."""
    return f"box_{int(i):04d}_z{z}.npy"


def _norm_z(z) -> str:
    z = str(z).strip().lower().removeprefix("z=").removeprefix("z")
    if z in ("0", "0.0", "0.00"):
        return "0"
    if z in ("127", "127.0"):
        return "127"
    raise CosmobenchError(f"unknown redshift {z!r}; sources hold z='0' (and z='127' for initial conditions)")



def content_hash(meta: dict) -> str:
    """Content hash of a source: sha256 over its sorted per-box hashes and its generating config.

    Only what determines the maps enters (kind, track, config or import settings, per-box hashes),
    not dates, paths or the code version, so two identical builds share a hash.
    """
    boxes = meta.get("boxes", {})
    payload = {
        "kind": meta.get("kind"),
        "track": meta.get("track"),
        "config": meta.get("simulator", {}).get("config") if meta.get("kind") == "simulated" else meta.get("settings"),
        "boxes": [[int(i), boxes[i]["sha256"]] for i in sorted(boxes, key=int)],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def recipe_id(meta: dict) -> str:
    """Identity of a reference by how it was made: sha256 over what determines its maps up to round-off.

    Simulated sources: kind, simulator version (1 when not recorded), simulator config (cosmology
    included), track name, slicing, base seed and the (index, seed) of every box. Not the files: two
    builds of one recipe with other FFTW plans or thread counts share it (their summaries agree far
    inside the noise floor, ``tests/test_recipe.py``). Imported sources: their content hash.
    """
    if meta.get("kind") != "simulated":
        return str(meta.get("content_hash") or content_hash(meta))
    sim = meta.get("simulator", {})
    boxes = meta.get("boxes", {})
    payload = {
        "kind": "simulated",
        "simulator_version": int(sim.get("version", 1)),
        "config": sim.get("config"),
        "track": (meta.get("track") or {}).get("name"),
        "slicing": meta.get("slicing"),
        "base_seed": meta.get("base_seed"),
        "boxes": [[int(i), int(boxes[i]["seed"])] for i in sorted(boxes, key=int)],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def box_hash(files: dict) -> str:
    """Hash of one box: sha256 over the sha256 of its files, in redshift order."""
    text = ";".join(f"z{z}:{files[z]['sha256']}" for z in sorted(files, key=float))
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------------------- Source

class Source:
    """A reference source on disk (read-only view of ``<data home>/sources/<name>``).

    Attributes
    ----------
    name : str
        Source name (directory name).
    path : pathlib.Path
        Source directory.
    meta : dict
        Parsed ``meta.json``.
    track : Track
        Track whose maps the source holds.
    """

    def __init__(self, path: "str | os.PathLike"):
        self.path = Path(path)
        self.name = self.path.name
        meta_path = self.path / "meta.json"
        try:
            self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CosmobenchError(
                f"source {self.name!r} at {self.path} has no meta.json; delete the directory and "
                "build or import it again (`cosmobench data build` / `cosmobench data import`)"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CosmobenchError(
                f"{meta_path} is not valid JSON ({exc}); delete {self.path} and build or import the source again"
            ) from None
        if self.meta.get("format") != META_FORMAT:
            raise CosmobenchError(f"{meta_path} is not a cosmobench source description; delete {self.path}")
        track = self.meta.get("track", {})
        self.track = _track_from_dict(track)

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}={len(self.boxes(s))}" for s in SPLITS)
        return f"Source({self.name!r}, track={self.track.name!r}, boxes: {counts})"

    # -- description
    @property
    def kind(self) -> str:
        """"simulated", "quijote3d", "quijote2d" or "camels"."""
        return self.meta.get("kind", "unknown")

    @property
    def content_hash(self) -> str:
        """sha256 over the per-box hashes and the generating config (see :func:`content_hash`)."""
        return self.meta["content_hash"]

    @property
    def recipe_id(self) -> str:
        """What the reference is: its recipe for simulated sources, its content hash for imports (see :func:`recipe_id`)."""
        return str(self.meta.get("recipe_id") or recipe_id(self.meta))

    @property
    def sigma0(self) -> "float | None":
        """Standard deviation of the z = 127 tiles (raw δ), or None when the source has no ICs."""
        s = self.meta.get("sigma0")
        return None if s is None else float(s)

    @property
    def n_boxes(self) -> int:
        """Number of boxes present."""
        return len(self.meta.get("boxes", {}))

    def boxes(self, split: "str | None" = None) -> list[int]:
        """Sorted box indices of a split ("train", "val", "test"; None or "all" for every box)."""
        idx = sorted(int(i) for i in self.meta.get("boxes", {}))
        if split in (None, "all"):
            return idx
        _check_split(split)
        return [i for i in idx if self.meta["boxes"][str(i)]["split"] == split]

    def n_maps(self, split: "str | None" = None) -> int:
        """Number of z = 0 maps in a split (from the metadata, no file read)."""
        return sum(int(self.meta["boxes"][str(i)]["n_maps"]) for i in self.boxes(split))

    def has_z(self, z="0") -> bool:
        """Whether every box has maps at redshift ``z``."""
        z = _norm_z(z)
        boxes = self.meta.get("boxes", {})
        return bool(boxes) and all(z in b["files"] for b in boxes.values())

    # -- data
    def box_maps(self, i: int, z="0") -> np.ndarray:
        """Tiles of box ``i`` at redshift ``z`` as a read-only memory map, (n, tile, tile) float32."""
        z = _norm_z(z)
        box = self.meta.get("boxes", {}).get(str(int(i)))
        if box is None:
            raise CosmobenchError(
                f"source {self.name!r} has no box {i} (it has {self.n_boxes}); build more with "
                f"`cosmobench data build --source {self.name} --boxes {int(i) + 1}`"
            )
        if z not in box["files"]:
            raise CosmobenchError(f"source {self.name!r} has no z={z} maps for box {i}")
        path = self.path / box["files"][z]["file"]
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise CosmobenchError(
                f"{path} is missing or damaged ({exc}); rebuild the source (`cosmobench data build "
                f"--source {self.name}` resumes and replaces damaged boxes) or re-import it"
            ) from None
        if arr.ndim != 3 or arr.shape[1:] != self.track.shape or arr.dtype != np.float32:
            raise CosmobenchError(
                f"{path} holds {arr.dtype} {arr.shape}, expected float32 (n, {self.track.tile}, {self.track.tile}); "
                "rebuild or re-import the source"
            )
        return arr

    def maps(self, split: str = "test", z="0") -> np.ndarray:
        """All tiles of the boxes of a split, concatenated in box order.

        Parameters
        ----------
        split : {"test", "val", "train", "all"}
            Which boxes.
        z : {"0", "127"}
            Redshift of the maps.

        Returns
        -------
        numpy.ndarray, shape (n, tile, tile), float32
            An in-memory array (the per-box memory maps are concatenated).

        Raises
        ------
        CosmobenchError
            If the split has no boxes (the message says how to build more).
        """
        idx = self.boxes(split)
        if not idx:
            raise CosmobenchError(
                f"source {self.name!r} has no {split} boxes ({self.n_boxes} boxes in all; box i is test when "
                f"i % 10 in (0, 1), val when 2, train otherwise); "
                + (f"build more with `cosmobench data build --source {self.name} --boxes {DEFAULT_BOXES}`"
                   if self.kind == "simulated" else "import more files")
            )
        return np.concatenate([self.box_maps(i, z) for i in idx], axis=0)

    def verify(self) -> None:
        """Re-hash every file and compare with the metadata.

        Raises
        ------
        CosmobenchError
            Naming the first file that is missing or whose sha256 differs.
        """
        for i in self.boxes():
            bad = _damaged_file(self.path, self.meta["boxes"][str(i)])
            if bad is not None:
                raise CosmobenchError(
                    f"{bad} is missing or does not match its recorded sha256; rebuild or re-import source {self.name!r}"
                )

    def size_on_disk(self) -> int:
        """Bytes used by the source directory."""
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise CosmobenchError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} (or 'all')")


def _track_from_dict(d: dict) -> Track:
    try:
        return Track(**d)
    except TypeError:
        return get_track(d.get("name"))


def _damaged_file(path: Path, box: dict) -> "Path | None":
    """The first file of a box entry that is missing or whose sha256 differs from the entry's, else None."""
    for f in box["files"].values():
        p = Path(path) / f["file"]
        if not p.is_file() or sha256_file(p) != f["sha256"]:
            return p
    return None


def box_intact(path: "str | os.PathLike", meta: dict, i: int) -> bool:
    """Whether box ``i`` is recorded in ``meta`` and every one of its files under ``path`` has its sha256.

    A build keeps the boxes that pass and redoes the others; :meth:`Source.verify` runs the same
    file check on every box and names the first file failing it.
    """
    box = meta.get("boxes", {}).get(str(int(i)))
    return box is not None and _damaged_file(Path(path), box) is None


def get_source(name: str = "sim") -> Source:
    """Open a source by name.

    Raises
    ------
    CosmobenchError
        If it does not exist; the message lists the sources present and says how to make one.
    """
    path = sources_dir() / name
    if not (path / "meta.json").exists():
        have = [s.name for s in list_sources()]
        if name in SIM_SOURCE_CONFIGS:
            how = f"build it with `cosmobench data build --source {name}`"
        else:
            how = "build it with `cosmobench data build` or import files with `cosmobench data import PATH...`"
        raise CosmobenchError(
            f"no reference source {name!r} under {sources_dir()}; {how}"
            + (f" (sources present: {', '.join(have)})" if have else "")
        )
    return Source(path)


def list_sources() -> list[Source]:
    """All sources under the data home, sorted by name (unreadable ones are skipped)."""
    root = sources_dir()
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        # Dot-directories are imports in progress (or left by a killed process): never a source.
        if p.name.startswith(".") or not (p / "meta.json").is_file():
            continue
        try:
            out.append(Source(p))
        except CosmobenchError:
            continue
    return out


# --------------------------------------------------------------------------------------------- write side

def _get_simulator():
    """The simulator module, imported lazily (it pulls in numba, pyFFTW and CAMB).

    Builds look the simulator up here, so that it is swapped in one place (the store tests use a fake).
    """
    from cosmobench.data import simulator

    return simulator


# The write side imports the read side above, so it is imported after it (the package imports this
# module first, so nothing else can start that cycle); its names stay importable from here.
from cosmobench.data.writer import remove_stale_temporaries, source_lock, tile_stats  # noqa: E402
from cosmobench.data.build import DEFAULT_BOXES, box_seed, build_simulated, ensure_source, simulate_box  # noqa: E402
