"""Registry: names, entry points, collisions, checkpoints (never code), sample files."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from cosmobench import registry
from cosmobench._io import sha256_file
from cosmobench.errors import CosmobenchError
from cosmobench.protocol import Generator


class ScaledLognormal:
    """A tiny deterministic generator whose one parameter lives in a checkpoint."""

    name = "scaled-lognormal"

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.info = {"scale": scale}

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        g = np.random.default_rng(seed).standard_normal((n, 64, 64))
        return (np.exp(self.scale * g - self.scale**2 / 2) - 1).astype(np.float32)


def scaled_factory(*, checkpoint=None, track=None, **options):
    scale = float(checkpoint["state"]["scale"]) if checkpoint is not None else float(options.get("scale", 0.5))
    return ScaledLognormal(scale)


@pytest.fixture
def dummy_name():
    """Register the dummy generator in-process for one test."""
    registry.register("dummy-test", scaled_factory)
    yield "dummy-test"
    registry.unregister("dummy-test")


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace the installed entry points by a controlled list."""

    def install(eps):
        monkeypatch.setattr(registry, "_iter_entry_points", lambda: iter(eps))
        registry.refresh()

    yield install
    monkeypatch.undo()
    registry.refresh()


# ----------------------------------------------------------------------------------------- names


def test_protocol_is_runtime_checkable():
    assert isinstance(ScaledLognormal(0.5), Generator)
    assert not isinstance(object(), Generator)


def test_unknown_name_lists_known_ones(dummy_name):
    with pytest.raises(CosmobenchError, match="no generator named 'nope'.*dummy-test"):
        registry.resolve("nope")


def test_in_process_collision(dummy_name):
    with pytest.raises(CosmobenchError, match="claimed by"):
        registry.register(dummy_name, scaled_factory)


def test_entry_point_collision_names_both_distributions(fake_entry_points):
    fake_entry_points([("twin", "pkg_a:make", "dist-a"), ("twin", "pkg_b:make", "dist-b"), ("solo", "m:f", "dist-c")])
    with pytest.raises(CosmobenchError) as info:
        registry.resolve("twin")
    assert "dist-a" in str(info.value) and "dist-b" in str(info.value)
    assert "twin" in registry.collisions()
    assert set(registry.entries()) >= {"twin", "solo"}  # listing still works
    with pytest.raises(CosmobenchError, match="claimed by"):
        registry.register("solo", scaled_factory)


def test_same_distribution_twice_is_not_a_collision(fake_entry_points):
    fake_entry_points([("once", f"{__name__}:scaled_factory", "d"), ("once", f"{__name__}:scaled_factory", "d")])
    assert registry.resolve("once").kind == "registered"


def test_entry_point_is_loaded_lazily(fake_entry_points):
    fake_entry_points([("lazy", f"{__name__}:scaled_factory", "dist-x"), ("broken", "no_such_module_xyz:f", "dist-y")])
    model = registry.resolve("lazy", scale=0.3)  # the broken entry does not matter until asked for
    assert model.kind == "registered" and model.name == "lazy" and model.generator.scale == 0.3
    with pytest.raises(CosmobenchError, match="cannot import module 'no_such_module_xyz'"):
        registry.resolve("broken")


def test_module_factory_spec():
    model = registry.resolve(f"{__name__}:scaled_factory")
    assert model.kind == "module" and model.name == "scaled-lognormal"
    with pytest.raises(CosmobenchError, match="no attribute"):
        registry.resolve(f"{__name__}:missing_factory")


def test_factory_with_wrong_signature_is_explained():
    registry.register("bad-sig", lambda: ScaledLognormal(1.0))
    try:
        with pytest.raises(CosmobenchError, match="checkpoint=None, track="):
            registry.resolve("bad-sig")
    finally:
        registry.unregister("bad-sig")


def test_missing_file_says_no_such_file(tmp_path):
    with pytest.raises(CosmobenchError, match="no such file"):
        registry.resolve(str(tmp_path / "model.ckpt"))
    with pytest.raises(CosmobenchError, match="no such file"):
        registry.resolve("some/dir/samples")


# ----------------------------------------------------------------------------------------- checkpoints


def _save_ckpt(path, **over):
    import torch

    ckpt = {
        "format": "cosmobench-checkpoint",
        "version": 1,
        "generator": "dummy-test",
        "config": {"width": 8},
        "state": {"scale": torch.tensor(0.25)},
        "provenance": {"trained_on": "nothing"},
    }
    ckpt.update(over)
    torch.save(ckpt, path)
    return path


def test_checkpoint_round_trip(tmp_path, dummy_name):
    path = _save_ckpt(tmp_path / "my-model.ckpt")
    model = registry.resolve(str(path))
    assert model.kind == "checkpoint" and model.name == "my-model"
    assert model.checkpoint_sha256 == sha256_file(path)
    assert model.generator.scale == pytest.approx(0.25)
    assert model.info["config"] == {"width": 8} and model.info["generator"] == "dummy-test"
    a, b = model.generator.sample(3, seed=7), model.generator.sample(3, seed=7)
    assert a.shape == (3, 64, 64) and np.array_equal(a, b)


class _Evil:
    """Pickles to a call of os.system: loading it the unsafe way would run a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path, dummy_name):
    import torch

    marker = tmp_path / "pwned"
    path = _save_ckpt(tmp_path / "evil.ckpt", config={"x": _Evil(marker)})
    with pytest.raises(CosmobenchError, match="refuses to execute code"):
        registry.resolve(str(path))
    assert not marker.exists()
    # The file really is dangerous: an unsafe load runs the command (proves the test tests something).
    canary = tmp_path / "canary"
    torch.save({"x": _Evil(canary)}, tmp_path / "canary.pt")
    torch.load(tmp_path / "canary.pt", weights_only=False)
    assert canary.exists()


def test_plain_pickle_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned2"
    path = tmp_path / "legacy.pt"
    with open(path, "wb") as fh:
        pickle.dump({"format": "cosmobench-checkpoint", "evil": _Evil(marker)}, fh, protocol=2)
    with pytest.raises(CosmobenchError, match="not a cosmobench checkpoint"):
        registry.resolve(str(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    "over, match",
    [
        ({"format": "something-else"}, "not a cosmobench checkpoint"),
        ({"state": [1, 2]}, "'state' is missing or not a dict"),
        ({"generator": "never-registered"}, "cannot be loaded.*no generator named"),
        ({"version": 99}, "upgrade cosmobench"),
    ],
)
def test_bad_checkpoints(tmp_path, dummy_name, over, match):
    path = _save_ckpt(tmp_path / "bad.ckpt", **over)
    with pytest.raises(CosmobenchError, match=match):
        registry.resolve(str(path))


def test_truncated_checkpoint(tmp_path, dummy_name):
    path = _save_ckpt(tmp_path / "whole.ckpt")
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CosmobenchError, match="truncated"):
        registry.resolve(str(cut))


# ----------------------------------------------------------------------------------------- sample files


def _maps(n=10, seed=0):
    return ScaledLognormal(0.5).sample(n, seed=seed)


def _write(path, maps, key="samples"):
    if path.suffix == ".npy":
        np.save(path, maps)
    elif path.suffix == ".npz":
        np.savez(path, **{key: maps})
    else:
        import h5py

        with h5py.File(path, "w") as fh:
            fh.create_dataset(key, data=maps)
    return path


@pytest.mark.parametrize("suffix, key", [(".npy", None), (".npz", "samples"), (".npz", "arr_0"), (".h5", "samples"), (".h5", "maps")])
def test_sample_files_serve_their_maps(tmp_path, suffix, key):
    maps = _maps(10)
    path = _write(tmp_path / f"gen{suffix}", maps, key or "samples")
    model = registry.resolve(str(path))
    assert model.kind == "samples" and model.name == "gen" and model.checkpoint_sha256 == sha256_file(path)
    gen = model.generator
    assert len(gen) == 10
    assert np.array_equal(gen.sample(4, seed=1), maps[:4])
    assert np.array_equal(gen.sample(4, seed=2), maps[:4])  # files score deterministically
    assert np.array_equal(gen.take(4, 10), maps[4:])
    with pytest.raises(CosmobenchError, match="holds 10 maps"):
        gen.sample(11, seed=0)


def test_npz_with_several_arrays_needs_samples_key(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=_maps(2), b=_maps(2))
    with pytest.raises(CosmobenchError, match="name the samples array 'samples'"):
        registry.resolve(str(path))


def test_object_npy_is_refused(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CosmobenchError, match="could not be read"):
        registry.resolve(str(path))


def test_truncated_npy_is_refused(tmp_path):
    path = _write(tmp_path / "whole.npy", _maps(4))
    cut = tmp_path / "cut.npy"
    cut.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CosmobenchError, match="truncated"):
        registry.resolve(str(cut))


def test_sample_file_of_wrong_rank(tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.zeros((4, 4096), np.float32))
    with pytest.raises(CosmobenchError, match="stack of maps"):
        registry.resolve(str(path))


def test_directory_or_bare_file_does_not_shadow_a_name(tmp_path, monkeypatch, dummy_name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / dummy_name).mkdir()
    assert registry.resolve(dummy_name).kind == "registered"
    (tmp_path / "adir").mkdir()
    with pytest.raises(CosmobenchError, match="is a directory"):
        registry.resolve("adir")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(CosmobenchError, match="suffix '.txt'"):
        registry.resolve("notes.txt")


def test_sample_file_sidecar_names_the_model_and_keeps_provenance(tmp_path):
    from cosmobench.registry import SampleFileGenerator

    path = tmp_path / "draws.npy"
    np.save(path, np.zeros((4, 64, 64), np.float32))
    gen = SampleFileGenerator(path)
    assert gen.name == "draws" and "sidecar" not in gen.info
    (tmp_path / "draws.npy.meta.json").write_text(json.dumps({"name": "ddpm", "info": {"checkpoint_sha256": "abc"}}))
    gen = SampleFileGenerator(path)
    assert gen.name == "ddpm" and gen.info["checkpoint_sha256"] == "abc"
    (tmp_path / "draws.npy.meta.json").write_text("[1, 2]")
    with pytest.raises(CosmobenchError, match="sidecar"):
        SampleFileGenerator(path)


def test_factory_declaring_source_gets_the_reference_source_unless_given():
    seen = {}

    def factory(*, checkpoint=None, track=None, source="sim"):
        seen["source"] = source
        return _Const()

    class _Const:
        def sample(self, n, *, seed):
            return np.zeros((n, 64, 64), np.float32)

    registry.register("src-aware-test", factory)
    try:
        registry.resolve("src-aware-test", reference_source="sim-small")
        assert seen["source"] == "sim-small"
        registry.resolve("src-aware-test", reference_source="sim-small", source="other")
        assert seen["source"] == "other"
        registry.resolve("src-aware-test")
        assert seen["source"] == "sim"
    finally:
        registry.unregister("src-aware-test")
