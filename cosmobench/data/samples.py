"""Sample files as generators: maps drawn elsewhere (``.npy`` / ``.npz`` / ``.h5``), served as they are.

A :class:`SampleFileGenerator` is an ``ordered`` generator (:mod:`cosmobench.protocol`): it holds a
fixed sequence of maps, and the evaluator walks it in order with :meth:`~SampleFileGenerator.take`
instead of seeding ``sample`` calls. A ``<file>.meta.json`` sidecar carries the samples' provenance.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cosmobench._files import check_file
from cosmobench.errors import CosmobenchError

__all__ = ["SampleFileGenerator", "SAMPLE_SUFFIXES"]

#: File suffixes read as samples.
SAMPLE_SUFFIXES = (".npy", ".npz", ".h5", ".hdf5")


class SampleFileGenerator:
    """Serve the maps stored in a ``.npy`` / ``.npz`` / ``.h5`` file as a generator.

    ``sample(n, seed=...)`` returns the first ``n`` maps whatever the seed, so a file scores
    deterministically; :meth:`take` reads any slice, which the evaluator uses to walk the file in
    order. Maps are read lazily (``.npy`` is memory-mapped), so a 100,000-map file is never loaded whole.

    Parameters
    ----------
    path : path-like
        The file. ``.npz``: the single array, or the array named ``samples``. ``.h5``: the dataset
        ``samples``, or the single dataset.
    """

    #: The generator protocol's capability for stored maps (:func:`cosmobench.protocol.stored_maps`).
    ordered = True

    def __init__(self, path: "str | os.PathLike") -> None:
        self.path = Path(path)
        self.name = self.path.stem
        self._array, self._h5_key = self._open()
        self.shape: tuple[int, ...] = tuple(int(s) for s in self._array.shape)
        if len(self.shape) != 3:
            raise CosmobenchError(
                f"{self.path} holds an array of shape {self.shape}; samples must be a stack of maps (n, 64, 64)"
            )
        self.info = {"file": str(self.path), "n_available": self.shape[0], "dtype": str(self._array.dtype)}
        self._read_sidecar()

    def _read_sidecar(self) -> None:
        """Read ``<file>.meta.json`` when present: ``{"name": ..., "info": {...}}`` says where the samples came from.

        Samples drawn elsewhere (a GPU machine, a collaborator) keep their provenance this way: the name
        goes on the leaderboard row and ``info`` (model, checkpoint sha256, sampler, hardware) into the result.
        """
        meta_path = self.path.with_name(self.path.name + ".meta.json")
        if not meta_path.exists():
            return
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            name, info = meta.get("name", self.name), meta.get("info", {})
            if not isinstance(name, str) or not name or not isinstance(info, dict):
                raise ValueError("'name' must be a non-empty string and 'info' an object")
        except (OSError, ValueError, AttributeError) as exc:
            raise CosmobenchError(
                f"{meta_path} is not a valid samples sidecar ({exc}); fix it to "
                '{"name": "...", "info": {...}} or delete it'
            ) from None
        self.name = name
        self.info.update(info)
        self.info["sidecar"] = str(meta_path)

    def __len__(self) -> int:
        return self.shape[0]

    def _open(self) -> "tuple[Any, str | None]":
        suffix = self.path.suffix.lower()
        check_file(self.path, "sample file")
        try:
            if suffix == ".npy":
                return np.load(self.path, mmap_mode="r", allow_pickle=False), None
            if suffix == ".npz":
                return self._open_npz(), None
            return self._open_h5()
        except CosmobenchError:
            raise
        except Exception as exc:  # truncated files, pickled objects, not-an-HDF5...
            raise CosmobenchError(
                f"{self.path} could not be read as {suffix} samples ({type(exc).__name__}: {exc}); the file is "
                "truncated, holds Python objects, or is not in that format: re-save the maps with numpy"
            ) from None

    def _open_npz(self) -> np.ndarray:
        with np.load(self.path, allow_pickle=False) as npz:
            keys = list(npz.files)
            key = "samples" if "samples" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise CosmobenchError(
                    f"{self.path} holds arrays {keys}; name the samples array 'samples' (np.savez(path, samples=maps))"
                )
            return npz[key]

    def _open_h5(self) -> "tuple[Any, str]":
        import h5py

        with h5py.File(self.path, "r") as fh:
            datasets: list[str] = []
            fh.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
            key = "samples" if "samples" in datasets else (datasets[0] if len(datasets) == 1 else None)
            if key is None:
                raise CosmobenchError(
                    f"{self.path} holds datasets {datasets}; name the samples dataset 'samples'"
                )
            ds = fh[key]
            # Keep only metadata here; take() reopens the file so no handle outlives a call.
            return _H5Shape(ds.shape, ds.dtype), key

    def take(self, start: int, stop: int) -> np.ndarray:
        """Maps ``start:stop`` of the file, as stored (validation is the evaluator's job)."""
        if stop > len(self):
            raise CosmobenchError(
                f"{self.path} holds {len(self)} maps but {stop} were asked for; pass --n {len(self)} or fewer, "
                "or write more samples"
            )
        if self._h5_key is None:
            return np.array(self._array[start:stop])
        import h5py

        try:
            with h5py.File(self.path, "r") as fh:
                return np.asarray(fh[self._h5_key][start:stop])
        except Exception as exc:
            raise CosmobenchError(f"{self.path}: reading maps {start}:{stop} failed ({exc}); the file is damaged") from None

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """The first ``n`` maps (the seed is ignored: stored samples are what they are)."""
        return self.take(0, int(n))


@dataclass(frozen=True)
class _H5Shape:
    shape: tuple
    dtype: Any
