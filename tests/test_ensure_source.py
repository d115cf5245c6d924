"""``ensure_source``: the one way a reference is opened and, when it is a missing simulated one, built.

``evaluate``, ``load_reference`` and the baselines' ``reference_source`` all go through it, so a fresh
machine's first command builds the default source once, with ``DEFAULT_BOXES`` boxes, whoever asks first.
The build is stood in for by a copy of the session's small source (the simulator is tested elsewhere).
"""

from __future__ import annotations

import shutil

import pytest

from cosmobench.data import store
from cosmobench.data.store import DEFAULT_BOXES, ensure_source
from cosmobench.errors import CosmobenchError


@pytest.fixture
def builds(small_source, tmp_path, monkeypatch):
    """An empty data home whose ``build_simulated`` records its calls and copies the small source."""
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "home"))
    calls = []

    def fake_build(name, boxes, progress):
        calls.append((name, boxes))
        shutil.copytree(small_source.path, store.sources_dir() / name, dirs_exist_ok=True)
        return store.get_source(name)

    monkeypatch.setattr(store, "build_simulated", fake_build)
    return calls


def test_a_missing_builtin_source_is_built_once_whoever_asks(builds, capsys):
    from cosmobench.data import load_reference
    from cosmobench.evaluation import evaluate

    reference_source = pytest.importorskip("cosmobench_baselines.analytic").reference_source

    src = ensure_source("sim-small", progress=True)
    assert builds == [("sim-small", DEFAULT_BOXES)] and src.boxes("test") and src.boxes("train")
    assert "building reference source 'sim-small' (4 simulated boxes, once)" in capsys.readouterr().err
    assert ensure_source("sim-small", progress=False).content_hash == src.content_hash
    assert ensure_source(src) is src  # an open source is used as it is
    assert load_reference("test", source="sim-small", progress=False).shape[0] == src.n_maps("test")
    assert reference_source("sim-small", "train").content_hash == src.content_hash
    r = evaluate("lognormal", n=16, source="sim-small", statistics=["mean"], progress=False)
    assert r.reference["content_hash"] == src.content_hash
    assert builds == [("sim-small", DEFAULT_BOXES)]  # nobody built it again


def test_what_is_not_built(builds):
    with pytest.raises(CosmobenchError, match="no reference source 'quijote'.*cosmobench data import"):
        ensure_source("quijote")  # not a simulated source: nothing to build it from
    with pytest.raises(CosmobenchError, match="no reference source 'sim-small'"):
        ensure_source("sim-small", build=False)
    with pytest.raises(CosmobenchError, match="unknown split"):
        ensure_source("sim-small", splits=("bogus",))
    with pytest.raises(CosmobenchError, match="boxes must be a positive integer"):
        ensure_source("sim-small", boxes=0)
    with pytest.raises(CosmobenchError, match="source must be a source name"):
        ensure_source(3)
    assert builds == []


def test_more_boxes_than_present_extend_the_source(builds, small_source):
    ensure_source("sim-small", progress=False)
    ensure_source("sim-small", boxes=small_source.n_boxes, progress=False)  # all present: no build
    ensure_source("sim-small", boxes=small_source.n_boxes + 2, progress=False)
    assert builds == [("sim-small", DEFAULT_BOXES), ("sim-small", small_source.n_boxes + 2)]
