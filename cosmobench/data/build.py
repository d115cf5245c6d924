"""Building simulated sources: config and seed resolution, the box task, the resumable build.

:func:`build_simulated` completes a source box by box under its lock, keeping the boxes that are
intact (:func:`cosmobench.data.store.box_intact`) and simulating the others, here or as
:func:`simulate_box` tasks on dask.distributed workers (``workers=`` / ``scheduler=``, see
:mod:`cosmobench.data.cluster`): a worker only writes temporary files; the building process renames
them into place and records them (:mod:`cosmobench.data.writer`, the writer imports share).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from cosmobench._version import __version__
from cosmobench.data import store as _store
from cosmobench.data.slicing import cube_to_tiles
from cosmobench.data.store import DEFAULT_SEED, SIM_SOURCE_CONFIGS, Source, _check_split, box_intact, get_source, sources_dir
from cosmobench.data.track import DEFAULT_TRACK, Track
from cosmobench.data.writer import commit_box, new_meta, remove_temporaries, source_lock, write_box, write_meta
from cosmobench.errors import CosmobenchError

__all__ = ["build_simulated", "simulate_box", "box_seed", "ensure_source", "DEFAULT_BOXES"]

#: Boxes a missing simulated source is built with: test 0, 1 / val 2 / train 3 (:func:`split_of_box`).
#: The one place this number is written; everything that builds a default source reads it from here.
DEFAULT_BOXES = 4


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
    boxes: "int | None" = None,
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
    boxes : int, optional
        Number of boxes the source should hold (default :data:`~cosmobench.data.store.DEFAULT_BOXES`,
        test 0, 1 / val 2 / train 3), boxes ``0 .. boxes-1``; boxes already present and
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
    if boxes is None:
        boxes = DEFAULT_BOXES
    if isinstance(boxes, bool) or not isinstance(boxes, (int, np.integer)) or boxes < 1:
        raise CosmobenchError(f"boxes must be a positive integer, got {boxes!r}")
    if not name or "/" in name or name.startswith("."):
        raise CosmobenchError(f"invalid source name {name!r}; use letters, digits and dashes")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise CosmobenchError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None and workers is not None:
        raise CosmobenchError("give either workers (a local cluster) or scheduler (an existing one), not both")
    sim = _store._get_simulator()
    with source_lock(name):
        return _build_locked(sim, name, config, int(boxes), seed, progress, threads, workers, scheduler)


def _new_meta(sim, name, cfg_name, cfg_json, track, seed) -> dict:
    meta = new_meta(
        name, "simulated", track,
        cosmology=cfg_json.get("cosmology") if isinstance(cfg_json, dict) else None,
        simulator={"version": int(getattr(sim, "SIMULATOR_VERSION", 1)), "config_name": cfg_name, "config": cfg_json},
        base_seed=int(DEFAULT_SEED if seed is None else seed),
        slicing={"planes": 2, "tile": track.tile, "axis": 2},
    )
    meta["notes"] = "δ = ρ/ρ̄ − 1 (CIC) at z = 0 and z = 127; sigma0 = std of the z = 127 tiles in raw δ units"
    return meta


def _build_locked(sim, name, config, boxes, seed, progress, threads, workers=None, scheduler=None) -> Source:
    path = sources_dir() / name
    meta_path = path / "meta.json"
    if path.is_dir():  # temporaries of a killed writer; safe to drop while we hold the lock
        remove_temporaries(path)
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

    todo = [i for i in range(int(boxes)) if not box_intact(path, meta, i)]
    for i in todo:  # forget boxes whose files are missing or damaged; they are rebuilt below
        meta["boxes"].pop(str(i), None)
    if not todo:
        return Source(path) if meta_path.exists() else write_meta(path, meta)
    jobs = [(i, box_seed(base_seed, i)) for i in todo]

    from tqdm.auto import tqdm

    where = f", {workers} workers" if workers else (f", scheduler {scheduler}" if scheduler else "")
    bar = tqdm(total=len(todo), desc=f"building {name!r} ({cfg_name}{where})", unit="box", disable=not progress)

    def commit(entry: dict) -> None:
        meta["boxes"][str(entry["index"])] = commit_box(path, entry)
        meta["code_version"] = __version__
        write_meta(path, meta)
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
        remove_temporaries(path)  # what failed or killed box tasks left; nothing else writes here now
    return Source(path)


def simulate_box(path: str, cfg, i: int, seed: int, *, threads: "int | None" = None, progress=None,
                 sim=None) -> dict:
    """Simulate box ``i`` of a source and write its tiles to temporary files in the source directory.

    Nothing is final until :func:`~cosmobench.data.writer.commit_box` renames the files (in the process holding the source
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
    sim = sim or _store._get_simulator()
    res = sim.simulate(cfg, seed, threads=threads, progress=progress)
    tiles = {}
    for z, cube in (("0", res.delta), ("127", res.delta_init)):
        tiles[z] = cube_to_tiles(cube, planes=2, tile=DEFAULT_TRACK.tile, axis=2, name=f"box {i}")
        if not np.isfinite(tiles[z]).all():
            raise CosmobenchError(f"box {i}: the simulator returned non-finite δ at z={z}; this is a bug, please report it")
    entry = write_box(Path(path), i, tiles)
    entry.update(index=int(i), seed=int(seed), wall_time=float(getattr(res, "wall_time", float("nan"))))
    return entry


# ------------------------------------------------------------------------------------ opening a source



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
    # looked up through the store, its public home (and where tests swap it)
    return _store.build_simulated(name=source, boxes=want, progress=progress)
