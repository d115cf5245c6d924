"""The options boundary: factory options (``-o KEY=VALUE``) that cannot mean anything are refused here.

The rules are the same for every generator, so a third-party factory needs no validation of its own
for them; :func:`cosmobench.registry.resolve` applies them before every factory call.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from cosmobench.errors import CosmobenchError

__all__ = ["check_options"]

# Option names whose value counts something (maps per batch, sampler steps): a positive integer.
_COUNT_OPTION = re.compile(r"^(batch_size|steps|n_[a-z0-9_]+|[a-z0-9_]+_(size|steps|count))$")


def check_options(options: dict) -> None:
    """The options boundary: refuse factory options (``-o KEY=VALUE``) that cannot mean anything.

    Rules, the same for every generator (so a third-party factory needs no validation of its own for
    these): numbers are finite; counts (``batch_size``, ``steps``, ``n_*``, ``*_size``, ``*_steps``,
    ``*_count``) are integers ≥ 1; ``device`` names a device this machine has (``cpu``, ``auto``, or
    ``cuda``/``mps`` only where torch sees one).

    Raises
    ------
    CosmobenchError
        Naming the option and what would be accepted.
    """
    for key, value in options.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise CosmobenchError(f"option {key}={value!r} is not a finite number")
        if _COUNT_OPTION.match(key) and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise CosmobenchError(f"option {key}={value!r} must be a whole number ≥ 1 (e.g. -o {key}=64)")
        if key == "device" and value is not None:
            _check_device(value)


def _check_device(value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise CosmobenchError(f"option device={value!r} must be a device name such as cpu, cuda or cuda:0")
    if value in ("cpu", "auto"):
        return
    try:
        import torch
    except ImportError:
        raise CosmobenchError(f"option device={value!r} needs torch, which is not installed; pass -o device=cpu") from None
    try:
        dev = torch.device(value)
    except (RuntimeError, ValueError, TypeError):
        raise CosmobenchError(f"option device={value!r} is not a torch device name; use cpu, cuda or cuda:0") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise CosmobenchError(
                f"option device={value!r}: this machine has no CUDA device (torch {torch.__version__}); "
                "pass -o device=cpu (or omit it)"
            )
        if dev.index is not None and dev.index >= count:
            raise CosmobenchError(f"option device={value!r}: this machine has {count} CUDA device(s); use cuda:0..cuda:{count - 1}")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise CosmobenchError(f"option device={value!r}: MPS is not available on this machine; pass -o device=cpu")
