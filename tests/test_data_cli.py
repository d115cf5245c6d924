"""``cosmobench data build | info | import`` through argparse, with a fake simulator."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from cosmobench.data import commands, store
from cosmobench.errors import CosmobenchError

from test_store import FakeSim


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COSMOBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(argv):
    """Parse and dispatch like cosmobench.cli.main (which also needs the other layers' commands)."""
    parser = argparse.ArgumentParser(prog="cosmobench")
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_info_empty(home, capsys):
    assert run(["data", "info"]) == 0
    assert "no sources" in capsys.readouterr().out


def test_build_then_info(home, monkeypatch, capsys):
    sim = FakeSim()
    monkeypatch.setattr(store, "_get_simulator", lambda: sim)
    assert run(["data", "build", "--config", "small", "--boxes", "3", "--no-progress", "--workers", "0"]) == 0
    out = capsys.readouterr().out
    assert "sim-small" in out and "3 boxes" in out
    assert run(["data", "info"]) == 0
    out = capsys.readouterr().out
    src = store.get_source("sim-small")
    line = next(l for l in out.splitlines() if l.startswith("sim-small"))
    assert "quijote-z0" in line and "0/1/2" in line and src.content_hash[:12] in line
    assert f"{src.sigma0:.5f}" in line and "MB" in line and str(src.n_maps()) in line
    with pytest.raises(CosmobenchError, match="reserved"):
        run(["data", "build", "--source", "sim", "--config", "small", "--no-progress", "--workers", "0"])


def test_import_cli(home, tmp_path, capsys):
    rng = np.random.default_rng(0)
    p = tmp_path / "df_z=0.npy"
    a = np.exp(rng.standard_normal((256, 256)) * 0.5)
    np.save(p, (a / a.mean() - 1).astype(np.float32))
    assert run(["data", "import", str(p), "--name", "q2"]) == 0
    assert "q2" in capsys.readouterr().out
    assert run(["data", "info"]) == 0
    assert "quijote2d-z0" in capsys.readouterr().out


def test_through_main_cli(home, tmp_path, capsys):
    from cosmobench import cli, commands  # noqa: F401 - our own modules: a broken import fails, never skips
    bad = tmp_path / "df_z=0.npy"
    np.save(bad, np.zeros((256, 256), np.int32))
    assert cli.main(["data", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "int32" in err and "Traceback" not in err
    assert cli.main(["data", "info"]) == 0


def test_import_kind_choices_are_the_loaders_kinds():
    """``data import --kind`` offers exactly the kinds ``loaders.IMPORT_KINDS`` registers (one list, not two)."""
    from cosmobench.data.loaders import IMPORT_KINDS, KINDS

    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers())
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["data"]
    imp = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices["import"]
    assert next(a for a in imp._actions if a.dest == "kind").choices is KINDS  # read from the loaders, not copied
    for kind in IMPORT_KINDS:
        assert parser.parse_args(["data", "import", "--kind", kind, "x.npy"]).kind == kind
    with pytest.raises(SystemExit):
        parser.parse_args(["data", "import", "--kind", "quijote4d", "x.npy"])
