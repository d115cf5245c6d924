"""A corpus of hostile inputs, every one generated here in a temporary directory (no stored binaries).

Each refusal case runs the real CLI in-process and asserts what an adversarial new user must see:
exit status 2, exactly one ``error: ...`` line naming the problem, no traceback, and nothing written
(the working directory, the ``--out`` directory and the data home's sources are unchanged). Cases that
must *work* (escaping, reports of extreme numbers, real-data tracks, a verified cache) assert the
correct output instead. Classes follow issue 12: tracebacks, silently wrong, unusable real data,
injection, unbounded, misleading messages.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from cosmobench.cli import main

DEMO = Path(__file__).parent / "fixtures" / "results_demo" / "demo-gan_quijote-z0_demo-quijote_n512_s0.json"
GAN_CKPT = Path(__file__).parent.parent / "baselines" / "cosmobench_baselines" / "checkpoints" / "gan.ckpt"
N = 16

# A cheap, valid generator for plugin cases: lognormal maps (δ ≥ −1).
_GOOD_GEN = """
import numpy as np

class Gen:
    name = "cheap"

    def sample(self, n, *, seed):
        g = np.random.default_rng(seed).standard_normal((n, 64, 64))
        return (np.exp(0.7 * g - 0.245) - 1).astype(np.float32)

def factory(*, checkpoint=None, track=None, **options):
    return Gen()
"""


def lognormal_maps(n: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed).standard_normal((n, 64, 64))
    return (np.exp(0.7 * g - 0.245) - 1).astype(np.float32)


# ---------------------------------------------------------------------------------------------- harness


def _tree(*roots: Path) -> set[str]:
    out = set()
    for root in roots:
        if root.exists():
            out |= {str(p) for p in root.rglob("*") if p.is_file()}
    return out


@dataclass
class Ctx:
    work: Path  # the working directory (default ./results lands here)
    out: Path  # the --out directory the case names (absent until something writes it)
    mods: Path  # on sys.path: plugin modules written by cases
    monkeypatch: pytest.MonkeyPatch

    def module(self, name: str, source: str) -> str:
        (self.mods / f"{name}.py").write_text(textwrap.dedent(source))
        return name

    def result(self, mutate: Callable[[dict], None], name: str = "r") -> Path:
        d = json.loads(DEMO.read_text())
        mutate(d)
        results = self.work / "results_in"
        results.mkdir(exist_ok=True)
        p = results / f"{name}.json"
        p.write_text(json.dumps(d, allow_nan=True))
        return p

    def ckpt(self, mutate: Callable[[dict], None], name: str = "bad.ckpt") -> Path:
        import torch

        c = torch.load(GAN_CKPT, weights_only=True)
        mutate(c)
        p = self.work / name
        torch.save(c, p)
        return p


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    mods = tmp_path / "mods"
    mods.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.syspath_prepend(str(mods))
    yield Ctx(work, tmp_path / "out", mods, monkeypatch)
    for name in list(sys.modules):
        if name.startswith("hostile_"):
            del sys.modules[name]


def evaluate_argv(ctx: Ctx, model, *extra) -> list[str]:
    return ["evaluate", "--model", str(model), "--source", "sim-small", "--n", str(N), "--no-progress",
            "--out", str(ctx.out), *map(str, extra)]


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exit, or a plugin's sys.exit escaping
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------------- the corpus
# Each case: (class, id, setup(ctx) -> argv, regex the one message must match, regexes it must not match).


def _gen_module(ctx, body: str, name: str) -> str:
    return ctx.module(name, "import numpy as np, sys\n" + textwrap.dedent(body)) + ":factory"


def _factory_with_sample(ctx, sample_body: str, name: str) -> str:
    return _gen_module(ctx, f"""
class Gen:
    def sample(self, n, *, seed):
{textwrap.indent(textwrap.dedent(sample_body), '        ')}

def factory(*, checkpoint=None, track=None, **options):
    return Gen()
""", name)


def _noisy_bytes(ctx, name, data: bytes) -> Path:
    p = ctx.work / name
    p.write_bytes(data)
    return p


def _camels_file(ctx, negative: bool) -> Path:
    m = np.exp(np.random.default_rng(1).standard_normal((15, 64, 64))).astype(np.float32) * 1e10
    if negative:
        m[3, 10, 10] = -5e12
    p = ctx.work / "Maps_Mtot_IllustrisTNG_LH_z=0.00.npy"
    np.save(p, m)
    return p


def _cube(ctx) -> Path:
    p = ctx.work / "df_m_256_CIC_z=0.npy"
    np.save(p, np.zeros((4, 4, 4), np.float32))
    return p


def _readonly_out(ctx):
    ctx.out.mkdir()
    if os.geteuid() != 0:
        ctx.out.chmod(0o555)
        return
    # root ignores permission bits: a read-only file system is simulated where it matters, at mkstemp
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*a, dir=None, **k):
        if dir is not None and Path(dir).resolve() == ctx.out.resolve():
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **k)

    ctx.monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def _full_disk_on_result(ctx):
    """The disk fills up while the result JSON is written, after its maps file was."""
    real = Path.write_text

    def write_text(self, *a, **k):
        if self.parent == ctx.out and ".json." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    ctx.monkeypatch.setattr(Path, "write_text", write_text)


def _full_disk_at_start(ctx):
    real = os.write

    def write(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(ctx.out.parent)):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    ctx.monkeypatch.setattr(os, "write", write)


def _bad_sidecar(ctx):
    p = ctx.work / "s.npy"
    np.save(p, lognormal_maps(N))
    (ctx.work / "s.npy.meta.json").write_text('{"name": 3}')
    return p


def _npy(ctx, name, arr) -> Path:
    p = ctx.work / name
    np.save(p, arr)
    return p


def _set(path_keys, value):
    def mutate(d):
        obj = d
        for k in path_keys[:-1]:
            obj = obj[k]
        obj[path_keys[-1]] = value
    return mutate


def _first_metric(key, value):
    def mutate(d):
        m = next(iter(d["metrics"].values()))
        m[key] = value
    return mutate


NO_CODE_HINT = [r"weights_only", r"execute code"]
CASES = [
    # --- tracebacks: checkpoints that do not fit their generator
    ("traceback", "ckpt-gan-weights-as-ddpm", lambda c: evaluate_argv(c, c.ckpt(_set(["generator"], "ddpm"))),
     r"do not fit this generator", []),
    ("traceback", "ckpt-wrong-shape", lambda c: evaluate_argv(c, c.ckpt(
        lambda k: k["state"].__setitem__("fc.weight", k["state"]["fc.weight"][:, :3].clone()))), r"do not fit", []),
    ("traceback", "ckpt-missing-state-key", lambda c: evaluate_argv(c, c.ckpt(lambda k: k["state"].pop("out.bias"))),
     r"do not fit", []),
    ("traceback", "ckpt-empty-config", lambda c: evaluate_argv(c, c.ckpt(_set(["config"], {}))), r"do not fit", []),
    ("traceback", "ckpt-bad-config", lambda c: evaluate_argv(c, c.ckpt(
        lambda k: k["config"].__setitem__("model", {"width": "wide"}))), r"do not fit", []),
    ("traceback", "ckpt-config-not-dict", lambda c: evaluate_argv(c, c.ckpt(_set(["config"], [1, 2]))),
     r"'config' is missing or not a dict", []),
    ("traceback", "ckpt-state-not-tensors", lambda c: evaluate_argv(c, c.ckpt(_set(["state"], {"fc.weight": 3}))),
     r"not a tensor", []),
    ("traceback", "ckpt-unknown-generator", lambda c: evaluate_argv(c, c.ckpt(_set(["generator"], "nope"))),
     r"generator 'nope'", []),
    # --- tracebacks: plugins (module:factory)
    ("traceback", "module-raises-on-import", lambda c: evaluate_argv(c, _gen_module(c, "raise RuntimeError('boom')\n"
                                                                                  "def factory(**k): pass", "hostile_a")),
     r"importing module 'hostile_a' failed \(RuntimeError: boom\)", []),
    ("traceback", "module-syntax-error", lambda c: evaluate_argv(c, c.module("hostile_b", "def factory(:\n") + ":factory"),
     r"syntax error", []),
    ("traceback", "module-exits-on-import", lambda c: evaluate_argv(c, _gen_module(c, "sys.exit(0)", "hostile_c")),
     r"sys.exit\(0\)", []),
    ("traceback", "factory-raises", lambda c: evaluate_argv(c, _gen_module(
        c, "def factory(**k):\n    raise KeyError('weights')", "hostile_d")), r"building factory .* failed \(KeyError", []),
    ("traceback", "factory-returns-none", lambda c: evaluate_argv(c, _gen_module(c, "def factory(**k):\n    return None",
                                                                                 "hostile_e")), r"returned NoneType", []),
    ("traceback", "sample-runtime-error", lambda c: evaluate_argv(c, _factory_with_sample(
        c, "raise RuntimeError('CUDA error: device-side assert')", "hostile_f")), r"sample\(16, seed=\d+\).*RuntimeError", []),
    ("traceback", "sample-memory-error", lambda c: evaluate_argv(c, _factory_with_sample(c, "raise MemoryError()", "hostile_g")),
     r"ran out of memory", []),
    ("traceback", "sample-system-exit-0", lambda c: evaluate_argv(c, _factory_with_sample(c, "sys.exit(0)", "hostile_h")),
     r"called sys.exit\(0\)", []),
    ("traceback", "sample-returns-string", lambda c: evaluate_argv(c, _factory_with_sample(c, "return 'maps'", "hostile_i")),
     r"model maps", []),
    # --- tracebacks: options
    ("traceback", "option-device-cuda-without-cuda", lambda c: evaluate_argv(c, "gan", "-o", "device=cuda"),
     r"no CUDA device", []),
    ("traceback", "option-device-nonsense", lambda c: evaluate_argv(c, "gan", "-o", "device=quantum"),
     r"not a torch device", []),
    # --- tracebacks: output paths
    ("traceback", "out-read-only", lambda c: (_readonly_out(c), evaluate_argv(c, _npy(c, "s.npy", lognormal_maps(N))))[1],
     r"cannot write into --out .*(read-only|permission)", []),
    ("traceback", "out-is-a-file", lambda c: (c.out.write_text("x"), evaluate_argv(c, "gan"))[1],
     r"is a file, not a directory", []),
    ("traceback", "out-under-a-file", lambda c: (c.out.write_text("x"),
                                                 evaluate_argv(c, "gan")[:-1] + [str(c.out / "sub")])[1],
     r"lies under .* which is a file", []),
    ("traceback", "out-disk-full-at-start", lambda c: (_full_disk_at_start(c), evaluate_argv(c, "gan"))[1],
     r"the disk is full", []),
    ("traceback", "out-disk-full-while-writing", lambda c: (_full_disk_on_result(c),
                                                            evaluate_argv(c, _npy(c, "s.npy", lognormal_maps(N))))[1],
     r"could not write the result .*the disk is full", []),
    ("traceback", "leaderboard-out-is-a-file", lambda c: (c.out.write_text("x"), [
        "leaderboard", "--results", str(c.result(lambda d: None).parent), "--out", str(c.out)])[1], r"is a file", []),
    ("traceback", "report-out-is-a-file", lambda c: (c.out.write_text("x"), [
        "report", str(c.result(lambda d: None)), "--out", str(c.out)])[1], r"is a file", []),
    # --- tracebacks: data import
    ("traceback", "import-box-size-0", lambda c: ["data", "import", str(_cube(c)), "--box-size", "0"],
     r"box size 0.0 must be a positive", []),
    ("traceback", "import-box-size-nan", lambda c: ["data", "import", str(_cube(c)), "--box-size", "nan"],
     r"box size nan must be a positive", []),
    ("traceback", "import-box-size-negative", lambda c: ["data", "import", str(_cube(c)), "--box-size", "-1000"],
     r"must be a positive", []),
    ("traceback", "import-box-size-inf", lambda c: ["data", "import", str(_cube(c)), "--box-size", "inf"],
     r"must be a positive", []),
    # --- silently wrong
    ("silent", "camels-negative-mass", lambda c: ["data", "import", str(_camels_file(c, negative=True))],
     r"negative pixels", []),
    ("silent", "option-batch-size-negative", lambda c: evaluate_argv(c, "gan", "-o", "batch_size=-1"),
     r"batch_size=-1 must be a whole number ≥ 1", []),
    ("silent", "option-batch-size-zero", lambda c: evaluate_argv(c, "gan", "-o", "batch_size=0"), r"≥ 1", []),
    ("silent", "option-steps-float", lambda c: evaluate_argv(c, "ddpm", "-o", "steps=2.5"), r"steps=2.5", []),
    ("silent", "option-batch-size-nan", lambda c: evaluate_argv(c, "gan", "-o", "batch_size=NaN"), r"'NaN'", []),
    ("silent", "option-twice", lambda c: evaluate_argv(c, "gan", "-o", "batch_size=2", "-o", "batch_size=3"),
     r"given twice", []),
    ("silent", "sidecar-bad-name", lambda c: evaluate_argv(c, _bad_sidecar(c)), r"not a valid samples sidecar", []),
    ("silent", "result-composite-minus-inf", lambda c: ["leaderboard", "--results", str(c.result(
        _set(["composite", "value"], -math.inf)).parent), "--out", str(c.out)], r"r\.json.*-Infinity is not a JSON number", []),
    ("silent", "result-composite-minus-one", lambda c: ["leaderboard", "--results", str(c.result(
        _set(["composite", "value"], -1)).parent), "--out", str(c.out)], r"r\.json.*composite\.value = -1", []),
    ("silent", "result-composite-nan", lambda c: ["leaderboard", "--results", str(c.result(
        _set(["composite", "value"], math.nan)).parent), "--out", str(c.out)], r"NaN is not a JSON number", []),
    ("silent", "result-n-negative", lambda c: ["leaderboard", "--results", str(c.result(_set(["n"], -5)).parent),
                                               "--out", str(c.out)], r"r\.json.*n = -5", []),
    ("silent", "result-n-1e400", lambda c: ["leaderboard", "--results", str(c.result(_set(["n"], math.inf)).parent),
                                            "--out", str(c.out)], r"r\.json.*Infinity", []),
    ("silent", "result-n-float", lambda c: ["leaderboard", "--results", str(c.result(_set(["n"], 512.5)).parent),
                                            "--out", str(c.out)], r"field 'n' is float", []),
    ("silent", "result-n-huge-int", lambda c: ["leaderboard", "--results", str(c.result(_set(["n"], 10**30)).parent),
                                               "--out", str(c.out)], r"n = 10+ is outside", []),
    ("silent", "result-ratio-negative", lambda c: ["leaderboard", "--results", str(c.result(
        _first_metric("ratio", -2.0)).parent), "--out", str(c.out)], r"ratio = -2.0 is not a finite number ≥ 0", []),
    ("silent", "result-value-negative", lambda c: ["leaderboard", "--results", str(c.result(
        _first_metric("value", -0.1)).parent), "--out", str(c.out)], r"value = -0.1", []),
    ("silent", "result-ci-string", lambda c: ["leaderboard", "--results", str(c.result(
        _first_metric("ci", ["a", 1])).parent), "--out", str(c.out)], r"ci = .* non-number", []),
    ("silent", "result-seed-negative", lambda c: ["leaderboard", "--results", str(c.result(_set(["seed"], -1)).parent),
                                                  "--out", str(c.out)], r"seed = -1", []),
    ("silent", "result-track-empty", lambda c: ["leaderboard", "--results", str(c.result(
        _set(["track", "name"], " ")).parent), "--out", str(c.out)], r"track\.name is missing", []),
    ("silent", "report-bad-result", lambda c: ["report", str(c.result(_set(["n"], -5)))], r"n = -5", []),
    # --- unbounded
    ("unbounded", "n-one-billion", lambda c: evaluate_argv(c, _gen_module(c, _GOOD_GEN, "hostile_j"))[:-5]
     + ["--n", "1000000000", "--no-progress", "--out", str(c.out)], r"n=1000000000 needs about .* pass --n \d+ or fewer", []),
    ("unbounded", "n-zero", lambda c: evaluate_argv(c, "gan")[:-5] + ["--n", "0", "--out", str(c.out)], r"n must be", []),
    ("unbounded", "n-negative", lambda c: evaluate_argv(c, "gan")[:-5] + ["--n", "-5", "--out", str(c.out)], r"n must be", []),
    # --- misleading messages
    ("misleading", "ckpt-random-bytes", lambda c: evaluate_argv(c, _noisy_bytes(c, "r.ckpt", os.urandom(4096))),
     r"holds unrecognised binary data", NO_CODE_HINT),
    ("misleading", "ckpt-text", lambda c: evaluate_argv(c, _noisy_bytes(c, "t.ckpt", b"hello\n")), r"holds text",
     NO_CODE_HINT),
    ("misleading", "ckpt-truncated-zip", lambda c: evaluate_argv(c, _noisy_bytes(c, "z.ckpt", GAN_CKPT.read_bytes()[:5000])),
     r"truncated, damaged or not written by torch.save", NO_CODE_HINT),
    ("misleading", "ckpt-pickle-garbage", lambda c: evaluate_argv(c, _noisy_bytes(c, "p.ckpt", b"\x80\x04" + os.urandom(500))),
     r"truncated, damaged", NO_CODE_HINT),
    ("misleading", "ckpt-empty", lambda c: evaluate_argv(c, _noisy_bytes(c, "e.ckpt", b"")), r"is empty", NO_CODE_HINT),
    ("misleading", "ckpt-directory", lambda c: ((c.work / "d.ckpt").mkdir(), evaluate_argv(c, c.work / "d.ckpt"))[1],
     r"is a directory", []),
    ("misleading", "npy-text", lambda c: evaluate_argv(c, _noisy_bytes(c, "t.npy", b"0.1 0.2 0.3\n")), r"holds text",
     [r"pickle"]),
    ("misleading", "npy-empty-file", lambda c: evaluate_argv(c, _noisy_bytes(c, "empty.npy", b"")), r"is empty",
     [r"--n 0", r"or fewer"]),
    ("misleading", "npy-zero-maps", lambda c: evaluate_argv(c, _npy(c, "empty.npy", np.zeros((0, 64, 64), np.float32))),
     r"holds 0 maps; scoring needs at least 2", [r"--n 0", r"or fewer"]),
    ("misleading", "npy-one-map", lambda c: evaluate_argv(c, _npy(c, "one.npy", lognormal_maps(1))),
     r"holds 1 map; scoring needs at least 2", [r"or fewer"]),
    ("misleading", "npy-is-npz", lambda c: (np.savez(c.work / "x.npz", samples=lognormal_maps(N)),
                                            os.replace(c.work / "x.npz", c.work / "x.npy"),
                                            evaluate_argv(c, c.work / "x.npy"))[2], r"holds a zip archive", [r"pickle"]),
    ("misleading", "npz-text", lambda c: evaluate_argv(c, _noisy_bytes(c, "t.npz", b"text")), r"holds text", []),
    ("misleading", "h5-random", lambda c: evaluate_argv(c, _noisy_bytes(c, "r.h5", os.urandom(600))),
     r"holds unrecognised binary data", []),
    ("misleading", "npy-pickled-objects", lambda c: evaluate_argv(c, _npy(c, "o.npy", np.array([{"a": 1}] * 3, dtype=object))),
     r"Python objects", []),
    ("misleading", "model-directory", lambda c: ((c.work / "maps.npy").mkdir(), evaluate_argv(c, c.work / "maps.npy"))[1],
     r"is a directory", [r"no such file"]),
    ("misleading", "import-directory", lambda c: ((c.work / "dir").mkdir(), ["data", "import", str(c.work / "dir")])[1],
     r"is a directory", [r"no such file"]),
    ("misleading", "import-text-npy", lambda c: ["data", "import", str(_noisy_bytes(c, "df_z=0.npy", b"1 2 3\n"))],
     r"holds text", [r"pickle"]),
    ("misleading", "import-empty-npy", lambda c: ["data", "import", str(_noisy_bytes(c, "df_z=0.npy", b""))],
     r"is empty", []),
    ("misleading", "leaderboard-results-is-a-file", lambda c: ["leaderboard", "--results", str(c.result(lambda d: None)),
                                                            "--out", str(c.out)], r"is a file, not a directory", []),
    ("misleading", "ckpt-torch-tensor", lambda c: (__import__("torch").save(__import__("torch").zeros(3), c.work / "t.pt"),
                                                   evaluate_argv(c, c.work / "t.pt"))[1], r"not a cosmobench checkpoint", []),
    ("traceback", "factory-wrong-callable", lambda c: evaluate_argv(c, "json:loads"), r"building factory 'json:loads' failed", []),
    ("injection", "import-name-newline", lambda c: ["data", "import", str(_camels_file(c, negative=False)), "--name",
                                                    "cam\n# heading"], r"invalid source name", []),
    ("injection", "import-name-traversal", lambda c: ["data", "import", str(_camels_file(c, negative=False)), "--name",
                                                      "../../escape"], r"invalid source name", []),
    ("misleading", "import-missing", lambda c: ["data", "import", str(c.work / "nope.npy")], r"no such file", []),
    ("misleading", "report-directory", lambda c: ["report", str(c.work)], r"no such result file", []),
]


@pytest.mark.parametrize("klass,case_id,setup,expect,forbid", CASES, ids=[c[1] for c in CASES])
def test_hostile_input_is_one_clear_error_and_nothing_is_written(small_source, ctx, capsys, klass, case_id, setup,
                                                                  expect, forbid):
    import re

    from cosmobench.data.store import sources_dir

    if case_id == "option-device-cuda-without-cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    argv = setup(ctx)
    before = _tree(ctx.work, ctx.out, sources_dir())
    code, out, err = run_cli(argv, capsys)
    lines = [ln for ln in err.splitlines() if ln.strip() and "Warning" not in ln]
    assert code == 2, (code, out, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(expect, lines[0]), lines[0]
    for bad in forbid:
        assert not re.search(bad, lines[0]), lines[0]
    assert _tree(ctx.work, ctx.out, sources_dir()) == before, "something was written"


# ---------------------------------------------------------------------------------------------- must work


def test_model_name_with_mathtext_and_huge_numbers_make_a_full_report(ctx, capsys):
    import warnings

    def mutate(d):
        d["model"]["name"] = r"$\frac{1}{$ <script>alert(1)</script>"
        for m in d["metrics"].values():
            m["value"], m["ratio"], m["ci"] = 1e308, 1e308, [1e307, 1e308]
        d["composite"]["value"] = 1e308

    path = ctx.result(mutate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, out, err = run_cli(["report", str(path), "--out", str(ctx.out)], capsys)
    assert code == 0, err
    html = (ctx.out / "r.html").read_text()
    assert r"$\frac{1}{$" in html and "<script>alert" not in html
    pngs = sorted(p.name for p in ctx.out.glob("*.png"))
    assert "r_xfloor.png" in pngs and not list(ctx.out.glob(".*"))  # no temporaries left


INJECT = {
    "model": "<script>alert(1)</script>`code|pipe",
    "checkpoint_sha256": "<img src=x onerror=alert(1)>",
    "source": "src\r| injected | row |",
    "content_hash": "<b>hash</b>" + "0" * 40,
    "track": "quijote-z0\n# Injected heading\n",
    "description": "<img src=x onerror=alert(2)>\n## also",
    "metric": "power|<i>x</i>",
    "version": "1`<u>",
    "trained": "=HYPERLINK(\"http://evil\",\"click\")",
    "commit": "@SUM(A1)<script>",
}


def test_every_leaderboard_field_is_escaped_and_file_names_are_safe(ctx, capsys):
    def mutate(d):
        d["model"]["name"] = INJECT["model"]
        d["model"]["checkpoint_sha256"] = INJECT["checkpoint_sha256"]
        d["model"].setdefault("info", {})["trained"] = INJECT["trained"]
        d["reference"]["source"] = INJECT["source"]
        d["reference"]["content_hash"] = INJECT["content_hash"]
        d["track"]["name"] = INJECT["track"]
        d["track"]["description"] = INJECT["description"]
        d["git_commit"] = INJECT["commit"]
        m = d["metrics"].pop("power")
        m["version"] = INJECT["version"]
        d["metrics"][INJECT["metric"]] = m

    ctx.result(mutate)
    code, out, err = run_cli(["leaderboard", "--results", str(ctx.work / "results_in"), "--out", str(ctx.out)], capsys)
    assert code == 0, err
    written = sorted(p.name for p in ctx.out.iterdir() if p.name != "site")
    assert written == ["quijote-z0-Injected-heading.csv", "quijote-z0-Injected-heading.md"], written
    for page in (ctx.out / "site").glob("**/*.html"):  # the web page escapes the same strings
        assert "<script>alert" not in page.read_text() and "<img src=x" not in page.read_text()
    md = (ctx.out / written[1]).read_text()
    for raw in ("<script", "<img", "<b>", "<i>", "<u>"):
        assert raw not in md, raw
    assert not any(ln.startswith("# Injected") or ln.startswith("## also") for ln in md.splitlines())
    assert "\r" not in md
    rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    # every row of the table has as many unescaped cell separators as the header
    cells = {len([i for i, ch in enumerate(r) if ch == "|" and r[i - 1] != "\\"]) for r in rows}
    assert len(cells) == 1, cells
    import csv

    with open(ctx.out / written[0], newline="") as fh:
        table = list(csv.reader(fh))
    flat = [c for row in table for c in row]
    assert not any(c[:1] in "=+@" or (c[:1] == "-" and not _is_number(c)) for c in flat if c), flat
    assert "'" + INJECT["trained"] in flat


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def test_sidecar_name_names_the_model(small_source, ctx, capsys):
    p = _npy(ctx, "samples.npy", lognormal_maps(N))
    (ctx.work / "samples.npy.meta.json").write_text(json.dumps({"name": "my-ddpm", "info": {"sampler": "ddim"}}))
    code, out, err = run_cli(evaluate_argv(ctx, p), capsys)
    assert code == 0, err
    (path,) = ctx.out.glob("*.json")
    d = json.loads(path.read_text())
    assert d["model"]["name"] == "my-ddpm" and path.name.startswith("my-ddpm__") and d["model"]["info"]["sampler"] == "ddim"


# ---------------------------------------------------------------------------------------------- the summary cache




class _Cheap:
    name = "cheap"

    def sample(self, n, *, seed):
        return lognormal_maps(n, seed)


def test_hand_edited_cache_is_detected_and_rebuilt(small_source, summary_cache_dir):
    from cosmobench.evaluation import evaluate

    stats = ["power", "bispectrum"]
    a = evaluate(_Cheap(), n=N, source="sim-small", statistics=stats, progress=False, train_for_memorisation=False)
    for f in summary_cache_dir.glob("*.npz"):  # bispectrum ×1.5, as a hand edit would
        with np.load(f) as z:
            arrays = {k: z[k] * (1.5 if k != "_checksum" else 1) for k in z.files}
        np.savez(f, **arrays)
    with pytest.warns(UserWarning, match="does not match its checksum"):
        b = evaluate(_Cheap(), n=N, source="sim-small", statistics=stats, progress=False, train_for_memorisation=False)
    assert b.reference["summaries"] == "built" and b.composite == a.composite


def _copy_source(name: str):
    from cosmobench.data.store import get_source, sources_dir

    dest = sources_dir() / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(get_source("sim-small").path, dest)
    return get_source(name)


def test_corrupted_reference_tiles_are_reported_as_the_reference_and_never_cached(small_source, summary_cache_dir):
    from cosmobench.errors import CosmobenchError
    from cosmobench.evaluation import evaluate

    src = _copy_source("sim-corrupt")
    try:
        tile = src.path / src.meta["boxes"]["0"]["files"]["0"]["file"]
        good = tile.read_bytes()
        arr = np.load(tile).copy()
        arr[0, :8, :8] = np.nan  # flipped bytes in one tile
        np.save(tile, arr)
        with pytest.raises(CosmobenchError, match=r"reference source 'sim-corrupt' is corrupted, not the model.*"
                                                  r"data info --verify") as exc:
            evaluate(_Cheap(), n=N, source="sim-corrupt", statistics=["power"], progress=False)
        assert "model's" not in str(exc.value)
        assert not list(summary_cache_dir.glob("*.npz"))  # nothing computed from the damaged tiles was cached
        # damaged at build time, so the recorded hashes match the damage: the statistics' refusal names the reference
        meta = json.loads((src.path / "meta.json").read_text())
        from cosmobench._io import sha256_file

        meta["boxes"]["0"]["files"]["0"]["sha256"] = sha256_file(tile)
        (src.path / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(CosmobenchError, match=r"reference source 'sim-corrupt' is corrupted, not the model"):
            evaluate(_Cheap(), n=N, source="sim-corrupt", statistics=["power"], progress=False)
        # repaired: the numbers are those of the intact source
        tile.write_bytes(good)
        shutil.copy(small_source.path / "meta.json", src.path / "meta.json")
        a = evaluate(_Cheap(), n=N, source="sim-corrupt", statistics=["power"], progress=False)
        b = evaluate(_Cheap(), n=N, source="sim-small", statistics=["power"], progress=False)
        assert a.metrics["power"].value == b.metrics["power"].value
    finally:
        shutil.rmtree(src.path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- real-data tracks


def _field(rng, n: int, side: int) -> np.ndarray:
    """Positive lognormal 'mass' maps with a red spectrum (structure at every scale)."""
    k = np.sqrt(np.fft.fftfreq(side)[:, None] ** 2 + np.fft.rfftfreq(side)[None, :] ** 2)
    k[0, 0] = 1.0
    amp = k ** -1.25
    amp[0, 0] = 0.0
    noise = rng.standard_normal((n, side, side // 2 + 1)) + 1j * rng.standard_normal((n, side, side // 2 + 1))
    g = np.fft.irfft2(amp * noise, s=(side, side))
    g /= g.std(axis=(1, 2), keepdims=True)
    return np.exp(g - 0.5)


@pytest.mark.parametrize("kind", ["camels", "quijote2d"])
def test_every_statistic_scores_an_imported_real_data_track(kind, ctx, capsys, summary_cache_dir):
    """CAMELS CMD (25 Mpc/h, 256² → camels-mtot-z0) and Quijote 2-D (1000 Mpc/h, 256² → quijote2d-z0) files,
    imported and evaluated end to end through the CLI: every default statistic gets a finite score."""
    from cosmobench.data.store import get_source
    from cosmobench.stats import STATISTICS

    rng = np.random.default_rng(7)
    if kind == "camels":
        files = [ctx.work / "Maps_Mtot_IllustrisTNG_LH_z=0.00.npy"]
        np.save(files[0], (_field(rng, 4 * 15, 256) * 3e10).astype(np.float32))  # 4 simulations
    else:
        files = []
        for i in range(4):  # one 256² map per file = one box; boxes 0, 1 test, 2 val, 3 train
            d = ctx.work / str(i)
            d.mkdir()
            m = _field(rng, 1, 256)[0]
            files.append(d / "df_z=0.npy")
            np.save(files[-1], (m / m.mean() - 1).astype(np.float32))
    name = f"hostile-{kind}"
    code, out, err = run_cli(["data", "import", *map(str, files), "--name", name], capsys)
    assert code == 0, err
    src = get_source(name)
    try:
        samples = ctx.work / "val.npy"
        np.save(samples, np.asarray(src.maps("val"))[:N])
        code, out, err = run_cli(["evaluate", "--model", str(samples), "--source", name, "--n", str(N),
                                  "--no-progress", "--out", str(ctx.out)], capsys)
        assert code == 0, err
        (path,) = ctx.out.glob("*.json")
        d = json.loads(path.read_text())
        assert d["track"]["name"] == {"camels": "camels-mtot-z0", "quijote2d": "quijote2d-z0"}[kind]
        scored = {k for k, m in d["metrics"].items() if m["ratio"] is not None and math.isfinite(m["ratio"])}
        assert set(STATISTICS) <= scored, set(STATISTICS) - scored
        assert d["composite"]["value"] is not None
    finally:
        shutil.rmtree(src.path, ignore_errors=True)


def test_bispectrum_configurations_follow_the_track():
    from cosmobench.data.track import DEFAULT_TRACK, TRACKS, Track
    from cosmobench.errors import CosmobenchError
    from cosmobench.stats.bispectrum import DEFAULT_CONFIGS, configs_for_track

    np.testing.assert_array_equal(configs_for_track(DEFAULT_TRACK), DEFAULT_CONFIGS)  # leaderboard numbers unchanged
    cam = TRACKS["camels-mtot-z0"]
    np.testing.assert_allclose(configs_for_track(cam) / cam.k_fundamental,
                               DEFAULT_CONFIGS / DEFAULT_TRACK.k_fundamental)
    with pytest.raises(CosmobenchError, match="Nyquist"):
        configs_for_track(Track("tiny", pixel_size=1.0, tile=32, slab_thickness=1.0))


# ---------------------------------------------------------------------------------------------- the budget


def test_budget_refuses_what_cannot_fit_and_warns_about_hours(small_source, monkeypatch):
    from cosmobench import budget, evaluation
    from cosmobench.errors import CosmobenchError

    monkeypatch.setattr(budget, "available_memory", lambda: 1 << 30)  # a 1 GB machine
    calls = []

    class Counting(_Cheap):
        def sample(self, n, *, seed):
            calls.append(n)
            return super().sample(n, seed=seed)

    with pytest.raises(CosmobenchError, match=r"n=1000000 needs about .* 1 GB available: pass --n \d+ or fewer"):
        evaluation.evaluate(Counting(), n=1_000_000, source="sim-small", progress=False)
    with pytest.raises(CosmobenchError, match=r"batch_size=20000 needs about .* pass a smaller --batch-size"):
        evaluation.evaluate(Counting(), n=20_000, batch_size=20_000, source="sim-small", progress=False)
    assert calls == []  # refused before a single map was drawn
    monkeypatch.setattr(budget, "WARN_SECONDS", 0.0)
    with pytest.warns(UserWarning, match=r"n=16: the statistics alone will take about"):
        evaluation.evaluate(Counting(), n=N, source="sim-small", progress=False, statistics=["power"])
