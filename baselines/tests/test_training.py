"""Training every neural baseline at test size: checkpoint round trip, resume, fine-tuning, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _baseline_fakes import fake_reference, registered_factory, tiny_config
from cosmobench.errors import CosmobenchError
from cosmobench_baselines import NEURAL, checkpoint, configs, train


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

    g = registered_factory(name)(checkpoint=raw, track=None, device="cpu")
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


def test_fine_tune_keeps_the_init_checkpoints_fitted_transform(tmp_path):
    """The network's data space is the init's: a transform re-fitted to the new maps would shift its inputs."""
    cfg = tiny_config("ddpm")  # log(1 + δ + eps), standardised with the training maps' mean and std
    first = train.train(cfg, steps=1, maps=fake_reference(12, seed=2), out=tmp_path / "a", progress=False)
    other = fake_reference(12, seed=9) * 1.5  # maps of another mean and spread
    tuned = train.train(cfg, steps=1, maps=other, out=tmp_path / "b", progress=False, init=first)
    refit = train.train(cfg, steps=1, maps=other, out=tmp_path / "c", progress=False)

    def transform(path):
        return torch.load(path, map_location="cpu", weights_only=True)["config"]["transform"]

    assert transform(tuned) == transform(first)
    assert transform(refit) != transform(first)  # the case is discriminating


def test_generators_draw_the_tracks_tile(tmp_path):
    """The map side comes from the track, not a constant: a diffusion model follows it, a GAN says it cannot."""
    import dataclasses

    from cosmobench.data.track import DEFAULT_TRACK
    from cosmobench_baselines import ddpm, gan

    small = dataclasses.replace(DEFAULT_TRACK, name="tile32", tile=32)
    maps = fake_reference(8)
    d = ddpm.ddpm_factory(checkpoint=checkpoint.load_checkpoint(
        train.train(tiny_config("ddpm"), steps=1, maps=maps, out=tmp_path / "d", progress=False)),
        track=small, device="cpu", steps=2)
    assert d.sample(2, seed=0).shape == (2, 32, 32)
    ck = checkpoint.load_checkpoint(train.train(tiny_config("gan"), steps=1, maps=maps, out=tmp_path / "g", progress=False))
    assert gan.gan_factory(checkpoint=ck, device="cpu").sample(2, seed=0).shape == (2, 64, 64)
    with pytest.raises(CosmobenchError, match="draws 64² maps but the track 'tile32' has 32² tiles"):
        gan.gan_factory(checkpoint=ck, track=small, device="cpu")
