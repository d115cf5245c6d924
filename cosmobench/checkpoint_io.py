"""The checkpoint format in one place: read (:func:`load_checkpoint`), check (:func:`check_checkpoint`), write.

A cosmobench checkpoint (``docs/contracts.md``) is a ``torch.save`` of::

    {"format": "cosmobench-checkpoint", "version": 1, "generator": <registered name>,
     "config": {...}, "state": {name: tensor}, "provenance": {...}}

read with ``torch.load(weights_only=True)``: data, never code. :mod:`cosmobench.registry` reads and
checks it when a ``.ckpt`` is a model spec; this module adds the writer, so that a plugin (such as
``cosmobench-baselines``) saves exactly what the core reads instead of re-defining the format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cosmobench._io import atomic_path
from cosmobench.registry import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, _check_checkpoint, load_checkpoint

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "check_checkpoint", "load_checkpoint", "save_checkpoint",
           "save_torch_atomic"]


def check_checkpoint(ckpt: Any, source: "str | os.PathLike" = "checkpoint") -> dict:
    """Check that ``ckpt`` has the checkpoint format's keys and types; return it.

    Parameters
    ----------
    ckpt : dict
        A checkpoint dictionary (loaded, or about to be saved).
    source : str or path-like
        What to call it in the error message (its file, usually).

    Raises
    ------
    CosmobenchError
        If ``format``, ``version``, ``generator``, ``config`` or ``state`` is missing or of the wrong type.
    """
    _check_checkpoint(ckpt, Path(source) if not isinstance(source, Path) else source)
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
