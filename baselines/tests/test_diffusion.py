"""Diffusion pieces: schedules, DDIM against an oracle denoiser, the seed's U-Net layout, the sampler options."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _baseline_fakes import fake_reference, tiny_config
from cosmobench_baselines import checkpoint, configs, ddpm, train


def test_schedules():
    lin = ddpm.make_schedule({"T": 1000, "schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02})
    assert lin.shape == (1000,) and float(lin[0]) == pytest.approx(1 - 1e-4)
    assert float(lin[-1]) < 1e-4
    cos = ddpm.make_schedule({"T": 1000, "schedule": "cosine"})
    assert torch.all(cos[1:] < cos[:-1]) and float(cos[-1]) < 1e-3
    ts = ddpm.ddim_timesteps(1000, 50)
    assert len(ts) == 50 and ts[0] == 999 and ts[-1] == 0


def test_ddim_recovers_clean_data_with_oracle_model():
    """With the exact ε of a single data point, DDIM in 5 steps lands on that data point."""
    ab = ddpm.make_schedule({"T": 100, "schedule": "cosine"})
    x0 = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))

    def oracle(x, t):
        a = ab[t].float().view(-1, 1, 1, 1)
        return (x - a.sqrt() * x0) / (1 - a).sqrt()

    xT = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    out = ddpm.ddim_sample(oracle, ab, xT, noise=None, steps=5)
    assert torch.allclose(out, x0.expand_as(out), atol=1e-3)


def test_unet_seed_layout():
    net = ddpm.build_model(configs.get_config("ddpm-seed")["model"])
    x = torch.randn(2, 1, 64, 64)
    assert net(x, torch.tensor([0, 999])).shape == (2, 1, 64, 64)
    assert net.down_blocks[0][0].conv1.out_channels == 10
    assert net.mid.conv1.out_channels == 160


def test_diffusion_samplers_options(tmp_path):
    cfg = tiny_config("ddpm-seed")
    path = train.train(cfg, steps=1, maps=fake_reference(8), out=tmp_path, progress=False)
    ck = checkpoint.load_checkpoint(path)
    anc = ddpm.ddpm_seed_factory(checkpoint=ck, sampler="config")  # the checkpoint's own: the seed's ancestral
    assert anc.sampler == "ddpm" and anc.info["sampler_steps"] == 12
    fast = ddpm.ddpm_seed_factory(checkpoint=ck, sampler="ddim", steps=3)
    x = fast.sample(2, seed=0)
    assert x.shape == (2, 64, 64) and np.array_equal(x, fast.sample(2, seed=0))
    sto = ddpm.ddpm_seed_factory(checkpoint=ck, sampler="ddim", steps=3, eta=1.0)
    assert not np.array_equal(sto.sample(2, seed=0), x)
