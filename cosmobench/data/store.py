"""Reference sources on disk: where they live, how they are built, how they are read.

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

Writes are atomic: each box file is written to a temporary file and renamed, and ``meta.json`` is
rewritten after each box, so an interrupted build loses at most the boxes in progress and a rerun
resumes. Boxes may be simulated on dask.distributed workers (``workers=`` / ``scheduler=``, see
:mod:`cosmobench.data.cluster`): a worker only writes temporary files; the building process, which
holds the source lock, renames them into place and records them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from cosmobench._io import atomic_save_npy, atomic_write_json, sha256_file
from cosmobench._paths import data_home
from cosmobench._version import __version__
from cosmobench.data.slicing import cube_to_tiles
from cosmobench.data.track import DEFAULT_TRACK, Track, get_track
from cosmobench.errors import CosmobenchError

__all__ = [
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
]

SPLITS = ("train", "val", "test")
#: Base seed of the built-in sources; box ``i`` uses a seed derived from (base seed, i).
DEFAULT_SEED = 20_241_129
#: Reserved simulated source names and the simulator config each one must use.
SIM_SOURCE_CONFIGS = {"sim": "default", "sim-small": "small"}
META_FORMAT = "cosmobench-source"
_META_VERSION = 1
_ZS = ("0", "127")


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


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _jsonable(obj: Any) -> Any:
    """Plain JSON types for configs (dataclasses nested in dataclasses, numpy scalars, tuples)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


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


def tile_stats(tiles: np.ndarray) -> dict:
    """Count, sum and sum of squares (float64) of an array, for pooled moments across boxes."""
    t = np.asarray(tiles, dtype=np.float64)
    return {"n": int(t.size), "sum": float(t.sum()), "sumsq": float(np.square(t).sum())}


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
                + (f"build more with `cosmobench data build --source {self.name} --boxes 4`"
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
            for z, f in self.meta["boxes"][str(i)]["files"].items():
                path = self.path / f["file"]
                if not path.exists() or sha256_file(path) != f["sha256"]:
                    raise CosmobenchError(
                        f"{path} is missing or does not match its recorded sha256; rebuild or re-import source {self.name!r}"
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


# --------------------------------------------------------------------------------------------- building

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


def _get_simulator():
    """The simulator module, imported lazily (it pulls in numba, pyFFTW and CAMB)."""
    from cosmobench.data import simulator

    return simulator


def box_seed(base_seed: int, i: int) -> int:
    """Seed of box ``i``: derived from (base seed, i) with numpy's SeedSequence, so boxes are independent."""
    ss = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(i),))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def _same_config(recorded: dict, cfg, sim) -> bool:
    """Whether a source's recorded config is ``cfg`` (fields added since it was written take their defaults)."""
    parse = getattr(sim, "config_from_dict", None)
    if parse is None or not isinstance(recorded, dict):
        return recorded == _jsonable(cfg)
    try:
        return parse(recorded) == cfg
    except CosmobenchError:
        return False


def _legacy_names(name: str, sim) -> list[str]:
    """Earlier versions of a named config: ``default-v1`` for ``default``."""
    return sorted(k for k in sim.SIM_CONFIGS if k.startswith(f"{name}-v"))


def _resolve_config(name: str, config, existing: "dict | None", sim) -> tuple[str, Any]:
    want = SIM_SOURCE_CONFIGS.get(name)
    if config is None and existing is not None:
        # Extend a source with the recipe it was built with, current or earlier.
        recorded = existing.get("simulator", {}).get("config")
        for k in ([want] if want else []) + (_legacy_names(want, sim) if want else []) + sorted(sim.SIM_CONFIGS):
            if k in sim.SIM_CONFIGS and _same_config(recorded, sim.SIM_CONFIGS[k], sim):
                if want is not None and k != want:
                    print(f"note: source {name!r} holds the earlier recipe {k!r}; extending it with that recipe "
                          f"(delete {sources_dir() / name} to rebuild it with the current {want!r} recipe)",
                          file=sys.stderr)
                return k, sim.SIM_CONFIGS[k]
        config = existing.get("simulator", {}).get("config_name", "default")
    if config is None:
        config = want or "default"
    if isinstance(config, str):
        try:
            cfg = sim.SIM_CONFIGS[config]
        except KeyError:
            raise CosmobenchError(
                f"unknown simulator config {config!r}; use one of {', '.join(sorted(sim.SIM_CONFIGS))}"
            ) from None
        cfg_name = config
    else:
        cfg = config
        cfg_name = next((k for k, v in sim.SIM_CONFIGS.items() if v == cfg), "custom")
    if want is not None and cfg_name != want and cfg_name not in _legacy_names(want, sim):
        raise CosmobenchError(
            f"source name {name!r} is reserved for the {want!r} simulator config, got {cfg_name!r}; "
            + next((f"use --source {n}" for n, c in SIM_SOURCE_CONFIGS.items() if c == cfg_name),
                   f"use another name, e.g. --source sim-{cfg_name}")
        )
    return cfg_name, cfg


def _track_for_config(cfg) -> Track:
    pixel = float(cfg.box_size) / int(cfg.paint_grid)
    if not math.isclose(pixel, DEFAULT_TRACK.pixel_size, rel_tol=1e-6):
        raise CosmobenchError(
            f"simulator config gives {pixel:.4f} Mpc/h cells; the default track needs "
            f"{DEFAULT_TRACK.pixel_size:.4f} (box_size / paint_grid = 1000/256)"
        )
    return DEFAULT_TRACK


def build_simulated(
    name: str = "sim",
    config=None,
    boxes: int = 4,
    seed: "int | None" = None,
    progress: bool = True,
    *,
    threads: "int | None" = None,
    workers: "int | None" = None,
    scheduler: "str | None" = None,
) -> Source:
    """Build (or complete) a simulated reference source, box by box, resumably.

    Parameters
    ----------
    name : str
        Source name. ``"sim"`` is reserved for the ``"default"`` config (or its earlier versions,
        ``"default-v1"``) and ``"sim-small"`` for ``"small"`` (``"small-v1"``).
    config : str or SimConfig, optional
        Simulator config (a key of ``SIM_CONFIGS`` or a ``SimConfig``); default: the one the existing
        source was built with, else the one the name implies, else ``"default"``.
    boxes : int
        Number of boxes the source should hold (boxes ``0 .. boxes-1``); boxes already present and
        intact are kept, so rerunning after an interrupt resumes. Extra existing boxes are kept.
    seed : int, optional
        Base seed; box ``i`` uses ``box_seed(seed, i)``. Default: the existing source's, else
        :data:`DEFAULT_SEED`.
    progress : bool
        Show a tqdm bar (boxes, with the simulator's current step when boxes run in this process).
    threads : int, optional
        Threads for each box's FFTs and kernels (default: ``$COSMOBENCH_THREADS``, else all CPUs in
        this process; with workers, the CPUs divided among them).
    workers : int, optional
        Simulate boxes as tasks on a dask.distributed ``LocalCluster`` of this many worker processes.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``) to send the boxes to instead. Its
        workers must see this data home at the same path (a shared filesystem).

    Returns
    -------
    Source

    Raises
    ------
    CosmobenchError
        If the name already holds a source built with another config or seed, or the config does
        not give default-track pixels, or a box fails on every worker that tried it.
    """
    if isinstance(boxes, bool) or not isinstance(boxes, (int, np.integer)) or boxes < 1:
        raise CosmobenchError(f"boxes must be a positive integer, got {boxes!r}")
    if not name or "/" in name or name.startswith("."):
        raise CosmobenchError(f"invalid source name {name!r}; use letters, digits and dashes")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise CosmobenchError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None and workers is not None:
        raise CosmobenchError("give either workers (a local cluster) or scheduler (an existing one), not both")
    sim = _get_simulator()
    with source_lock(name):
        return _build_locked(sim, name, config, int(boxes), seed, progress, threads, workers, scheduler)


def _new_meta(sim, name, cfg_name, cfg_json, track, seed) -> dict:
    meta = {
        "format": META_FORMAT,
        "format_version": _META_VERSION,
        "name": name,
        "kind": "simulated",
        "track": track.to_dict(),
        "cosmology": cfg_json.get("cosmology") if isinstance(cfg_json, dict) else None,
        "simulator": {"version": int(getattr(sim, "SIMULATOR_VERSION", 1)), "config_name": cfg_name,
                      "config": cfg_json},
        "base_seed": int(DEFAULT_SEED if seed is None else seed),
        "slicing": {"planes": 2, "tile": track.tile, "axis": 2},
        "code_version": __version__,
        "created": _now(),
        "boxes": {},
        "sigma0": None,
        "notes": "δ = ρ/ρ̄ − 1 (CIC) at z = 0 and z = 127; sigma0 = std of the z = 127 tiles in raw δ units",
    }
    meta["content_hash"] = content_hash(meta)
    meta["recipe_id"] = recipe_id(meta)
    return meta


def _build_locked(sim, name, config, boxes, seed, progress, threads, workers=None, scheduler=None) -> Source:
    path = sources_dir() / name
    meta_path = path / "meta.json"
    if path.is_dir():  # temporaries of a killed writer; safe to drop while we hold the lock
        _remove_temporaries(path)
    existing = Source(path).meta if meta_path.exists() else None
    if existing is not None and existing.get("kind") != "simulated":
        raise CosmobenchError(
            f"source {name!r} holds imported {existing.get('kind')} files, not simulations; pick another --source name"
        )
    cfg_name, cfg = _resolve_config(name, config, existing, sim)
    track = _track_for_config(cfg)
    cfg_json = _jsonable(cfg)

    if existing is not None:
        if not _same_config(existing["simulator"]["config"], cfg, sim):
            legacy = [k for k in sim.SIM_CONFIGS if _same_config(existing["simulator"]["config"], sim.SIM_CONFIGS[k], sim)]
            raise CosmobenchError(
                f"source {name!r} was built with simulator config {(legacy or [existing['simulator'].get('config_name')])[0]!r} "
                f"({existing['simulator']['config']}), not {cfg_name!r} ({cfg_json}); a source never mixes configs: "
                + (f"extend it with --config {legacy[0]}, " if legacy else "")
                + f"use another --source name, or delete {path} to rebuild it"
            )
        if seed is not None and int(seed) != existing["base_seed"]:
            raise CosmobenchError(
                f"source {name!r} was built with base seed {existing['base_seed']}, not {seed}; "
                f"omit --seed to extend it, or use another --source name"
            )
        meta = existing
    else:
        meta = _new_meta(sim, name, cfg_name, cfg_json, track, seed)
    base_seed = int(meta["base_seed"])

    todo = [i for i in range(int(boxes)) if not _box_intact(path, meta, i)]
    for i in todo:  # forget boxes whose files are missing or damaged; they are rebuilt below
        meta["boxes"].pop(str(i), None)
    if not todo:
        return Source(path) if meta_path.exists() else _write_meta(path, meta)
    jobs = [(i, box_seed(base_seed, i)) for i in todo]

    from tqdm.auto import tqdm

    where = f", {workers} workers" if workers else (f", scheduler {scheduler}" if scheduler else "")
    bar = tqdm(total=len(todo), desc=f"building {name!r} ({cfg_name}{where})", unit="box", disable=not progress)

    def commit(entry: dict) -> None:
        meta["boxes"][str(entry["index"])] = _commit_box(path, entry)
        meta["code_version"] = __version__
        _write_meta(path, meta)
        bar.update(1)

    try:
        if workers is None and scheduler is None:
            for i, s in jobs:
                def _step(step, total, label, _i=i):
                    bar.set_postfix_str(f"box {_i} [{step}/{total}] {label}", refresh=True)

                commit(simulate_box(str(path), cfg, i, s, threads=threads, progress=_step if progress else None,
                                    sim=sim))
        else:
            from cosmobench.data.cluster import run_boxes

            run_boxes(str(path), cfg, jobs, commit, workers=workers, scheduler=scheduler, threads=threads)
    finally:
        bar.close()
        _remove_temporaries(path)  # what failed or killed box tasks left; nothing else writes here now
    return Source(path)


def simulate_box(path: str, cfg, i: int, seed: int, *, threads: "int | None" = None, progress=None,
                 sim=None) -> dict:
    """Simulate box ``i`` of a source and write its tiles to temporary files in the source directory.

    Nothing is final until :func:`_commit_box` renames the files (in the process holding the source
    lock), so a box interrupted anywhere leaves only ``.*.tmp`` files, which the next build deletes.
    This is the task a dask worker runs.

    Parameters
    ----------
    path : str
        Source directory (on a filesystem the building process shares).
    cfg : SimConfig
    i : int
        Box index.
    seed : int
        Box seed (``box_seed(base_seed, i)``).
    threads : int, optional
        Simulator threads.
    progress : callable, optional
        Passed to the simulator.
    sim : module, optional
        The simulator (default: :mod:`cosmobench.data.simulator`).

    Returns
    -------
    dict
        The box's meta entry plus ``index`` and the temporary file of each redshift.
    """
    sim = sim or _get_simulator()
    res = sim.simulate(cfg, seed, threads=threads, progress=progress)
    entry = _write_box(Path(path), i, {"0": res.delta, "127": res.delta_init}, name=f"box {i}")
    entry.update(index=int(i), seed=int(seed), wall_time=float(getattr(res, "wall_time", float("nan"))))
    return entry


def _write_box(path: Path, i: int, cubes: dict, *, name: str) -> dict:
    """Tile each cube, save it to a temporary file, return the box's entry (hashes, split, z127 stats)."""
    files = {}
    entry: dict = {"split": split_of_box(i)}
    path.mkdir(parents=True, exist_ok=True)
    for z, cube in cubes.items():
        tiles = cube_to_tiles(cube, planes=2, tile=DEFAULT_TRACK.tile, axis=2, name=name)
        if not np.isfinite(tiles).all():
            raise CosmobenchError(f"{name}: the simulator returned non-finite δ at z={z}; this is a bug, please report it")
        fname = box_filename(i, z)
        tmp = path / f".{fname}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(tiles, dtype=np.float32), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        files[z] = {"file": fname, "sha256": sha256_file(tmp), "tmp": tmp.name}
        if z == "0":
            entry["n_maps"] = int(tiles.shape[0])
        if z == "127":
            entry["z127_stats"] = tile_stats(tiles)
    entry["files"] = files
    entry["sha256"] = box_hash(files)
    return entry


def _commit_box(path: Path, entry: dict) -> dict:
    """Rename a box's temporary files into place; return its meta entry (without the temporary names)."""
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


def _save_tiles(path: Path, i: int, z: str, tiles: np.ndarray) -> dict:
    fname = box_filename(i, z)
    atomic_save_npy(path / fname, np.ascontiguousarray(tiles, dtype=np.float32))
    return {"file": fname, "sha256": sha256_file(path / fname)}


def _box_intact(path: Path, meta: dict, i: int) -> bool:
    box = meta.get("boxes", {}).get(str(i))
    if box is None:
        return False
    for f in box["files"].values():
        p = path / f["file"]
        if not p.is_file() or sha256_file(p) != f["sha256"]:
            return False
    return True


def _write_meta(path: Path, meta: dict) -> Source:
    meta["sigma0"] = _sigma0_from_stats(meta)
    meta["content_hash"] = content_hash(meta)
    meta["recipe_id"] = recipe_id(meta)
    meta["updated"] = _now()
    atomic_write_json(path / "meta.json", meta)
    return Source(path)


def _remove_temporaries(path: Path) -> None:
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


# ------------------------------------------------------------------------------------ opening a source

#: Boxes a missing simulated source is built with: test 0, 1 / val 2 / train 3 (:func:`split_of_box`).
#: The one place this number is written; everything that builds a default source reads it from here.
DEFAULT_BOXES = 4
__all__ += ["ensure_source", "DEFAULT_BOXES"]


def ensure_source(
    source: "str | Source",
    *,
    progress: bool = True,
    splits: "tuple[str, ...]" = ("test", "train"),
    boxes: "int | None" = None,
    build: bool = True,
) -> Source:
    """Open a source, simulating what a simulated one lacks (the built-in default on a fresh machine).

    The one way every caller (``evaluate``, :func:`cosmobench.data.load_reference`, the baselines)
    makes sure a reference exists. A simulated source (``"sim"``, ``"sim-small"``, or any source of
    kind ``"simulated"``) that is missing, has no box of one of ``splits``, or lacks one of boxes
    ``0 .. boxes-1``, is built or extended (resumably, under the source lock) to ``boxes`` boxes, or to
    ``max(DEFAULT_BOXES, boxes present)``. Any other source is returned as it is: whether it holds
    enough of a split is for the caller to say.

    Parameters
    ----------
    source : str or Source
        A source name, or an open :class:`Source` (returned as it is).
    progress : bool
        Say on stderr that a source is being built, and show the build's progress bar.
    splits : tuple of str
        Splits a simulated source must have boxes of (default: the test and train splits an
        evaluation uses).
    boxes : int, optional
        Boxes ``0 .. boxes-1`` must be present (built when missing).
    build : bool
        False: never simulate; a missing source raises, an incomplete one is returned as it is.

    Returns
    -------
    Source

    Raises
    ------
    CosmobenchError
        If the source is missing and cannot (or may not) be built: the standard "no such source"
        message, which says how to build or import one.
    """
    if isinstance(source, Source):
        return source
    if not isinstance(source, str) or not source:
        raise CosmobenchError(f"source must be a source name such as 'sim', got {source!r}")
    if boxes is not None and (isinstance(boxes, bool) or not isinstance(boxes, (int, np.integer)) or boxes < 1):
        raise CosmobenchError(f"boxes must be a positive integer, got {boxes!r}")
    for split in splits:
        _check_split(split)
    src = get_source(source) if (sources_dir() / source / "meta.json").exists() else None
    simulated = source in SIM_SOURCE_CONFIGS or (src is not None and src.kind == "simulated")
    missing = src is None or not src.n_boxes or any(not src.boxes(s) for s in splits) or (
        boxes is not None and not set(range(int(boxes))) <= set(src.boxes())
    )
    if not missing:
        return src
    if not (build and simulated):
        return src if src is not None else get_source(source)  # get_source raises "no such source"
    want = int(boxes) if boxes is not None else max(DEFAULT_BOXES, src.n_boxes if src is not None else 0)
    if progress:
        print(f"building reference source {source!r} ({want} simulated boxes, once)...", file=sys.stderr)
    return build_simulated(name=source, boxes=want, progress=progress)
