"""``cosmobench evaluate | list | leaderboard | report`` from the command line (in-process)."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from cosmobench import registry
from cosmobench.cli import main
from cosmobench.results import load_result

FIXTURES = Path(__file__).parent / "fixtures"
N = 32


def lognormal_maps(n, seed=0, sigma=0.7):
    g = np.random.default_rng(seed).standard_normal((n, 64, 64))
    return (np.exp(sigma * g - sigma**2 / 2) - 1).astype(np.float32)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _ref_tag() -> str:
    """How result file names tag the sim-small reference: its name and short recipe id."""
    from cosmobench.data import get_source

    return "sim-small-" + get_source("sim-small").recipe_id[:8]


def test_evaluate_writes_result_and_prints_card(small_source, tmp_path, capsys):
    samples = tmp_path / "good.npy"
    np.save(samples, lognormal_maps(N))
    out_dir = tmp_path / "results"
    code, out, err = run(capsys, "evaluate", "--model", samples, "--n", N, "--source", "sim-small", "--out", out_dir,
                         "--no-progress")
    assert code == 0, err
    path = out_dir / f"good__{_ref_tag()}__n32__s0.json"
    assert f"wrote {path}" in out and "power" in out and "composite" in out
    d = load_result(path)
    assert d.model["kind"] == "samples" and d.n == N
    assert (out_dir / f"good__{_ref_tag()}__n32__s0.maps.npz").exists()


def _bad(kind):
    maps = lognormal_maps(N)
    if kind == "shape":
        return maps[:, :32, :32]
    if kind == "nan":
        maps[7, 1, 1] = np.nan
        return maps
    if kind == "int":
        return (maps * 100).astype(np.int16)
    if kind == "inf":
        maps[3, 0, 0] = np.inf
        return maps
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, match", [("shape", "32x32"), ("nan", "NaN"), ("int", "not floating point"),
                                         ("inf", "NaN or Inf")])
def test_bad_samples_exit_2_without_traceback_or_file(small_source, tmp_path, capsys, kind, match):
    samples = tmp_path / f"bad_{kind}.npy"
    np.save(samples, _bad(kind))
    out_dir = tmp_path / "results"
    code, out, err = run(capsys, "evaluate", "--model", samples, "--n", N, "--source", "sim-small", "--out", out_dir,
                         "--no-progress")
    assert code == 2
    assert err.startswith("error: ") and match in err and "Traceback" not in err + out
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_physically_invalid_samples_are_scored_and_flagged(small_source, tmp_path, capsys):
    """δ < −1 is a bad model, not malformed data: exit 0, a result file, the warning on the score card."""
    samples = tmp_path / "below.npy"
    np.save(samples, lognormal_maps(N) - 2.5)
    out_dir = tmp_path / "results"
    code, out, err = run(capsys, "evaluate", "--model", samples, "--n", N, "--source", "sim-small", "--out", out_dir,
                         "--no-progress")
    assert code == 0, err
    assert "WARNING: 100% of maps invalid" in out and "clipped to −1" in out
    d = load_result(next(out_dir.glob("below__*.json")))
    assert d["metrics"]["validity"]["value"] == 0.0


def test_factory_options(small_source, tmp_path, capsys):
    seen = {}

    class Gen:
        name = "opt-gen"

        def sample(self, n, *, seed):
            return lognormal_maps(n, seed, seen["sigma"])

    def factory(*, checkpoint=None, track=None, sigma=0.7, label=""):
        seen.update(sigma=sigma, label=label)
        return Gen()

    registry.register("opt-gen", factory)
    try:
        code, _, err = run(capsys, "evaluate", "--model", "opt-gen", "-o", "sigma=0.5", "--option", "label=sim-small",
                           "--n", N, "--source", "sim-small", "--out", tmp_path, "--no-progress")
        assert code == 0, err
        assert seen == {"sigma": 0.5, "label": "sim-small"}
        code, _, err = run(capsys, "evaluate", "--model", "opt-gen", "-o", "nonsense", "--out", tmp_path)
        assert code == 2 and "KEY=VALUE" in err
        code, _, err = run(capsys, "evaluate", "--model", "opt-gen", "-o", "width=3", "--source", "sim-small",
                           "--out", tmp_path)
        assert code == 2 and "does not accept keyword argument(s) width" in err
    finally:
        registry.unregister("opt-gen")


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_checkpoint_evaluates_and_malicious_one_is_refused(small_source, tmp_path, capsys):
    import torch

    class Gen:
        def __init__(self, sigma):
            self.sigma = sigma

        def sample(self, n, *, seed):
            return lognormal_maps(n, seed, self.sigma)

    registry.register("ckpt-gen", lambda *, checkpoint=None, track=None: Gen(float(checkpoint["state"]["sigma"])))
    try:
        ckpt = {"format": "cosmobench-checkpoint", "version": 1, "generator": "ckpt-gen", "config": {},
                "state": {"sigma": torch.tensor(0.6)}, "provenance": {}}
        torch.save(ckpt, tmp_path / "good.ckpt")
        code, out, err = run(capsys, "evaluate", "--model", tmp_path / "good.ckpt", "--n", N, "--source", "sim-small",
                             "--out", tmp_path / "res", "--no-progress")
        assert code == 0, err
        d = load_result(tmp_path / "res" / f"good__{_ref_tag()}__n32__s0.json")
        assert d.model["kind"] == "checkpoint" and len(d.model["checkpoint_sha256"]) == 64
        marker = tmp_path / "pwned"
        torch.save({**ckpt, "config": {"x": _Evil(marker)}}, tmp_path / "evil.ckpt")
        code, out, err = run(capsys, "evaluate", "--model", tmp_path / "evil.ckpt", "--n", N, "--source", "sim-small",
                             "--out", tmp_path / "res2", "--no-progress")
        assert code == 2 and "refuses to execute code" in err and "Traceback" not in err
        assert not marker.exists() and not (tmp_path / "res2").exists()
    finally:
        registry.unregister("ckpt-gen")


def test_unknown_model_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "evaluate", "--model", "no-such-model", "--source", "sim-small", "--out", tmp_path)
    assert code == 2 and err.startswith("error: no generator named 'no-such-model'")


def test_list_shows_generators_and_statistics(capsys):
    registry.register("cli-list-test", lambda *, checkpoint=None, track=None: None)
    try:
        code, out, _ = run(capsys, "list")
    finally:
        registry.unregister("cli-list-test")
    assert code == 0
    assert "cli-list-test" in out and "<in-process>" in out
    for stat in ("power", "pdf", "minkowski", "diversity"):
        assert f"\n  {stat} " in out


def test_leaderboard_and_report_are_wired(monkeypatch, tmp_path, capsys):
    calls = []
    lb = importlib.import_module("cosmobench.leaderboard")
    monkeypatch.setattr(lb, "build_leaderboards", lambda r, o: calls.append(("lb", r, o)) or [Path(o) / "t.md"])
    fake_report = types.ModuleType("cosmobench.report")
    fake_report.make_report = lambda p, o: calls.append(("report", p, o)) or Path(o) / "r.html"
    monkeypatch.setitem(sys.modules, "cosmobench.report", fake_report)
    site = importlib.import_module("cosmobench.site")
    monkeypatch.setattr(site, "build_site", lambda r, o, rep: calls.append(("site", r, o, rep)) or Path(o) / "index.html")
    (tmp_path / "res").mkdir()
    code, out, _ = run(capsys, "leaderboard", "--results", tmp_path / "res", "--out", tmp_path / "lb")
    assert code == 0 and calls[-2] == ("lb", str(tmp_path / "res"), str(tmp_path / "lb")) and "t.md" in out
    assert calls[-1] == ("site", str(tmp_path / "res"), tmp_path / "lb" / "site", [tmp_path / "lb" / "reports"])
    assert f"wrote {tmp_path / 'lb' / 'site' / 'index.html'}" in out
    code, out, _ = run(capsys, "leaderboard", "--results", tmp_path / "res", "--out", tmp_path / "lb", "--no-site",
                       "--site", tmp_path / "ignored")
    assert code == 0 and calls[-1][0] == "lb" and "index.html" not in out
    code, out, _ = run(capsys, "leaderboard", "--results", tmp_path / "res", "--site", tmp_path / "web",
                       "--reports", tmp_path / "r1", "--reports", tmp_path / "r2")
    assert calls[-1] == ("site", str(tmp_path / "res"), str(tmp_path / "web"), [str(tmp_path / "r1"), str(tmp_path / "r2")])
    result = FIXTURES / "results" / "schema_v1.json"
    code, out, _ = run(capsys, "report", result, "--out", tmp_path / "rep")
    assert code == 0 and calls[-1] == ("report", result, tmp_path / "rep") and "r.html" in out
    code, _, err = run(capsys, "report", tmp_path / "missing.json")
    assert code == 2 and "no such result file" in err
    code, _, err = run(capsys, "leaderboard", "--results", tmp_path / "nowhere")
    assert code == 2 and "no such results directory" in err


@pytest.fixture
def thirdparty_installed(tmp_path_factory):
    """tests/fixtures/thirdparty_pkg pip-installed into a private directory, put on sys.path."""
    target = tmp_path_factory.mktemp("site")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = shutil.copytree(FIXTURES / "thirdparty_pkg", tmp_path_factory.mktemp("pkg") / "thirdparty_pkg",
                          ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(src)],
        check=True, capture_output=True, timeout=300,
    )
    sys.path.insert(0, str(target))
    registry.refresh()  # entry points are rescanned from sys.path
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("cosmobench_toy", None)
    registry.refresh()


def test_thirdparty_package_plugs_in_by_installing(small_source, thirdparty_installed, tmp_path, capsys):
    code, out, _ = run(capsys, "list")
    line = next(line for line in out.splitlines() if "toy-lognormal" in line)
    assert "cosmobench_toy:make_generator" in line and "cosmobench-toy" in line
    code, out, err = run(capsys, "evaluate", "--model", "toy-lognormal", "--n", N, "--source", "sim-small",
                         "--out", tmp_path, "--no-progress")
    assert code == 0, err
    d = json.loads((tmp_path / f"toy-lognormal__{_ref_tag()}__n32__s0.json").read_text())
    assert d["model"]["kind"] == "registered" and d["model"]["info"] == {"sigma": 0.8, "slope": -2.0}
    assert d["composite"]["value"] > 1
