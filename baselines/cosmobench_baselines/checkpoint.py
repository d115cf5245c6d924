"""The baselines' side of the checkpoint format: assembling, stricter checks, packaged defaults, provenance.

The format itself (``docs/contracts.md``) is the core's: :mod:`cosmobench.checkpoint` reads
(:func:`load_checkpoint`, the same reader ``cosmobench evaluate --model X.ckpt`` uses), checks and writes it.
Here are what only trained baselines need on top::

    {"format": "cosmobench-checkpoint", "version": 1, "generator": <registered name>,
     "config": {plain types}, "state": {param name: tensor}, "provenance": {plain types}}

- :func:`make_checkpoint` assembles one from a trainer (plain-typed config and provenance, CPU tensors);
- :func:`check_checkpoint` adds to the core's check: a ``provenance`` dict, the expected generator, tensors
  only, and finite weights (a diverged run is refused with a sentence, not sampled into NaN maps);
- :func:`save_checkpoint` writes it with the core's writer plus a readable ``<stem>.json`` beside it.

A *training state* (optimisers, discriminator, EMA, step, loss history) lives in a separate file next
to it (``<name>.train.pt``), also a dict of tensors and plain types, loadable with ``weights_only=True``.
Every file is written atomically (temporary file + rename).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from cosmobench import checkpoint as core
from cosmobench._io import atomic_write_json
from cosmobench.checkpoint import load_checkpoint, save_torch_atomic
from cosmobench.errors import CosmobenchError

__all__ = [
    "FORMAT",
    "VERSION",
    "make_checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "check_checkpoint",
    "packaged_checkpoint_path",
    "default_checkpoint",
    "save_torch_atomic",
    "plain",
]

FORMAT = core.CHECKPOINT_FORMAT
VERSION = core.CHECKPOINT_VERSION

_PLAIN = (str, int, float, bool, type(None))


def plain(obj: Any, where: str = "config") -> Any:
    """Return ``obj`` converted to plain Python types (dict/list/str/int/float/bool/None).

    Numpy scalars and tuples are converted; anything else raises ``TypeError`` so a checkpoint can
    never carry an object that ``weights_only=True`` would refuse.
    """
    if obj is None or type(obj) in _PLAIN:
        return obj
    for typ in (bool, int, float, str):  # subclasses (TorchVersion, IntEnum, ...) become the plain type
        if isinstance(obj, typ):
            return typ(obj)
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:  # numpy / torch scalar
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v, where) for v in obj]
    raise TypeError(f"{where}: {type(obj).__name__} is not a plain type (str, int, float, bool, None, list, dict)")


def make_checkpoint(generator: str, config: dict, state: dict, provenance: dict) -> dict:
    """Assemble a checkpoint dict; tensors are detached, moved to CPU and made contiguous."""
    st = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"state[{k!r}] is a {type(v).__name__}, not a tensor")
        st[k] = v.detach().to("cpu").contiguous().clone()
    return {
        "format": FORMAT,
        "version": VERSION,
        "generator": str(generator),
        "config": plain(config, "config"),
        "state": st,
        "provenance": plain(provenance, "provenance"),
    }


def save_checkpoint(ckpt: dict, path: "str | os.PathLike", *, provenance_json: bool = True) -> Path:
    """Write ``ckpt`` atomically (the core's writer); also write its provenance (plus config) as ``<stem>.json``."""
    check_checkpoint(ckpt, source=str(path))
    path = core.save_checkpoint(ckpt, path)
    if provenance_json:
        atomic_write_json(
            path.with_suffix(".json"),
            {"generator": ckpt["generator"], "config": ckpt["config"], "provenance": ckpt["provenance"]},
        )
    return path


def check_checkpoint(ckpt: Any, *, expect: "str | tuple[str, ...] | None" = None, source: str = "checkpoint") -> dict:
    """Validate a baseline checkpoint dict: the core's format check, then the baselines' own; return it.

    Parameters
    ----------
    ckpt : dict
        The loaded checkpoint.
    expect : str or tuple of str, optional
        Registered generator name(s) the checkpoint must belong to.
    source : str
        What to call it in messages (its file, usually).

    Raises
    ------
    CosmobenchError
        Not in the format, no ``provenance`` dict, another generator's, a non-tensor in ``state``, or NaN/inf weights.
    """
    core.check_checkpoint(ckpt, source)
    if not isinstance(ckpt.get("provenance"), dict):
        raise CosmobenchError(f"{source}: key 'provenance' is missing or not a dict; re-save it with cosmobench-train")
    if expect is not None:
        names = (expect,) if isinstance(expect, str) else tuple(expect)
        if ckpt["generator"] not in names:
            raise CosmobenchError(
                f"{source} is a checkpoint of generator {ckpt['generator']!r}, not {' or '.join(map(repr, names))}; "
                f"load it with --model {ckpt['generator']} (or pass the .ckpt file itself)"
            )
    for k, v in ckpt["state"].items():
        if not isinstance(v, torch.Tensor):
            raise CosmobenchError(f"{source}: state[{k!r}] is not a tensor")
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise CosmobenchError(f"{source}: state[{k!r}] holds NaN or inf (a diverged training run); retrain it")
    return ckpt


def packaged_checkpoint_path(name: str) -> Path:
    """Path of the committed checkpoint ``cosmobench_baselines/checkpoints/<name>.ckpt`` (may not exist)."""
    return Path(str(resources.files("cosmobench_baselines") / "checkpoints" / f"{name}.ckpt"))


def default_checkpoint(name: str) -> dict:
    """Load the packaged checkpoint of generator ``name``; a clear error when it was never trained."""
    path = packaged_checkpoint_path(name)
    if not path.is_file():
        raise CosmobenchError(
            f"no trained checkpoint for {name!r} is installed (looked for {path}); "
            f"train it with `python -m cosmobench_baselines.train {name}` and copy the resulting "
            f"{name}.ckpt there, or pass a checkpoint file as the model spec"
        )
    return check_checkpoint(load_checkpoint(path), expect=name, source=str(path))


def describe_training(provenance: dict) -> str:
    """One line saying where and how long a checkpoint was trained, for results and leaderboards.

    E.g. ``"9917 steps, 360 s on NVIDIA H200; data sim boxes 3 (2048 maps)"``; empty when the
    provenance does not say. A fine-tuned checkpoint (``init_from``) says what it started from.
    """
    hw = provenance.get("hardware") or {}
    where = hw.get("device_name") or hw.get("device") or ""
    world = (hw.get("distributed") or {}).get("world_size")
    if where and world:
        where = f"{world}× {where}"
    parts = []
    if provenance.get("steps") is not None:
        parts.append(f"{provenance['steps']} steps")
    if provenance.get("wall_time_s") is not None:
        parts.append(f"{float(provenance['wall_time_s']):.0f} s")
    text = ", ".join(parts)
    if where:
        text = f"{text} on {where}" if text else f"on {where}"
    src = provenance.get("source") or {}
    if src.get("name"):
        boxes = src.get("boxes")
        data = f"data {src['name']}" + (f" boxes {','.join(str(b) for b in boxes)}" if boxes else "")
        if src.get("n_maps"):
            data += f" ({src['n_maps']} maps)"
        text = f"{text}; {data}" if text else data
    init = provenance.get("init_from") or {}
    if init.get("steps") is not None:
        text += f"; fine-tuned from a {init['steps']}-step checkpoint"
    return text


def training_info(provenance: dict) -> dict:
    """The part of a neural generator's ``info`` that says how it was trained (shared by DDPMs and GANs)."""
    return {
        "train_steps": provenance.get("steps"),
        "train_source": provenance.get("source"),
        "trained": describe_training(provenance),
        "output_clipping": "delta < -1 clipped to -1 (fraction reported as clip_fraction)",
    }
