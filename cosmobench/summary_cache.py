"""On-disk caches of reference-only work: summaries, measured nulls, nearest-neighbour distances.

Everything here depends on the reference and the statistic, never on the model or the run's seed, so
one file serves every evaluation against that reference. The layout under the data home:

- ``cache/summaries/<key>.npz``: one file per statistic, arrays ``compare`` and ``pool`` (the groups
  of :mod:`cosmobench.reference_split`);
- ``cache/nulls/<key>.npz``: a measured null (:class:`~cosmobench.compare.null.NullDistribution`)
  per statistic and null set size, and memorisation's reference-only half (the unseen maps'
  nearest-neighbour distances and closeness, and the closeness null per set size).

The key (:func:`cache_key`) is a sha256 over the source's content hash, the statistic's key, the
code of the file defining the statistic, the cosmobench version, :data:`CACHE_LAYOUT`, the role and
the groups' pieces. Every file carries a checksum of its key and arrays (:func:`checksum`), so a
damaged or hand-edited file is reported with a warning, deleted and rebuilt, never used.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from cosmobench._io import atomic_path, sha256_file
from cosmobench._version import __version__
from cosmobench.compare.null import NULL_DRAWS, NULL_SEED, NullDistribution, null_distribution, null_note, null_set_size, rows_seen
from cosmobench.reference_split import Group
from cosmobench.stats.base import Statistic

__all__ = ["CACHE_LAYOUT", "NULL_LAYOUT", "cache_dir", "cache_key", "summary_path", "checksum", "read_summaries", "write_arrays",
           "cached_null", "cached_unseen", "cached_closeness_null"]

# Bump when the cached arrays' layout or the compare/pool split rule changes.
# 2: every cache file carries a checksum of its arrays and key. 3: compare group and null pool.
CACHE_LAYOUT = 3
# Bump when how null sets are drawn or scored changes.
NULL_LAYOUT = 2
_CHECKSUM = "_checksum"


def cache_dir() -> Path:
    """``<data home>/cache/summaries`` (the nulls live beside it, in ``cache/nulls``)."""
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


def cache_key(src, stat: Statistic, role: str, groups: "dict[str, Group]", statistic_key: "str | None" = None) -> str:
    """The cache file name (hex sha256) of ``stat``'s ``role`` arrays over ``groups`` of ``src``.

    ``statistic_key`` replaces ``stat.key()`` (the summaries use :meth:`Statistic.summary_key`).
    """
    blob = json.dumps(
        {
            "source": src.content_hash,
            "statistic": stat.key() if statistic_key is None else statistic_key,
            "code": _code_fingerprint(type(stat)),
            "cosmobench": __version__,
            "layout": CACHE_LAYOUT,
            "role": role,
            "groups": {k: g.pieces for k, g in groups.items()},
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def summary_path(src, stat: Statistic, groups: "dict[str, Group]") -> Path:
    """The file of ``stat``'s summaries of ``groups`` (one file per :meth:`Statistic.summary_key`, one array per group)."""
    return cache_dir() / f"{cache_key(src, stat, ','.join(groups), groups, stat.summary_key())}.npz"


def checksum(key: str, arrays: "dict[str, np.ndarray]") -> np.ndarray:
    """sha256 over the cache key and every array's name, dtype, shape and bytes, as a uint8 array."""
    h = hashlib.sha256(key.encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a)  # the buffer itself: a tobytes() copy doubled the cost of reading a cached file
    return np.frombuffer(h.digest(), dtype=np.uint8)


def read_summaries(path: Path, groups: "dict[str, Group]", ncols: "int | None" = None,
                   report: "Callable[[str], None] | None" = None) -> "dict[str, np.ndarray] | None":
    """Cached summaries when the file is intact and has the expected rows (and columns); a bad file is deleted.

    Intact means its checksum (of the key, which is the file name, and of the arrays) matches: a file
    edited by hand or damaged on disk is reported with a warning and rebuilt, never used.

    Parameters
    ----------
    path : Path
        ``<cache_dir()>/<key>.npz``.
    groups : dict of str to Group
        The arrays expected (one per group, ``groups[k].n`` rows each).
    ncols : int, optional
        Expected summary width (the model side's); a file of another width is stale.
    report : callable, optional
        Called with the message about a damaged file (default: a ``UserWarning``); a reader in a
        background thread collects them so that the caller's thread warns.

    Returns
    -------
    dict of str to numpy.ndarray, or None
        None when the file is missing or was deleted as unusable.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in groups}
            stored = np.asarray(npz[_CHECKSUM]) if _CHECKSUM in npz.files else None
        intact = stored is not None and np.array_equal(stored, checksum(path.stem, arrays))
        if not intact:
            msg = (f"reference-summary cache {path} does not match its checksum (edited or damaged); "
                   "it is deleted and rebuilt from the reference maps")
            if report is None:
                warnings.warn(msg, stacklevel=3)
            else:
                report(msg)
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


def write_arrays(path: Path, arrays: "dict[str, np.ndarray]") -> None:
    """Write ``arrays`` and their checksum to ``path`` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:  # a handle: np.savez would append ".npz" to a bare path
            np.savez(fh, **arrays, **{_CHECKSUM: checksum(path.stem, arrays)})


def _null_path(src, stat: Statistic, groups: dict, what: str, size: int, draws: int) -> Path:
    key = cache_key(src, stat, f"null:{what}:{size}:{draws}:{NULL_SEED}:{NULL_LAYOUT}", groups)
    return cache_dir().parent / "nulls" / f"{key}.npz"


def _read_or_build(path: Path, read: Callable[[dict], object], build: Callable[[], object],
                   arrays_of: Callable[[object], dict]):
    """``read(arrays)`` of the file at ``path`` when it gives a value, else ``build()``, written there.

    ``read`` returns None for a file that does not fit (stale shape); an unreadable file counts the same.
    Either way the file is deleted before the value is measured again.
    """
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                value = read({k: np.asarray(npz[k]) for k in npz.files})
            if value is not None:
                return value
        except Exception:  # truncated or stale file: measure again
            pass
        path.unlink(missing_ok=True)
    value = build()
    write_arrays(path, arrays_of(value))
    return value


def cached_null(src, stat: Statistic, groups: dict, compare: np.ndarray, pool: np.ndarray, n: int,
                effects) -> NullDistribution:
    """The measured null of ``stat`` for a model of ``n`` maps: read from the cache or measured and cached.

    It depends on the reference and on the rows a model's value sees, never on the run's seed, so one
    file serves every model and seed at this n (and, for the spread distances, every n ≥ 1,000).

    Parameters
    ----------
    src : Source
    stat : Statistic
    groups : dict of str to Group
        ``{"compare": ..., "pool": ...}`` as :func:`~cosmobench.reference_split.split_plan` cut them.
    compare, pool : numpy.ndarray
        The statistic's summaries of the two groups.
    n : int
        Model maps.
    effects : Effects or None
        The statistic's named effects (their null is measured on the same sets).
    """
    rows = rows_seen(stat.distance, n)
    size = null_set_size(rows, pool.shape[0])

    def read(arrays):
        null = NullDistribution.from_arrays(arrays)
        if null.values.shape != (NULL_DRAWS,) or null.set_size != size or null.pool != pool.shape[0]:
            return None
        null.rows = rows
        null.note = null_note(null.rows, null.pool, null.set_size)
        return null

    def build():
        from cosmobench.stats._order import canonical_order

        order = canonical_order(pool)  # the draws index rows: their order must not depend on the cache's
        P = pool[order]
        boxes = np.concatenate([np.full(stop - start, b) for b, start, stop in groups["pool"].pieces])[order]
        return null_distribution(stat.distance, compare, P, n, effects=effects, strata=boxes,
                                 effect_rows=effects.transform(P) if effects is not None else None)

    path = _null_path(src, stat, groups, stat.distance, size, NULL_DRAWS)
    return _read_or_build(path, read, build, lambda null: null.to_arrays())


def cached_unseen(src, stat: Statistic, groups: dict, test: np.ndarray, train: np.ndarray, test_split: int):
    """Memorisation's reference-only half, :func:`~cosmobench.compare.memorisation.unseen_closeness` (cached).

    The unseen test maps' nearest-neighbour distances to the training maps and their sorted closeness;
    the U2 rows are ``test[test_split:]``, which the reference summaries hold already.
    """
    from cosmobench.compare.memorisation import UnseenCloseness, unseen_closeness

    def read(arrays):
        nn, rel = (np.asarray(arrays[k], dtype=np.float64) for k in ("nn", "closeness"))
        if nn.shape != (test.shape[0],) or rel.shape != (int(test_split),) or not (np.isfinite(nn).all() and np.isfinite(rel).all()):
            return None
        return UnseenCloseness(nn_test=nn, closeness=rel, u2=test[int(test_split):])

    path = _null_path(src, stat, groups, f"unseen:{int(test_split)}", test.shape[0], train.shape[0])
    return _read_or_build(path, read, lambda: unseen_closeness(test, train, test_split=test_split),
                          lambda u: {"nn": u.nn_test, "closeness": u.closeness})


def cached_closeness_null(src, stat: Statistic, groups: dict, closeness: np.ndarray, n: int) -> np.ndarray:
    """Memorisation's null for a model of ``n`` maps, :func:`~cosmobench.compare.memorisation.closeness_null` (cached)."""
    from cosmobench.compare.memorisation import closeness_null

    size = null_set_size(int(n), closeness.size)

    def read(arrays):
        v = np.asarray(arrays["values"], dtype=np.float64)
        return v if v.shape == (NULL_DRAWS,) else None

    path = _null_path(src, stat, groups, f"closeness:{closeness.size}", size, NULL_DRAWS)
    return _read_or_build(path, read, lambda: closeness_null(closeness, n, NULL_DRAWS), lambda v: {"values": v})
