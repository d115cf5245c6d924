"""Data-parallel training: a torchrun run of K CPU processes takes the one-process run's gradient steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cosmobench.errors import CosmobenchError
from cosmobench_baselines.distributed import Dist, batch_indices


def test_rank_batches_tile_the_one_process_batch_across_epochs():
    """Local batch j of rank r = positions ≡ r (mod K) of global batch j, also when batches cross epochs."""
    n, batch = 12, 8  # 12 maps, batch 8: steps straddle epoch boundaries
    for step in range(7):
        one = batch_indices(n, batch, step, Dist(), seed=3)
        ranks = [batch_indices(n, batch, step, Dist(rank=r, world=2), seed=3) for r in range(2)]
        assert torch.equal(one[0::2], ranks[0]) and torch.equal(one[1::2], ranks[1]), step
    # each epoch of the stream is a permutation of all maps, different from the next
    stream = torch.cat([batch_indices(n, 4, s, Dist(), seed=3) for s in range(6)])
    assert sorted(stream[:12].tolist()) == list(range(12)) and sorted(stream[12:].tolist()) == list(range(12))
    assert not torch.equal(stream[:12], stream[12:])


def test_batches_that_do_not_split_are_refused():
    with pytest.raises(CosmobenchError, match="multiple of 2"):
        batch_indices(12, 5, 0, Dist(rank=0, world=2), seed=0)
    with pytest.raises(CosmobenchError, match="divides the number of maps"):
        batch_indices(13, 4, 0, Dist(rank=0, world=2), seed=0)


def _fake_maps(n=16, seed=0):
    g = np.random.default_rng(seed).standard_normal((n, 64, 64)) * 0.7
    return np.expm1(g - 0.245).astype(np.float32)


def _train(tmp: Path, out: str, nproc: int) -> dict:
    args = ["ddpm", "--maps", str(tmp / "maps.npy"), "--steps", "3", "--batch-size", "4", "--out", str(tmp / out),
            "--device", "cpu", "--no-progress", "--threads", "1", "--ckpt-every", "100"]
    if nproc == 1:
        cmd = [sys.executable, "-m", "cosmobench_baselines.train", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "cosmobench_baselines.train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return torch.load(tmp / out / "ddpm.train.pt", weights_only=True)


def test_torchrun_two_processes_equal_one_process(tmp_path):
    np.save(tmp_path / "maps.npy", _fake_maps())
    one = _train(tmp_path, "one", 1)
    two = _train(tmp_path, "two", 2)
    assert one["trainer"]["step"] == two["trainer"]["step"] == 3
    moved = 0.0
    for k, a in one["trainer"]["model"].items():
        b = two["trainer"]["model"][k]
        assert torch.allclose(a, b, rtol=1e-4, atol=2e-6), k
        moved = max(moved, float((a - b).abs().max()))
    # the steps did move the weights (an untrained copy would not pass the check above by accident)
    ckpt = torch.load(tmp_path / "two" / "ddpm.ckpt", weights_only=True)
    assert ckpt["provenance"]["hardware"]["distributed"] == {"world_size": 2, "backend": "gloo"}
    out = one["trainer"]["model"]["out.weight"]
    assert float(out.abs().max()) > 0  # zero-initialised output layer: non-zero only after real steps
    np.testing.assert_allclose(one["losses"].numpy(), two["losses"].numpy(), rtol=1e-4)
