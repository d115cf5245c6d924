"""``holdout``: maps of the reference's validation split, handed out as if generated.

A perfect generator is indistinguishable from fresh maps of the reference; the val split is exactly
that (other boxes than the test split's), so its scores show what "perfect" looks like against the
noise floor. ``sample(n, seed=s)`` is a seeded choice of ``n`` distinct val maps.
"""

from __future__ import annotations

import numpy as np

from cosmobench.errors import CosmobenchError

__all__ = ["HoldoutGenerator", "holdout_factory"]


class HoldoutGenerator:
    """Seeded draws without replacement from the ``split`` maps of a source."""

    name = "holdout"

    def __init__(self, maps: np.ndarray, *, source: str = "sim", split: str = "val", content_hash=None, track=None):
        self._maps = maps
        self.track = track
        self.info = {"family": "holdout", "source": source, "split": split, "content_hash": content_hash,
                     "available": int(maps.shape[0])}

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        n = int(n)
        avail = self._maps.shape[0]
        if n > avail:
            raise CosmobenchError(
                f"holdout has only {avail} {self.info['split']} maps of source {self.info['source']!r}, "
                f"{n} requested; ask for n <= {avail} or build more boxes (`cosmobench data build --boxes N`)"
            )
        idx = np.random.default_rng(int(seed)).choice(avail, size=n, replace=False)
        order = np.argsort(idx)  # read in file order (fast on a memory map), hand back in drawn order
        out = np.empty((n,) + tuple(self._maps.shape[1:]), dtype=np.float32)
        out[order] = np.asarray(self._maps[idx[order]], dtype=np.float32)
        return out


def holdout_factory(*, checkpoint=None, track=None, source: str = "sim", split: str = "val", **options) -> HoldoutGenerator:
    """Factory of ``holdout``. Options: ``source`` (default "sim"), ``split`` (default "val")."""
    if checkpoint is not None:
        raise CosmobenchError("holdout takes no checkpoint; use --model holdout")
    if options:
        raise CosmobenchError(f"holdout: unknown options {sorted(options)}; it takes source= and split=")
    from cosmobench_baselines.analytic import reference_source

    src = reference_source(source, split)
    maps = src.maps(split)
    return HoldoutGenerator(maps, source=src.name, split=split, content_hash=getattr(src, "content_hash", None),
                            track=track if track is not None else getattr(src, "track", None))
