"""The cosmobench checkpoint format, and reading it without ever executing code from the file.

A checkpoint is what ``torch.save`` writes of::

    {"format": "cosmobench-checkpoint", "version": 1, "generator": <registered name>,
     "config": {...}, "state": {name: tensor}, "provenance": {...}}

It is loaded with ``torch.load(weights_only=True)``: a checkpoint is data, never code. The baselines
and any third-party generator read the format through :func:`load_checkpoint` (re-exported by
:mod:`cosmobench.registry`, which resolves ``.ckpt`` / ``.pt`` model specs with it) and write it with
:func:`save_checkpoint`, so that a plugin saves exactly what the core reads instead of re-defining the format.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from cosmobench._files import check_file
from cosmobench._io import atomic_path
from cosmobench.errors import CosmobenchError

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "CHECKPOINT_SUFFIXES", "load_checkpoint", "check_checkpoint",
           "save_checkpoint", "save_torch_atomic"]

CHECKPOINT_FORMAT = "cosmobench-checkpoint"
#: Newest format version this code reads.
CHECKPOINT_VERSION = 1
#: File suffixes resolved as checkpoints.
CHECKPOINT_SUFFIXES = (".ckpt", ".pt")


def load_checkpoint(path: "str | os.PathLike") -> dict:
    """Load and check a cosmobench checkpoint without ever executing code from it.

    Parameters
    ----------
    path : path-like
        A file written by ``torch.save({"format": "cosmobench-checkpoint", "version": 1,
        "generator": name, "config": {...}, "state": {...}, "provenance": {...}}, path)``.

    Returns
    -------
    dict
        The checkpoint dictionary (tensors on the CPU).

    Raises
    ------
    CosmobenchError
        If the file is not a torch file, is truncated, holds anything that would run code, or is
        not a cosmobench checkpoint.
    """
    import torch  # heavy: only checkpoints need it

    path = Path(path)
    check_file(path, "checkpoint")
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        # torch's message advises weights_only=False: never pass that on. Only a GLOBAL the safe
        # unpickler refused means "objects that would run code"; anything else is a damaged file.
        refused = [ln.strip() for ln in str(exc).splitlines() if "GLOBAL" in ln]
        if refused:
            what = refused[0].replace("Trying to load unsupported ", "").split(" whose ")[0]
            raise CosmobenchError(
                f"{path} is not a cosmobench checkpoint: it holds Python objects ({what}) that would execute code "
                "when loaded, and cosmobench refuses to execute code from a checkpoint; save plain tensors and builtin "
                "types in the checkpoint dict"
            ) from None
        raise _unreadable_checkpoint(path) from None
    except Exception:  # truncated zip, random bytes, EOF...: torch raises many types
        raise _unreadable_checkpoint(path) from None
    check_checkpoint(ckpt, path)
    return ckpt


def _unreadable_checkpoint(path: Path) -> CosmobenchError:
    return CosmobenchError(
        f"{path} could not be read as a torch checkpoint: the file is truncated, damaged or not written by "
        "torch.save; re-download it or save the checkpoint dict again with torch.save"
    )


def check_checkpoint(ckpt: Any, path: "str | os.PathLike" = "checkpoint") -> dict:
    """Refuse a loaded object that is not a cosmobench checkpoint this code can read; return it.

    Parameters
    ----------
    ckpt : dict
        A checkpoint dictionary (loaded, or about to be saved).
    path : str or path-like
        What to call it in the error message (its file, usually).

    Raises
    ------
    CosmobenchError
        Naming ``path``, the key that is wrong, and what a checkpoint must hold.
    """
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CosmobenchError(
            f"{path} is not a cosmobench checkpoint (no format={CHECKPOINT_FORMAT!r}); save a dict with keys "
            "format, version, generator, config, state (see docs/contracts.md)"
        )
    version = ckpt.get("version", 1)
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CosmobenchError(
            f"{path} is checkpoint format version {version!r}; this cosmobench reads up to {CHECKPOINT_VERSION}: "
            "upgrade cosmobench"
        )
    for key, kind in (("generator", str), ("config", dict), ("state", dict)):
        if not isinstance(ckpt.get(key), kind):
            raise CosmobenchError(
                f"{path}: checkpoint key {key!r} is missing or not a {kind.__name__}; a cosmobench checkpoint "
                "needs generator (a registered name), config (dict) and state (dict of tensors)"
            )
    return ckpt


def save_torch_atomic(obj: Any, path: "str | os.PathLike") -> Path:
    """``torch.save(obj)`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    import torch  # heavy: only checkpoints need it

    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def save_checkpoint(ckpt: dict, path: "str | os.PathLike") -> Path:
    """Write the checkpoint ``ckpt`` to ``path`` atomically, after checking it is one.

    Parameters
    ----------
    ckpt : dict
        A checkpoint dictionary (see the module docstring); tensors should be on the CPU.
    path : path-like
        The ``.ckpt`` file; :func:`load_checkpoint` (and ``cosmobench evaluate --model PATH``) reads it back.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    CosmobenchError
        If ``ckpt`` is not in the checkpoint format (nothing is written then).
    """
    check_checkpoint(ckpt, path)
    return save_torch_atomic(ckpt, path)


# Former private name, kept for code that imported it from cosmobench.registry.
_check_checkpoint = check_checkpoint
