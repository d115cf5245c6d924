"""Re-run mutmut's 'suspicious' mutants in one plain pytest process and classify them.

mutmut 3.8 reports a mutant as 'suspicious' when its forked worker raised instead of returning pytest's
exit code; here (numba, pyFFTW, hypothesis in a forked grandchild) that happened for a third of the
summary mutants. Running the same tests for the same mutant with ``pytest.main`` (one process, the
mutant switched through ``MUTANT_UNDER_TEST``, which mutmut's trampolines read on every call) gives the
real answer: exit 0 = survived, 1 = killed. Usage, from the repository root after ``mutmut run``:

    python tools/mutation_recheck.py       # appends "name: status" lines to mutants/recheck.txt
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _suspicious() -> "list[str]":
    out = subprocess.run(["mutmut", "results", "--all", "true"], capture_output=True, text=True).stdout
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip().endswith(": suspicious")]


def main() -> None:
    import pytest

    stats = json.loads(Path("mutants/mutmut-stats.json").read_text())["tests_by_mangled_function_name"]
    out_path = Path("mutants/recheck.txt").resolve()
    done = set()
    if out_path.exists():
        done = {line.split(":")[0].strip() for line in out_path.read_text().splitlines() if line.strip()}
    names = [n for n in _suspicious() if n not in done]
    os.environ.pop("PYTHONPATH", None)
    os.chdir("mutants")
    sys.path.insert(0, os.getcwd())
    for name in names:
        tests = sorted(stats.get(name.split("__mutmut_")[0], []))
        os.environ["MUTANT_UNDER_TEST"] = name
        rc = int(pytest.main(["--rootdir=.", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                              "--benchmark-disable", "--no-header", "--tb=no", *tests]))
        status = {0: "survived", 1: "killed"}.get(rc, f"error (pytest exit {rc})")
        with open(out_path, "a", encoding="utf-8") as fh:
            fh.write(f"    {name}: {status}\n")
    print(f"rechecked {len(names)} suspicious mutants -> mutants/recheck.txt")


if __name__ == "__main__":
    main()
