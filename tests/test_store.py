"""Sources on disk: split rule, build + resume with a fake simulator, meta and hash stability, load_reference."""

from __future__ import annotations

import dataclasses
import json
import types

import numpy as np
import pytest

from cosmobench.data import store
from cosmobench.data.store import build_simulated, get_source, list_sources, split_of_box
from cosmobench.errors import CosmobenchError


@dataclasses.dataclass(frozen=True)
class FakeConfig:
    box_size: float = 250.0
    n_particles: int = 64
    mesh_factor: int = 2
    n_steps: int = 2
    a_init: float = 1 / 128
    paint_grid: int = 64


class FakeSim:
    """Stands in for cosmobench.data.simulator: a lognormal cube per seed, optional crash after some calls."""

    def __init__(self, fail_after=None):
        self.SIM_CONFIGS = {"default": FakeConfig(box_size=500.0, paint_grid=128), "small": FakeConfig(),
                            "other": FakeConfig(n_steps=3)}
        self.calls = []
        self.fail_after = fail_after

    def simulate(self, config, seed, *, threads=None, progress=None):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("simulated interrupt")
        self.calls.append(seed)
        if progress:
            progress(1, 1, "pm")
        rng = np.random.default_rng(seed)
        g = rng.standard_normal((config.paint_grid,) * 3)
        delta = np.exp(g - 0.5) - 1.0
        return types.SimpleNamespace(delta=delta.astype(np.float32), delta_init=(0.01 * g).astype(np.float32),
                                     wall_time=0.0, config=config, seed=seed)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def fake(monkeypatch):
    sim = FakeSim()
    monkeypatch.setattr(store, "_get_simulator", lambda: sim)
    return sim


def test_split_rule():
    assert [split_of_box(i) for i in range(4)] == ["test", "test", "val", "train"]
    assert [split_of_box(i) for i in range(10, 14)] == ["test", "test", "val", "train"]
    assert split_of_box(9) == "train"
    with pytest.raises(CosmobenchError):
        split_of_box(-1)


def test_data_home(home):
    assert store.data_home() == home


def test_build_layout_meta(home, fake):
    src = build_simulated(name="sim-small", config="small", boxes=4, progress=False)
    assert src.n_boxes == 4 and src.boxes("test") == [0, 1] and src.boxes("val") == [2] and src.boxes("train") == [3]
    m = src.maps("test")
    assert m.shape == (64, 64, 64) and m.dtype == np.float32
    assert src.maps("test", z="127").shape == (64, 64, 64)
    files = sorted(p.name for p in src.path.iterdir())
    assert files == ["box_0000_z0.npy", "box_0000_z127.npy", "box_0001_z0.npy", "box_0001_z127.npy",
                     "box_0002_z0.npy", "box_0002_z127.npy", "box_0003_z0.npy", "box_0003_z127.npy", "meta.json"]
    meta = json.loads((src.path / "meta.json").read_text())
    assert meta["track"]["name"] == "quijote-z0" and meta["simulator"]["config_name"] == "small"
    assert meta["boxes"]["3"]["split"] == "train"
    assert len({b["seed"] for b in meta["boxes"].values()}) == 4
    # sigma0 is the pooled std of the z=127 tiles.
    all127 = np.concatenate([src.box_maps(i, "127") for i in range(4)]).astype(np.float64)
    assert src.sigma0 == pytest.approx(all127.std(), rel=1e-6)
    assert isinstance(src.box_maps(0), np.memmap)
    src.verify()
    assert [s.name for s in list_sources()] == ["sim-small"]


def test_build_interrupt_resume_and_hash_stability(home, monkeypatch):
    crashing = FakeSim(fail_after=2)
    monkeypatch.setattr(store, "_get_simulator", lambda: crashing)
    with pytest.raises(KeyboardInterrupt):
        build_simulated(name="sim-small", boxes=4, progress=False)
    src = get_source("sim-small")
    assert src.boxes() == [0, 1]
    before = {p.name: p.stat().st_mtime_ns for p in src.path.glob("box_*.npy")}
    assert not list(src.path.glob("*.tmp")) and not list(src.path.glob(".*"))

    resumed = FakeSim()
    monkeypatch.setattr(store, "_get_simulator", lambda: resumed)
    src = build_simulated(name="sim-small", boxes=4, progress=False)
    assert src.boxes() == [0, 1, 2, 3] and len(resumed.calls) == 2  # only the missing boxes were simulated
    assert {p: src.path.joinpath(p).stat().st_mtime_ns for p in before} == before  # earlier boxes untouched
    h = src.content_hash

    # A second, uninterrupted build elsewhere gives the same content hash; rebuilding is a no-op.
    other = FakeSim()
    monkeypatch.setattr(store, "_get_simulator", lambda: other)
    monkeypatch.setenv("COSMOBENCH_HOME", str(home / "second"))
    assert build_simulated(name="sim-small", boxes=4, progress=False).content_hash == h
    assert build_simulated(name="sim-small", boxes=4, progress=False).content_hash == h
    assert len(other.calls) == 4
    # Adding boxes keeps existing splits and changes the hash.
    bigger = build_simulated(name="sim-small", boxes=5, progress=False)
    assert bigger.boxes("test") == [0, 1] and bigger.boxes("train") == [3, 4] and bigger.content_hash != h


def test_damaged_box_is_rebuilt(home, fake):
    src = build_simulated(name="sim-small", boxes=2, progress=False)
    with open(src.path / "box_0001_z0.npy", "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00" * 8)
    n = len(fake.calls)
    build_simulated(name="sim-small", boxes=2, progress=False)
    assert len(fake.calls) == n + 1


def test_refuse_mixing_configs_and_seeds(home, fake):
    build_simulated(name="mine", config="small", boxes=1, progress=False)
    with pytest.raises(CosmobenchError, match="never mixes configs"):
        build_simulated(name="mine", config="other", boxes=2, progress=False)
    with pytest.raises(CosmobenchError, match="seed"):
        build_simulated(name="mine", boxes=2, seed=1, progress=False)
    with pytest.raises(CosmobenchError, match="reserved"):
        build_simulated(name="sim", config="small", boxes=1, progress=False)
    with pytest.raises(CosmobenchError, match="unknown simulator config"):
        build_simulated(name="x", config="huge", boxes=1, progress=False)


def test_missing_source_message(home):
    with pytest.raises(CosmobenchError, match="cosmobench data build"):
        get_source("sim")
    with pytest.raises(CosmobenchError, match="cosmobench data import"):
        get_source("quijote")


def test_load_reference_builds_what_is_missing(home, fake):
    from cosmobench.data import load_reference

    with pytest.raises(CosmobenchError):
        load_reference("test", source="sim-small", build=False)
    test = load_reference("test", source="sim-small", progress=False)
    assert test.shape == (64, 64, 64) and test.dtype == np.float32 and len(fake.calls) == 4
    assert load_reference("val", source="sim-small").shape == (32, 64, 64)
    assert len(fake.calls) == 4
    # Asking for more boxes builds them; boxes= pins which boxes are used.
    assert load_reference("test", source="sim-small", boxes=11, progress=False).shape == (96, 64, 64)
    assert load_reference("test", source="sim-small", boxes=4).shape == (64, 64, 64)
    assert load_reference("test", source="sim-small", z="127").shape == (96, 64, 64)
    with pytest.raises(CosmobenchError, match="split"):
        load_reference("bogus", source="sim-small")


def test_package_import_is_light():
    import subprocess
    import sys

    code = "import sys, cosmobench.data; bad = [m for m in ('camb', 'numba', 'pyfftw') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_concurrent_builders_wait_for_each_other(home, fake):
    import threading
    import time

    done = threading.Event()

    def build():
        build_simulated(name="sim-small", boxes=1, progress=False)
        done.set()

    with store.source_lock("sim-small"):
        t = threading.Thread(target=build)
        t.start()
        time.sleep(0.3)
        assert not done.is_set()  # blocked on the lock
    t.join(10)
    assert done.is_set() and len(fake.calls) == 1


def test_real_small_source(small_source):
    """The shared fixture, built by the real simulator: splits, shapes, δ conventions, σ0, no-op rebuild."""
    from cosmobench.data import load_reference

    src = small_source
    assert src.name == "sim-small" and src.track.name == "quijote-z0"
    assert (src.boxes("test"), src.boxes("val"), src.boxes("train")) == ([0, 1], [2], [3])
    test = src.maps("test")
    assert test.shape == (64, 64, 64) and test.dtype == np.float32 and np.isfinite(test).all()
    assert test.min() >= -1 - 1e-5 and abs(float(test.mean(dtype=np.float64))) < 1e-4  # whole boxes: mean δ = 0
    assert 0.005 < src.sigma0 < 0.03  # raw δ of 3.9 Mpc/h cells at z=127 (≈0.0137 per cell, less after 2-plane averaging)
    assert src.meta["simulator"]["config"]["n_particles"] == 64 and len(src.meta["boxes"]["0"]["sha256"]) == 64
    np.testing.assert_array_equal(load_reference("test", source="sim-small", build=False), test)
    again = build_simulated(name="sim-small", config="small", boxes=4, progress=False)
    assert again.content_hash == src.content_hash


def test_progress_bar_and_stale_temporaries(home, fake, capsys):
    src = build_simulated(name="sim-small", boxes=1, progress=True)
    assert "building 'sim-small'" in capsys.readouterr().err
    stale = src.path / ".box_0001_z0.npy.abc123.npy.tmp"  # what a kill -9 mid-write leaves behind
    stale.write_bytes(b"partial")
    build_simulated(name="sim-small", boxes=2, progress=False)
    assert not stale.exists() and capsys.readouterr().err == ""
