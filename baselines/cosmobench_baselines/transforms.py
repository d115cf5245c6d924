"""Invertible maps between physical δ and a network's working space.

A transform is described by a plain dict (stored in a checkpoint's config) and rebuilt with
:func:`from_config`. ``forward`` takes δ to network space, ``inverse`` takes network output back to
δ and clips at δ = −1 (a density cannot be negative); the fraction clipped is reported by the caller.

- ``linear`` (the seed's): δ ∈ [lo, hi] = [−1, 235.2] mapped linearly to [−1, 1]. Nearly every pixel
  lands within 0.01 of −1, so a 0.01 error in network space is a 1.2 error in δ.
- ``log``: y = (ln(1 + δ + ε) − μ) / σ with μ, σ measured on the training maps: the field is close
  to lognormal, so this is close to Gaussian and the voids and the haloes both get resolution.
- ``contrast`` (the seed's non-linear contrast): y = s(δ+1)/(s(δ+1) + a) rescaled to [−1, 1].
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["Transform", "from_config", "fit_transform", "CLIP_FLOOR"]

#: Smallest δ handed out: the core rejects δ < −1, and −1 itself is a legal (empty) pixel.
CLIP_FLOOR = -1.0


class Transform:
    """Base class; subclasses implement ``forward`` / ``_inverse`` on torch tensors."""

    kind = "identity"

    def __init__(self, **params):
        self.params = {k: float(v) for k, v in params.items()}

    def config(self) -> dict:
        return {"kind": self.kind, **self.params}

    def forward(self, delta: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        return delta

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        return y

    def inverse(self, y: torch.Tensor) -> "tuple[torch.Tensor, float]":
        """δ from network space, clipped at −1; returns (δ, fraction of pixels clipped)."""
        d = self._inverse(y.float())
        d = torch.nan_to_num(d, nan=CLIP_FLOOR, posinf=float(np.finfo(np.float32).max), neginf=CLIP_FLOOR)
        below = d < CLIP_FLOOR
        frac = float(below.float().mean()) if d.numel() else 0.0
        return d.clamp_min(CLIP_FLOOR), frac

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


class LinearTransform(Transform):
    kind = "linear"

    def __init__(self, lo: float = -1.0, hi: float = 235.2):
        super().__init__(lo=lo, hi=hi)

    def forward(self, delta):
        lo, hi = self.params["lo"], self.params["hi"]
        return 2.0 * (delta - lo) / (hi - lo) - 1.0

    def _inverse(self, y):
        lo, hi = self.params["lo"], self.params["hi"]
        return (y + 1.0) * 0.5 * (hi - lo) + lo


class LogTransform(Transform):
    kind = "log"

    def __init__(self, eps: float = 1e-2, mean: float = 0.0, std: float = 1.0):
        super().__init__(eps=eps, mean=mean, std=std)

    def forward(self, delta):
        p = self.params
        return (torch.log(torch.clamp(1.0 + delta + p["eps"], min=p["eps"])) - p["mean"]) / p["std"]

    def _inverse(self, y):
        p = self.params
        # exp overflows float32 above ~88: cap the exponent (δ ~ 1e38 is already absurd).
        return torch.exp(torch.clamp(y * p["std"] + p["mean"], max=80.0)) - 1.0 - p["eps"]


class ContrastTransform(Transform):
    """The seed's x/(x+a) on ρ/ρ̄ = 1 + δ (scaled by ``scale``), mapped to [−1, 1]."""

    kind = "contrast"

    def __init__(self, a: float = 0.1, scale: float = 1.0):
        super().__init__(a=a, scale=scale)

    def forward(self, delta):
        a, s = self.params["a"], self.params["scale"]
        x = torch.clamp(s * (1.0 + delta), min=0.0)
        return 2.0 * x / (x + a) - 1.0

    def _inverse(self, y):
        a, s = self.params["a"], self.params["scale"]
        u = torch.clamp((y + 1.0) * 0.5, min=0.0, max=1.0 - 1e-6)
        return a * u / (1.0 - u) / s - 1.0


_KINDS = {c.kind: c for c in (LinearTransform, LogTransform, ContrastTransform)}


def from_config(cfg: dict) -> Transform:
    """Rebuild a transform from its config dict (``{"kind": ..., params...}``)."""
    cfg = dict(cfg)
    kind = cfg.pop("kind", None)
    if kind not in _KINDS:
        raise ValueError(f"unknown transform kind {kind!r}; known: {sorted(_KINDS)}")
    return _KINDS[kind](**cfg)


def fit_transform(cfg: dict, maps: np.ndarray) -> Transform:
    """Build the transform of ``cfg``, measuring data-dependent parameters (log: μ, σ) on ``maps``."""
    cfg = dict(cfg)
    if cfg.get("kind") == "log":
        eps = float(cfg.get("eps", 1e-2))
        y = np.log(np.clip(1.0 + np.asarray(maps, dtype=np.float64) + eps, eps, None))
        cfg["mean"], cfg["std"] = float(y.mean()), float(y.std())
    return from_config(cfg)
