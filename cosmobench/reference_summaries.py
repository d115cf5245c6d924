"""Summaries of maps with the evaluator's checks, and the reference's summaries, cached on disk.

:func:`summarize` is the one call from the evaluator into the statistics (model batches, reference
groups, the budget probe): it checks each statistic returned ``(n, d)`` and applies the validity rule's
constant-map case. :func:`reference_summaries` summarises the compare group and the null pool of a
source (:mod:`cosmobench.reference_split`) once per statistic and caches them
(:mod:`cosmobench.summary_cache`); it returns a :class:`ReferenceSummaries`.
"""

from __future__ import annotations

import sys
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cosmobench.reference_split import Group, check_reference_maps, rows_of, split_plan, verify_boxes
from cosmobench.stats.base import Statistic
from cosmobench.stats.batch import summarize_batch
from cosmobench.summary_cache import read_summaries, summary_path, write_arrays

__all__ = ["ReferenceSummaries", "reference_summaries", "prefetch_reference", "summarize", "summarize_all", "map_bar", "N_KEEP_MAPS"]

#: Model and reference maps kept for the report's map grid.
N_KEEP_MAPS = 8


def map_bar(total: int, desc: str, enabled: bool):
    """A tqdm bar counting maps on stderr (disabled: a no-op bar with the same methods)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="map", disable=not enabled, file=sys.stderr, leave=False)


def summarize(stats: Sequence[Statistic], maps: np.ndarray, validated: bool = False) -> list[np.ndarray]:
    """Summaries of one batch by every statistic, ``(n, d_k)`` float64 each.

    A constant map leaves ratios such as skewness or Q at 0/0; the validity rule sets them to 0.
    Non-finite summaries of a map with fluctuations are kept (the comparison's row check refuses them).

    Raises
    ------
    CosmobenchError
        If a statistic returns anything but ``(n, d)``.
    """
    from cosmobench.errors import CosmobenchError

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
            if constant is None:
                flat = maps.reshape(maps.shape[0], -1)
                constant = flat.max(axis=1) == flat.min(axis=1)
            s = np.where(bad & constant[:, None], 0.0, s)
        out.append(s)
    return out


def summarize_all(stats: Sequence[Statistic], maps: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Summaries of many maps, ``batch_size`` at a time (bounded memory inside the statistics)."""
    parts = [summarize(stats, maps[i : i + batch_size]) for i in range(0, maps.shape[0], batch_size)]
    return [np.concatenate([p[k] for p in parts], axis=0) for k in range(len(stats))]


@dataclass(frozen=True, eq=False)
class ReferenceSummaries:
    """The reference side of a score: summaries of the compare group and the null pool, and their provenance.

    Attributes
    ----------
    compare, pool : tuple of numpy.ndarray
        Summaries aligned with the statistics asked for: ``(n_compare, d)`` and ``(n_pool, d)``.
    train : numpy.ndarray or None
        Memorisation features of the pool's training-box rows (None without a feature statistic or
        training boxes).
    test_features : numpy.ndarray or None
        Memorisation features of the compare rows, then of the pool's test-box rows.
    compare_group, pool_group : Group
        Which maps: ``(box, start, stop)`` pieces.
    floor_split : {"box", "tile"}
        Whole test boxes on each side, or the two halves of a lone test box.
    status : {"cached", "built"}
        "cached" when nothing had to be computed.
    maps : numpy.ndarray
        A few compare maps (``N_KEEP_MAPS``, evenly spaced), float32, for the report.
    """

    compare: "tuple[np.ndarray, ...]"
    pool: "tuple[np.ndarray, ...]"
    train: "np.ndarray | None"
    test_features: "np.ndarray | None"
    compare_group: Group
    pool_group: Group
    floor_split: str
    status: str
    maps: np.ndarray

    @property
    def groups(self) -> "dict[str, Group]":
        """``{"compare": compare_group, "pool": pool_group}`` (what the cache keys are made of)."""
        return {"compare": self.compare_group, "pool": self.pool_group}

    @property
    def n_compare(self) -> int:
        """Maps in the compare group."""
        return self.compare_group.n

    @property
    def n_pool(self) -> int:
        """Maps in the null pool (recorded as ``n_floor`` in results)."""
        return self.pool_group.n

    @property
    def compare_boxes(self) -> list[int]:
        return self.compare_group.boxes

    @property
    def pool_boxes(self) -> list[int]:
        return self.pool_group.boxes

    _KEYS = ("compare", "pool", "floor", "train", "test_features", "floor_split", "n_compare", "n_floor",
             "compare_boxes", "pool_boxes", "groups", "status", "maps")

    def as_dict(self) -> dict:
        """The dictionary :func:`reference_summaries` returned before this class (lists of arrays)."""
        return {k: self._value(k) for k in self._KEYS}

    def _value(self, key: str):
        if key in ("compare", "pool", "floor"):
            return list(self.pool if key == "floor" else getattr(self, key))
        return getattr(self, {"n_floor": "n_pool"}.get(key, key))

    def __getitem__(self, key: str):
        """Deprecated: ``ref["compare"]`` etc.; use the attributes (``ref.compare``, ``ref.n_pool``)."""
        if key not in self._KEYS:
            raise KeyError(key)
        warnings.warn(
            f"ReferenceSummaries[{key!r}] is deprecated; use the attribute "
            f"(.{ {'floor': 'pool', 'n_floor': 'n_pool'}.get(key, key)}) or .as_dict()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._value(key)


def reference_summaries(
    src,
    stats: Sequence[Statistic],
    *,
    feature_stat: "Statistic | None" = None,
    batch_size: int = 256,
    progress: bool = False,
    widths: "dict[str, int] | None" = None,
    prefetched: "Future | None" = None,
    read_only: bool = False,
    report=None,
) -> "ReferenceSummaries | None":
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
    prefetched : concurrent.futures.Future, optional
        :func:`prefetch_reference` of the same source and statistics: its result is used when it has
        every summary at the expected widths (else they are read or built here).
    read_only : bool
        Only read the cache: return None when a summary would have to be built.
    report : callable, optional
        Receives the messages about damaged cache files instead of a warning (see
        :func:`~cosmobench.summary_cache.read_summaries`).

    Returns
    -------
    ReferenceSummaries or None
        None only with ``read_only``.

    Raises
    ------
    CosmobenchError
        If the split cannot be cut, or the tiles to summarise do not match their recorded sha256 or
        are not valid δ maps ("the reference source is corrupted, not the model").
    """
    if prefetched is not None:
        got = prefetched.result()
        for msg in got.problems:
            warnings.warn(msg, stacklevel=2)
        if got.value is not None and _widths_match(got.value, stats, feature_stat, widths):
            return got.value
    compare, pool, floor_split = split_plan(src)
    groups = {"compare": compare, "pool": pool}
    jobs, paths = _jobs_and_paths(src, stats, feature_stat, groups)
    by_path: dict = {}  # statistics with one summary_key (diversity, collapse) share one file: read it once
    for stat, path in zip(jobs, paths):
        if path not in by_path:
            by_path[path] = read_summaries(path, groups, (widths or {}).get(stat.name), report=report)
    found = [by_path[path] for path in paths]
    status = "cached" if all(f is not None for f in found) else "built"
    if read_only and status == "built":
        return None

    loaded: dict[str, np.ndarray] = {}
    todo = [k for k, f in enumerate(found) if f is None]
    if todo:
        verify_boxes(src, [b for g in groups.values() for b, _, _ in g.pieces])
        bar = map_bar(len({paths[k] for k in todo}) * sum(g.n for g in groups.values()), "reference summaries", progress)
        for k in todo:
            if by_path[paths[k]] is not None:  # built a moment ago for a statistic sharing the file
                found[k] = by_path[paths[k]]
                continue
            arrays = {}
            for role, group in groups.items():
                if role not in loaded:
                    loaded[role] = group.load(src)
                    check_reference_maps(src, loaded[role])
                arrays[role] = summarize_all([jobs[k]], loaded[role], batch_size)[0]
                bar.update(group.n)
            write_arrays(paths[k], arrays)
            found[k] = by_path[paths[k]] = arrays
        bar.close()

    keep = np.linspace(0, compare.n - 1, min(N_KEEP_MAPS, compare.n)).round().astype(int)
    maps = loaded["compare"][keep] if "compare" in loaded else compare.load_rows(src, keep)
    train = test_features = None
    if feature_stat is not None:
        f = found[next(k for k, s in enumerate(jobs) if s is feature_stat)]  # jobs = stats (+ feature_stat)
        in_train = rows_of(pool, set(src.boxes("train")))
        unseen = np.setdiff1d(np.arange(pool.n), in_train)
        train = _rows(f["pool"], in_train) if in_train.size else None
        test_features = np.concatenate([f["compare"], _rows(f["pool"], unseen)], axis=0)
    return ReferenceSummaries(
        compare=tuple(f["compare"] for f in found[: len(stats)]),
        pool=tuple(f["pool"] for f in found[: len(stats)]),
        train=train,
        test_features=test_features,
        compare_group=compare,
        pool_group=pool,
        floor_split=floor_split,
        status=status,
        maps=np.asarray(maps, dtype=np.float32),
    )


def _rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a[idx]``; a view when ``idx`` is one run of consecutive rows (the training boxes are: 100 MB not copied)."""
    if idx.size and bool((np.diff(idx) == 1).all()):
        return a[idx[0] : idx[-1] + 1]
    return a[idx]


def _jobs_and_paths(src, stats, feature_stat, groups) -> tuple[list[Statistic], list]:
    """The statistics to summarise the reference with (``stats``, then the feature statistic) and their cache files."""
    jobs: list[Statistic] = list(stats)
    if feature_stat is not None and all(s is not feature_stat for s in stats):
        jobs.append(feature_stat)
    return jobs, [summary_path(src, stat, groups) for stat in jobs]


def _widths_match(ref: ReferenceSummaries, stats, feature_stat, widths) -> bool:
    if not widths:
        return True
    have = {s.name: c.shape[1] for s, c in zip(stats, ref.compare)}
    if feature_stat is not None and ref.test_features is not None:
        have.setdefault(feature_stat.name, ref.test_features.shape[1])
    return all(have.get(name, w) == w for name, w in widths.items())


@dataclass(frozen=True)
class _Prefetched:
    value: "ReferenceSummaries | None"
    problems: "tuple[str, ...]"


def prefetch_reference(src, stats: Sequence[Statistic], *, feature_stat: "Statistic | None" = None) -> "Future | None":
    """Read the cached reference summaries in a background thread, for :func:`reference_summaries` (``prefetched``).

    Why: reading and checksumming the cache (1 s on the 40-box reference) needs no statistics, so it
    overlaps the model side's start (the statistics kernels' first dispatch is single-threaded
    Python), and the caller gets it when the model's summaries are done. Only reading happens in the
    thread: a summary that has to be built is built by the caller (the numba kernels must not run in
    two threads at once), so None is returned when a cache file is missing.
    """
    compare, pool, _ = split_plan(src)
    _, paths = _jobs_and_paths(src, stats, feature_stat, {"compare": compare, "pool": pool})
    if not all(p.exists() for p in paths):
        return None

    def read() -> _Prefetched:
        problems: list[str] = []
        value = reference_summaries(src, stats, feature_stat=feature_stat, read_only=True, report=problems.append)
        return _Prefetched(value, tuple(problems))

    pool_ = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cosmobench-reference")
    try:
        return pool_.submit(read)
    finally:
        pool_.shutdown(wait=False)
