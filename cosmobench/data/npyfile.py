"""Checked reading of ``.npy`` data files: the header before any data, never a pickle, values checked.

Every file is opened with ``allow_pickle=False`` (a data file is never code) and memory-mapped; its
header is checked before any data is read (dtype, shape, truncation). The importers
(:mod:`cosmobench.data.loaders`) check each chunk they read with :func:`check_values` (NaN/Inf, δ < −1)
and each whole field with :func:`check_mean` (a δ field averages to 0).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cosmobench._files import DESCRIPTIONS, check_file
from cosmobench.errors import CosmobenchError

__all__ = ["inspect_npy", "open_npy", "check_values", "check_mean"]

# CIC δ cannot go below −1; float32 rounding of a painter can undershoot a little.
_DELTA_FLOOR = -1.0 - 1e-4
# A full δ cube or map averages to 0 up to float error; far from 0 means the file holds ρ or ρ/ρ̄.
_MEAN_TOL = 0.05


def inspect_npy(path: "str | os.PathLike") -> tuple[tuple[int, ...], np.dtype]:
    """Read and check the header of a ``.npy`` file without loading its data.

    Parameters
    ----------
    path : path-like
        File to inspect.

    Returns
    -------
    shape : tuple of int
    dtype : numpy.dtype

    Raises
    ------
    CosmobenchError
        If the file is missing, not a ``.npy`` array (e.g. an ``.npz`` or pickle), holds Python
        objects, is not floating point, or is shorter than its header says (truncated download).
    """
    path = Path(path)
    # Directories, missing or empty files, text, .npz, pickles: each said as what it is.
    kind = check_file(path, ".npy file")
    if kind != "npy":
        raise CosmobenchError(f"{path}: holds {DESCRIPTIONS[kind]}, not a .npy array; save δ with numpy.save(path, array)")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _fortran, dtype = reader(fh, max_header_size=100_000)
        except Exception as exc:  # any malformed header: numpy raises ValueError or similar
            raise CosmobenchError(f"{path}: has a damaged .npy header ({exc}); download or save the file again") from None
        offset = fh.tell()
    if dtype.hasobject:
        raise CosmobenchError(
            f"{path}: holds Python objects (a pickled array), which cosmobench never loads; "
            "save δ as a plain float32 array"
        )
    if dtype.kind != "f":
        raise CosmobenchError(
            f"{path}: holds {dtype} values, expected floating-point δ; save δ = ρ/ρ̄ − 1 as float32"
        )
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size < need:
        raise CosmobenchError(
            f"{path}: is truncated ({size} of {need} bytes for a {dtype} array of shape {shape}); "
            "download or copy it again"
        )
    return tuple(int(s) for s in shape), dtype


def open_npy(path: "str | os.PathLike") -> np.ndarray:
    """Memory-map a checked ``.npy`` file (read-only, ``allow_pickle=False``)."""
    inspect_npy(path)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CosmobenchError(f"{path}: could not be read ({exc}); download or save the file again") from None


def check_values(path: Path, chunk: np.ndarray, *, delta: bool = True) -> None:
    finite = np.isfinite(chunk)
    if not finite.all():
        bad = int(chunk.size - np.count_nonzero(finite))
        raise CosmobenchError(f"{path}: contains {bad} NaN/Inf values; fix or re-download the file")
    if delta and chunk.size and float(chunk.min()) < _DELTA_FLOOR:
        raise CosmobenchError(
            f"{path}: has δ = {float(chunk.min()):.3g} < −1, impossible for δ = ρ/ρ̄ − 1; "
            "check the file holds a density contrast"
        )


def check_mean(path: Path, mean: float) -> None:
    if abs(mean) > _MEAN_TOL:
        raise CosmobenchError(
            f"{path}: mean value is {mean:.4g}, but a δ = ρ/ρ̄ − 1 field averages to 0; if the file holds "
            "ρ or ρ/ρ̄, convert it to δ first"
        )
