"""The one thing cosmobench asks of a model: a ``sample`` method.

A generator is anything with ``sample(n, *, seed) -> (n, 64, 64) float32`` physical δ maps. The
evaluator never sees the model's network, normalisation or device; it only calls ``sample``. This is
what lets GANs, diffusion models, emulators and sample files be scored by the same code.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Generator", "generator_name", "generator_info", "stored_maps"]


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
    ``ordered`` : bool
        True for a generator that serves a fixed sequence of stored maps (a sample file,
        :class:`cosmobench.data.samples.SampleFileGenerator`). It then also has ``__len__`` (maps
        available) and ``take(start, stop) -> maps start..stop-1``, and ``evaluate`` reads maps
        ``0 .. n-1`` in order with ``take`` instead of calling ``sample`` with chunk seeds (which would
        serve the same first maps for every chunk), and refuses an ``n`` larger than ``len``.
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


def stored_maps(generator: Any) -> "int | None":
    """Maps an ``ordered`` generator holds (it is read in order with ``take``), or None for a seeded one.

    Raises
    ------
    CosmobenchError
        If the generator says ``ordered = True`` but lacks ``take(start, stop)`` or ``len()``.
    """
    if getattr(generator, "ordered", False) is not True:
        return None
    if not callable(getattr(generator, "take", None)) or not hasattr(generator, "__len__"):
        from cosmobench.errors import CosmobenchError

        raise CosmobenchError(
            f"{type(generator).__name__} sets ordered = True but has no take(start, stop) or len(); an ordered "
            "generator serves stored maps through both (see cosmobench.protocol.Generator)"
        )
    return int(len(generator))
