"""Draw a baseline's samples into a ``.npy`` file exactly as ``cosmobench evaluate --seed S`` would draw them.

Why: a slow sampler (the seed DDPM's 1000 ancestral steps) can run on a GPU machine once, and the file is
then scored anywhere with ``cosmobench evaluate --model FILE.npy``: chunks of 256 maps, chunk i drawn with
seed ``SeedSequence([S, i])`` — the same draws :func:`cosmobench.evaluation.chunk_seed` makes.

    python -m cosmobench_baselines.sample ddpm --n 2048 --seed 0 --out ddpm.npy [--device cuda] [--float16]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

CHUNK = 256


def chunk_seed(seed: int, i: int) -> int:
    """Seed of chunk ``i``; must equal :func:`cosmobench.evaluation.chunk_seed` (tested)."""
    return int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1, dtype=np.uint32)[0])


def draw(generator, n: int, seed: int) -> np.ndarray:
    """``n`` maps from ``generator`` in evaluate's chunks and seeds, as float32."""
    parts = [generator.sample(min(CHUNK, n - CHUNK * i), seed=chunk_seed(seed, i)) for i in range((n + CHUNK - 1) // CHUNK)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def main(argv: "list[str] | None" = None) -> int:
    import torch

    from cosmobench_baselines.ddpm import ddpm_factory, ddpm_seed_factory
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
    args = p.parse_args(argv)
    ck = torch.load(args.checkpoint, weights_only=True, map_location="cpu") if args.checkpoint else None
    opts = {} if args.device == "auto" else {"device": args.device}
    gen = factories[args.name](checkpoint=ck, **opts)
    t = time.time()
    maps = draw(gen, args.n, args.seed)
    if not np.isfinite(maps).all():
        print("error: the generator produced NaN/Inf", file=sys.stderr)
        return 2
    np.save(args.out, maps.astype(np.float16) if args.float16 else maps)
    print(f"{args.name}: {args.n} maps in {time.time() - t:.1f} s -> {args.out} (mean δ {maps.mean():.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
