"""``evaluate``: spec -> generator -> samples -> summaries -> comparison -> :class:`~cosmobench.results.Result`.

The pipeline, and why it is shaped this way:

- **Sampling in fixed seed chunks.** The generator is asked for chunks of :data:`SEED_CHUNK` maps,
  chunk ``i`` with the seed ``SeedSequence([seed, i])``. ``batch_size`` only regroups the validated
  maps for the statistics, so the maps drawn, and every number in the result, do not depend on it.
  Generators of stored maps (``ordered``, e.g. sample files; :func:`cosmobench.protocol.stored_maps`)
  are read in order instead (their maps are what they are).
- **Summaries only.** Each batch is validated, summarised by every statistic and dropped; only the
  ``(n, d)`` summaries and 8 maps for the report are kept, so n = 100,000 fits in memory.
- **Reference summaries cached.** The test split is cut into a *compare* group and a held-out null
  pool (:mod:`cosmobench.reference_split`), summarised once per statistic
  (:mod:`cosmobench.reference_summaries`, a typed :class:`ReferenceSummaries`) and cached with the
  measured nulls under the data home (:mod:`cosmobench.summary_cache`: keys, checksums, rebuilds).
- **Budget first.** Summary width and per-map time are measured on a few reference maps before
  sampling (:mod:`cosmobench.budget`): an ``n`` whose summaries cannot fit in memory is refused with
  the estimate, one whose statistics take hours is warned about.
- **One way to a reference.** A missing built-in source is simulated first
  (:func:`cosmobench.data.store.ensure_source`).
"""

from __future__ import annotations

import contextlib
import inspect
import time
from typing import Any, Iterator, Sequence

import numpy as np

from cosmobench.budget import WARN_SECONDS, check_budget, estimate_cost  # noqa: F401 - public names' former home
from cosmobench.compare.null import NULL_DRAWS
from cosmobench.compare.validity import ValidityTally
from cosmobench.data.store import ensure_source
from cosmobench.data.track import Track, get_track
from cosmobench.errors import CosmobenchError
from cosmobench.protocol import stored_maps
from cosmobench.reference_summaries import N_KEEP_MAPS, ReferenceSummaries, map_bar, prefetch_reference, reference_summaries, summarize
from cosmobench.registry import ResolvedModel, plugin_error, resolve
from cosmobench.results import Result
from cosmobench.stats._validate import check_maps
from cosmobench.stats.base import Statistic
from cosmobench.summary_cache import cached_closeness_null, cached_null, cached_unseen

__all__ = ["evaluate", "Result", "reference_summaries", "ReferenceSummaries", "chunk_seed", "SEED_CHUNK",
           "N_KEEP_MAPS", "estimate_cost"]

#: Maps per ``sample`` call; chunk ``i`` is drawn with seed ``chunk_seed(seed, i)``. Fixed so that
#: results do not depend on ``batch_size``; changing it changes every score of a stochastic model.
SEED_CHUNK = 256


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


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise CosmobenchError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------------------ source


def _source_track_hint(source: Any) -> Track:
    """Track of a source without building it (default track for a not-yet-built simulated source)."""
    from cosmobench.data.store import Source, get_source

    if isinstance(source, Source):
        return source.track
    try:
        return get_source(source).track
    except CosmobenchError:
        return get_track(None)


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
    # Stored maps (a sample file) are read in order: sample(n) would serve the same first maps every chunk.
    from_file = stored_maps(gen) is not None
    live = bar is not None and not getattr(bar, "disable", False) and not from_file and _takes_progress(gen)
    for i, start in enumerate(range(0, n, SEED_CHUNK)):
        size = min(SEED_CHUNK, n - start)
        before = bar.n if bar is not None else 0
        # fractional reports (b / steps per step) may round past the chunk: never beyond it
        kw = {"progress": lambda k, end=before + size: bar.update(max(0.0, min(k, end - bar.n)))} if live else {}
        if from_file:
            how = f"maps {start}..{start + size - 1} of {resolved.spec}"
        else:
            s = chunk_seed(seed, i)
            how = f"sample({size}, seed={s}) of batch {i} (maps {start}..{start + size - 1})"
        try:
            raw = gen.take(start, start + size) if from_file else gen.sample(size, seed=s, **kw)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the model's code; KeyboardInterrupt passes
            raise plugin_error(f"model {resolved.name!r}: {how}", exc, "fix the generator (nothing was written)") from None
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
    bar = map_bar(n, f"sampling and scoring {resolved.name}", progress)
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
                for k, s in enumerate(summarize(stats, batch, validated=True)):
                    parts[k].append(s)
    finally:
        bar.close()
    maps = np.concatenate(kept, axis=0)[:N_KEEP_MAPS]
    return [np.concatenate(p, axis=0) for p in parts], maps, tally


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
    available = stored_maps(resolved.generator)
    if available is not None and available < 2:
        raise CosmobenchError(
            f"{resolved.spec} holds {available} map{'s' if available != 1 else ''}; scoring needs at least 2: "
            "write more samples into the file"
        )
    if available is not None and available < n:
        raise CosmobenchError(
            f"{resolved.spec} holds {available} maps but n={n} were asked for; pass --n {available} or fewer"
        )
    src = ensure_source(source, progress=progress)
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
    memo_stat = feature_stat if with_memo else None
    prefetched = prefetch_reference(src, stats, feature_stat=memo_stat)
    check_budget(summarised, src, n, batch_size)

    model_summ, model_maps, validity = _model_summaries(
        resolved, summarised, n=n, seed=seed, track=src.track, batch_size=batch_size, clock=clock, progress=progress
    )
    with clock("reference"):
        ref = reference_summaries(
            src, stats, feature_stat=memo_stat, batch_size=batch_size, progress=progress,
            widths={st.name: summ.shape[1] for st, summ in zip(summarised, model_summ)}, prefetched=prefetched,
        )

    with clock("comparison"):
        from cosmobench.compare.effects import effects_for
        from cosmobench.compare.verdict import holm

        metrics = {}
        for stat, summ, rc, pool in zip(stats, model_summ, ref.compare, ref.pool):
            eff = effects_for(stat.name, rc, stat.coords(), k_nyquist=src.track.k_nyquist)
            null = cached_null(src, stat, ref.groups, rc, pool, n, eff)
            metrics[stat.name] = score_statistic(
                stat.name, stat.distance, summ, rc, version=str(stat.version), seed=seed, null=null, effects=eff
            )
        composite = composite_score(metrics)
        if with_memo and ref.train is not None:
            feats = model_summ[[i for i, s in enumerate(summarised) if s is feature_stat][0]]
            # U1 | U2 = compare boxes | other test boxes
            unseen = cached_unseen(src, feature_stat, ref.groups, ref.test_features, ref.train, ref.n_compare)
            null_values = cached_closeness_null(src, feature_stat, ref.groups, unseen.closeness, feats.shape[0])
            memo = memorisation_score(feats, ref.test_features, ref.train, seed=seed, unseen=unseen, null_values=null_values)
            metrics[memo.name] = memo
        # Holm over the result's metrics: a perfect generator gets no flag anywhere with probability >= 95%.
        for name, p_adj in holm({k: m.p_value for k, m in metrics.items()}).items():
            metrics[name].p_adjusted = p_adj
        # Validity has no null (a real map is never invalid), so it stays out of the Holm family.
        metrics["validity"] = validity.score()
        curves = {s.name: _curve(s, m, rc) for s, m, rc in zip(stats, model_summ, ref.compare)}

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
            "n_compare": ref.n_compare,
            "n_floor": ref.n_pool,
            "floor_split": ref.floor_split,
            "summaries": ref.status,
            "compare_boxes": ref.compare_boxes,
            "null": {
                "pool_boxes": ref.pool_boxes,
                "pool_maps": ref.n_pool,
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
        reference_maps=ref.maps,
    )

