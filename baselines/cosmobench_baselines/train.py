"""Train a baseline: ``python -m cosmobench_baselines.train CONFIG [options]`` (or ``cosmobench-train``).

Writes into ``--out`` (default ``runs/<CONFIG>``):

- ``<generator>.ckpt``      the sampling checkpoint (cosmobench format, ``weights_only``-loadable);
- ``<generator>.json``      its config and provenance, human-readable;
- ``<generator>.train.pt``  the training state (optimisers, discriminator, EMA, RNG, loss history) for ``--resume``;
- ``<generator>.loss.csv`` / ``.loss.png``  the loss curve.

Everything is rewritten atomically every ``ckpt_every`` steps and at the end (also on Ctrl-C), so an
interrupted run resumes with ``--resume`` from its last save.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from cosmobench._io import atomic_path, atomic_write_text
from cosmobench.data.track import get_track
from cosmobench.errors import CosmobenchError
from cosmobench_baselines import __version__
from cosmobench_baselines import transforms as T
from cosmobench_baselines.checkpoint import load_checkpoint, make_checkpoint, plain, save_checkpoint, save_torch_atomic
from cosmobench_baselines.configs import CONFIGS, describe, get_config
from cosmobench_baselines.device import pick_device
from cosmobench_baselines.distributed import batch_indices, init_from_env

__all__ = ["train", "load_training_maps", "augment", "main", "make_trainer"]


# --------------------------------------------------------------------------------------- data
def load_training_maps(source: str = "sim", maps_file: "str | None" = None) -> "tuple[np.ndarray, dict]":
    """The training maps and a provenance record of where they came from.

    ``maps_file`` (a ``.npy`` of (n, tile, tile) δ for the default track) overrides the source; otherwise the ``train`` split of
    the cosmobench source ``source`` is used (it must have been built: ``cosmobench data build``).
    """
    if maps_file is not None:
        from cosmobench._io import sha256_file

        maps = np.load(maps_file, allow_pickle=False)
        info = {"name": f"file:{Path(maps_file).name}", "content_hash": sha256_file(maps_file), "split": "file"}
    else:
        from cosmobench.data import get_source

        src = get_source(source)
        maps = src.maps("train")
        info = {"name": src.name, "content_hash": src.content_hash, "split": "train",
                "track": getattr(getattr(src, "track", None), "name", None)}
        try:  # which boxes: the provenance of a neural row names its training data
            info["boxes"] = [int(b) for b in src.boxes("train")]
        except (AttributeError, TypeError, ValueError):
            pass
    maps = np.asarray(maps, dtype=np.float32)
    track = get_track(info.get("track"))  # the source's track; a maps file is for the default track
    if maps.ndim != 3 or maps.shape[1:] != track.shape:
        raise CosmobenchError(f"training maps have shape {maps.shape}; the track {track.name!r} needs "
                              f"(n, {track.tile}, {track.tile}) δ maps")
    if not np.isfinite(maps).all():
        raise CosmobenchError("training maps contain NaN or inf; rebuild or re-import the source")
    info["n_maps"] = int(maps.shape[0])
    return maps, info


def augment(x: torch.Tensor, gen: torch.Generator, dist=None) -> torch.Tensor:
    """Random element of the dihedral group D4 (flips and 90° rotations) per map of (B, 1, H, W).

    With ``dist`` (data-parallel) the bits of the whole global batch are drawn and this rank's rows kept.
    """
    world = dist.world if dist is not None else 1
    bits = torch.randint(0, 2, (3, x.shape[0] * world, 1, 1, 1), generator=gen, device=gen.device).bool()
    if dist is not None:
        bits = bits[:, dist.rank::dist.world]
    bits = bits.to(x.device)
    x = torch.where(bits[0], x.flip(-1), x)
    x = torch.where(bits[1], x.flip(-2), x)
    return torch.where(bits[2], x.transpose(-1, -2), x)


# --------------------------------------------------------------------------------------- helpers
def autocast_for(device: torch.device, precision: str = "bf16"):
    """bf16 autocast on CUDA when supported (no loss scaling needed), fp32 elsewhere or when asked.

    Configs whose transform leaves the signal as a tiny ripple on a large offset (the seed's linear
    [−1, 235.2] → [−1, 1] map puts δ ≈ 0 at −0.99 with σ ≈ 0.014, while bf16 resolves 0.004 there)
    must train in fp32: ``config["train"]["precision"] = "fp32"``.
    """
    if precision == "fp32":
        return contextlib.nullcontext
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def _init_from(trainer, path, ckpt: dict) -> dict:
    """Start a diffusion trainer from a checkpoint's weights (model and EMA); its provenance is returned."""
    from cosmobench._io import sha256_file

    if not hasattr(trainer, "model"):
        raise CosmobenchError("--init works for the diffusion configs only (a GAN checkpoint holds no discriminator)")
    try:
        trainer.model.load_state_dict(ckpt["state"])
        if trainer.ema is not None:
            trainer.ema.load_state_dict(ckpt["state"])
    except RuntimeError as exc:
        raise CosmobenchError(f"--init {path}: its weights do not fit this config's network ({exc})") from None
    prov = ckpt.get("provenance", {})
    return {"file": str(path), "sha256": sha256_file(path), "steps": prov.get("steps"),
            "hardware": prov.get("hardware"), "wall_time_s": prov.get("wall_time_s")}


def make_trainer(config: dict, device: torch.device, seed: int):
    kind = config["model"]["kind"]
    if kind == "unet":
        from cosmobench_baselines.ddpm import DiffusionTrainer

        return DiffusionTrainer(config, device, seed)
    from cosmobench_baselines.gan import GANTrainer

    return GANTrainer(config, device, seed)


def _hardware(device: torch.device) -> dict:
    hw = {"device": device.type, "platform": platform.platform(), "cpu_count": os.cpu_count(),
          "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        hw["device_name"] = torch.cuda.get_device_name(device)
    else:
        hw["device_name"] = platform.processor() or platform.machine()
    return hw


def _write_curve(path_csv: Path, path_png: Path, names, losses: np.ndarray, title: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", *names])
    for i, row in enumerate(losses):
        w.writerow([i + 1, *(f"{v:.6g}" for v in row)])
    atomic_write_text(path_csv, buf.getvalue())
    if len(losses) == 0:
        return
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - the CSV is the record; the PNG is a convenience
        print("warning: matplotlib is not installed; loss curve written as CSV only", file=sys.stderr)
        return

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = np.arange(1, len(losses) + 1)
    win = max(1, len(losses) // 50)
    for j, name in enumerate(names):
        y = losses[:, j]
        ax.plot(steps, y, alpha=0.25, lw=0.6, color=f"C{j}")
        if win > 1:
            ys = np.convolve(y, np.ones(win) / win, mode="valid")
            ax.plot(steps[win - 1:], ys, color=f"C{j}", label=f"{name} (mean of {win})")
        else:
            ax.plot([], [], color=f"C{j}", label=name)
    if names == ("loss",) and (losses[:, 0] > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


# --------------------------------------------------------------------------------------- training
def train(
    config: "str | dict",
    *,
    steps: "int | None" = None,
    source: str = "sim",
    out: "str | os.PathLike | None" = None,
    resume: bool = False,
    seed: int = 0,
    device: str = "auto",
    minutes: "float | None" = None,
    maps: "np.ndarray | None" = None,
    maps_file: "str | None" = None,
    batch_size: "int | None" = None,
    ckpt_every: "int | None" = None,
    progress: bool = True,
    init: "str | os.PathLike | None" = None,
) -> Path:
    """Train one baseline; return the path of the written checkpoint.

    Parameters
    ----------
    config : str or dict
        A name of :data:`~cosmobench_baselines.configs.CONFIGS` or a config dict.
    steps : int, optional
        Total optimisation steps (default: the config's). With ``resume`` it is the total, not extra.
    source : str
        cosmobench source whose ``train`` split is used (ignored when ``maps``/``maps_file`` is given).
    out : path, optional
        Output directory (default ``runs/<config name>``).
    resume : bool
        Continue from ``<out>/<generator>.train.pt`` when it exists.
    seed : int
        Seeds initialisation, batch order, noise.
    device : {"auto", "cpu", "cuda"}
    minutes : float, optional
        Wall-clock budget: stop (and save) after this many minutes even if ``steps`` is not reached.
    maps : ndarray, optional
        (n, 64, 64) δ training maps given directly (tests, notebooks).
    init : path, optional
        A diffusion checkpoint of the same config whose weights start the run (fine-tuning, e.g. in fp32
        after a bf16 run); recorded in the provenance.
    """
    cfg_name = config if isinstance(config, str) else config.get("name", config["generator"])
    cfg = get_config(config) if isinstance(config, str) else plain(config)
    name = cfg["generator"]
    tr = cfg["train"]
    if batch_size:
        tr["batch_size"] = int(batch_size)
    if ckpt_every:
        tr["ckpt_every"] = int(ckpt_every)
    total = int(steps if steps is not None else tr["steps"])
    tr["steps"] = total
    dist, dev = init_from_env(pick_device(device))
    out = Path(out) if out is not None else Path("runs") / cfg_name
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, state_path = out / f"{name}.ckpt", out / f"{name}.train.pt"
    csv_path, png_path = out / f"{name}.loss.csv", out / f"{name}.loss.png"

    if maps is not None:
        maps = np.asarray(maps, dtype=np.float32)
        data_info = {"name": "array", "content_hash": None, "split": "given", "n_maps": int(maps.shape[0])}
    else:
        maps, data_info = load_training_maps(source, maps_file)

    saved = None
    if resume and state_path.is_file():
        saved = torch.load(state_path, map_location="cpu", weights_only=True)
        if saved["config"]["generator"] != name:
            raise CosmobenchError(f"{state_path} belongs to {saved['config']['generator']!r}, not {name!r}")
        resolved = saved["config"]
        resolved["train"].update(steps=total, batch_size=int(tr["batch_size"]), ckpt_every=int(tr.get("ckpt_every", 500)))
        if saved.get("data_hash") != data_info.get("content_hash"):
            print(f"warning: resuming on different data ({data_info.get('content_hash')} vs {saved.get('data_hash')})",
                  file=sys.stderr)
        tf = T.from_config(resolved["transform"])
    elif init is not None:
        # a fine-tune keeps the network's data space: the init checkpoint's fitted transform, not one
        # re-fitted to the new maps (whose mean/std differ a little: the weights would see shifted inputs)
        init_ckpt = load_checkpoint(init)
        tf = T.from_config(init_ckpt["config"]["transform"])
        resolved = cfg
        resolved["transform"] = tf.config()
    else:
        tf = T.fit_transform(cfg["transform"], maps)
        resolved = cfg
        resolved["transform"] = tf.config()
    data = tf.forward(torch.from_numpy(maps)).unsqueeze(1).contiguous()
    samp = resolved.setdefault("sample", {})
    if samp.get("clip_x0") is True:  # clip x̂0 to the data range (10 % margin) in network space
        lo, hi = float(data.min()), float(data.max())
        pad = 0.1 * (hi - lo)
        samp["clip_x0"] = [lo - pad, hi + pad]
    data = data.to(dev)

    trainer = make_trainer(resolved, dev, seed)
    data_gen = torch.Generator(device="cpu").manual_seed(seed + 2)
    losses: list[list[float]] = []
    wall_before = 0.0
    init_info = None
    if init is not None and saved is None:
        init_info = _init_from(trainer, init, init_ckpt)
    if dist.active:
        if not hasattr(trainer, "attach"):
            raise CosmobenchError(f"{name}: data-parallel training (torchrun) is implemented for the diffusion "
                                  "configs only; train GANs in one process")
        trainer.attach(dist)
    if saved is not None:
        trainer.load_training_state(saved["trainer"])
        data_gen.set_state(saved["data_gen"])
        losses = saved["losses"].tolist()
        wall_before = float(saved["wall_time_s"])
        print(f"resumed {name} at step {trainer.step_count} from {state_path}", file=sys.stderr)
    names = trainer.loss_names
    autocast = autocast_for(dev, cfg["train"].get("precision", "bf16"))
    bs = int(tr["batch_size"])
    every = max(1, int(tr.get("ckpt_every", 500)))
    do_aug = bool(tr.get("augment", False))
    t0 = time.perf_counter()
    n_maps = data.shape[0]

    def save():
        if not dist.writer:  # one checkpoint writer
            return
        wall = wall_before + time.perf_counter() - t0
        arr = np.asarray(losses, dtype=np.float64).reshape(-1, len(names))
        done = trainer.step_count
        tail = arr[-min(len(arr), 100):].mean(0).tolist() if len(arr) else [math.nan] * len(names)
        prov = {
            "config_name": cfg_name,
            "steps": done,
            "batch_size": bs,
            "seed": seed,
            "source": data_info,
            **({"init_from": init_info} if init_info else {}),
            "hardware": {**_hardware(dev), **({"distributed": dist.to_dict()} if dist.active else {})},
            "wall_time_s": round(wall, 2),
            "seconds_per_step": round(wall / done, 4) if done else None,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "torch_version": torch.__version__,
            "cosmobench_baselines_version": __version__,
            "parameters": trainer.parameters(),
            "final_losses": {k: (v if math.isfinite(v) else None) for k, v in zip(names, tail)},
        }
        try:
            import cosmobench

            prov["cosmobench_version"] = cosmobench.__version__
        except Exception:  # pragma: no cover
            pass
        ckpt = make_checkpoint(name, resolved, trainer.sampling_state(), prov)
        save_checkpoint(ckpt, ckpt_path)
        save_torch_atomic({"config": resolved, "trainer": trainer.training_state(), "data_gen": data_gen.get_state(),
                           "losses": torch.from_numpy(arr), "wall_time_s": wall,
                           "data_hash": data_info.get("content_hash")}, state_path)
        _write_curve(csv_path, png_path, names, arr, f"{cfg_name}: {done} steps, batch {bs}, {wall / 60:.1f} min")

    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = tqdm(total=total, initial=trainer.step_count, desc=cfg_name,
               disable=not progress or tqdm is None or not dist.writer,
               dynamic_ncols=True) if tqdm else None
    last_saved = trainer.step_count
    try:
        while trainer.step_count < total:
            if minutes is not None and dist.any(time.perf_counter() - t0 > 60.0 * minutes):
                if dist.writer:
                    print(f"time budget of {minutes} min reached at step {trainer.step_count}", file=sys.stderr)
                break
            x = data[batch_indices(n_maps, bs, trainer.step_count, dist, seed + 2).to(dev)]
            if do_aug:
                x = augment(x, data_gen, dist if dist.active else None)
            rec = trainer.step(x, autocast)
            vals = [rec[k] for k in names]
            if not all(math.isfinite(v) for v in vals):
                raise CosmobenchError(f"{name}: loss became {vals} at step {trainer.step_count}; lower the learning "
                                      f"rate, or --resume from the last good checkpoint")
            losses.append(vals)
            if bar is not None:
                bar.update(1)
                if trainer.step_count % 10 == 0:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in zip(names, vals)})
            if trainer.step_count % every == 0:
                save()
                last_saved = trainer.step_count
    except KeyboardInterrupt:
        print(f"interrupted at step {trainer.step_count}; saving", file=sys.stderr)
        save()
        raise
    finally:
        if bar is not None:
            bar.close()
    if trainer.step_count != last_saved or not ckpt_path.exists():
        save()
    dist.barrier()  # the checkpoint is on disk before any rank returns
    dist.close()
    return ckpt_path


# --------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cosmobench_baselines.train",
        description="Train a cosmobench baseline generator and write a cosmobench checkpoint.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="configs:\n" + describe() + "\n\nThe checkpoint lands in OUT/<generator>.ckpt; copy it to "
               "cosmobench_baselines/checkpoints/ to make it the registered default, or evaluate it directly "
               "with `cosmobench evaluate --model OUT/<generator>.ckpt`.",
    )
    p.add_argument("config", metavar="CONFIG", choices=list(CONFIGS), help="one of: " + ", ".join(CONFIGS))
    p.add_argument("--steps", type=int, default=None, help="total optimisation steps (default: the config's)")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget; stop and save when reached")
    p.add_argument("--source", default="sim", help="cosmobench source whose train split is used (default: sim)")
    p.add_argument("--maps", default=None, metavar="FILE.npy", help="train on these (n, 64, 64) δ maps instead")
    p.add_argument("--out", default=None, help="output directory (default: runs/CONFIG)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/<generator>.train.pt")
    p.add_argument("--init", metavar="CKPT", help="start from this diffusion checkpoint's weights (fine-tune)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--ckpt-every", type=int, default=None, help="save every K steps (default: the config's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        path = train(args.config, steps=args.steps, source=args.source, out=args.out, resume=args.resume,
                     seed=args.seed, device=args.device, minutes=args.minutes, maps_file=args.maps,
                     batch_size=args.batch_size, ckpt_every=args.ckpt_every, progress=not args.no_progress,
                     init=args.init)
    except CosmobenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
