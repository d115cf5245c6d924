"""Checkpoints: the baselines read, check and write the core's format (cosmobench.checkpoint)."""

from __future__ import annotations

import pytest
import torch

import cosmobench.registry
from _baseline_fakes import fake_reference, tiny_config
from cosmobench.errors import CosmobenchError
from cosmobench_baselines import checkpoint, ddpm, gan, train
from cosmobench_baselines.device import pick_device


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
    with pytest.raises(CosmobenchError, match="truncated, damaged or not written by torch.save"):
        checkpoint.load_checkpoint(bad)
    monkeypatch.setattr(checkpoint, "packaged_checkpoint_path", lambda name: tmp_path / "none" / f"{name}.ckpt")
    with pytest.raises(CosmobenchError, match=r"python -m cosmobench_baselines.train ddpm"):
        ddpm.ddpm_factory()


def test_a_trained_checkpoint_is_read_by_the_core_reader(tmp_path):
    """One format: what cosmobench-train writes is what `cosmobench evaluate --model X.ckpt` resolves."""
    assert checkpoint.load_checkpoint is cosmobench.registry.load_checkpoint
    path = train.train(tiny_config("gan-seed"), steps=1, maps=fake_reference(8), out=tmp_path, progress=False)
    model = cosmobench.registry.resolve(str(path), device="cpu")
    assert model.kind == "checkpoint" and model.info["generator"] == "gan-seed"
    assert model.generator.sample(2, seed=0).shape == (2, 64, 64)


def test_baseline_check_adds_provenance_and_finite_weights_to_the_core_check(tmp_path):
    ck = checkpoint.make_checkpoint("gan", {"model": {}}, {"w": torch.ones(2)}, {"steps": 1})
    assert checkpoint.check_checkpoint(ck, expect="gan") is ck
    with pytest.raises(CosmobenchError, match="provenance"):
        checkpoint.check_checkpoint({**ck, "provenance": None})
    with pytest.raises(CosmobenchError, match="NaN or inf"):
        checkpoint.check_checkpoint({**ck, "state": {"w": torch.tensor([1.0, float("nan")])}})
    with pytest.raises(CosmobenchError, match="generator"):  # the core's check runs first
        checkpoint.check_checkpoint({**ck, "generator": None})
    # the writer refuses before writing: neither the file nor its JSON appears
    with pytest.raises(CosmobenchError, match="NaN or inf"):
        checkpoint.save_checkpoint({**ck, "state": {"w": torch.tensor([float("inf")])}}, tmp_path / "bad.ckpt")
    assert not list(tmp_path.iterdir())
    path = checkpoint.save_checkpoint(ck, tmp_path / "good.ckpt")
    assert torch.equal(checkpoint.load_checkpoint(path)["state"]["w"], ck["state"]["w"])
    assert (tmp_path / "good.json").is_file()


def test_one_device_choice_for_sampling_and_training():
    assert pick_device("cpu") == torch.device("cpu") == pick_device(torch.device("cpu"))
    assert pick_device("auto") == pick_device(None) == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(CosmobenchError, match="not a torch device name"):
        pick_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(CosmobenchError, match="no CUDA device"):
            pick_device("cuda")
        with pytest.raises(CosmobenchError, match="no CUDA device"):
            train.train(tiny_config("gan"), steps=1, maps=fake_reference(8), device="cuda", progress=False)
