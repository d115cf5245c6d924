"""``evaluate``: spec -> generator -> samples -> summaries -> comparison -> :class:`~cosmobench.results.Result`.

The pipeline, and why it is shaped this way:

- **Sampling in fixed seed chunks.** The generator is asked for chunks of :data:`SEED_CHUNK` maps,
  chunk ``i`` with the seed ``SeedSequence([seed, i])``. ``batch_size`` only regroups the validated
  maps for the statistics, so the maps drawn, and every number in the result, do not depend on it.
  Sample files are read in order instead (their maps are what they are).
- **Summaries only.** Each batch is validated, summarised by every statistic and dropped; only the
  ``(n, d)`` summaries and 8 maps for the report are kept, so n = 100,000 fits in memory.
- **Reference summaries cached.** The test split is cut into a *compare* group and a held-out
  *floor* group (alternate test boxes, or the two halves of a single test box), summarised once and
  cached under ``<data home>/cache/summaries/`` keyed by the source's content hash, the statistic's
  key and the cosmobench version. Before anything is (re)built the tile files read are re-hashed
  against the hashes the content hash is made of, so the key always describes the maps summarised;
  every cache file carries a checksum of its arrays, so a damaged or hand-edited one is reported
  (a warning), deleted and rebuilt.
- **Budget first.** Summary width and per-map time are measured on a few reference maps before
  sampling: an ``n`` whose summaries cannot fit in memory is refused with the estimate, one whose
  statistics take hours is warned about.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from cosmobench._io import atomic_path, sha256_file
from cosmobench._version import __version__
from cosmobench.data.track import Track, get_track
from cosmobench.compare.null import (
    NULL_DRAWS,
    NULL_SEED,
    NullDistribution,
    null_distribution,
    null_note,
    null_set_size,
    rows_seen,
)
from cosmobench.compare.validity import ValidityTally
from cosmobench.errors import CosmobenchError
from cosmobench.registry import ResolvedModel, SampleFileGenerator, plugin_error, resolve
from cosmobench.results import Result
from cosmobench.stats._validate import check_maps
from cosmobench.stats.batch import summarize_batch
from cosmobench.stats.base import Statistic

__all__ = ["evaluate", "Result", "reference_summaries", "chunk_seed", "SEED_CHUNK", "N_KEEP_MAPS"]

#: Maps per ``sample`` call; chunk ``i`` is drawn with seed ``chunk_seed(seed, i)``. Fixed so that
#: results do not depend on ``batch_size``; changing it changes every score of a stochastic model.
SEED_CHUNK = 256
#: Model and reference maps kept for the report's map grid.
N_KEEP_MAPS = 8
#: Boxes built when a simulated source is missing: test 0, 1 / val 2 / train 3.
DEFAULT_BOXES = 4
# Bump when the cached arrays' layout or the compare/pool split rule changes.
# 2: every cache file carries a checksum of its arrays and key. 3: compare group and null pool.
_CACHE_LAYOUT = 3
_CHECKSUM = "_checksum"
# Bump when how null sets are drawn or scored changes.
_NULL_LAYOUT = 2


# ------------------------------------------------------------------------------------------ helpers


class _Clock:
    """Accumulate wall time per phase."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.phases: dict[str, float] = {"sampling": 0.0, "statistics": 0.0, "reference": 0.0, "comparison": 0.0}

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.phases[phase] = self.phases.get(phase, 0.0) + time.perf_counter() - t

    def summary(self) -> dict[str, float]:
        return {"total": time.perf_counter() - self.t0, **self.phases}


def chunk_seed(seed: int, i: int) -> int:
    """Seed of chunk ``i`` of a draw with seed ``seed`` (independent streams, 32-bit, deterministic)."""
    return int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1, dtype=np.uint32)[0])


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="map", disable=not enabled, file=sys.stderr, leave=False)


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise CosmobenchError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------------ source


def _open_source(source: Any, progress: bool):
    """The reference source, simulating the built-in ones (4 boxes) when missing or without test/train boxes."""
    from cosmobench.data.store import SIM_SOURCE_CONFIGS, Source, build_simulated, get_source

    if isinstance(source, Source):
        return source
    if not isinstance(source, str):
        raise CosmobenchError(f"source must be a source name such as 'sim', got {source!r}")
    try:
        src = get_source(source)
    except CosmobenchError:
        if source not in SIM_SOURCE_CONFIGS:
            raise
        src = None
    if source in SIM_SOURCE_CONFIGS and (src is None or not src.boxes("test") or not src.boxes("train")):
        if progress:
            print(f"building reference source {source!r} ({DEFAULT_BOXES} simulated boxes, once)...", file=sys.stderr)
        src = build_simulated(name=source, boxes=max(DEFAULT_BOXES, src.n_boxes if src else 0), progress=progress)
    return src


def _source_track_hint(source: Any) -> Track:
    """Track of a source without building it (default track for a not-yet-built simulated source)."""
    from cosmobench.data.store import Source, get_source

    if isinstance(source, Source):
        return source.track
    try:
        return get_source(source).track
    except CosmobenchError:
        return get_track(None)


# ------------------------------------------------------------------------------------------ splits


@dataclass(frozen=True)
class _Group:
    """Maps of a reference group: ``(box, start, stop)`` pieces."""

    pieces: tuple[tuple[int, int, int], ...]

    @property
    def n(self) -> int:
        return sum(stop - start for _, start, stop in self.pieces)

    def load(self, src) -> np.ndarray:
        return np.concatenate([np.asarray(src.box_maps(b)[start:stop]) for b, start, stop in self.pieces], axis=0)


def _split_plan(src) -> tuple[_Group, _Group, str]:
    """Compare group and null pool: the compare set is every other test box; the pool is the other test
    boxes and the training boxes (never the validation boxes, which the holdout baseline draws from, so
    that its row is an out-of-pool check). A lone test box is cut in two contiguous halves instead."""
    test = src.boxes("test")
    if not test:
        raise CosmobenchError(
            f"source {src.name!r} has no test boxes to compare with; build or import more boxes "
            "(`cosmobench data build --boxes 4`)"
        )
    sizes = {b: int(src.meta["boxes"][str(b)]["n_maps"]) for b in src.boxes()}
    train = [(b, 0, sizes[b]) for b in src.boxes("train")]
    if len(test) >= 2:
        # Whole boxes, never tiles of one box on both sides: tiles of a box are correlated.
        compare = _Group(tuple((b, 0, sizes[b]) for b in test[0::2]))
        pool = _Group(tuple((b, 0, sizes[b]) for b in test[1::2]) + tuple(train))
        return compare, pool, "box"
    b, m = test[0], sizes[test[0]]
    if m < 4:
        raise CosmobenchError(f"source {src.name!r} has one test box with {m} maps; at least 4 are needed")
    # Contiguous halves (slabs far apart along the box) are less correlated than interleaved tiles.
    return _Group(((b, 0, m // 2),)), _Group(((b, m // 2, m),) + tuple(train)), "tile"


def _rows_of(group: _Group, boxes: "set[int]") -> np.ndarray:
    """Row indices of ``group`` that come from ``boxes``."""
    out, at = [], 0
    for b, start, stop in group.pieces:
        if b in boxes:
            out.append(np.arange(at, at + stop - start))
        at += stop - start
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


# ------------------------------------------------------------------------------------------ summaries


def _summarize(stats: Sequence[Statistic], maps: np.ndarray, validated: bool = False) -> list[np.ndarray]:
    out = []
    constant = None
    for stat, s in zip(stats, summarize_batch(stats, maps, validated=validated)):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 2 or s.shape[0] != maps.shape[0]:
            raise CosmobenchError(
                f"statistic {stat.name!r} returned summaries of shape {s.shape} for {maps.shape[0]} maps; "
                "a statistic must return (n, d)"
            )
        bad = ~np.isfinite(s)
        if bad.any():
            # A constant map leaves ratios such as skewness or Q at 0/0; the validity rule sets them to 0.
            # Non-finite summaries of a map with fluctuations stay an error (check_rows downstream).
            if constant is None:
                flat = maps.reshape(maps.shape[0], -1)
                constant = flat.max(axis=1) == flat.min(axis=1)
            s = np.where(bad & constant[:, None], 0.0, s)
        out.append(s)
    return out


def _summarize_all(stats: Sequence[Statistic], maps: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Summaries of many maps, ``batch_size`` at a time (bounded memory inside the statistics)."""
    parts = [_summarize(stats, maps[i : i + batch_size]) for i in range(0, maps.shape[0], batch_size)]
    return [np.concatenate([p[k] for p in parts], axis=0) for k in range(len(stats))]


def _cache_dir() -> Path:
    from cosmobench.data.store import data_home

    return data_home() / "cache" / "summaries"


@functools.lru_cache(maxsize=None)
def _code_fingerprint(cls: type) -> str:
    """sha256 of the file defining a statistic class.

    Why: ``Statistic.version`` is bumped by hand, and a forgotten bump would silently serve stale
    reference summaries; keying on the code as well makes that impossible (at the price of a
    rebuild after any edit of the file).
    """
    try:
        return sha256_file(inspect.getsourcefile(cls) or "")[:16]
    except (TypeError, OSError):
        return ""


def _cache_key(src, stat: Statistic, role: str, groups: dict[str, _Group]) -> str:
    blob = json.dumps(
        {
            "source": src.content_hash,
            "statistic": stat.key(),
            "code": _code_fingerprint(type(stat)),
            "cosmobench": __version__,
            "layout": _CACHE_LAYOUT,
            "role": role,
            "groups": {k: g.pieces for k, g in groups.items()},
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _checksum(key: str, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """sha256 over the cache key and every array's name, dtype, shape and bytes, as a uint8 array."""
    h = hashlib.sha256(key.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8)


def _read_cache(path: Path, groups: dict[str, _Group], ncols: "int | None" = None) -> "dict[str, np.ndarray] | None":
    """Cached arrays when the file is intact and has the expected rows (and columns); a bad file is deleted.

    Intact means its checksum (of the key, which is the file name, and of the arrays) matches: a file
    edited by hand or damaged on disk is reported with a warning and rebuilt, never used.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in groups}
            stored = np.asarray(npz[_CHECKSUM]) if _CHECKSUM in npz.files else None
        intact = stored is not None and np.array_equal(stored, _checksum(path.stem, arrays))
        if not intact:
            warnings.warn(
                f"reference-summary cache {path} does not match its checksum (edited or damaged); "
                "it is deleted and rebuilt from the reference maps",
                stacklevel=3,
            )
        ok = intact and all(
            a.ndim == 2 and a.shape[0] == groups[k].n and a.dtype == np.float64 for k, a in arrays.items()
        )
        widths = {a.shape[1] for a in arrays.values()}
        if ok and len(widths) == 1 and ncols in (None, *widths) and all(np.isfinite(a).all() for a in arrays.values()):
            return arrays
    except Exception:  # truncated zip, missing key, bad header: all mean "rebuild"
        pass
    path.unlink(missing_ok=True)
    return None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:  # a handle: np.savez would append ".npz" to a bare path
            np.savez(fh, **arrays, **{_CHECKSUM: _checksum(path.stem, arrays)})


def _verify_boxes(src, boxes: "Iterable[int]") -> None:
    """Re-hash the tile files about to be summarised against the source's recorded sha256.

    Why: reference summaries are cached under the source's content hash, which is computed from the
    *recorded* hashes; summarising tiles damaged since would cache wrong numbers under the right key
    (and blame the model for them). Hashing costs far less than summarising the same maps.
    """
    for b in sorted(set(boxes)):
        entry = src.meta["boxes"][str(b)]["files"]["0"]
        path = src.path / entry["file"]
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            raise CosmobenchError(_corrupt_reference(src, f"{path} does not match the sha256 recorded when it was written"))


def _corrupt_reference(src, why: str) -> str:
    how = (f"`cosmobench data build --source {src.name}` replaces damaged boxes" if src.kind == "simulated"
           else "re-import its files with `cosmobench data import`")
    return (
        f"the reference source {src.name!r} is corrupted, not the model: {why}; run `cosmobench data info --verify` "
        f"and rebuild it ({how})"
    )


def _check_reference_maps(src, maps: np.ndarray) -> None:
    """Reference maps the statistics would refuse (NaN, δ < −1, wrong shape) mean a damaged reference.

    Checked here, with the statistics' own rule, so the message names the reference and what to do
    instead of blaming the model (statistics' configuration errors keep their own messages).
    """
    try:
        check_maps(maps, shape=src.track.shape, name=f"maps of reference source {src.name!r}", dtype=np.float32)
    except CosmobenchError as exc:
        what = str(exc).split(";")[0]  # the finding, without advice meant for a model's maps
        raise CosmobenchError(_corrupt_reference(src, f"its maps are not valid δ maps ({what})")) from None


def reference_summaries(
    src,
    stats: Sequence[Statistic],
    *,
    feature_stat: "Statistic | None" = None,
    batch_size: int = 256,
    progress: bool = False,
    widths: "dict[str, int] | None" = None,
) -> dict:
    """Summaries of the reference's compare group and null pool (and memorisation features), cached on disk.

    Parameters
    ----------
    src : Source
        The reference source.
    stats : sequence of Statistic
        Statistics to summarise the compare group and the null pool with.
    feature_stat : Statistic, optional
        Statistic whose summaries are the memorisation features: training features are its pool rows
        from training boxes, test features its compare rows and pool rows from test boxes.
    batch_size : int
        Maps per ``summarize`` call.
    progress : bool
        Show a progress bar while building.
    widths : dict of str to int, optional
        Summary width per statistic name as the model side produced it; a cached file of another
        width is stale and rebuilt.

    Returns
    -------
    dict
        ``compare``, ``pool`` (alias ``floor``): lists of arrays aligned with ``stats``; ``train``: array
        or None; ``test_features``: array or None; ``floor_split``: "box" | "tile"; ``n_compare``,
        ``n_floor`` (pool rows); ``compare_boxes``, ``pool_boxes``; ``groups``; ``status``: "cached"
        when nothing had to be computed, else "built"; ``maps``: a few compare maps.
    """
    compare, pool, floor_split = _split_plan(src)
    groups = {"compare": compare, "pool": pool}
    train_boxes = set(src.boxes("train")) if feature_stat is not None else set()

    jobs: list[Statistic] = list(stats)
    if feature_stat is not None and all(s is not feature_stat for s in stats):
        jobs.append(feature_stat)

    found: list[dict[str, np.ndarray] | None] = []
    paths = []
    for stat in jobs:
        path = _cache_dir() / f"{_cache_key(src, stat, ','.join(groups), groups)}.npz"
        paths.append(path)
        found.append(_read_cache(path, groups, (widths or {}).get(stat.name)))
    status = "cached" if all(f is not None for f in found) else "built"

    loaded: dict[str, np.ndarray] = {}
    todo = [k for k, f in enumerate(found) if f is None]
    if todo:
        _verify_boxes(src, [b for g in groups.values() for b, _, _ in g.pieces])
        bar = _progress(len(todo) * sum(g.n for g in groups.values()), "reference summaries", progress)
        for k in todo:
            arrays = {}
            for role, group in groups.items():
                if role not in loaded:
                    loaded[role] = group.load(src)
                    _check_reference_maps(src, loaded[role])
                arrays[role] = _summarize_all([jobs[k]], loaded[role], batch_size)[0]
                bar.update(group.n)
            _write_cache(paths[k], arrays)
            found[k] = arrays
        bar.close()

    by_stat = {id(jobs[k]): found[k] for k in range(len(jobs))}
    keep = np.linspace(0, compare.n - 1, min(N_KEEP_MAPS, compare.n)).round().astype(int)
    maps = loaded["compare"][keep] if "compare" in loaded else compare.load(src)[keep]
    train = test_features = None
    if feature_stat is not None:
        f = by_stat[id(feature_stat)]
        in_train = _rows_of(pool, train_boxes)
        unseen = np.setdiff1d(np.arange(pool.n), in_train)
        train = f["pool"][in_train] if in_train.size else None
        test_features = np.concatenate([f["compare"], f["pool"][unseen]], axis=0)
    return {
        "compare": [by_stat[id(s)]["compare"] for s in stats],
        "pool": [by_stat[id(s)]["pool"] for s in stats],
        "floor": [by_stat[id(s)]["pool"] for s in stats],
        "train": train,
        "test_features": test_features,
        "floor_split": floor_split,
        "n_compare": compare.n,
        "n_floor": pool.n,
        "compare_boxes": sorted({b for b, _, _ in compare.pieces}),
        "pool_boxes": sorted({b for b, _, _ in pool.pieces}),
        "groups": groups,
        "status": status,
        "maps": np.asarray(maps, dtype=np.float32),
    }


def _null_path(src, stat: Statistic, groups: dict, what: str, size: int, draws: int) -> Path:
    key = _cache_key(src, stat, f"null:{what}:{size}:{draws}:{NULL_SEED}:{_NULL_LAYOUT}", groups)
    return _cache_dir().parent / "nulls" / f"{key}.npz"


def _cached_null(src, stat: Statistic, groups: dict, compare: np.ndarray, pool: np.ndarray, n: int, effects) -> NullDistribution:
    """The measured null of ``stat`` for a model of ``n`` maps: read from the cache or measured and cached.

    It depends on the reference and on the rows a model's value sees, never on the run's seed, so one
    file serves every model and seed at this n (and, for the spread distances, every n ≥ 1,000).
    """
    size = null_set_size(rows_seen(stat.distance, n), pool.shape[0])
    path = _null_path(src, stat, groups, stat.distance, size, NULL_DRAWS)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                null = NullDistribution.from_arrays({k: np.asarray(npz[k]) for k in npz.files})
            if null.values.shape == (NULL_DRAWS,) and null.set_size == size and null.pool == pool.shape[0]:
                null.rows = rows_seen(stat.distance, n)
                null.note = null_note(null.rows, null.pool, null.set_size)
                return null
        except Exception:  # truncated or stale file: measure again
            pass
        path.unlink(missing_ok=True)
    from cosmobench.stats._order import canonical_order

    order = canonical_order(pool)  # the draws index rows: their order must not depend on the cache's
    P = pool[order]
    boxes = np.concatenate([np.full(stop - start, b) for b, start, stop in groups["pool"].pieces])[order]
    null = null_distribution(stat.distance, compare, P, n, effects=effects, strata=boxes,
                             effect_rows=effects.transform(P) if effects is not None else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_cache(path, null.to_arrays())
    return null


def _cached_nn(src, stat: Statistic, groups: dict, test: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Nearest-neighbour distances of the unseen test features to the training features (reference-only, cached)."""
    from cosmobench.stats.diversity import nearest_neighbour_distances

    path = _null_path(src, stat, groups, "nn_test", test.shape[0], train.shape[0])
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                nn = np.asarray(npz["nn"], dtype=np.float64)
            if nn.shape == (test.shape[0],) and np.isfinite(nn).all():
                return nn
        except Exception:
            pass
        path.unlink(missing_ok=True)
    nn = nearest_neighbour_distances(test, train)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_cache(path, {"nn": nn})
    return nn


# ------------------------------------------------------------------------------------------ sampling


def _takes_progress(gen: Any) -> bool:
    """Whether ``gen.sample`` accepts the optional ``progress`` callback (maps' worth of work done)."""
    try:
        return "progress" in inspect.signature(gen.sample).parameters
    except (TypeError, ValueError):
        return False


def _draw_chunks(resolved: ResolvedModel, n: int, seed: int, track: Track, tally: ValidityTally,
                 bar=None) -> Iterator[np.ndarray]:
    """Validated model maps, chunk by chunk (see :data:`SEED_CHUNK`), with the validity rule applied.

    Malformed maps (NaN/Inf, shape, dtype) raise; physically invalid ones are counted in ``tally``
    and clipped at δ = −1 (:mod:`cosmobench.compare.validity`). ``bar`` counts maps drawn; a generator
    whose ``sample`` takes ``progress=`` moves it during the chunk (per sampler step), the rest after it.
    """
    gen = resolved.generator
    # Sample files are read in order (sample(n) would serve the same first maps for every chunk).
    from_file = isinstance(gen, SampleFileGenerator)
    live = bar is not None and not getattr(bar, "disable", False) and not from_file and _takes_progress(gen)
    for i, start in enumerate(range(0, n, SEED_CHUNK)):
        size = min(SEED_CHUNK, n - start)
        before = bar.n if bar is not None else 0
        # fractional reports (b / steps per step) may round past the chunk: never beyond it
        kw = {"progress": lambda k, end=before + size: bar.update(max(0.0, min(k, end - bar.n)))} if live else {}
        if from_file:
            raw, how = gen.take(start, start + size), f"maps {start}..{start + size - 1} of {resolved.spec}"
        else:
            s = chunk_seed(seed, i)
            how = f"sample({size}, seed={s}) of batch {i} (maps {start}..{start + size - 1})"
            try:
                raw = gen.sample(size, seed=s, **kw)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the model's code; KeyboardInterrupt passes
                raise plugin_error(
                    f"model {resolved.name!r}: {how}", exc, "fix the generator (nothing was written)"
                ) from None
        if bar is not None:
            bar.update(before + size - bar.n)  # whole maps, whatever the generator reported
        name = f"model maps from {how}"
        if not hasattr(raw, "shape") or not hasattr(raw, "dtype"):
            try:
                raw = np.asarray(raw)  # torch tensors and lists convert; anything else fails below
            except Exception:
                raise CosmobenchError(f"{name}: got {type(raw).__name__}; sample() must return a numpy array") from None
        if hasattr(raw, "detach"):
            raise CosmobenchError(f"{name}: got a torch tensor; sample() must return a numpy array (tensor.cpu().numpy())")
        if getattr(raw, "ndim", 0) >= 1 and raw.shape[0] != size:
            raise CosmobenchError(f"{name}: got {raw.shape[0]} maps instead of {size}; sample(n) must return n maps")
        maps = check_maps(raw, shape=track.shape, name=name, dtype=np.float32, allow_below_minus_one=True,
                          allow_constant=True)
        yield tally.apply(maps)[0]


def _rebatch(chunks: Iterator[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Regroup a stream of map chunks into batches of ``batch_size`` (the last one shorter)."""
    buf: list[np.ndarray] = []
    have = 0
    for chunk in chunks:
        buf.append(chunk)
        have += chunk.shape[0]
        while have >= batch_size:
            allmaps = np.concatenate(buf, axis=0) if len(buf) > 1 else buf[0]
            yield allmaps[:batch_size]
            rest = allmaps[batch_size:]
            buf, have = ([rest] if rest.shape[0] else []), rest.shape[0]
    if have:
        yield np.concatenate(buf, axis=0)


def _model_summaries(resolved, stats, *, n, seed, track, batch_size, clock, progress):
    """Summaries of n model maps, the first few maps and the validity tally, batch by batch."""
    parts: list[list[np.ndarray]] = [[] for _ in stats]
    kept: list[np.ndarray] = []
    tally = ValidityTally()
    bar = _progress(n, f"sampling and scoring {resolved.name}", progress)
    chunks = _draw_chunks(resolved, n, seed, track, tally, bar)
    try:
        batches = _rebatch(chunks, batch_size)
        while True:
            with clock("sampling"):
                batch = next(batches, None)
            if batch is None:
                break
            if sum(k.shape[0] for k in kept) < N_KEEP_MAPS:
                kept.append(batch[:N_KEEP_MAPS].copy())
            with clock("statistics"):
                for k, s in enumerate(_summarize(stats, batch, validated=True)):
                    parts[k].append(s)
    finally:
        bar.close()
    maps = np.concatenate(kept, axis=0)[:N_KEEP_MAPS]
    return [np.concatenate(p, axis=0) for p in parts], maps, tally


# ------------------------------------------------------------------------------------------ budget

#: Summaries of the model maps are held ~this many times over at the peak (the per-batch parts, their
#: concatenation, and the comparison's standardised copies and bootstrap draws).
_SUMMARY_COPIES = 3
#: float64 copies of a batch of maps the statistics hold at once (FFTs, shells, thresholds).
_BATCH_COPIES = 8
#: Fraction of the available memory an evaluation may plan to use before it is refused.
_MEMORY_FRACTION = 0.8
#: Estimated statistics time above which evaluate warns before starting (seconds).
WARN_SECONDS = 3600.0
_PROBE_MAPS = 16


def _available_memory() -> "int | None":
    """Bytes of memory available to a new allocation (Linux MemAvailable; else physical memory), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _human_bytes(b: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if b < 1024 or unit == "PB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} PB"  # pragma: no cover


def _human_seconds(t: float) -> str:
    if t < 120:
        return f"{t:.0f} s"
    if t < 7200:
        return f"{t / 60:.0f} min"
    if t < 3 * 86400:
        return f"{t / 3600:.1f} h"
    return f"{t / 86400:.0f} days"


def estimate_cost(stats: Sequence[Statistic], probe: np.ndarray, n: int, batch_size: int = 256) -> dict:
    """Memory and statistics time of scoring ``n`` maps, measured on a few reference maps.

    Parameters
    ----------
    stats : sequence of Statistic
        Every statistic the model maps will be summarised with.
    probe : numpy.ndarray
        A few ``(k, H, W)`` maps of the track (reference maps: always valid).
    n : int
        Number of model maps.
    batch_size : int
        Maps per statistics batch: one batch of maps (and the statistics' float64 work arrays on it)
        is in memory at a time.

    Returns
    -------
    dict
        ``width`` (summary floats per map), ``bytes`` (planned peak: the summaries and one batch),
        ``seconds`` (statistics time, from a timed second pass over the probe, so one-time
        compilation and FFT planning are not counted).
    """
    summ = _summarize(stats, probe)  # warm-up: numba compilation, FFTW plans
    t = time.perf_counter()
    _summarize(stats, probe)
    per_map = (time.perf_counter() - t) / probe.shape[0]
    width = sum(int(x.shape[1]) for x in summ)
    batch = float(min(batch_size, n)) * probe[0].size * 8 * _BATCH_COPIES
    return {"width": width, "bytes": float(n) * width * 8 * _SUMMARY_COPIES + batch, "seconds": per_map * n}


def _check_budget(stats: Sequence[Statistic], src, n: int, batch_size: int) -> None:
    """Refuse an ``n`` whose summaries cannot fit in memory; warn when the statistics alone take hours."""
    compare, _, _ = _split_plan(src)
    b, start, stop = compare.pieces[0]
    probe = np.asarray(src.box_maps(b)[start : min(stop, start + _PROBE_MAPS)], dtype=np.float32)
    _check_reference_maps(src, probe)
    cost = estimate_cost(stats, probe, n, batch_size)
    avail = _available_memory()
    if avail is not None and cost["bytes"] > _MEMORY_FRACTION * avail:
        summaries = float(n) * cost["width"] * 8 * _SUMMARY_COPIES
        if summaries <= _MEMORY_FRACTION * avail:  # the batch is what does not fit
            raise CosmobenchError(
                f"batch_size={batch_size} needs about {_human_bytes(cost['bytes'] - summaries)} of memory for one batch "
                f"of maps; this machine has {_human_bytes(avail)} available: pass a smaller --batch-size (default 256)"
            )
        n_max = int(_MEMORY_FRACTION * avail / (cost["width"] * 8 * _SUMMARY_COPIES))
        raise CosmobenchError(
            f"n={n} needs about {_human_bytes(cost['bytes'])} of memory for the summaries ({n} maps × "
            f"{cost['width']} floats × 8 bytes × {_SUMMARY_COPIES}) and the statistics alone would take about "
            f"{_human_seconds(cost['seconds'])}; this machine has {_human_bytes(avail)} available: pass --n {n_max} "
            "or fewer"
        )
    if cost["seconds"] > WARN_SECONDS:
        warnings.warn(
            f"n={n}: the statistics alone will take about {_human_seconds(cost['seconds'])} on this machine "
            f"(measured on {probe.shape[0]} maps; sampling comes on top) and about {_human_bytes(cost['bytes'])} "
            "of memory; press Ctrl-C to stop (nothing is written until the end)",
            stacklevel=3,
        )


# ------------------------------------------------------------------------------------------ statistics


def _statistics(statistics: Any, src) -> list[Statistic]:
    """The statistics to score: the defaults for the source's track, or the caller's (instances or names)."""
    from cosmobench.stats import STATISTICS, default_statistics

    if statistics is None:
        return default_statistics(src.track, sigma0=src.sigma0)
    out: list[Statistic] = []
    for s in statistics:
        if isinstance(s, str):
            if s not in STATISTICS:
                raise CosmobenchError(f"unknown statistic {s!r}; use some of: {', '.join(STATISTICS)}")
            s = STATISTICS[s](src.track, sigma0=src.sigma0) if s == "structures" and src.sigma0 else STATISTICS[s](src.track)
        if not isinstance(s, Statistic):
            raise CosmobenchError(f"statistics must be Statistic instances or names, got {type(s).__name__}")
        if s.track.shape != src.track.shape:
            raise CosmobenchError(f"statistic {s.name!r} is configured for track {s.track.name!r}, the source holds {src.track.name!r}")
        out.append(s)
    names = [s.name for s in out]
    if len(set(names)) != len(names) or not out:
        raise CosmobenchError(f"statistics must be a non-empty list with distinct names, got {names}")
    return out


def _curve(stat: Statistic, model: np.ndarray, ref: np.ndarray) -> dict:
    coords = {k: np.asarray(v).tolist() for k, v in (stat.coords() or {}).items()}
    ddof = lambda a: 1 if a.shape[0] > 1 else 0  # noqa: E731 - one map has no spread
    return {
        "coords": coords,
        "model_mean": model.mean(axis=0).tolist(),
        "model_std": model.std(axis=0, ddof=ddof(model)).tolist(),
        "ref_mean": ref.mean(axis=0).tolist(),
        "ref_std": ref.std(axis=0, ddof=ddof(ref)).tolist(),
    }


# ------------------------------------------------------------------------------------------ evaluate


def evaluate(
    model: Any,
    *,
    n: int = 2048,
    seed: int = 0,
    source: Any = "sim",
    track: "Track | str | None" = None,
    batch_size: int = 256,
    statistics: "Sequence[Statistic | str] | None" = None,
    progress: bool = True,
    train_for_memorisation: bool = True,
    options: "dict | None" = None,
) -> Result:
    """Score a generative model of δ maps against a reference source.

    Parameters
    ----------
    model : str, path-like or Generator
        A checkpoint (``.ckpt``/``.pt``), a sample file (``.npy``/``.npz``/``.h5``), a registered
        name, ``"module:factory"``, or an object with ``sample(n, *, seed)``.
    n : int
        Number of model maps (≥ 2).
    seed : int
        Seed of the draw, of the noise-floor subsets and of the bootstrap; same seed, same numbers.
    source : str or Source
        Reference source; ``"sim"`` / ``"sim-small"`` are simulated on first use.
    track : Track or str, optional
        Expected track; must match the source's (default: the source's).
    batch_size : int
        Maps per statistics batch (memory only: results do not depend on it).
    statistics : sequence of Statistic or str, optional
        Default: :func:`cosmobench.stats.default_statistics` for the source's track and σ0.
    progress : bool
        Show progress bars on stderr.
    train_for_memorisation : bool
        Score memorisation against the source's training boxes when it has some.
    options : dict, optional
        Keyword arguments for the generator factory (e.g. ``{"source": "sim-small"}`` for a baseline
        fitted to a source); a dict rather than ``**kwargs`` so they never clash with ours.

    Returns
    -------
    Result

    Raises
    ------
    CosmobenchError
        Bad spec, unusable source, malformed samples (naming the batch), too few maps in a file...
    """
    from cosmobench.compare import composite_score, memorisation_score, score_statistic
    from cosmobench.stats.diversity import DiversityStatistic

    clock = _Clock()
    n = _check_int(n, "n", 2)
    seed = _check_int(seed, "seed", 0)
    batch_size = _check_int(batch_size, "batch_size", 1)
    want_track = get_track(track) if track is not None else None

    # Resolve first: a bad spec should fail in a second, not after a reference build.
    resolved = resolve(
        model, track=want_track or _source_track_hint(source), reference_source=source, **dict(options or {})
    )
    available = len(resolved.generator) if isinstance(resolved.generator, SampleFileGenerator) else None
    if available is not None and available < 2:
        raise CosmobenchError(
            f"{resolved.spec} holds {available} map{'s' if available != 1 else ''}; scoring needs at least 2: "
            "write more samples into the file"
        )
    if available is not None and available < n:
        raise CosmobenchError(
            f"{resolved.spec} holds {available} maps but n={n} were asked for; pass --n {available} or fewer"
        )
    src = _open_source(source, progress)
    if want_track is not None and want_track.name != src.track.name:
        raise CosmobenchError(
            f"source {src.name!r} holds track {src.track.name!r} maps, not {want_track.name!r}; pick a matching source"
        )
    stats = _statistics(statistics, src)

    with_memo = train_for_memorisation and bool(src.boxes("train"))
    feature_stat = next((s for s in stats if isinstance(s, DiversityStatistic)), None)
    if with_memo and feature_stat is None:
        feature_stat = DiversityStatistic(src.track)  # summarised for memorisation only, not scored
    summarised = stats + ([feature_stat] if with_memo and all(s is not feature_stat for s in stats) else [])
    _check_budget(summarised, src, n, batch_size)

    model_summ, model_maps, validity = _model_summaries(
        resolved, summarised, n=n, seed=seed, track=src.track, batch_size=batch_size, clock=clock, progress=progress
    )
    with clock("reference"):
        ref = reference_summaries(
            src, stats, feature_stat=feature_stat if with_memo else None, batch_size=batch_size, progress=progress,
            widths={st.name: summ.shape[1] for st, summ in zip(summarised, model_summ)},
        )

    with clock("comparison"):
        from cosmobench.compare.effects import effects_for
        from cosmobench.compare.verdict import holm

        metrics = {}
        for stat, summ, rc, pool in zip(stats, model_summ, ref["compare"], ref["pool"]):
            eff = effects_for(stat.name, rc, stat.coords(), k_nyquist=src.track.k_nyquist)
            null = _cached_null(src, stat, ref["groups"], rc, pool, n, eff)
            metrics[stat.name] = score_statistic(
                stat.name, stat.distance, summ, rc, version=str(stat.version), seed=seed, null=null, effects=eff
            )
        composite = composite_score(metrics)
        if with_memo and ref["train"] is not None:
            feats = model_summ[[i for i, s in enumerate(summarised) if s is feature_stat][0]]
            nn_test = _cached_nn(src, feature_stat, ref["groups"], ref["test_features"], ref["train"])
            memo = memorisation_score(feats, ref["test_features"], ref["train"], seed=seed, nn_test=nn_test,
                                      test_split=ref["n_compare"])  # compare boxes | other test boxes
            metrics[memo.name] = memo
        # Holm over the result's metrics: a perfect generator gets no flag anywhere with probability >= 95%.
        for name, p_adj in holm({k: m.p_value for k, m in metrics.items()}).items():
            metrics[name].p_adjusted = p_adj
        # Validity has no null (a real map is never invalid), so it stays out of the Holm family.
        metrics["validity"] = validity.score()
        curves = {s.name: _curve(s, m, rc) for s, m, rc in zip(stats, model_summ, ref["compare"])}

    return Result(
        metrics=metrics,
        composite=composite,
        model={
            "spec": resolved.spec,
            "name": resolved.name,
            "kind": resolved.kind,
            "checkpoint_sha256": resolved.checkpoint_sha256,
            "info": resolved.info,
        },
        reference={
            "source": src.name,
            "content_hash": src.content_hash,
            "recipe_id": getattr(src, "recipe_id", src.content_hash),
            "split": "test",
            "n_compare": ref["n_compare"],
            "n_floor": ref["n_floor"],
            "floor_split": ref["floor_split"],
            "summaries": ref["status"],
            "compare_boxes": ref["compare_boxes"],
            "null": {
                "pool_boxes": ref["pool_boxes"],
                "pool_maps": ref["n_floor"],
                "draws": NULL_DRAWS,
                "scheme": "random sets from box bootstraps of the pooled boxes (test boxes outside the compare set "
                "and training boxes), finite-population matched to the model's n independent maps",
            },
        },
        track=src.track,
        n=n,
        seed=seed,
        wall_time=clock.summary(),
        curves=curves,
        model_maps=model_maps,
        reference_maps=ref["maps"],
    )

