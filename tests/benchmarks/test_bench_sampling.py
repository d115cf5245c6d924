"""Benchmark of diffusion sampling on the CPU (pytest-benchmark): the default path beside the previous one and DDIM-50.

The packaged ``ddpm`` checkpoint draws the same maps (same seed, so the same initial noise) three ways,
timed in the same run:

- the default: DPM-Solver++(2M) in 20 network calls, the network in channels-last layout, batches of
  ``CPU_BATCH_SIZE`` maps, the time embedding computed once a step;
- ``plain``: the same sampler in the default memory layout with the config's (GPU) batch of 128, which
  is how the CPU sampled before;
- ``ddim50``: DDIM in 50 calls on the plain path (the checkpoint's training-time sampler).

``benchmark.extra_info`` holds each one's seconds per map, the speedups and how close the default path's
maps are to the plain path's (they must be the same maps: correlation of ln(1 + δ) ≥ 0.9999).
Default: 8 maps, where both paths run one batch of 8 (the layout and time-embedding gain only);
``COSMOBENCH_BENCH_FULL=1``: 256, one ``evaluate`` chunk, where the plain path's batch of 128 shows too.
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
    plain = ddpm_factory(device="cpu", channels_last=False, batch_size=128)
    ddim = ddpm_factory(device="cpu", sampler="ddim", steps=50, channels_last=False, batch_size=128)
    fast.sample(1, seed=1)  # first-call overheads outside the timing
    maps = benchmark.pedantic(fast.sample, args=(N,), kwargs={"seed": 0}, rounds=1, iterations=1)
    ours = ours_seconds(benchmark, lambda: fast.sample(N, seed=0))
    t_plain, before = best_time(lambda: plain.sample(N, seed=0), repeat=1)
    t_ddim, ref = best_time(lambda: ddim.sample(N, seed=0), repeat=1)
    same = float(np.corrcoef(_log_density(maps), _log_density(before))[0, 1])
    near = float(np.corrcoef(_log_density(maps), _log_density(ref))[0, 1])
    record(benchmark, ours, {"plain": t_plain, "ddim50": t_ddim}, n_maps=N, sampler=fast.info["sampler"],
           calls=fast.network_calls, batch=fast.batch_size, s_per_map=ours / N, plain_s_per_map=t_plain / N,
           ddim50_s_per_map=t_ddim / N, correlation_with_plain=same, max_abs_diff_vs_plain=float(np.abs(maps - before).max()),
           log_density_correlation_with_ddim50=near)
    assert same >= 0.9999  # the fast path is a faster way to the same maps, not other maps
    assert near > 0.9  # and DDIM-50 from the same noise lands nearby
    assert t_ddim / ours > 1.5  # 50 / 20 calls alone is 2.5 on a quiet machine
