"""Tests of the cosmobench-baselines package (``baselines/``): fast, CPU, fake data unless stated."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import torch  # noqa: E402

import cosmobench_baselines as cb  # noqa: E402  (installed by the README's test command: -e ./baselines)

from cosmobench.errors import CosmobenchError  # noqa: E402
from cosmobench_baselines import analytic, checkpoint, configs, ddpm, gan, holdout, train, transforms  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "baselines" / "pyproject.toml"
MAX_CKPT_BYTES = 20_000_000
L = 250.0


# ----------------------------------------------------------------------------------------- fakes
def _smooth_gaussian(rng, n, sigma_pix=2.0, size=64):
    """Periodic Gaussian fields of unit variance smoothed with a Gaussian kernel (a known smooth P(k))."""
    w = rng.standard_normal((n, size, size))
    k = np.fft.fftfreq(size)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    f = np.fft.ifft2(np.fft.fft2(w) * np.exp(-2 * (np.pi * sigma_pix) ** 2 * k2)).real
    return f / f.std()


def fake_reference(n=96, seed=0, amp=0.8):
    """Lognormal-ish δ maps, float32, δ > −1."""
    rng = np.random.default_rng(seed)
    g = amp * _smooth_gaussian(rng, n)
    return np.expm1(g - amp**2 / 2).astype(np.float32)


class FakeSource:
    def __init__(self, maps_by_split, name="fake"):
        self._m = maps_by_split
        self.name = name
        self.content_hash = "0" * 16
        from cosmobench.data.track import DEFAULT_TRACK

        self.track = DEFAULT_TRACK

    def maps(self, split, z="0"):
        return self._m[split]


@pytest.fixture
def fake_source(monkeypatch):
    import cosmobench.data

    src = FakeSource({"train": fake_reference(96, 1), "val": fake_reference(40, 2), "test": fake_reference(40, 3)})
    monkeypatch.setattr(cosmobench.data, "get_source", lambda name="sim": src, raising=False)
    return src


def tiny_config(name):
    """A CPU config of ``name`` shrunk to test size (same family, same code path)."""
    cfg = configs.get_config(name)
    m = cfg["model"]
    if m["kind"] == "unet":
        m["channels"] = [4, 8, 8] if not m.get("pool_bottleneck") else [4, 8, 16]
        m["time_dim"] = 16
        cfg["diffusion"]["T"] = 12
        cfg["sample"]["steps"] = 4
    elif m["kind"] == "mlp":
        m.update(latent=8, g_hidden=[16], d_hidden=[32, 16])
    else:
        m.update(latent=8, g_channels=[16, 8, 8, 4, 4], d_channels=[4, 8, 8, 8])
    cfg["train"]["batch_size"] = 4
    cfg["train"]["ckpt_every"] = 2
    if "warmup" in cfg["train"]:
        cfg["train"]["warmup"] = 1
    return cfg


# ----------------------------------------------------------------------------------------- packaging
def _pyproject():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")

    return tomllib.loads(PYPROJECT.read_text())


def test_pyproject_declares_entry_points_and_package_data():
    pp = _pyproject()
    assert pp["project"]["name"] == "cosmobench-baselines"
    eps = pp["project"]["entry-points"]["cosmobench.generators"]
    assert set(eps) == {"holdout", "grf", "lognormal", "ddpm-seed", "ddpm", "gan-seed", "gan"}
    for name, target in eps.items():
        mod, _, attr = target.partition(":")
        assert mod.startswith("cosmobench_baselines."), target
        assert callable(getattr(importlib.import_module(mod), attr)), target
    deps = pp["project"]["dependencies"]
    assert "cosmobench" in deps
    torch_dep = next(d for d in deps if d.startswith("torch"))
    assert "==" not in torch_dep and ">=" in torch_dep and "<" in torch_dep
    assert pp["project"]["scripts"]["cosmobench-train"] == "cosmobench_baselines.train:main"
    assert any("checkpoints/*.ckpt" in p for p in pp["tool"]["setuptools"]["package-data"]["cosmobench_baselines"])


def test_installed_entry_points_match_pyproject():
    from importlib.metadata import entry_points

    installed = {ep.name: ep.value for ep in entry_points(group="cosmobench.generators")}
    for name, target in _pyproject()["project"]["entry-points"]["cosmobench.generators"].items():
        assert installed.get(name) == target, f"reinstall: pip install -e baselines ({name})"


# ----------------------------------------------------------------------------------------- holdout
def test_holdout_seeded_without_replacement(fake_source):
    g = holdout.holdout_factory(track=None)
    a, b, c = g.sample(30, seed=4), g.sample(30, seed=4), g.sample(30, seed=5)
    assert a.shape == (30, 64, 64) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    val = fake_source.maps("val")
    rows = {val[i].tobytes(): i for i in range(len(val))}
    idx = [rows[m.tobytes()] for m in a]
    assert len(set(idx)) == 30  # without replacement, all from val
    with pytest.raises(CosmobenchError, match="only 40"):
        g.sample(41, seed=0)
    with pytest.raises(CosmobenchError):
        holdout.holdout_factory(checkpoint={"x": 1})


# ----------------------------------------------------------------------------------------- analytic
@pytest.mark.parametrize("kind", ["grf", "lognormal"])
def test_analytic_shape_dtype_determinism(kind, fake_source):
    fac = analytic.grf_factory if kind == "grf" else analytic.lognormal_factory
    g = fac()
    a, b, c = g.sample(7, seed=1), g.sample(7, seed=1), g.sample(7, seed=2)
    assert a.shape == (7, 64, 64) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.isfinite(a).all() and a.min() >= -1.0


def test_grf_recovers_target_power():
    # weakly non-linear reference: no clipping, so P(k) must come back within the sampling error
    ref = fake_reference(200, seed=3, amp=0.15)
    g = analytic.grf_factory(reference_maps=ref)
    m = 400
    s = g.sample(m, seed=11)
    assert g.info["clip_fraction"] == 0.0
    k, p_ref, edges = analytic._binned_power(ref.astype(np.float64), L)
    _, p_gen, _ = analytic._binned_power(s.astype(np.float64), L)
    target, got = np.nanmean(p_ref, 0), np.nanmean(p_gen, 0)
    nmodes = np.histogram(analytic._kgrid(64, L)[analytic._kgrid(64, L) > 0], bins=edges)[0]
    ok = np.isfinite(target) & (target > 1e-3 * np.nanmax(target))
    err = np.sqrt(2.0 / (nmodes[ok] * m))  # relative error of the mean of m Gaussian-field estimates
    z = (got[ok] / target[ok] - 1) / err
    assert np.abs(z).max() < 5.0, z
    assert abs(np.mean(z)) < 1.0


def test_grf_power_normalisation_catches_factor_errors(monkeypatch):
    """The P(k) check above must be able to fail: a generator off by 10 % in amplitude is caught."""
    ref = fake_reference(200, seed=3, amp=0.15)
    g = analytic.grf_factory(reference_maps=ref)
    g.amp = g.amp * 1.05
    s = g.sample(400, seed=11)
    k, p_ref, edges = analytic._binned_power(ref.astype(np.float64), L)
    _, p_gen, _ = analytic._binned_power(s.astype(np.float64), L)
    ratio = np.nanmean(p_gen, 0) / np.nanmean(p_ref, 0)
    assert np.nanmedian(ratio) > 1.07


def test_grf_clips_below_minus_one():
    ref = fake_reference(64, seed=5, amp=1.0)
    g = analytic.grf_factory(reference_maps=ref)
    s = g.sample(32, seed=0)
    assert s.min() >= analytic.GRF_FLOOR - 1e-7
    assert g.info["clip_fraction"] > 0


def test_lognormal_variance_and_positivity():
    ref = fake_reference(200, seed=7, amp=0.8)
    g = analytic.lognormal_factory(reference_maps=ref)
    s = g.sample(600, seed=3).astype(np.float64)
    assert s.min() > -1.0
    target = ref.astype(np.float64).var(axis=(1, 2)).mean() + ref.astype(np.float64).mean(axis=(1, 2)).var()
    assert g.target_variance == pytest.approx(target, rel=1e-9)
    got = s.var(axis=(1, 2)).mean() + s.mean(axis=(1, 2)).var()
    assert got == pytest.approx(target, rel=0.08)
    assert abs(s.mean()) < 0.05
    # and the two-point function comes out too (to the lognormal approximation)
    _, p_ref, _ = analytic._binned_power(ref.astype(np.float64), L)
    _, p_gen, _ = analytic._binned_power(s, L)
    r = np.nanmean(p_gen, 0)[:20] / np.nanmean(p_ref, 0)[:20]
    assert np.all(np.abs(r - 1) < 0.25), r


# ----------------------------------------------------------------------------------------- transforms
@pytest.mark.parametrize("cfg", [{"kind": "linear", "lo": -1.0, "hi": 235.2}, {"kind": "log", "eps": 0.01},
                                 {"kind": "contrast", "a": 0.1}])
def test_transform_round_trip(cfg):
    d = torch.from_numpy(fake_reference(8, seed=1, amp=1.0).astype(np.float32))
    tf = transforms.fit_transform(cfg, d.numpy())
    back, frac = tf.inverse(tf.forward(d))
    assert frac == 0.0
    assert torch.allclose(back, d, rtol=1e-3, atol=1e-4)
    assert transforms.from_config(tf.config()).config() == tf.config()
    low, frac = tf.inverse(torch.full((2, 2), -50.0))
    assert (low >= -1).all()


def test_seed_linear_transform_range():
    tf = transforms.from_config({"kind": "linear", "lo": -1.0, "hi": 235.2})
    y = tf.forward(torch.tensor([-1.0, 235.2, 0.0]))
    assert torch.allclose(y[:2], torch.tensor([-1.0, 1.0]))
    assert y[2] < -0.99  # the seed's problem: δ = 0 sits at −0.9915


def test_augment_is_a_dihedral_permutation():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4).repeat(8, 1, 1, 1)
    y = train.augment(x, torch.Generator().manual_seed(0))
    for a, b in zip(x, y):
        assert sorted(a.flatten().tolist()) == sorted(b.flatten().tolist())
    assert not torch.equal(x, y)


# ----------------------------------------------------------------------------------------- diffusion pieces
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


@pytest.mark.parametrize("name", list(configs.CONFIGS))
def test_every_config_fits_the_checkpoint_budget(name):
    cfg = configs.get_config(name)
    net = ddpm.build_model(cfg["model"]) if cfg["model"]["kind"] == "unet" else gan.build_generator(cfg["model"])
    nbytes = sum(p.numel() * p.element_size() for p in net.state_dict().values())
    assert nbytes < MAX_CKPT_BYTES - 200_000, f"{name}: {nbytes / 1e6:.1f} MB"


# ----------------------------------------------------------------------------------------- neural models
NEURAL = ["ddpm-seed", "ddpm", "gan-seed", "gan"]


def _factory(name):
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="cosmobench.generators") if e.name == name]
    return ep.load()


@pytest.mark.parametrize("name", NEURAL)
def test_train_checkpoint_factory_round_trip(name, tmp_path):
    cfg = tiny_config(name)
    maps = fake_reference(12, seed=2)
    path = train.train(cfg, steps=2, maps=maps, out=tmp_path, progress=False, seed=3)
    assert path == tmp_path / f"{name}.ckpt"
    for f in (f"{name}.json", f"{name}.train.pt", f"{name}.loss.csv", f"{name}.loss.png"):
        assert (tmp_path / f).is_file(), f
    assert len((tmp_path / f"{name}.loss.csv").read_text().strip().splitlines()) == 3
    raw = torch.load(path, map_location="cpu", weights_only=True)  # data, never code
    assert raw["format"] == "cosmobench-checkpoint" and raw["version"] == 1 and raw["generator"] == name
    assert raw["provenance"]["steps"] == 2 and raw["provenance"]["torch_version"]
    assert all(isinstance(v, torch.Tensor) for v in raw["state"].values())
    assert not any(k.startswith(("D.", "opt")) for k in raw["state"])
    torch.load(tmp_path / f"{name}.train.pt", map_location="cpu", weights_only=True)

    g = _factory(name)(checkpoint=raw, track=None, device="cpu")
    a, b, c = g.sample(3, seed=5), g.sample(3, seed=5), g.sample(3, seed=6)
    assert a.shape == (3, 64, 64) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= -1.0
    assert np.array_equal(a, b) and not np.array_equal(a, c)

    # resume continues to a larger total, with the loss history kept
    train.train(cfg, steps=3, maps=maps, out=tmp_path, progress=False, seed=3, resume=True)
    assert checkpoint.load_checkpoint(path)["provenance"]["steps"] == 3
    assert len((tmp_path / f"{name}.loss.csv").read_text().strip().splitlines()) == 4


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    cfg = tiny_config("gan")
    maps = fake_reference(12, seed=2)
    one = train.train(cfg, steps=4, maps=maps, out=tmp_path / "a", progress=False)
    train.train(cfg, steps=2, maps=maps, out=tmp_path / "b", progress=False)
    two = train.train(cfg, steps=4, maps=maps, out=tmp_path / "b", progress=False, resume=True)
    sa, sb = checkpoint.load_checkpoint(one)["state"], checkpoint.load_checkpoint(two)["state"]
    for k in sa:
        assert torch.allclose(sa[k].float(), sb[k].float(), atol=1e-5), k


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


def test_checkpoint_errors(tmp_path, monkeypatch):
    cfg = tiny_config("gan")
    path = train.train(cfg, steps=1, maps=fake_reference(8), out=tmp_path, progress=False)
    ck = checkpoint.load_checkpoint(path)
    with pytest.raises(CosmobenchError, match="generator 'gan'"):
        gan.gan_seed_factory(checkpoint=ck)
    with pytest.raises(CosmobenchError, match="not a cosmobench checkpoint"):
        gan.gan_factory(checkpoint={"state": {}})
    bad = tmp_path / "trunc.ckpt"
    bad.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CosmobenchError, match="cannot read checkpoint"):
        checkpoint.load_checkpoint(bad)
    monkeypatch.setattr(checkpoint, "packaged_checkpoint_path", lambda name: tmp_path / "none" / f"{name}.ckpt")
    with pytest.raises(CosmobenchError, match=r"python -m cosmobench_baselines.train ddpm"):
        ddpm.ddpm_factory()


def test_train_cli_help_lists_configs(capsys):
    with pytest.raises(SystemExit) as exc:
        train.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in configs.CONFIGS:
        assert name in out


def test_train_cli_runs_on_a_maps_file(tmp_path, monkeypatch):
    f = tmp_path / "maps.npy"
    np.save(f, fake_reference(8))
    tiny = tiny_config("gan-seed")
    monkeypatch.setitem(configs.CONFIGS, "gan-seed", tiny)
    rc = train.main(["gan-seed", "--steps", "2", "--maps", str(f), "--out", str(tmp_path / "o"), "--no-progress",
                     "--device", "cpu"])
    assert rc == 0
    prov = checkpoint.load_checkpoint(tmp_path / "o" / "gan-seed.ckpt")["provenance"]
    assert prov["source"]["split"] == "file" and len(prov["source"]["content_hash"]) == 64


# ----------------------------------------------------------------------------------------- committed checkpoints
PACKAGED = sorted(Path(cb.__file__).parent.joinpath("checkpoints").glob("*.ckpt"))


@pytest.mark.parametrize("path", PACKAGED, ids=[p.stem for p in PACKAGED])
def test_packaged_checkpoints(path):
    assert path.stat().st_size <= MAX_CKPT_BYTES
    ck = checkpoint.load_checkpoint(path)
    assert ck["generator"] == path.stem
    assert (path.with_suffix(".json")).is_file()
    opts = {"sampler": "ddim", "steps": 3} if path.stem.startswith("ddpm") else {}
    g = _factory(path.stem)(track=None, device="cpu", **opts)  # the default (packaged) checkpoint
    x = g.sample(2, seed=0)
    assert x.shape == (2, 64, 64) and x.dtype == np.float32 and x.min() >= -1


# ----------------------------------------------------------------------------------------- real small source
def test_analytic_and_holdout_on_small_source(small_source):
    src = small_source
    h = holdout.holdout_factory(source=src.name)
    assert h.sample(8, seed=0).shape == (8, 64, 64)
    ln = analytic.lognormal_factory(source=src.name)
    x = ln.sample(16, seed=0)
    assert x.shape == (16, 64, 64) and x.min() > -1
    assert analytic.grf_factory(source=src.name).sample(4, seed=0).min() >= -1


def test_sample_module_draws_in_evaluates_chunk_seeds():
    """Samples drawn on another machine must be the maps `cosmobench evaluate --seed S` would draw."""
    from cosmobench.evaluation import chunk_seed as evaluate_chunk_seed
    from cosmobench_baselines.sample import chunk_seed, draw

    assert all(chunk_seed(s, i) == evaluate_chunk_seed(s, i) for s in (0, 7) for i in range(5))

    class Recorder:
        def __init__(self):
            self.calls = []

        def sample(self, n, *, seed):
            self.calls.append((n, seed))
            return np.zeros((n, 64, 64), np.float32)

    rec = Recorder()
    assert draw(rec, 600, 3).shape == (600, 64, 64)
    assert rec.calls == [(256, chunk_seed(3, 0)), (256, chunk_seed(3, 1)), (88, chunk_seed(3, 2))]


def test_analytic_baseline_builds_a_missing_reference_source(tmp_path, monkeypatch):
    """The README's main command on a fresh machine: `evaluate --model lognormal` before any `data build`."""
    from cosmobench.evaluation import evaluate

    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path))
    result = evaluate("lognormal", n=32, source="sim-small", progress=False)
    assert result.reference["source"] == "sim-small"
    assert np.isfinite(result.composite)


def test_init_fine_tunes_from_a_diffusion_checkpoint(tmp_path):
    cfg = tiny_config("ddpm-seed")
    maps = fake_reference(12, seed=2)
    first = train.train(cfg, steps=2, maps=maps, out=tmp_path / "a", progress=False, seed=3)
    start = torch.load(first, map_location="cpu", weights_only=True)["state"]
    second = train.train(cfg, steps=1, maps=maps, out=tmp_path / "b", progress=False, seed=4, init=first)
    raw = torch.load(second, map_location="cpu", weights_only=True)
    assert raw["provenance"]["init_from"]["steps"] == 2
    # one step of Adam from the initial weights moves them, but only slightly
    moved = [float((raw["state"][k] - v).abs().max()) for k, v in start.items() if v.is_floating_point()]
    assert 0 < max(moved) < 0.05
    with pytest.raises(CosmobenchError, match="diffusion configs only"):
        train.train(tiny_config("gan"), steps=1, maps=maps, out=tmp_path / "c", progress=False, init=first)
