"""The distribution as installed: entry points, package data, the committed checkpoints and their size budget."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

import cosmobench_baselines as cb
from _baseline_fakes import MAX_CKPT_BYTES, registered_factory
from cosmobench_baselines import checkpoint, configs, ddpm, gan

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


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


@pytest.mark.parametrize("name", list(configs.CONFIGS))
def test_every_config_fits_the_checkpoint_budget(name):
    cfg = configs.get_config(name)
    net = ddpm.build_model(cfg["model"]) if cfg["model"]["kind"] == "unet" else gan.build_generator(cfg["model"])
    nbytes = sum(p.numel() * p.element_size() for p in net.state_dict().values())
    assert nbytes < MAX_CKPT_BYTES - 200_000, f"{name}: {nbytes / 1e6:.1f} MB"


PACKAGED = sorted(Path(cb.__file__).parent.joinpath("checkpoints").glob("*.ckpt"))


@pytest.mark.parametrize("path", PACKAGED, ids=[p.stem for p in PACKAGED])
def test_packaged_checkpoints(path):
    assert path.stat().st_size <= MAX_CKPT_BYTES
    ck = checkpoint.load_checkpoint(path)
    assert ck["generator"] == path.stem
    assert (path.with_suffix(".json")).is_file()
    opts = {"sampler": "ddim", "steps": 3} if path.stem.startswith("ddpm") else {}
    g = registered_factory(path.stem)(track=None, device="cpu", **opts)  # the default (packaged) checkpoint
    x = g.sample(2, seed=0)
    assert x.shape == (2, 64, 64) and x.dtype == np.float32 and x.min() >= -1
