"""Draw a baseline's samples into a ``.npy`` file exactly as ``cosmobench evaluate --seed S`` would draw them.

Why: a slow sampler (the seed DDPM's 1000 ancestral steps) can run on a GPU machine once, and the file is
then scored anywhere with ``cosmobench evaluate --model FILE.npy``: chunks of 256 maps, chunk i drawn with
seed :func:`cosmobench.evaluation.chunk_seed` (``SeedSequence([S, i])``), imported from there.

    python -m cosmobench_baselines.sample ddpm --n 2048 --seed 0 --out ddpm.npy [--device cuda] [--float16]
        [--sampler dpm++2m|ddim|ddpm|config] [--steps K] [--threads T] [--precision auto|fp32|bf16]

Next to the file goes ``<out>.meta.json`` (``{"name", "info"}``: the generator's info with its training
provenance, the sampler, the checkpoint's sha256, n, seed, hardware and sampling wall time), which
``cosmobench evaluate --model FILE.npy`` reads into the result.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from cosmobench.evaluation import SEED_CHUNK, chunk_seed

#: Maps per ``sample`` call: evaluate's seed chunks (re-exported for the old import path).
CHUNK = SEED_CHUNK


def _accepts_progress(generator) -> bool:
    try:
        return "progress" in inspect.signature(generator.sample).parameters
    except (TypeError, ValueError):
        return False


def draw(generator, n: int, seed: int, progress: bool = False) -> np.ndarray:
    """``n`` maps from ``generator`` in evaluate's chunks and seeds, as float32 (a bar per sampler step if asked)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=n, unit="map", disable=not progress, file=sys.stderr, smoothing=0.05)
    live = progress and _accepts_progress(generator)
    parts = []
    try:
        for i in range((n + CHUNK - 1) // CHUNK):
            size = min(CHUNK, n - CHUNK * i)
            before = bar.n
            # never beyond the chunk, and whole maps only (a 0.0 would make the bar's count a float)
            kw = {"progress": lambda k, end=before + size: bar.update(max(0, min(int(k), end - bar.n)))} if live else {}
            parts.append(generator.sample(size, seed=chunk_seed(seed, i), **kw))
            bar.update(before + size - bar.n)  # whole maps, whatever the generator reported
    finally:
        bar.close()
    return np.concatenate(parts).astype(np.float32, copy=False)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: "list[str] | None" = None) -> int:
    import torch

    from cosmobench.checkpoint import load_checkpoint
    from cosmobench.errors import CosmobenchError
    from cosmobench_baselines.checkpoint import packaged_checkpoint_path
    from cosmobench_baselines.ddpm import PRECISIONS, ddpm_factory, ddpm_seed_factory
    from cosmobench_baselines.gan import gan_factory, gan_seed_factory

    factories = {"ddpm-seed": ddpm_seed_factory, "ddpm": ddpm_factory, "gan-seed": gan_seed_factory, "gan": gan_factory}
    p = argparse.ArgumentParser(prog="python -m cosmobench_baselines.sample", description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(factories))
    p.add_argument("--checkpoint", help="a .ckpt file (default: the packaged one)")
    p.add_argument("--n", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--float16", action="store_true", help="store float16 (half the size; δ stays far below its range)")
    p.add_argument("--sampler", help="diffusion sampler: dpm++2m (default), ddim, ddpm or config (the checkpoint's)")
    p.add_argument("--steps", type=int, help="diffusion sampler steps (network calls)")
    p.add_argument("--threads", type=int, help="torch threads on the CPU")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="diffusion network arithmetic (auto: bf16 on a CPU with native bf16, else fp32)")
    p.add_argument("--batch-size", type=int, help="maps per network batch")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    opts = {} if args.device == "auto" else {"device": args.device}
    for key in ("sampler", "steps", "threads", "precision", "batch_size"):
        if getattr(args, key) is not None:
            if not args.name.startswith("ddpm") and key in ("sampler", "steps", "threads", "precision"):
                p.error(f"--{key.replace('_', '-')} is for the diffusion models")
            opts[key] = getattr(args, key)
    try:
        ck = load_checkpoint(args.checkpoint) if args.checkpoint else None
        gen = factories[args.name](checkpoint=ck, **opts)
    except CosmobenchError as exc:  # a missing or damaged checkpoint, a device this machine lacks
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t = time.time()
    maps = draw(gen, args.n, args.seed, progress=not args.no_progress)
    wall = time.time() - t
    if not np.isfinite(maps).all():
        print("error: the generator produced NaN/Inf", file=sys.stderr)
        return 2
    out = Path(args.out)
    np.save(out, maps.astype(np.float16) if args.float16 else maps)
    out = out if out.suffix == ".npy" else out.with_name(out.name + ".npy")  # np.save appends .npy
    ckpt_path = Path(args.checkpoint) if args.checkpoint else packaged_checkpoint_path(args.name)
    info = dict(getattr(gen, "info", {}) or {})
    info.update({
        "generator": args.name,
        "checkpoint": str(ckpt_path),
        "checkpoint_sha256": _sha256(ckpt_path) if ckpt_path.is_file() else None,
        "drawn": {"n": args.n, "seed": args.seed, "chunk": CHUNK, "chunk_seeds": "SeedSequence([seed, i])",
                  "dtype": "float16" if args.float16 else "float32"},
        "sampling": {"wall_time_s": round(wall, 2), "seconds_per_map": round(wall / max(args.n, 1), 4),
                     "device": str(getattr(gen, "device", "cpu")),
                     # the threads sampling ran with (a generator's own setting is undone when it returns)
                     "torch_threads": getattr(gen, "threads", None) or torch.get_num_threads(),
                     "cpu_count": os.cpu_count(), "platform": platform.platform()},
    })
    tmp = out.with_name(out.name + ".meta.json.tmp")
    tmp.write_text(json.dumps({"name": args.name, "info": info}, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, out.with_name(out.name + ".meta.json"))
    how = " ".join(str(info.get(k, "")) for k in ("sampler", "sampler_steps", "sampler_precision"))
    print(f"{args.name}: {args.n} maps in {wall:.1f} s ({wall / max(args.n, 1):.3f} s/map, "
          f"sampler {how.strip() or '-'}) -> {out} (mean δ {maps.mean():.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
