"""The contract between statistics and the comparison layer.

A :class:`Statistic` turns a batch of maps into one summary vector per map, ``(n, d)`` float64.
The comparison layer only ever sees these summaries, which is what keeps memory bounded when
scoring 100,000 maps and makes scores independent of batch size.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from cosmobench.data.track import Track, get_track

__all__ = ["Statistic"]


class Statistic(ABC):
    """A per-map summary of a batch of δ maps.

    Subclasses set the class attributes and implement :meth:`summarize`.

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
    """

    name: ClassVar[str]
    version: ClassVar[str]
    distance: ClassVar[str] = "chi2"
    description: ClassVar[str] = ""

    def __init__(self, track: "Track | str | None" = None, **settings: Any) -> None:
        self.track = get_track(track)
        self.settings = settings

    @abstractmethod
    def summarize(self, maps: np.ndarray) -> np.ndarray:
        """Return the ``(n, d)`` float64 summary of a validated ``(n, H, W)`` batch of δ maps."""

    def coords(self) -> dict[str, np.ndarray]:
        """Labels of the summary columns for plots (e.g. ``{"k": ...}``); empty when not meaningful."""
        return {}

    def key(self) -> str:
        """Hash of everything that changes the summaries: name, version, track and settings."""
        blob = json.dumps(
            {"name": self.name, "version": self.version, "track": self.track.to_dict(), "settings": self.settings},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({args})"
