"""cosmobench.checkpoint: the writer saves exactly what the registry's reader reads, and refuses non-checkpoints."""

from __future__ import annotations

import pytest

from cosmobench import checkpoint as checkpoint_io, registry
from cosmobench.errors import CosmobenchError

torch = pytest.importorskip("torch")


def _ckpt(**over):
    ck = {"format": "cosmobench-checkpoint", "version": 1, "generator": "toy", "config": {"a": [1, 2]},
          "state": {"w": torch.arange(4.0)}, "provenance": {"steps": 3}}
    return {**ck, **over}


def test_round_trip_through_the_registry_reader(tmp_path):
    path = checkpoint_io.save_checkpoint(_ckpt(), tmp_path / "toy.ckpt")
    back = registry.load_checkpoint(path)
    assert back["config"] == {"a": [1, 2]} and back["provenance"] == {"steps": 3}
    assert torch.equal(back["state"]["w"], torch.arange(4.0))
    assert [p.name for p in tmp_path.iterdir()] == ["toy.ckpt"]  # no temporary file left behind


@pytest.mark.parametrize("bad, why", [
    ({"format": "other"}, "not a cosmobench checkpoint"),
    ({"version": 99}, "upgrade cosmobench"),
    ({"generator": 3}, "'generator' is missing"),
    ({"state": [1.0]}, "'state' is missing"),
])
def test_refuses_what_the_reader_would_refuse_and_writes_nothing(tmp_path, bad, why):
    with pytest.raises(CosmobenchError, match=why):
        checkpoint_io.save_checkpoint(_ckpt(**bad), tmp_path / "x.ckpt")
    assert not list(tmp_path.iterdir())
