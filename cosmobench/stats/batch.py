"""One validated batch of maps and the per-map work that several statistics share.

:meth:`Statistic.summarize <cosmobench.stats.base.Statistic.summarize>` validates its input once
and hands the statistic a :class:`BatchContext`; :func:`summarize_batch` does the same for a list of
statistics, so that the log density field, the 16×16 log-block features (``diversity`` and
``collapse``) and the 2-D FFT (``power`` and ``bispectrum``) are computed once per batch instead of
once per statistic. Everything is computed on first use and kept for the life of the context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from cosmobench.errors import CosmobenchError
from cosmobench.stats import _field_kernels as _fk
from cosmobench import _fft
from cosmobench.stats._validate import check_maps

if TYPE_CHECKING:  # pragma: no cover
    from cosmobench.stats.base import Statistic

__all__ = ["BatchContext", "summarize_batch", "DENSITY_CLIP", "MAX_CONTEXT_MAPS"]

#: Lower clip of ``1 + δ`` before the logarithm of :meth:`BatchContext.log_density` (empty CIC pixels are exactly 0).
DENSITY_CLIP = 1e-3
#: Most maps one context holds: its cached FFT and log field then stay under ~35 MiB each for 64² maps.
MAX_CONTEXT_MAPS = 1024


class BatchContext:
    """A validated ``(n, H, W)`` batch and its shared derived fields.

    Parameters
    ----------
    maps : numpy.ndarray
        Maps already validated by :func:`cosmobench.stats._validate.check_maps` (C-contiguous
        float32 or float64); nothing is checked again.
    threads : int, optional
        FFTW threads for :meth:`rfft2` (default ``$COSMOBENCH_THREADS`` policy).

    Attributes
    ----------
    maps : numpy.ndarray
        The batch.
    """

    def __init__(self, maps: np.ndarray, *, threads: "int | None" = None) -> None:
        self.maps = maps
        self._threads = threads
        self._cache: dict = {}

    @classmethod
    def validate(cls, maps, *, shape=None, allow_constant: bool = False, threads: "int | None" = None) -> "BatchContext":
        """Validate raw maps once (float32 kept, anything else float64) and wrap them."""
        return cls(check_maps(maps, shape=shape, allow_constant=allow_constant, dtype=None), threads=threads)

    @property
    def n(self) -> int:
        """Number of maps."""
        return self.maps.shape[0]

    @property
    def shape(self) -> "tuple[int, int]":
        """``(H, W)`` of the maps."""
        return self.maps.shape[1], self.maps.shape[2]

    def flat(self) -> np.ndarray:
        """The maps as ``(n, H*W)`` (a view)."""
        return self.maps.reshape(self.n, -1)

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def log_density(self) -> np.ndarray:
        """``log10(max(1 + δ, DENSITY_CLIP))`` per pixel, ``(n, H*W)`` float64 (empty pixels count as −3)."""

        def make():
            out = np.empty((self.n, self.shape[0] * self.shape[1]))
            _fk.log_density(self.flat(), DENSITY_CLIP, out)
            return out

        return self._get("log_density", make)

    def block_features(self, blocks: int) -> np.ndarray:
        """Means of :meth:`log_density` over ``blocks x blocks`` equal blocks, ``(n, blocks²)`` float64.

        Raises
        ------
        CosmobenchError
            When the map sides are not multiples of ``blocks``.
        """
        h, w = self.shape
        if blocks < 1 or h % blocks or w % blocks:
            raise CosmobenchError(
                f"maps are {h}x{w} pixels, not a multiple of {blocks} blocks per side; use maps whose side is a "
                f"multiple of {blocks} (the default track's 64² tiles are)"
            )

        def make():
            out = np.empty((self.n, blocks * blocks))
            _fk.block_means(self.log_density(), h, w, blocks, out)
            return out

        return self._get(("blocks", blocks), make)

    def rfft2(self) -> np.ndarray:
        """Unnormalised ``numpy.fft.rfft2`` of every map, ``(n, H, W//2 + 1)`` complex128."""
        return self._get("rfft2", lambda: _fft.rfft2(self.maps, threads=self._threads))


def _summary_of(stat: "Statistic", batch: BatchContext) -> np.ndarray:
    from cosmobench.stats.base import Statistic

    if type(stat).summarize is Statistic.summarize:
        return stat._summarize(batch)
    return stat.summarize(batch.maps)  # a subclass written against the older contract (summarize only)


def summarize_batch(stats: "Sequence[Statistic]", maps, *, validated: bool = False) -> "list[np.ndarray]":
    """Summaries of one batch by several statistics, validating once and sharing the per-map work.

    Parameters
    ----------
    stats : sequence of Statistic
        Statistics of one track.
    maps : array_like
        ``(n, H, W)`` δ maps of that track.
    validated : bool
        The maps were already checked by :func:`~cosmobench.stats._validate.check_maps` with the
        track's shape and constant maps refused (as :func:`cosmobench.evaluate` does): skip the check.

    Returns
    -------
    list of numpy.ndarray
        ``(n, d_k)`` float64 summaries, aligned with ``stats``.

    Raises
    ------
    CosmobenchError
        For malformed maps, or statistics of different tracks.
    """
    stats = list(stats)
    if not stats:
        return []
    shape = stats[0].track.shape
    if any(s.track.shape != shape for s in stats):
        raise CosmobenchError("summarize_batch got statistics of different tracks; summarise each track's maps separately")
    if not validated:
        maps = check_maps(maps, shape=shape, allow_constant=all(s.allow_constant for s in stats), dtype=None)
    parts: list[list[np.ndarray]] = [[] for _ in stats]
    for start in range(0, maps.shape[0], MAX_CONTEXT_MAPS):
        batch = BatchContext(maps[start : start + MAX_CONTEXT_MAPS])
        for k, stat in enumerate(stats):
            parts[k].append(_summary_of(stat, batch))
    return [p[0] if len(p) == 1 else np.concatenate(p, axis=0) for p in parts]
