"""The one thing cosmobench asks of a model: a ``sample`` method.

A generator is anything with ``sample(n, *, seed) -> (n, 64, 64) float32`` physical δ maps. The
evaluator never sees the model's network, normalisation or device; it only calls ``sample``. This is
what lets GANs, diffusion models, emulators and sample files be scored by the same code.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Generator", "generator_name", "generator_info"]


@runtime_checkable
class Generator(Protocol):
    """A source of δ maps.

    Optional attributes, read when present:

    ``name`` : str
        Short model name for results and leaderboards.
    ``track`` : str or Track
        The track the model was trained for (the evaluator warns nothing, it only records it).
    ``info`` : dict
        JSON-serialisable facts about the model (parameters, training data, ...), copied into results.
    """

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """Draw ``n`` maps.

        Parameters
        ----------
        n : int
            Number of maps.
        seed : int
            Seed of the draw; the same ``(n, seed)`` must give the same maps.

        Returns
        -------
        numpy.ndarray
            ``(n, 64, 64)`` float32 physical overdensity δ = ρ/ρ̄ − 1 (so δ ≥ −1).
        """
        ...


def generator_name(generator: Any, default: str) -> str:
    """The generator's ``name`` attribute when it is a non-empty string, else ``default``."""
    name = getattr(generator, "name", None)
    return name if isinstance(name, str) and name.strip() else default


def generator_info(generator: Any) -> dict:
    """The generator's ``info`` attribute when it is a mapping (copied), else an empty dict."""
    info = getattr(generator, "info", None)
    return dict(info) if isinstance(info, dict) else {}
