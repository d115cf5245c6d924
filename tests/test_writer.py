"""The one writer of sources (cosmobench.data.writer) and the import-kind registry that uses it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cosmobench.data import loaders, store, writer
from cosmobench.data.track import TRACKS
from cosmobench.errors import CosmobenchError

TRACK = TRACKS["quijote2d-z0"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "home"))
    return tmp_path


def _tiles(seed, n=4):
    rng = np.random.default_rng(seed)
    return (np.exp(0.5 * rng.standard_normal((n, TRACK.tile, TRACK.tile))) - 1.0).astype(np.float32)


def _source(path, boxes):
    meta = writer.new_meta("toy", "toy", TRACK, cosmology=None, settings={"kind": "toy"})
    for i, tiles in enumerate(boxes):
        meta["boxes"][str(i)] = writer.save_box(path, i, tiles)
    return writer.write_meta(path, meta)


def test_commit_checks_the_temporaries_and_renames_them(home):
    path = home / "src"
    entry = writer.write_box(path, 3, {"0": _tiles(0), "127": 0.01 * _tiles(1)})
    assert sorted(p.name for p in path.iterdir()) == sorted(f["tmp"] for f in entry["files"].values())
    assert entry["split"] == store.split_of_box(3) and entry["n_maps"] == 4 and entry["z127_stats"]["n"] == 4 * 64 * 64
    tampered = path / entry["files"]["0"]["tmp"]
    tampered.write_bytes(tampered.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(CosmobenchError, match="changed before it was committed"):
        writer.commit_box(path, entry)
    assert not (path / store.box_filename(3, "0")).exists()

    entry = writer.write_box(path, 3, {"0": _tiles(0)})
    committed = writer.commit_box(path, {**entry, "index": 3})
    assert "index" not in committed and "tmp" not in committed["files"]["0"]
    np.testing.assert_array_equal(np.load(path / "box_0003_z0.npy"), _tiles(0))


def test_one_intact_check_for_builds_and_verify(home):
    path = home / "src"
    src = _source(path, [{"0": _tiles(0)}, {"0": _tiles(1), "127": 0.01 * _tiles(2)}])
    src.verify()
    assert src.recipe_id == src.content_hash and src.sigma0 == pytest.approx(float(np.std(0.01 * _tiles(2), dtype=np.float64)))
    assert all(store.box_intact(path, src.meta, i) for i in (0, 1)) and not store.box_intact(path, src.meta, 2)
    damaged = path / "box_0001_z127.npy"
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\1")
    assert store.box_intact(path, src.meta, 0) and not store.box_intact(path, src.meta, 1)
    with pytest.raises(CosmobenchError, match=re.escape(str(damaged))):
        src.verify()


def test_a_new_kind_of_file_is_one_registry_entry(home, monkeypatch):
    """A kind added to IMPORT_KINDS alone is detected, imported through the writer and verified."""

    def plan(paths, track, **_):
        boxes = ((({"0": np.load(p)}), {"source_file": str(p)}) for p in paths)
        return loaders.ImportPlan({"scale": 1}, boxes, list(paths))

    monkeypatch.setitem(loaders.IMPORT_KINDS, "toy", loaders.ImportKind(
        TRACK, "toy universe", (re.compile(r"^toy_\d+\.npy$"),), plan))
    files = []
    for i in range(3):
        files.append(home / f"toy_{i}.npy")
        np.save(files[-1], _tiles(i))
    src = loaders.import_files(files)
    src.verify()
    assert src.kind == "toy" and src.name == f"toy-{src.content_hash[:8]}" and src.meta["cosmology"] == "toy universe"
    assert src.meta["settings"] == {"kind": "toy", "tile": TRACK.tile, "scale": 1}
    assert (src.boxes("test"), src.boxes("val")) == ([0, 1], [2])
    np.testing.assert_array_equal(src.maps("val"), _tiles(2))
    assert [f["name"] for f in src.meta["files"]] == ["toy_0.npy", "toy_1.npy", "toy_2.npy"]
    assert loaders.import_files(files).content_hash == src.content_hash  # the same content again: a no-op
