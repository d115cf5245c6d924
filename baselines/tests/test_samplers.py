"""The fast diffusion sampler against an exact denoiser, its progress reports, and the sampler's provenance."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cosmobench_baselines import configs, ddpm, train
from cosmobench_baselines.samplers import dpmpp_2m_sample, predictions, quadratic_timesteps, spaced_timesteps

MU, S = 0.3, 0.5  # the toy data: every pixel N(MU, S²), independent


class GaussianDenoiser:
    """The exact network output for Gaussian data: E[x0 | x_t] is linear in x_t, so the ODE is known.

    The probability-flow ODE maps x_T ~ N(0, 1) to x0 = MU + S·x_T (for ᾱ_T → 0): a sampler's error is
    its distance from that map.
    """

    def __init__(self, ab, prediction):
        self.ab, self.prediction = ab, prediction
        self.calls = 0

    def __call__(self, x, t):
        self.calls += 1
        a = self.ab[t].float().view(-1, 1, 1, 1)
        x0 = MU + torch.sqrt(a) * S**2 / (a * S**2 + 1 - a) * (x - torch.sqrt(a) * MU)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
        return eps if self.prediction == "eps" else a.sqrt() * eps - (1 - a).sqrt() * x0


def _schedule(kind):
    cfg = {"T": 1000, "schedule": kind, "s": 0.008} if kind == "cosine" else {"T": 1000, "schedule": "linear"}
    return ddpm.make_schedule(cfg)


@pytest.mark.parametrize("kind, prediction", [("cosine", "v"), ("linear", "eps")])
def test_dpmpp_2m_integrates_the_exact_ode(kind, prediction):
    ab = _schedule(kind)
    xT = torch.randn((64, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    exact = MU + S * xT
    m = GaussianDenoiser(ab, prediction)
    out = dpmpp_2m_sample(m, ab, xT.clone(), steps=15, prediction=prediction, spacing="quadratic")
    assert m.calls == 15
    err_dpm = float((out - exact).abs().max())
    assert err_dpm < (0.05 if kind == "cosine" else 0.2) * S
    # second order beats DDIM (first order) at the same number of network calls by a wide margin
    ddim = ddpm.ddim_sample(GaussianDenoiser(ab, prediction), ab, xT.clone(), lambda s: None, steps=15,
                            prediction=prediction)
    err_ddim = float((ddim - exact).abs().max())
    assert err_dpm < 0.5 * err_ddim
    if kind == "cosine":  # the default, even spacing: also far closer than DDIM's even spacing
        even = dpmpp_2m_sample(GaussianDenoiser(ab, prediction), ab, xT.clone(), steps=15, prediction=prediction)
        assert float((even - exact).abs().max()) < 0.3 * err_ddim


def test_dpmpp_2m_clips_x0_and_reports_each_step():
    ab = _schedule("cosine")
    xT = torch.randn((4, 1, 8, 8), generator=torch.Generator().manual_seed(1))
    seen = []
    out = dpmpp_2m_sample(GaussianDenoiser(ab, "v"), ab, xT, steps=6, prediction="v", clip_x0=(0.0, 0.4),
                          progress=seen.append)
    assert seen == [1] * 6
    assert float(out.min()) >= 0.0 and float(out.max()) <= np.float32(0.4)


def test_timesteps_end_at_zero():
    for ts in (spaced_timesteps(1000, 15), quadratic_timesteps(1000, 15)):
        assert len(ts) == 15 and ts[0] == 999 and ts[-1] == 0 and all(a > b for a, b in zip(ts, ts[1:]))
    q = quadratic_timesteps(1000, 15)
    assert q[-2] == round((999**0.5 / 14) ** 2)  # denser near t = 0
    x0, eps = predictions(torch.tensor([0.5]), torch.tensor([1.0]), torch.tensor(0.64), "v")
    assert float(x0) == pytest.approx(0.8 * 1.0 - 0.6 * 0.5) and float(eps) == pytest.approx(0.6 * 1.0 + 0.8 * 0.5)


def _tiny_ddpm(tmp_path):
    cfg = configs.get_config("ddpm")
    cfg["model"].update(channels=[4, 8, 8], time_dim=16)
    cfg["diffusion"]["T"] = 40
    cfg["train"].update(batch_size=4, ckpt_every=2, warmup=1)
    g = np.random.default_rng(0).standard_normal((8, 64, 64)) * 0.6
    return train.train(cfg, steps=1, maps=np.expm1(g - 0.18).astype(np.float32), out=tmp_path, progress=False)


def test_generator_default_is_the_fast_sampler_with_progress_per_step(tmp_path):
    from cosmobench_baselines.checkpoint import load_checkpoint

    ck = load_checkpoint(_tiny_ddpm(tmp_path))
    g = ddpm.ddpm_factory(checkpoint=ck, device="cpu", batch_size=3, steps=5)
    assert g.info["sampler"] == "dpm++2m" and g.info["sampler_steps"] == 5
    seen = []
    x = g.sample(7, seed=0, progress=seen.append)
    # batches of 3, 3, 1 maps, 5 steps each: after step j of a batch of b, ⌊b·j/5⌋ maps, whole maps only
    assert seen == [1, 1, 1] + [1, 1, 1] + [1] and all(type(k) is int for k in seen)
    assert np.array_equal(x, g.sample(7, seed=0)) and x.min() >= -1
    seen.clear()
    wide = ddpm.ddpm_factory(checkpoint=ck, device="cpu", batch_size=7, steps=3)
    y = wide.sample(7, seed=0, progress=seen.append)
    assert seen == [2, 2, 3]  # ⌊7/3⌋, ⌊14/3⌋, 7: the bar moves during the batch
    # the default sampler's noise is all in x_T, drawn map by map: the batch size does not change the maps
    # (in fp32; bf16 kernels round differently per batch shape, at the level test_precision.py bounds)
    wide32 = ddpm.ddpm_factory(checkpoint=ck, device="cpu", batch_size=7, steps=3, precision="fp32")
    narrow = ddpm.ddpm_factory(checkpoint=ck, device="cpu", batch_size=3, steps=3, precision="fp32")
    assert np.allclose(narrow.sample(7, seed=0), wide32.sample(7, seed=0), rtol=1e-5, atol=1e-6)
    old = ddpm.ddpm_factory(checkpoint=ck, device="cpu", sampler="config")
    assert old.info["sampler"] == "ddim" and old.info["sampler_steps"] == 4 * 0 + old.steps
    with pytest.raises(ValueError, match="dpm\\+\\+2m"):
        ddpm.ddpm_factory(checkpoint=ck, sampler="euler")


def test_sample_module_writes_a_sidecar_that_evaluate_reads(tmp_path):
    from cosmobench.registry import resolve
    from cosmobench_baselines.sample import main

    path = _tiny_ddpm(tmp_path)
    out = tmp_path / "s.npy"
    assert main(["ddpm", "--checkpoint", str(path), "--n", "3", "--out", str(out), "--device", "cpu", "--steps", "4",
                 "--no-progress"]) == 0
    meta = json.loads((tmp_path / "s.npy.meta.json").read_text())
    assert meta["name"] == "ddpm" and meta["info"]["sampler"] == "dpm++2m" and meta["info"]["sampler_steps"] == 4
    assert meta["info"]["drawn"]["n"] == 3 and len(meta["info"]["checkpoint_sha256"]) == 64
    assert meta["info"]["train_source"]["n_maps"] == 8  # the training provenance travels with the samples
    r = resolve(str(out))
    assert r.name == "ddpm" and r.info["sampler"] == "dpm++2m"
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(path.read_bytes()[:500])
    assert main(["ddpm", "--checkpoint", str(bad), "--n", "1", "--out", str(tmp_path / "b.npy")]) == 2
    assert not (tmp_path / "b.npy").exists()


def test_sample_module_draws_in_evaluates_chunk_seeds():
    """Samples drawn on another machine must be the maps `cosmobench evaluate --seed S` would draw."""
    from cosmobench.evaluation import chunk_seed
    from cosmobench_baselines.sample import draw

    class Recorder:
        def __init__(self):
            self.calls = []

        def sample(self, n, *, seed):
            self.calls.append((n, seed))
            return np.zeros((n, 64, 64), np.float32)

    rec = Recorder()
    assert draw(rec, 600, 3).shape == (600, 64, 64)
    assert rec.calls == [(256, chunk_seed(3, 0)), (256, chunk_seed(3, 1)), (88, chunk_seed(3, 2))]


def test_whole_maps_never_reports_fractions_or_overshoots():
    seen = []
    w = ddpm.WholeMaps(seen.append, maps=16, steps=50)
    for _ in range(20):  # the sampler stopped early (fewer distinct timesteps than asked)
        w()
    w.finish()
    assert all(type(k) is int and k > 0 for k in seen) and sum(seen) == 16
    assert seen[0] == 1 and len(seen) == 6 + 1  # ⌊16·j/50⌋ reaches 1, …, 6 by step 20; finish sends 10


def test_sample_module_bar_counts_whole_maps(tmp_path, capsys):
    from cosmobench_baselines.sample import draw

    g = ddpm.ddpm_factory(checkpoint=torch.load(_tiny_ddpm(tmp_path), weights_only=True), device="cpu",
                          batch_size=5, steps=3)
    draw(g, 5, 0, progress=True)
    err = capsys.readouterr().err
    assert "5/5" in err and "." not in err.split("5/5")[0].split("|")[-1]  # no "1.7/5"-style counts


def test_cpu_fast_path_gives_the_maps_of_the_plain_path(tmp_path):
    """channels-last, a one-row time embedding and the CPU batch: the same maps as the plain layout, batch 8.

    Both in fp32: bf16 is another rounding (``test_precision.py`` bounds its drift), not another layout."""
    ck = torch.load(_tiny_ddpm(tmp_path), weights_only=True)
    gen = torch.Generator().manual_seed(0)  # weights far from the zero-initialised output: maps that differ
    ck["state"] = {k: v + 0.3 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v
                   for k, v in ck["state"].items()}
    fast = ddpm.ddpm_factory(checkpoint=ck, device="cpu", steps=4, precision="fp32")
    plain = ddpm.ddpm_factory(checkpoint=ck, device="cpu", steps=4, channels_last=False, batch_size=8, precision="fp32")
    assert fast.channels_last and fast.batch_size == ddpm.CPU_BATCH_SIZE and not plain.channels_last
    # noise inside the loop: the config's batch, so the maps do not depend on the device
    for opts in ({"sampler": "ddpm"}, {"sampler": "ddim", "eta": 1.0}):
        assert ddpm.ddpm_factory(checkpoint=ck, device="cpu", **opts).batch_size == ck["config"]["sample"]["batch_size"]
    a, b = fast.sample(9, seed=2), plain.sample(9, seed=2)
    assert a.std() > 0.05 and np.allclose(a, b, rtol=1e-4, atol=1e-5)
