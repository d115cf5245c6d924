"""The contract between statistics and the comparison layer.

A :class:`Statistic` turns a batch of maps into one summary vector per map, ``(n, d)`` float64.
The comparison layer only ever sees these summaries, which is what keeps memory bounded when
scoring 100,000 maps and makes scores independent of batch size.

Adding a statistic: subclass :class:`Statistic` in one new module of :mod:`cosmobench.stats`, set the
class attributes, implement ``_summarize(batch)`` on the validated
:class:`~cosmobench.stats.batch.BatchContext` (use its shared fields when they fit), and add the
class to ``STATISTICS`` in :mod:`cosmobench.stats`.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC
from typing import Any, ClassVar

import numpy as np

from cosmobench.data.track import Track, get_track
from cosmobench.stats.batch import MAX_CONTEXT_MAPS, BatchContext

__all__ = ["Statistic"]


class Statistic(ABC):
    """A per-map summary of a batch of δ maps.

    Subclasses set the class attributes and implement :meth:`_summarize`; :meth:`summarize`
    validates the maps once (the track's shape, float32 kept) and calls it.

    Attributes
    ----------
    name : str
        Short identifier ("power", "pdf", ...), also the metric name in results.
    version : str
        Bump when the summary's numbers change; it keys the reference-summary cache.
    distance : str
        Name of the distance in :mod:`cosmobench.compare` used to compare two sets of summaries.
    description : str
        One line for score cards and ``cosmobench list``.
    allow_constant : bool
        Whether constant maps are meaningful input (a map with no structure above a threshold is).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    distance: ClassVar[str] = "chi2"
    description: ClassVar[str] = ""
    allow_constant: ClassVar[bool] = False

    def __init__(self, track: "Track | str | None" = None, **settings: Any) -> None:
        self.track = get_track(track)
        self.settings = settings

    def summarize(self, maps, *, validated: bool = False) -> np.ndarray:
        """The ``(n, d)`` float64 summary of a batch of this track's δ maps.

        Parameters
        ----------
        maps : array_like or BatchContext
            ``(n, H, W)`` δ maps, or a context of already validated maps (as
            :func:`~cosmobench.stats.batch.summarize_batch` passes, sharing its fields).
        validated : bool
            The array was already checked with :func:`~cosmobench.stats._validate.check_maps`
            (track shape, float32 or float64): do not check it again.

        Returns
        -------
        numpy.ndarray
            ``(n, d)`` float64.

        Raises
        ------
        CosmobenchError
            For malformed maps.
        """
        if isinstance(maps, BatchContext):
            return self._summarize(maps)
        if not validated:
            maps = BatchContext.validate(maps, shape=self.track.shape, allow_constant=self.allow_constant).maps
        threads = getattr(self, "_threads", None)
        if maps.shape[0] <= MAX_CONTEXT_MAPS:
            return self._summarize(BatchContext(maps, threads=threads))
        # bounded memory for the cached fields of large batches; summaries are per map, so exact
        return np.concatenate(
            [self._summarize(BatchContext(maps[i : i + MAX_CONTEXT_MAPS], threads=threads))
             for i in range(0, maps.shape[0], MAX_CONTEXT_MAPS)],
            axis=0,
        )

    def _summarize(self, batch: BatchContext) -> np.ndarray:
        """The ``(n, d)`` float64 summary of a validated batch (what subclasses implement)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _summarize(batch)")

    def coords(self) -> dict[str, np.ndarray]:
        """Labels of the summary columns for plots (e.g. ``{"k": ...}``); empty when not meaningful."""
        return {}

    def key(self) -> str:
        """Hash of everything that changes the summaries: name, version, track and settings."""
        return self._key(self.name, self.version)

    def summary_key(self) -> str:
        """Key of what :meth:`summarize` returns; statistics that summarise alike share their cached summaries.

        :meth:`key` by default. A statistic that scores another one's summaries with a different
        distance (``collapse`` on the ``diversity`` features) returns that one's key here, so the
        reference's summaries are read from disk once for both.
        """
        return self.key()

    def _key(self, name: str, version: str) -> str:
        blob = json.dumps(
            {"name": name, "version": version, "track": self.track.to_dict(), "settings": self.settings},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({args})"
