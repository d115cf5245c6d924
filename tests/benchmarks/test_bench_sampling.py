"""Benchmark of diffusion sampling on the CPU (pytest-benchmark): the default path beside the fp32 path and DDIM-50.

The packaged ``ddpm`` checkpoint draws the same maps (same seed, so the same initial noise) three ways,
timed in the same run:

- the default: DPM-Solver++(2M) in 20 network calls, channels-last, batches of ``CPU_BATCH_SIZE`` maps,
  the time embedding once a step, and the network under bf16 autocast where the CPU has native bf16
  (``precision="auto"``; fp32 elsewhere, when the first two rows are the same path);
- ``fp32``: the same with the network in fp32 (the previous default);
- ``ddim50``: DDIM in 50 calls, fp32, default layout, the config's (GPU) batch of 128: how the CPU
  sampled at first (the checkpoint's training-time sampler).

``benchmark.extra_info`` holds each one's seconds per map, the speedups, and how far the default's maps
are from the fp32 path's (bf16 rounding: correlation of ln(1 + δ) ≥ 0.999 here; the statistics are
checked in ``baselines/tests/test_precision.py`` and the scores at n = 512 in the README).
Default: 8 maps (one CPU batch); ``COSMOBENCH_BENCH_FULL=1``: 256, one ``evaluate`` chunk.
"""

from __future__ import annotations

import os

import numpy as np

from _bench import best_time, ours_seconds, record
from cosmobench_baselines.ddpm import ddpm_factory

FULL = os.environ.get("COSMOBENCH_BENCH_FULL") == "1"
N = 256 if FULL else 8


def _log_density(maps):
    return np.log1p(np.maximum(maps, -0.99)).ravel()


def test_bench_ddpm_sampling(benchmark):
    fast = ddpm_factory(device="cpu")  # the default
    fp32 = ddpm_factory(device="cpu", precision="fp32")
    ddim = ddpm_factory(device="cpu", sampler="ddim", steps=50, precision="fp32", channels_last=False, batch_size=128)
    fast.sample(1, seed=1)  # first-call overheads outside the timing
    maps = benchmark.pedantic(fast.sample, args=(N,), kwargs={"seed": 0}, rounds=1, iterations=1)
    ours = ours_seconds(benchmark, lambda: fast.sample(N, seed=0))
    t_fp32, before = best_time(lambda: fp32.sample(N, seed=0), repeat=1)
    t_ddim, ref = best_time(lambda: ddim.sample(N, seed=0), repeat=1)
    same = float(np.corrcoef(_log_density(maps), _log_density(before))[0, 1])
    near = float(np.corrcoef(_log_density(maps), _log_density(ref))[0, 1])
    record(benchmark, ours, {"fp32": t_fp32, "ddim50": t_ddim}, n_maps=N, sampler=fast.info["sampler"],
           calls=fast.network_calls, precision=fast.precision, batch=fast.batch_size, s_per_map=ours / N,
           fp32_s_per_map=t_fp32 / N, ddim50_s_per_map=t_ddim / N, correlation_with_fp32=same,
           max_abs_log_diff_vs_fp32=float(np.abs(_log_density(maps) - _log_density(before)).max()),
           log_density_correlation_with_ddim50=near)
    assert same >= 0.999  # bf16 rounds the network, it does not make other maps
    assert near > 0.9  # and DDIM-50 from the same noise lands nearby
    assert t_ddim / ours > 1.5  # 50 / 20 calls alone is 2.5 on a quiet machine
