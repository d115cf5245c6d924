"""Importing real-file formats: round trips on small synthetic files and clear errors on bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from cosmobench.data.loaders import import_files
from cosmobench.data.slicing import cube_to_tiles, maps_to_tiles
from cosmobench.data.store import get_source, list_sources, sources_dir
from cosmobench.errors import CosmobenchError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _lognormal(rng, shape, sigma=1.0):
    d = np.exp(sigma * rng.standard_normal(shape) - sigma**2 / 2) - 1.0
    return d - d.mean()  # exactly mean zero, like a CIC δ; stays above -1 for these sigmas


def _no_debris(home):
    root = home / "sources"
    return not root.exists() or not [p for p in root.iterdir() if p.name.startswith(".") and p.is_dir()]


def test_quijote3d_roundtrip_with_companion(home, tmp_path, rng):
    dirs = []
    for i in range(3):
        d = tmp_path / "3D_cubes" / "fiducial" / str(i)
        d.mkdir(parents=True)
        np.save(d / "df_m_64_CIC_z=0.npy", _lognormal(rng, (64, 64, 64), 0.5).astype(np.float32))
        np.save(d / "df_m_z=127.npy", (0.01 * rng.standard_normal((64, 64, 64))).astype(np.float64))
        dirs.append(d)
    src = import_files([d / "df_m_64_CIC_z=0.npy" for d in dirs], box_size=250.0)
    assert src.kind == "quijote3d" and src.track.name == "quijote-z0" and src.name.startswith("quijote3d-")
    assert src.boxes("test") == [0, 1] and src.boxes("val") == [2]
    expect = cube_to_tiles(np.load(dirs[1] / "df_m_64_CIC_z=0.npy"))
    np.testing.assert_array_equal(src.box_maps(1), expect)
    z127 = np.concatenate([cube_to_tiles(np.load(d / "df_m_z=127.npy")) for d in dirs]).astype(np.float64)
    assert src.sigma0 == pytest.approx(z127.std(), rel=1e-5)
    assert len(src.meta["files"]) == 6 and all(len(f["sha256"]) == 64 for f in src.meta["files"])
    # Importing the same files again is a no-op returning the same source.
    assert import_files([d / "df_m_64_CIC_z=0.npy" for d in dirs], box_size=250.0).content_hash == src.content_hash
    assert len(list_sources()) == 1 and _no_debris(home)


def test_quijote3d_regrids_finer_grids_and_refuses_coarser(home, tmp_path, rng):
    fine = _lognormal(rng, (128, 128, 128), 0.3).astype(np.float32)
    p = tmp_path / "df_m_128_CIC_z=0.npy"
    np.save(p, fine)
    src = import_files([p], name="fine", box_size=250.0)
    coarse = fine.reshape(64, 2, 64, 2, 64, 2).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(src.box_maps(0), cube_to_tiles(coarse), atol=1e-6)
    assert src.meta["boxes"]["0"]["source_files"]["0"]["regrid_factor"] == 2
    with pytest.raises(CosmobenchError, match="grid of 256"):
        import_files([p])  # 128³ of a 1000 Mpc/h box: 7.8 Mpc/h cells, too coarse for the track
    assert _no_debris(home)


def test_quijote2d_roundtrip(home, tmp_path, rng):
    paths = []
    for i in range(2):
        d = tmp_path / "2D" / str(i)
        d.mkdir(parents=True)
        np.save(d / "df_z=0.npy", _lognormal(rng, (256, 256), 0.8))  # float64 on disk: cast on load
        paths.append(d / "df_z=0.npy")
    src = import_files(paths, name="q2d")
    assert src.track.name == "quijote2d-z0" and src.n_maps() == 32 and src.sigma0 is None
    m = src.maps("test")
    assert m.dtype == np.float32 and m.shape == (32, 64, 64)
    np.testing.assert_allclose(m[16:], maps_to_tiles(np.load(paths[1])), rtol=1e-6)


def test_camels_roundtrip_per_map_mean(home, tmp_path, rng):
    raw = np.exp(rng.standard_normal((45, 256, 256))).astype(np.float32) * rng.uniform(1e10, 1e12, (45, 1, 1))
    raw = raw.astype(np.float32)
    p = tmp_path / "Maps_Mtot_IllustrisTNG_LH_z=0.00.npy"
    np.save(p, raw)
    src = import_files(p)
    assert src.kind == "camels" and src.track.name == "camels-mtot-z0"
    assert src.n_boxes == 3 and src.boxes("test") == [0, 1] and src.boxes("val") == [2]
    assert src.n_maps() == 45 * 16 and "per-map mean" in src.meta["settings"]["delta"]
    m = src.box_maps(2)
    expect = raw[30:45].astype(np.float64)
    expect = expect / expect.mean(axis=(1, 2), keepdims=True) - 1
    np.testing.assert_allclose(m, maps_to_tiles(expect), atol=1e-5)
    assert abs(float(m.reshape(15, 16, -1).mean(axis=(1, 2)).max())) < 1e-5  # each map's δ averages to 0


def test_camels_needs_whole_simulations(home, tmp_path, rng):
    p = tmp_path / "Maps_Mtot_SIMBA_LH_z=0.00.npy"
    np.save(p, np.ones((20, 256, 256), np.float32))
    with pytest.raises(CosmobenchError, match="per simulation"):
        import_files(p)


def _write_bad(tmp_path, rng, what):
    p = tmp_path / "df_z=0.npy"
    if what == "truncated":
        np.save(p, _lognormal(rng, (256, 256)).astype(np.float32))
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
    elif what == "int":
        np.save(p, np.zeros((256, 256), np.int64))
    elif what == "nan":
        a = _lognormal(rng, (256, 256)).astype(np.float32)
        a[3, 4] = np.nan
        np.save(p, a)
    elif what == "inf":
        a = _lognormal(rng, (256, 256)).astype(np.float32)
        a[3, 4] = np.inf
        np.save(p, a)
    elif what == "shape":
        np.save(p, np.zeros((100, 100), np.float32))
    elif what == "object":
        np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    elif what == "pickle":
        p.write_bytes(pickle.dumps(np.zeros((256, 256))))
    elif what == "npz":
        with open(p, "wb") as fh:
            np.savez(fh, a=np.zeros((256, 256)))
    elif what == "empty":
        p.write_bytes(b"")
    elif what == "density":
        np.save(p, (1 + _lognormal(rng, (256, 256))).astype(np.float32) * 5)
    return p


@pytest.mark.parametrize("what,match", [
    ("truncated", "truncated"), ("int", "int64"), ("nan", "NaN"), ("inf", "NaN/Inf"), ("shape", "256"),
    ("object", "Python objects"), ("pickle", "holds a Python pickle"), ("npz", "npz"), ("empty", "is empty"),
    ("density", "mean value"),
])
def test_bad_input_is_a_clear_error_and_leaves_nothing(home, tmp_path, rng, what, match):
    p = _write_bad(tmp_path, rng, what)
    with pytest.raises(CosmobenchError, match=match) as exc:
        import_files([p], name="bad")
    assert str(p) in str(exc.value)
    assert _no_debris(home)
    with pytest.raises(CosmobenchError):
        get_source("bad")


def test_error_midway_leaves_nothing(home, tmp_path, rng):
    good = tmp_path / "a" / "df_z=0.npy"
    good.parent.mkdir()
    np.save(good, _lognormal(rng, (256, 256)).astype(np.float32))
    bad = _write_bad(tmp_path, rng, "nan")
    with pytest.raises(CosmobenchError, match="NaN"):
        import_files([good, bad], name="half")
    assert not (sources_dir() / "half").exists() and _no_debris(home)


def test_kind_errors(home, tmp_path, rng):
    a = tmp_path / "weird.npy"
    np.save(a, np.zeros((4, 256, 256), np.float32))
    with pytest.raises(CosmobenchError, match="--kind"):
        import_files([a])
    q2 = tmp_path / "df_z=0.npy"
    np.save(q2, _lognormal(rng, (256, 256)).astype(np.float32))
    cam = tmp_path / "Maps_Mtot_X_LH_z=0.00.npy"
    np.save(cam, np.ones((15, 256, 256), np.float32))
    with pytest.raises(CosmobenchError, match="several kinds"):
        import_files([q2, cam])
    with pytest.raises(CosmobenchError, match="unknown kind"):
        import_files([q2], kind="hdf5")
    with pytest.raises(CosmobenchError, match="no such file"):
        import_files([tmp_path / "missing.npy"])
    import_files([q2], name="taken")
    other = tmp_path / "b" / "df_z=0.npy"
    other.parent.mkdir()
    np.save(other, _lognormal(rng, (256, 256)).astype(np.float32))
    with pytest.raises(CosmobenchError, match="already exists"):
        import_files([other], name="taken")
