"""Denoising diffusion baselines: ``ddpm-seed`` (the seed report's) and ``ddpm`` (a better one).

Schedule, network, loss and samplers each have a named home:

- :func:`make_schedule` — ᾱ_t for the linear (β 1e-4 → 0.02, the seed's) or cosine (Nichol & Dhariwal)
  schedule;
- :class:`~cosmobench_baselines.unet.UNet` — the network;
- :func:`diffusion_loss` — ε- or v-prediction MSE at a uniformly drawn t;
- :func:`ddpm_sample` (ancestral, the seed's; T network calls), :func:`ddim_sample` (deterministic
  or η-stochastic, any number of steps) and :func:`~cosmobench_baselines.samplers.dpmpp_2m_sample`
  (DPM-Solver++(2M), the default: 20 calls) — short pure functions of (model, schedule, noise source).

:class:`DiffusionGenerator` wraps a checkpoint: ``sample(n, *, seed)`` draws every random number
from one ``torch.Generator`` seeded with ``seed`` on the CPU (then moves it to the device), so it is
deterministic in ``seed`` whatever the device.
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from cosmobench.data.track import get_track
from cosmobench_baselines import transforms as T
from cosmobench_baselines.checkpoint import check_checkpoint, default_checkpoint, training_info
from cosmobench_baselines.device import pick_device
from cosmobench_baselines.samplers import ddim_sample, ddpm_sample, dpmpp_2m_sample  # noqa: F401 - their former home
from cosmobench_baselines.samplers import spaced_timesteps as ddim_timesteps  # noqa: F401 - former name
from cosmobench_baselines.unet import UNet, count_parameters

__all__ = [
    "make_schedule",
    "build_model",
    "diffusion_loss",
    "ddpm_sample",
    "ddim_sample",
    "DiffusionGenerator",
    "WholeMaps",
    "ddpm_seed_factory",
    "ddpm_factory",
]


# --------------------------------------------------------------------------------------- schedule
def make_schedule(cfg: dict) -> torch.Tensor:
    """ᾱ_t, t = 0 … T−1, float64 (B,) for the diffusion config ``cfg``.

    ``{"schedule": "linear", "T", "beta_start", "beta_end"}`` or ``{"schedule": "cosine", "T", "s"}``.
    """
    n = int(cfg["T"])
    kind = cfg.get("schedule", "linear")
    if kind == "linear":
        betas = torch.linspace(float(cfg.get("beta_start", 1e-4)), float(cfg.get("beta_end", 0.02)), n, dtype=torch.float64)
        return torch.cumprod(1.0 - betas, 0)
    if kind == "cosine":
        s = float(cfg.get("s", 0.008))
        t = torch.arange(n + 1, dtype=torch.float64) / n
        f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        ab = f / f[0]
        betas = (1 - ab[1:] / ab[:-1]).clamp(max=0.999)
        return torch.cumprod(1.0 - betas, 0)
    raise ValueError(f"unknown schedule {kind!r}; use 'linear' or 'cosine'")


def build_model(model_cfg: dict) -> UNet:
    cfg = dict(model_cfg)
    cfg.pop("kind", None)
    return UNet(**cfg)


# --------------------------------------------------------------------------------------- loss
def diffusion_loss(model, x0: torch.Tensor, alphas_bar: torch.Tensor, prediction: str = "eps",
                   generator: "torch.Generator | None" = None, *, t: "torch.Tensor | None" = None,
                   eps: "torch.Tensor | None" = None) -> torch.Tensor:
    """MSE of the ε (or v) prediction at t ~ U{0..T−1}; noise drawn from ``generator`` on x0's device.

    ``t`` and ``eps`` given (both) are used instead of drawing them (data-parallel ranks draw the global
    batch's and keep their rows).
    """
    b = x0.shape[0]
    if t is None or eps is None:
        t = torch.randint(0, alphas_bar.numel(), (b,), device=x0.device, generator=generator)
        eps = torch.randn(x0.shape, device=x0.device, generator=generator, dtype=x0.dtype)
    ab = alphas_bar.to(x0.device)[t].float().view(b, 1, 1, 1)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    target = eps if prediction == "eps" else ab.sqrt() * eps - (1 - ab).sqrt() * x0
    out = model(xt, t)
    return F.mse_loss(out.float(), target)


# --------------------------------------------------------------------------------------- generator
#: Sampler used unless the caller names one (``sampler=``): DPM-Solver++(2M) reaches DDIM-50's score in
#: far fewer network calls (README: scores of both at n = 256). The checkpoint's own ``sample`` block
#: (its training-time DDIM/ancestral choice) is used only with ``sampler="config"``.
DEFAULT_SAMPLER = "dpm++2m"
#: Network calls per sampler when ``steps`` is not given.
DEFAULT_STEPS = {"dpm++2m": 20, "ddim": 50}
SAMPLERS = ("dpm++2m", "ddim", "ddpm")
#: Maps per network batch on the CPU. Measured (CPU time of one network call per map, 1 thread, the
#: packaged ``ddpm``): 31.6 ms at 8 maps, 37.0 at 32, 56.5 at 128 (the config's GPU batch), whose
#: activations (128 × 32 × 64² floats, 67 MB a layer) no longer fit the caches.
CPU_BATCH_SIZE = 16
#: Network arithmetic (``precision=``): ``"auto"`` is bf16 autocast on a CPU with native bf16 dot products
#: (AVX512-BF16 or AMX), fp32 elsewhere (a GPU, or a CPU that would emulate bf16 slower than fp32).
PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16_cpu() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16), where oneDNN's bf16 convolutions
    take about half the fp32 time; without it bf16 is emulated and no faster."""
    caps = getattr(torch.cpu, "get_capabilities", None)
    if caps is not None:
        c = caps()
        return bool(c.get("avx512_bf16") or c.get("amx_bf16"))
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)  # torch < 2.10
    return bool(probe()) if probe is not None else False


class WholeMaps:
    """A sampler's per-step callback that reports whole maps: after step j of K, ⌊b·j/K⌋ of the batch's b maps.

    A bar counted in maps then moves during a batch (b / K maps a step) yet only ever by whole maps, never
    past the batch (:meth:`finish` reports what is left when the sampler took fewer steps than K).
    """

    def __init__(self, progress: Callable[[int], object], maps: int, steps: int):
        self.progress, self.maps, self.steps = progress, int(maps), max(1, int(steps))
        self.done = self.sent = 0

    def __call__(self, _steps: int = 1) -> None:
        self.done += 1
        self._send(self.maps * min(self.done, self.steps) // self.steps)

    def finish(self) -> None:
        """Report the rest of the batch."""
        self._send(self.maps)

    def _send(self, due: int) -> None:
        if due > self.sent:  # only positive whole numbers: a bar fed 0.0 would turn its count into a float
            self.progress(due - self.sent)
            self.sent = due


class DiffusionGenerator:
    """A trained diffusion model as a cosmobench Generator.

    Parameters
    ----------
    checkpoint : dict
        A cosmobench checkpoint of ``ddpm`` or ``ddpm-seed``.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (default: CUDA when available).
    batch_size : int, optional
        Maps per network batch (default from the config).
    sampler : {"dpm++2m", "ddim", "ddpm", "config"}, optional
        DPM-Solver++(2M) (default, :data:`DEFAULT_SAMPLER`), DDIM, ancestral sampling in T steps (the
        seed's), or ``"config"``: the checkpoint's own choice.
    steps : int, optional
        Network calls of ``dpm++2m`` / ``ddim`` (default :data:`DEFAULT_STEPS`, or the config's with
        ``sampler="config"``).
    eta : float, optional
        DDIM stochasticity (0 = deterministic given the initial noise).
    threads : int, optional
        torch intra-op threads while sampling on the CPU (default: torch's, i.e. the cores; on a machine
        other jobs share, 1 thread was 2–3× faster per network call than 2).
    spacing : {"uniform", "quadratic"}
        Timestep spacing of ``dpm++2m``.
    channels_last : bool, optional
        Run the network in channels-last memory layout (default: on the CPU, where oneDNN's convolutions
        are faster in it; the maps agree with the default layout to float rounding).
    precision : {"auto", "fp32", "bf16"}
        The network's arithmetic: ``"bf16"`` runs it under ``torch.autocast`` in bfloat16 (convolutions,
        linear layers, attention and GroupNorm in bf16; its output, and all of the sampler's state and
        arithmetic, stay fp32). ``"auto"`` (default) is bf16 on a CPU with native bf16
        (:func:`native_bf16_cpu`; 1.8× less CPU time a network call on AVX512-BF16) and fp32 otherwise,
        on a GPU too. bf16 rounding changes the maps slightly, not their statistics (README: the scores of
        both at n = 512); the precision used is in ``info["sampler_precision"]`` and the sampler label.

    Notes
    -----
    On the CPU the default batch is :data:`CPU_BATCH_SIZE` maps, not the config's (chosen for a GPU): a
    batch's activations then stay in the caches. Batch size does not change the maps of ``dpm++2m`` and
    of DDIM with η = 0 (all their noise is the initial x_T, drawn map by map from one stream); DDIM with
    η > 0 and the ancestral sampler draw noise inside the loop, so they keep the config's batch.
    """

    def __init__(self, checkpoint: dict, *, device=None, batch_size=None, sampler=None, steps=None, eta=None,
                 threads=None, spacing="uniform", channels_last=None, precision="auto", track=None):
        cfg = checkpoint["config"]
        self.config = cfg
        self.name = checkpoint["generator"]
        self.track = track
        self.shape = get_track(track).shape  # the maps the track defines (the U-Net is fully convolutional)
        self.device = pick_device(device)
        self.model = build_model(cfg["model"])
        self.model.load_state_dict(checkpoint["state"])
        self.model.to(self.device).eval()
        on_cpu = self.device.type == "cpu"
        self.channels_last = on_cpu if channels_last is None else bool(channels_last)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r}; use one of {', '.join(PRECISIONS)}")
        if precision == "auto":
            precision = "bf16" if on_cpu and native_bf16_cpu() else "fp32"
        self.precision = precision
        self.alphas_bar = make_schedule(cfg["diffusion"])
        self.prediction = cfg["diffusion"].get("prediction", "eps")
        self.transform = T.from_config(cfg["transform"])
        s = cfg.get("sample", {})
        if sampler == "config":
            sampler, steps = s.get("sampler", "ddpm"), steps or s.get("steps")
        self.sampler = sampler or DEFAULT_SAMPLER
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler={self.sampler!r}; use one of {', '.join(SAMPLERS)} or 'config'")
        self.steps = int(steps or DEFAULT_STEPS.get(self.sampler, 50))
        self.threads = None if threads is None else int(threads)
        self.spacing = str(spacing)
        self.eta = float(eta if eta is not None else s.get("eta", 0.0))
        # Samplers that draw noise inside the loop give other maps at another batch size: they keep the
        # config's batch, so their maps stay the same on every device.
        in_loop_noise = self.sampler == "ddpm" or (self.sampler == "ddim" and self.eta > 0)
        cpu_batch = on_cpu and not in_loop_noise
        self.batch_size = int(batch_size or (CPU_BATCH_SIZE if cpu_batch else s.get("batch_size", 64)))
        clip = s.get("clip_x0")
        self.clip_x0 = (float(clip[0]), float(clip[1])) if isinstance(clip, (list, tuple)) else None
        self.last_clip_fraction = 0.0
        prov = checkpoint.get("provenance", {})
        self.info = {
            "family": "diffusion",
            "sampler": self.sampler,
            "sampler_steps": self.network_calls,
            "sampler_precision": self.precision,
            **({"sampler_spacing": self.spacing} if self.sampler == "dpm++2m" else {}),
            "eta": self.eta,
            "prediction": self.prediction,
            "schedule": cfg["diffusion"].get("schedule"),
            "transform": cfg["transform"],
            "parameters": count_parameters(self.model),
            **training_info(prov),
        }
        self.info["trained"] = "; ".join(x for x in (self.info["trained"], self.sampler_label) if x)

    @property
    def sampler_label(self) -> str:
        """E.g. ``"sampler dpm++2m, 20 calls, bf16 network"`` (leaderboard rows say how the maps were drawn)."""
        return f"sampler {self.sampler}, {self.network_calls} calls, {self.precision} network"

    @property
    def network_calls(self) -> int:
        """Network evaluations per map."""
        return int(self.alphas_bar.numel()) if self.sampler == "ddpm" else self.steps

    def _net(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network at one timestep for the whole batch (the samplers' ``t`` is ``t_`` for every map).

        The time embedding and each block's projection of it are computed for one row and broadcast
        (the U-Net adds them as ``(1, C, 1, 1)``), not for every map of the batch. Under bf16 only the
        network is; what it returns is fp32 before the sampler sees it.
        """
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            out = self.model(x, t[:1])
        return out.float().contiguous()

    def _run(self, x, noise, progress):
        kw = dict(prediction=self.prediction, clip_x0=self.clip_x0, progress=progress)
        if self.sampler == "ddpm":
            return ddpm_sample(self._net, self.alphas_bar, x, noise, **kw)
        if self.sampler == "ddim":
            return ddim_sample(self._net, self.alphas_bar, x, noise, steps=self.steps, eta=self.eta, **kw)
        return dpmpp_2m_sample(self._net, self.alphas_bar, x, steps=self.steps, spacing=self.spacing, **kw)

    def sample(self, n: int, *, seed: int, progress=None) -> np.ndarray:
        """``n`` δ maps, deterministic in ``seed``.

        Parameters
        ----------
        n : int
            Number of maps.
        seed : int
            Seed of the one CPU ``torch.Generator`` all noise comes from.
        progress : callable, optional
            Called with the whole maps' worth of work done as sampler steps finish (see
            :class:`WholeMaps`), so a progress bar counted in maps moves per step and never shows a fraction.
        """
        n = int(n)
        out = np.empty((n, *self.shape), dtype=np.float32)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        dev = self.device

        def noise(shape):
            return torch.randn(shape, generator=gen, dtype=torch.float32).to(dev)

        old_threads = torch.get_num_threads()
        if self.threads and dev.type == "cpu":
            torch.set_num_threads(self.threads)
        clipped = 0.0
        try:
            with torch.inference_mode():
                for lo in range(0, n, self.batch_size):
                    b = min(self.batch_size, n - lo)
                    x = noise((b, 1, *self.shape))
                    step = None if progress is None else WholeMaps(progress, b, self.network_calls)
                    y = self._run(x, noise, step)
                    if step is not None:
                        step.finish()
                    d, frac = self.transform.inverse(y[:, 0])
                    clipped += frac * b
                    out[lo:lo + b] = d.cpu().numpy().astype(np.float32)
        finally:
            torch.set_num_threads(old_threads)
        self.last_clip_fraction = clipped / max(n, 1)
        self.info["clip_fraction"] = self.last_clip_fraction
        return out


def _factory(name: str, checkpoint, track, options) -> DiffusionGenerator:
    ckpt = default_checkpoint(name) if checkpoint is None else check_checkpoint(checkpoint, expect=name)
    return DiffusionGenerator(ckpt, track=track, **options)


def ddpm_seed_factory(*, checkpoint: "dict | None" = None, track=None, **options) -> DiffusionGenerator:
    """The seed's DDPM (linear β, ε-prediction, [−1, 235.2] → [−1, 1], ancestral sampling in T = 1000 steps).

    Options: ``device``, ``batch_size``, ``sampler`` ("dpm++2m" | "ddim" | "ddpm" | "config"), ``steps``,
    ``eta``, ``threads``, ``spacing``, ``channels_last``, ``precision``. ``sampler="ddpm"`` is the seed's own
    ancestral sampler. ``precision`` defaults to ``"fp32"`` here, not ``"auto"``: the seed's linear transform
    multiplies the network's rounding by ~120 in δ, so bf16 is for when it is asked for.
    """
    options.setdefault("precision", "fp32")
    return _factory("ddpm-seed", checkpoint, track, options)


def ddpm_factory(*, checkpoint: "dict | None" = None, track=None, **options) -> DiffusionGenerator:
    """The better DDPM (log transform, cosine schedule, v-prediction, EMA).

    Options: ``device``, ``batch_size``, ``sampler`` ("dpm++2m" | "ddim" | "ddpm" | "config"), ``steps``,
    ``eta``, ``threads``, ``spacing``, ``channels_last``, ``precision``.
    """
    return _factory("ddpm", checkpoint, track, options)


# --------------------------------------------------------------------------------------- training
class DiffusionTrainer:
    """Training state and one optimisation step for the diffusion configs (used by :mod:`.train`)."""

    loss_names = ("loss",)

    def __init__(self, config: dict, device: torch.device, seed: int):
        self.config = config
        self.device = device
        tr = config["train"]
        torch.manual_seed(seed)
        self.model = build_model(config["model"]).to(device)
        self.ema = copy.deepcopy(self.model).eval() if tr.get("ema") else None
        if self.ema is not None:
            for p in self.ema.parameters():
                p.requires_grad_(False)
        self.alphas_bar = make_schedule(config["diffusion"]).to(device)
        self.prediction = config["diffusion"].get("prediction", "eps")
        self.opt = torch.optim.Adam(self.model.parameters(), lr=float(tr["lr"]),
                                    weight_decay=float(tr.get("weight_decay", 0.0)))
        self.gen = torch.Generator(device=device).manual_seed(seed + 1)
        self.step_count = 0
        self.dist = None
        self.net = self.model  # what the loss calls: the model, or its DistributedDataParallel wrapper

    def attach(self, dist) -> None:
        """Train data-parallel over ``dist`` (:class:`~cosmobench_baselines.distributed.Dist`)."""
        from torch.nn.parallel import DistributedDataParallel as DDP

        self.dist = dist
        ids = [self.device] if self.device.type == "cuda" else None
        self.net = DDP(self.model, device_ids=ids)

    def parameters(self) -> int:
        return count_parameters(self.model)

    def lr_at(self, step: int) -> float:
        tr = self.config["train"]
        w = int(tr.get("warmup", 0))
        return float(tr["lr"]) * (min(1.0, (step + 1) / w) if w > 0 else 1.0)

    def step(self, x0: torch.Tensor, autocast) -> dict:
        tr = self.config["train"]
        for g in self.opt.param_groups:
            g["lr"] = self.lr_at(self.step_count)
        self.model.train()
        dist = self.dist
        world = dist.world if dist is not None else 1
        # the global batch's t and ε, in the order one process would draw them; this rank keeps its rows
        t = torch.randint(0, self.alphas_bar.numel(), (x0.shape[0] * world,), device=x0.device, generator=self.gen)
        eps = torch.randn((x0.shape[0] * world, *x0.shape[1:]), device=x0.device, generator=self.gen, dtype=x0.dtype)
        if dist is not None:
            t, eps = dist.local(t), dist.local(eps)
        with autocast():
            loss = diffusion_loss(self.net, x0, self.alphas_bar, self.prediction, t=t, eps=eps)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if tr.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), float(tr["grad_clip"]))
        self.opt.step()
        self.step_count += 1
        if self.ema is not None:
            d = min(float(tr["ema"]), (1 + self.step_count) / (10 + self.step_count))
            with torch.no_grad():
                for pe, p in zip(self.ema.parameters(), self.model.parameters()):
                    pe.lerp_(p, 1 - d)
        rec = loss.detach().float().reshape(1)
        if dist is not None and dist.active:  # log the global batch's loss, not this rank's
            torch.distributed.all_reduce(rec)
            rec /= world
        return {"loss": float(rec)}

    def sampling_state(self) -> dict:
        net = self.ema if self.ema is not None else self.model
        return {k: v for k, v in net.state_dict().items()}

    def training_state(self) -> dict:
        st = {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "step": self.step_count,
              "gen": self.gen.get_state()}
        if self.ema is not None:
            st["ema"] = self.ema.state_dict()
        return st

    def load_training_state(self, st: dict) -> None:
        self.model.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.step_count = int(st["step"])
        self.gen.set_state(st["gen"])
        if self.ema is not None and "ema" in st:
            self.ema.load_state_dict(st["ema"])
