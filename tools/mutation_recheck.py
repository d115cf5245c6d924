"""Run mutmut's mutants in one plain pytest process: the 'suspicious' ones, or every mutant of a module.

mutmut 3.8 reports a mutant as 'suspicious' when its forked worker raised instead of returning pytest's
exit code; here (numba, pyFFTW, hypothesis in a forked grandchild) that happened for a third of the
summary mutants. Running the same tests for the same mutant with ``pytest.main`` (one process, the
mutant switched through ``MUTANT_UNDER_TEST``, which mutmut's trampolines read on every call) gives the
real answer: exit 0 = survived, 1 = killed. From the repository root, after mutmut generated ``mutants/``:

    python tools/mutation_recheck.py [PATTERN ...]
        re-run the suspicious and timed-out mutants matching the patterns (fnmatch, as ``mutmut run`` takes
        them; default all) with the tests mutmut mapped to them, fastest first; answers go to
        mutants/recheck.txt (an interrupted recheck resumes).

    python tools/mutation_recheck.py --module cosmobench/compare/verdict.py [--sample K] -- PYTEST_ARGS ...
        every mutant of one module (or a random sample of K of them, fixed seed) against the given tests
        (e.g. ``tests/test_verdict_rule.py -m "not slow"``), no fork, no stats run: the cheap way on a
        loaded machine (mutmut's own run first traces every selected test, then forks per mutant).
        Answers go to mutants/module-<name>.txt, one "name: killed by TEST|survived" a line; an interrupted
        run resumes where it stopped. A mutant that survives here may still be killed by a selected test
        that was not given, so this is a lower bound.

    python tools/mutation_recheck.py --survivors [PATTERN ...] -- PYTEST_ARGS ...
        every mutant still alive after mutmut and the rechecks, matching the patterns, against the given
        tests: the tests written for the survivors after the run (a kill recorded by an earlier call stands). Answers go to mutants/recheck-survivors.txt;
        tools/mutation_survivors.py counts a "killed by" there as killed.

    python tools/mutation_recheck.py --unrun [PATTERN ...]
        the mutants mutmut has not run yet (an interrupted or too slow run), each with the tests mutmut
        mapped to its function, fastest first, in one process: mutmut's own answer without its fork. The
        most expensive run first (the end of mutmut's queue, so both can work on one list from its two
        ends). Answers go to mutants/recheck-unrun.txt.

    python tools/mutation_recheck.py --summary [REF]
        killed/total per module file, and how many were killed by a test that already existed at git
        REF (default main; list the old tests first in PYTEST_ARGS so that they get the first chance).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

_PYTEST = ["--rootdir=.", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--benchmark-disable",
           "--no-header", "--tb=no", "-W", "ignore"]


def _read(path: Path) -> dict:
    answers: dict = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if ":" in line:
                name, status = line.split(":", 1)
                answers[name.strip()] = status.strip()
    return answers


def _write(path: Path, answers: dict) -> None:
    path.write_text("".join(f"    {k}: {v}\n" for k, v in sorted(answers.items())), encoding="utf-8")


def _enter_mutants() -> None:
    """Import the mutated copy (mutants/ first on sys.path), with the work tree's current tests beside it."""
    import pytest  # noqa: F401  (imported before the chdir, from the environment)

    shutil.copytree("tests", "mutants/tests", dirs_exist_ok=True)
    shutil.copy2("conftest.py", "mutants/conftest.py")  # the root fixtures every test folder uses
    os.environ.pop("PYTHONPATH", None)
    os.chdir("mutants")
    sys.path.insert(0, os.getcwd())
    import cosmobench

    if not Path(cosmobench.__file__).resolve().is_relative_to(Path.cwd().resolve()):
        raise SystemExit(f"cosmobench imports from {cosmobench.__file__}, not from mutants/: unset PYTHONPATH")


class _FirstFailure:
    """pytest plugin: the node id of the first test that failed."""

    def __init__(self) -> None:
        self.nodeid = ""

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed and not self.nodeid:
            self.nodeid = report.nodeid


class _Timeout(Exception):
    pass


_TIMED_OUT = [False]


def _alarm(signum, frame):
    _TIMED_OUT[0] = True
    raise _Timeout("mutant ran past its time limit")


def _run(name: str, tests: "list[str]", limit_s: float = 0.0) -> str:
    """One pytest run with ``name`` active; past ``limit_s`` seconds (0: none) the running test fails (a timeout,
    which mutmut also counts as killed: a mutant that makes the score hang is noticed)."""
    import signal

    import pytest

    os.environ["MUTANT_UNDER_TEST"] = name
    first = _FirstFailure()
    _TIMED_OUT[0] = False
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    try:
        rc = int(pytest.main([*_PYTEST, *tests], plugins=[first]))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if rc == 1:
        return f"killed by {first.nodeid}" + (" (timeout)" if _TIMED_OUT[0] else "")
    return "survived" if rc == 0 else f"error (pytest exit {rc})"


def _suspicious(patterns: "list[str]") -> "list[str]":
    """Mutants mutmut calls suspicious (its worker raised or was signalled) or timeout: on a loaded machine a
    surviving mutant's full test list can overrun mutmut's wall-clock limit, which would count it as killed."""
    out = subprocess.run(["mutmut", "results", "--all", "true"], capture_output=True, text=True).stdout
    names = [line.split(":")[0].strip() for line in out.splitlines()
             if line.strip().endswith((": suspicious", ": timeout"))]
    return [n for n in names if not patterns or any(fnmatch.fnmatch(n, p) for p in patterns)]


def recheck(patterns: "list[str]") -> None:
    stats = json.loads(Path("mutants/mutmut-stats.json").read_text())
    tests_of, duration = stats["tests_by_mangled_function_name"], stats["duration_by_test"]
    out_path = Path("mutants/recheck.txt").resolve()
    answers = _read(out_path)
    names = [n for n in _suspicious(patterns) if n not in answers]
    _enter_mutants()
    for name in names:
        # the fastest tests first, as mutmut orders them; a hang is cut at 10 x their clean time (+ 60 s)
        tests = sorted(tests_of.get(name.split("__mutmut_")[0], []), key=lambda t: duration.get(t, 0.0))
        answers[name] = _run(name, tests, 60.0 + 10.0 * sum(duration.get(t, 0.0) for t in tests))
        _write(out_path, answers)
    print(f"rechecked {len(names)} suspicious or timed-out mutants -> mutants/recheck.txt")


def whole_module(module: str, tests: "list[str]", sample: "int | None" = None) -> None:
    import random

    meta = Path("mutants") / (module + ".meta")
    if not meta.exists():
        raise SystemExit(f"{meta} not found: run 'mutmut run' once (it generates the mutants), then this")
    names = sorted(json.loads(meta.read_text())["exit_code_by_key"])
    if sample is not None and sample < len(names):
        names = sorted(random.Random(20261201).sample(names, sample))
    out_path = Path("mutants") / f"module-{Path(module).stem}.txt"
    out_path = out_path.resolve()
    answers = _read(out_path)
    _enter_mutants()
    import time

    start = time.monotonic()
    if _run("", tests) != "survived":
        raise SystemExit(f"the tests fail without a mutant: {tests}")
    # as mutmut: a multiple of the clean run (MUTATION_LIMIT_S overrides it on a machine whose load varies)
    limit = float(os.environ.get("MUTATION_LIMIT_S", 0)) or max(60.0, 10 * (time.monotonic() - start))
    for name in names:
        if name not in answers:
            answers[name] = _run(name, tests, limit)
            _write(out_path, answers)
    killed = sum(v.startswith("killed") for v in answers.values())
    print(f"{module}: {killed}/{len(answers)} killed ({100 * killed / max(1, len(answers)):.1f} %) -> {out_path}")


def _mapped(stats: dict, name: str) -> "tuple[list[str], float]":
    """The tests mutmut mapped to the mutant's function, fastest first, and their clean time."""
    tests_of, duration = stats["tests_by_mangled_function_name"], stats["duration_by_test"]
    tests = sorted(tests_of.get(name.split("__mutmut_")[0], []), key=lambda t: duration.get(t, 0.0))
    return tests, sum(duration.get(t, 0.0) for t in tests)


def unrun(patterns: "list[str]") -> None:
    stats = json.loads(Path("mutants/mutmut-stats.json").read_text())
    out_path = Path("mutants/recheck-unrun.txt").resolve()
    answers = _read(out_path)
    names = []
    for meta in sorted(Path("mutants/cosmobench").rglob("*.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is None and name not in answers and (not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)):
                names.append(name)
    names.sort(key=lambda n: -_mapped(stats, n)[1])
    _enter_mutants()
    for name in names:
        tests, clean = _mapped(stats, name)
        answers[name] = _run(name, tests, 60.0 + 10.0 * clean) if tests else "no tests"
        _write(out_path, answers)
    print(f"ran {len(names)} mutants mutmut had not run -> {out_path}")


def _alive(patterns: "list[str]") -> "list[str]":
    """Mutants still alive after mutmut's run and the rechecks (tools/mutation_survivors.py's statuses)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mutation_survivors import statuses

    dead = ("killed", "timeout", "not checked")
    return sorted(n for n, (st, how) in statuses().items()
                  if (st not in dead or how.startswith("new test")) and (not patterns or any(fnmatch.fnmatch(n, p) for p in patterns)))


def survivors(patterns: "list[str]", tests: "list[str]") -> None:
    out_path = Path("mutants/recheck-survivors.txt").resolve()
    answers = _read(out_path)
    names = _alive(patterns)
    _enter_mutants()
    limit = float(os.environ.get("MUTATION_LIMIT_S", 120))
    if _run("", tests) != "survived":
        raise SystemExit(f"the tests fail without a mutant: {tests}")
    for name in names:
        if not answers.get(name, "").startswith("killed"):  # a kill by an earlier batch of new tests stands
            answers[name] = _run(name, tests, limit)
            _write(out_path, answers)
    killed = sum(answers[n].startswith("killed") for n in names)
    print(f"{killed}/{len(names)} survivors killed by {tests} -> {out_path}")


def _old_tests(ref: str, nodeid: str) -> bool:
    """Whether the test of ``nodeid`` (file::function[params]) already existed at git ``ref``."""
    import re

    path, _, func = nodeid.partition("::")
    func = func.split("[")[0]
    old = subprocess.run(["git", "show", f"{ref}:{path}"], capture_output=True, text=True).stdout
    return bool(re.search(rf"^def {re.escape(func)}\(", old, flags=re.M))


def summary(ref: str = "main") -> None:
    import math

    for path in sorted(Path("mutants").glob("module-*.txt")):
        answers = _read(path)
        n = len(answers)
        killers = [v[len("killed by "):] for v in answers.values() if v.startswith("killed by ")]
        cache: dict = {}
        before = sum(cache.setdefault(k, _old_tests(ref, k)) for k in killers)
        k = len(killers)
        half = 1.96 * math.sqrt(k / n * (1 - k / n) / n) if n else 0.0
        print(f"{path.stem[len('module-'):]:13s} after {k}/{n} = {100 * k / max(n, 1):.1f} % (± {100 * half:.1f}), "
              f"by tests of {ref}: {before}/{n} = {100 * before / max(n, 1):.1f} %")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--summary"]:
        summary(*args[1:2])
    elif args[:1] == ["--unrun"]:
        unrun(args[1:])
    elif args[:1] == ["--survivors"]:
        cut = args.index("--") if "--" in args else len(args)
        survivors(args[1:cut], args[cut + 1:])
    elif args[:1] == ["--module"]:
        module, rest, sample = args[1], args[2:], None
        if rest[:1] == ["--sample"]:
            sample, rest = int(rest[1]), rest[2:]
        whole_module(module, rest[1:] if rest[:1] == ["--"] else rest, sample)
    else:
        recheck(args)
