"""Where the baselines run: the one device choice for sampling and training."""

from __future__ import annotations

import torch

from cosmobench.registry import check_options

__all__ = ["pick_device"]


def pick_device(device: "str | torch.device | None" = "auto") -> torch.device:
    """The torch device for ``device``: ``None`` or ``"auto"`` is CUDA when torch sees one, else the CPU.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...

    Raises
    ------
    CosmobenchError
        If the name is not a device or this machine has no such device (the core's option check, the one
        ``cosmobench evaluate -o device=...`` applies), with what to pass instead.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    check_options({"device": device})
    return torch.device(device)
