"""GAN baselines: ``gan-seed`` (the seed report's MLP GAN) and ``gan`` (a convolutional one).

- ``gan-seed``: generator MLP 100 → 256 → 512 → 1024 → 4096 (ReLU, tanh out; the layout of the
  tutorial the seed's training loop follows), discriminator MLP 4096 → 2048 → 1024 → 512 → 256 → 1
  (ReLU, dropout 0.3, sigmoid), BCE loss, Adam (lr 1e-4), batch 32, data mapped linearly
  [−1, 235.2] → [−1, 1]. The sigmoid + BCE is computed as ``BCEWithLogits`` on the pre-sigmoid
  output: the same function, without the float overflow.
- ``gan``: DCGAN-like 64² generator (nearest upsampling + 3×3 convs, BatchNorm, ReLU; linear output
  in the standardised log(1 + δ + ε) space), discriminator of strided convs with spectral norm and
  LeakyReLU, hinge loss, Adam (β = 0, 0.9), random flips / 90° rotations of the real maps (the field
  is statistically isotropic), EMA of the generator weights for sampling.

Only the generator goes into the checkpoint (the discriminator and the optimisers live in the
training state), which keeps every checkpoint under 20 MB.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from cosmobench.data.track import get_track
from cosmobench.errors import CosmobenchError
from cosmobench_baselines import transforms as T
from cosmobench_baselines.checkpoint import check_checkpoint, default_checkpoint, training_info
from cosmobench_baselines.device import pick_device
from cosmobench_baselines.unet import count_parameters

__all__ = ["MLPGenerator", "MLPDiscriminator", "ConvGenerator", "ConvDiscriminator", "GANGenerator",
           "gan_seed_factory", "gan_factory", "build_generator", "build_discriminator"]


class MLPGenerator(nn.Module):
    def __init__(self, latent: int = 100, hidden=(256, 512, 1024), out: int = 4096):
        super().__init__()
        layers, cin = [], latent
        for h in hidden:
            layers += [nn.Linear(cin, h), nn.ReLU()]
            cin = h
        layers += [nn.Linear(cin, out), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.latent = latent
        self.side = math.isqrt(out)
        if self.side**2 != out:
            raise ValueError(f"MLPGenerator out={out} is not a square map's pixel count")

    def forward(self, z):
        return self.model(z).view(z.shape[0], 1, self.side, self.side)


class MLPDiscriminator(nn.Module):
    """The seed's discriminator; returns the logit (the seed's sigmoid is folded into the loss)."""

    def __init__(self, hidden=(2048, 1024, 512, 256), dropout: float = 0.3, inp: int = 4096):
        super().__init__()
        layers, cin = [], inp
        for h in hidden:
            layers += [nn.Linear(cin, h), nn.ReLU(), nn.Dropout(dropout)]
            cin = h
        layers += [nn.Linear(cin, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x.reshape(x.shape[0], -1))


class ConvGenerator(nn.Module):
    """z → (C0, 4, 4) → ×2 upsampling per stage → (1, 64, 64)."""

    def __init__(self, latent: int = 128, channels=(256, 128, 64, 32, 16)):
        super().__init__()
        channels = list(channels)
        self.latent = latent
        self.c0 = channels[0]
        self.fc = nn.Linear(latent, channels[0] * 16)
        self.bn0 = nn.BatchNorm2d(channels[0])
        stages = []
        for cin, cout in zip(channels[:-1], channels[1:]):
            stages += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.stages = nn.Sequential(*stages)
        self.out = nn.Conv2d(channels[-1], 1, 3, padding=1)
        self.side = 4 * 2 ** (len(channels) - 1)
        if len(channels) != 5:
            raise ValueError("ConvGenerator needs 5 channel entries (4 → 64 in four doublings)")

    def forward(self, z):
        h = F.relu(self.bn0(self.fc(z).view(z.shape[0], self.c0, 4, 4)))
        return self.out(self.stages(h))


class ConvDiscriminator(nn.Module):
    """Strided 4×4 convs with spectral norm, LeakyReLU(0.2): size² → (size / 16)², then a linear logit."""

    def __init__(self, channels=(32, 64, 128, 256), size: int = 64):
        super().__init__()
        layers, cin = [], 1
        for cout in channels:
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        side = size // 2 ** len(channels)
        self.fc = spectral_norm(nn.Linear(cin * side * side, 1))

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


def build_generator(model_cfg: dict) -> nn.Module:
    kind = model_cfg["kind"]
    if kind == "mlp":
        return MLPGenerator(int(model_cfg["latent"]), tuple(model_cfg["g_hidden"]))
    if kind == "conv":
        return ConvGenerator(int(model_cfg["latent"]), tuple(model_cfg["g_channels"]))
    raise ValueError(f"unknown GAN kind {kind!r}; use 'mlp' or 'conv'")


def build_discriminator(model_cfg: dict) -> nn.Module:
    kind = model_cfg["kind"]
    if kind == "mlp":
        return MLPDiscriminator(tuple(model_cfg["d_hidden"]), float(model_cfg.get("dropout", 0.3)))
    if kind == "conv":
        return ConvDiscriminator(tuple(model_cfg["d_channels"]))
    raise ValueError(f"unknown GAN kind {kind!r}; use 'mlp' or 'conv'")


class GANGenerator:
    """A trained GAN generator as a cosmobench Generator (z ~ N(0, I) from a seeded CPU generator)."""

    def __init__(self, checkpoint: dict, *, device=None, batch_size=None, track=None):
        cfg = checkpoint["config"]
        self.config = cfg
        self.name = checkpoint["generator"]
        self.track = track
        self.device = pick_device(device)
        self.net = build_generator(cfg["model"])
        self.net.load_state_dict(checkpoint["state"])
        self.net.to(self.device).eval()
        tr = get_track(track)
        if self.net.side != tr.tile:
            raise CosmobenchError(
                f"this {self.name} checkpoint draws {self.net.side}² maps but the track {tr.name!r} has "
                f"{tr.tile}² tiles; train a generator for that track (its maps are the training data)"
            )
        self.shape = tr.shape
        self.latent = int(cfg["model"]["latent"])
        self.transform = T.from_config(cfg["transform"])
        self.batch_size = int(batch_size or cfg.get("sample", {}).get("batch_size", 256))
        prov = checkpoint.get("provenance", {})
        self.info = {
            "family": "gan",
            "architecture": cfg["model"]["kind"],
            "loss": cfg.get("loss"),
            "transform": cfg["transform"],
            "parameters": count_parameters(self.net),
            **training_info(prov),
        }

    @torch.no_grad()
    def sample(self, n: int, *, seed: int) -> np.ndarray:
        n = int(n)
        out = np.empty((n, *self.shape), dtype=np.float32)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        clipped = 0.0
        for lo in range(0, n, self.batch_size):
            b = min(self.batch_size, n - lo)
            z = torch.randn((b, self.latent), generator=gen).to(self.device)
            d, frac = self.transform.inverse(self.net(z)[:, 0])
            clipped += frac * b
            out[lo:lo + b] = d.cpu().numpy().astype(np.float32)
        self.info["clip_fraction"] = clipped / max(n, 1)
        return out


def _factory(name, checkpoint, track, options) -> GANGenerator:
    ckpt = default_checkpoint(name) if checkpoint is None else check_checkpoint(checkpoint, expect=name)
    return GANGenerator(ckpt, track=track, **options)


def gan_seed_factory(*, checkpoint: "dict | None" = None, track=None, **options) -> GANGenerator:
    """The seed's MLP GAN generator. Options: ``device``, ``batch_size``."""
    return _factory("gan-seed", checkpoint, track, options)


def gan_factory(*, checkpoint: "dict | None" = None, track=None, **options) -> GANGenerator:
    """The convolutional spectral-norm hinge GAN. Options: ``device``, ``batch_size``."""
    return _factory("gan", checkpoint, track, options)


# --------------------------------------------------------------------------------------- training
class GANTrainer:
    """Training state and one optimisation step (D then G) for the GAN configs (used by :mod:`.train`)."""

    loss_names = ("loss_d", "loss_g", "d_real", "d_fake")

    def __init__(self, config: dict, device: torch.device, seed: int):
        self.config = config
        self.device = device
        tr = config["train"]
        torch.manual_seed(seed)
        self.G = build_generator(config["model"]).to(device)
        self.D = build_discriminator(config["model"]).to(device)
        self.ema = copy.deepcopy(self.G).eval() if tr.get("ema") else None
        if self.ema is not None:
            for p in self.ema.parameters():
                p.requires_grad_(False)
        betas = tuple(tr.get("betas", (0.9, 0.999)))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=float(tr["lr_g"]), betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=float(tr["lr_d"]), betas=betas)
        self.latent = int(config["model"]["latent"])
        self.loss = config.get("loss", "bce")
        self.gen = torch.Generator(device=device).manual_seed(seed + 1)
        self.step_count = 0

    def parameters(self) -> int:
        return count_parameters(self.G)

    def _z(self, b):
        return torch.randn((b, self.latent), device=self.device, generator=self.gen)

    def _d_loss(self, real_logit, fake_logit):
        if self.loss == "hinge":
            return F.relu(1 - real_logit).mean() + F.relu(1 + fake_logit).mean()
        # the seed's: BCE on [real; fake] with labels [1; 0]
        logits = torch.cat([real_logit, fake_logit])
        labels = torch.cat([torch.ones_like(real_logit), torch.zeros_like(fake_logit)])
        return F.binary_cross_entropy_with_logits(logits, labels)

    def _g_loss(self, fake_logit):
        if self.loss == "hinge":
            return -fake_logit.mean()
        return F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))

    def step(self, real: torch.Tensor, autocast) -> dict:
        b = real.shape[0]
        self.G.train()
        self.D.train()
        for _ in range(int(self.config["train"].get("n_d", 1))):
            with autocast():
                with torch.no_grad():
                    fake = self.G(self._z(b))
                real_logit, fake_logit = self.D(real).float(), self.D(fake).float()
                loss_d = self._d_loss(real_logit, fake_logit)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        with autocast():
            fake_logit_g = self.D(self.G(self._z(b))).float()
            loss_g = self._g_loss(fake_logit_g)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.step_count += 1
        if self.ema is not None:
            d = min(float(self.config["train"]["ema"]), (1 + self.step_count) / (10 + self.step_count))
            with torch.no_grad():
                for pe, p in zip(self.ema.parameters(), self.G.parameters()):
                    pe.lerp_(p, 1 - d)
                for be, bl in zip(self.ema.buffers(), self.G.buffers()):
                    be.copy_(bl)
        return {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach()),
                "d_real": float(real_logit.detach().mean()), "d_fake": float(fake_logit.detach().mean())}

    def sampling_state(self) -> dict:
        net = self.ema if self.ema is not None else self.G
        return dict(net.state_dict())

    def training_state(self) -> dict:
        st = {"G": self.G.state_dict(), "D": self.D.state_dict(), "opt_g": self.opt_g.state_dict(),
              "opt_d": self.opt_d.state_dict(), "step": self.step_count, "gen": self.gen.get_state()}
        if self.ema is not None:
            st["ema"] = self.ema.state_dict()
        return st

    def load_training_state(self, st: dict) -> None:
        self.G.load_state_dict(st["G"])
        self.D.load_state_dict(st["D"])
        self.opt_g.load_state_dict(st["opt_g"])
        self.opt_d.load_state_dict(st["opt_d"])
        self.step_count = int(st["step"])
        self.gen.set_state(st["gen"])
        if self.ema is not None and "ema" in st:
            self.ema.load_state_dict(st["ema"])
