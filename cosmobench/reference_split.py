"""Which reference maps a score uses, and the checks that they are the maps the source recorded.

The test split is cut into a **compare group** (the maps the model is measured against) and a
**null pool** (the maps fresh reference draws are taken from to measure the null):

- two or more test boxes: the compare group is every other test box; the pool is the other test boxes
  and the training boxes. Whole boxes on each side, never tiles of one box on both sides (tiles of a
  box are correlated);
- one test box: its two contiguous halves (recorded as ``floor_split = "tile"``).

The validation boxes are never in either group: the holdout baseline draws from them, so that its row
is an out-of-pool check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from cosmobench._io import sha256_file
from cosmobench.data.store import DEFAULT_BOXES
from cosmobench.errors import CosmobenchError
from cosmobench.stats._validate import check_maps

__all__ = ["Group", "split_plan", "rows_of", "verify_boxes", "check_reference_maps"]


@dataclass(frozen=True)
class Group:
    """Maps of a reference group: ``(box, start, stop)`` pieces, in order."""

    pieces: tuple[tuple[int, int, int], ...]

    @property
    def n(self) -> int:
        """Number of maps."""
        return sum(stop - start for _, start, stop in self.pieces)

    @property
    def boxes(self) -> list[int]:
        """Sorted indices of the boxes the group draws from."""
        return sorted({b for b, _, _ in self.pieces})

    def load(self, src) -> np.ndarray:
        """The group's maps, ``(n, H, W)``, concatenated piece by piece."""
        return np.concatenate([np.asarray(src.box_maps(b)[start:stop]) for b, start, stop in self.pieces], axis=0)

    def load_rows(self, src, rows) -> np.ndarray:
        """Rows ``rows`` (indices into the group, sorted) of :meth:`load` without reading the others."""
        rows = np.asarray(rows, dtype=np.int64)
        parts, offset = [], 0
        for b, start, stop in self.pieces:
            inside = rows[(rows >= offset) & (rows < offset + stop - start)]
            if inside.size:
                parts.append(np.asarray(src.box_maps(b)[start + inside - offset]))
            offset += stop - start
        return np.concatenate(parts, axis=0)


def split_plan(src) -> tuple[Group, Group, str]:
    """Compare group, null pool and how the test split was cut (``"box"`` or ``"tile"``).

    Parameters
    ----------
    src : Source
        The reference source.

    Returns
    -------
    compare, pool : Group
    floor_split : {"box", "tile"}

    Raises
    ------
    CosmobenchError
        If the source has no test box, or a lone test box with fewer than 4 maps.
    """
    test = src.boxes("test")
    if not test:
        raise CosmobenchError(
            f"source {src.name!r} has no test boxes to compare with; build or import more boxes "
            f"(`cosmobench data build --boxes {DEFAULT_BOXES}`)"
        )
    sizes = {b: int(src.meta["boxes"][str(b)]["n_maps"]) for b in src.boxes()}
    train = [(b, 0, sizes[b]) for b in src.boxes("train")]
    if len(test) >= 2:
        compare = Group(tuple((b, 0, sizes[b]) for b in test[0::2]))
        pool = Group(tuple((b, 0, sizes[b]) for b in test[1::2]) + tuple(train))
        return compare, pool, "box"
    b, m = test[0], sizes[test[0]]
    if m < 4:
        raise CosmobenchError(f"source {src.name!r} has one test box with {m} maps; at least 4 are needed")
    # Contiguous halves (slabs far apart along the box) are less correlated than interleaved tiles.
    return Group(((b, 0, m // 2),)), Group(((b, m // 2, m),) + tuple(train)), "tile"


def rows_of(group: Group, boxes: "set[int]") -> np.ndarray:
    """Row indices of ``group`` (in its concatenated order) that come from ``boxes``."""
    out, at = [], 0
    for b, start, stop in group.pieces:
        if b in boxes:
            out.append(np.arange(at, at + stop - start))
        at += stop - start
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def verify_boxes(src, boxes: "Iterable[int]") -> None:
    """Re-hash the tile files about to be summarised against the source's recorded sha256.

    Why: reference summaries are cached under the source's content hash, which is computed from the
    *recorded* hashes; summarising tiles damaged since would cache wrong numbers under the right key
    (and blame the model for them). Hashing costs far less than summarising the same maps.

    Raises
    ------
    CosmobenchError
        "The reference source is corrupted, not the model", with how to rebuild it.
    """
    for b in sorted(set(boxes)):
        entry = src.meta["boxes"][str(b)]["files"]["0"]
        path = src.path / entry["file"]
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            raise CosmobenchError(_corrupt_reference(src, f"{path} does not match the sha256 recorded when it was written"))


def check_reference_maps(src, maps: np.ndarray) -> None:
    """Reference maps the statistics would refuse (NaN, δ < −1, wrong shape) mean a damaged reference.

    Checked here, with the statistics' own rule, so the message names the reference and what to do
    instead of blaming the model (statistics' configuration errors keep their own messages).
    """
    try:
        check_maps(maps, shape=src.track.shape, name=f"maps of reference source {src.name!r}", dtype=np.float32)
    except CosmobenchError as exc:
        what = str(exc).split(";")[0]  # the finding, without advice meant for a model's maps
        raise CosmobenchError(_corrupt_reference(src, f"its maps are not valid δ maps ({what})")) from None


def _corrupt_reference(src, why: str) -> str:
    how = (f"`cosmobench data build --source {src.name}` replaces damaged boxes" if src.kind == "simulated"
           else "re-import its files with `cosmobench data import`")
    return (
        f"the reference source {src.name!r} is corrupted, not the model: {why}; run `cosmobench data info --verify` "
        f"and rebuild it ({how})"
    )
