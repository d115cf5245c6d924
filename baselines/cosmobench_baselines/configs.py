"""Training configurations, as data.

Each entry of :data:`CONFIGS` is a plain dict; ``generator`` names the registered generator the
checkpoint will belong to. The plain names (``ddpm``, ``gan``, ...) are the CPU-sized defaults: their
step caps take about 9 minutes on 2 otherwise idle CPU cores (measured: ddpm-seed 0.30, ddpm 0.47,
gan-seed 0.16, gan 0.12 s/step at batch 32); on a busy machine ``--minutes`` stops them earlier (see
``README.md``). The ``-gpu`` variants are what the models should get on one GPU.
The seed's two models keep the seed's architecture in both variants; only batch size and duration
change.
"""

from __future__ import annotations

import copy

__all__ = ["CONFIGS", "get_config", "describe"]

_SEED_DDPM = {
    "generator": "ddpm-seed",
    "description": "the seed's DDPM: table-2.1 U-Net, T=1000 linear beta 1e-4..0.02, eps-MSE, [-1,235.2]->[-1,1]",
    "model": {"kind": "unet", "channels": [10, 20, 40, 80, 160], "n_blocks": 1, "residual": False,
              "attn_levels": [], "dropout": 0.0, "time_dim": 64, "stem": False, "pool_bottleneck": True},
    "diffusion": {"T": 1000, "schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02, "prediction": "eps"},
    "transform": {"kind": "linear", "lo": -1.0, "hi": 235.2},
    "train": {"batch_size": 32, "lr": 2e-4, "steps": 1800, "ema": 0.0, "augment": False, "grad_clip": 0.0,
              "warmup": 0, "ckpt_every": 100, "precision": "fp32"},
    "sample": {"sampler": "ddpm", "steps": 1000, "eta": 0.0, "batch_size": 128, "clip_x0": False},
}

_DDPM = {
    "generator": "ddpm",
    "description": "better DDPM: log(1+delta+eps) standardised, cosine schedule, v-prediction, EMA, DDIM-50, "
                   "residual U-Net with attention at 8^2, flips/rot90 augmentation",
    "model": {"kind": "unet", "channels": [16, 32, 64, 96], "n_blocks": 1, "residual": True,
              "attn_levels": [3], "dropout": 0.0, "time_dim": 64},
    "diffusion": {"T": 1000, "schedule": "cosine", "s": 0.008, "prediction": "v"},
    "transform": {"kind": "log", "eps": 0.01},
    "train": {"batch_size": 32, "lr": 5e-4, "steps": 1100, "ema": 0.995, "augment": True, "grad_clip": 1.0,
              "warmup": 50, "ckpt_every": 100},
    "sample": {"sampler": "ddim", "steps": 50, "eta": 0.0, "batch_size": 128, "clip_x0": True},
}

_SEED_GAN = {
    "generator": "gan-seed",
    "description": "the seed's MLP GAN: G 100->256->512->1024->4096 tanh, D 4096->2048->1024->512->256->1 "
                   "(ReLU, dropout 0.3, sigmoid), BCE, Adam 1e-4, batch 32, [-1,235.2]->[-1,1]",
    "model": {"kind": "mlp", "latent": 100, "g_hidden": [256, 512, 1024], "d_hidden": [2048, 1024, 512, 256],
              "dropout": 0.3},
    "loss": "bce",
    "transform": {"kind": "linear", "lo": -1.0, "hi": 235.2},
    "train": {"batch_size": 32, "lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.9, 0.999], "n_d": 1, "ema": 0.0,
              "augment": False, "steps": 3400, "ckpt_every": 250, "precision": "fp32"},
    "sample": {"batch_size": 256},
}

_GAN = {
    "generator": "gan",
    "description": "DCGAN-like 64^2 generator (upsample+conv, BN), spectral-norm conv discriminator, hinge loss, "
                   "log(1+delta+eps) standardised, flips/rot90 augmentation, EMA generator",
    "model": {"kind": "conv", "latent": 128, "g_channels": [128, 64, 32, 16, 8], "d_channels": [16, 32, 64, 128]},
    "loss": "hinge",
    "transform": {"kind": "log", "eps": 0.01},
    "train": {"batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.0, 0.9], "n_d": 1, "ema": 0.999,
              "augment": True, "steps": 4500, "ckpt_every": 250},
    "sample": {"batch_size": 256},
}


def _variant(base: dict, **train) -> dict:
    cfg = copy.deepcopy(base)
    cfg["train"].update(train)
    return cfg


def _gpu_ddpm() -> dict:
    # Sized for a ~10-minute single-GPU run (≈ 10-20k steps): EMA horizon ~1k steps, and a 3.5 M-parameter
    # U-Net (14 MB) so the checkpoint stays under 20 MB and travels back through the device tool's 16 MiB files.
    cfg = _variant(_DDPM, batch_size=64, lr=3e-4, steps=100_000, ema=0.999, warmup=500, ckpt_every=2000)
    cfg["model"].update(channels=[32, 64, 96, 128], n_blocks=2, attn_levels=[3], dropout=0.0, time_dim=128)
    return cfg


def _gpu_gan() -> dict:
    cfg = _variant(_GAN, batch_size=64, steps=100_000, ckpt_every=2000)
    cfg["model"].update(g_channels=[256, 128, 64, 32, 16], d_channels=[32, 64, 128, 256])
    return cfg


CONFIGS: dict[str, dict] = {
    "ddpm-seed": _SEED_DDPM,
    "ddpm": _DDPM,
    "gan-seed": _SEED_GAN,
    "gan": _GAN,
    "ddpm-seed-gpu": _variant(_SEED_DDPM, batch_size=64, steps=100_000, ckpt_every=2000),
    "ddpm-gpu": _gpu_ddpm(),
    "gan-seed-gpu": _variant(_SEED_GAN, steps=200_000, ckpt_every=5000),
    "gan-gpu": _gpu_gan(),
}


def get_config(name: str) -> dict:
    """A deep copy of config ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return copy.deepcopy(CONFIGS[name])
    except KeyError:
        raise KeyError(f"unknown config {name!r}; known: {', '.join(CONFIGS)}") from None


def describe() -> str:
    """One line per config, for ``--help``."""
    lines = []
    for name, cfg in CONFIGS.items():
        tr = cfg["train"]
        lines.append(f"  {name:<14} -> {cfg['generator']:<9} batch {tr['batch_size']}, {tr['steps']} steps: "
                     f"{cfg['description']}")
    return "\n".join(lines)
