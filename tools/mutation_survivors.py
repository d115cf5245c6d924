"""The complete mutation result of the scoring layer, and every surviving mutant with its verdict.

From the repository root, after ``tools/mutation.sh all`` (mutmut's results in ``mutants/``)::

    python tools/mutation_survivors.py            # writes docs/mutation-survivors.md, prints the counts
    python tools/mutation_survivors.py --check    # exit 1 if a survivor has no verdict (or a verdict is stale)
    python tools/mutation_survivors.py --run-tests   # only the table, with the tests the run had

A mutant's status is mutmut's (``mutants/**/*.meta``), with later answers laid over it, all from
``tools/mutation_recheck.py`` in one plain pytest process: ``mutants/recheck.txt`` for the ones mutmut
called *suspicious* (its forked worker raised), ``mutants/recheck-unrun.txt`` and ``mutants/module-*.txt``
(``--unrun``, ``--module``) for the ones mutmut has not run (a module re-run after its code changed), and
``mutants/recheck-survivors.txt`` for survivors re-run against tests written after the run
(``--survivors``; a "killed by" there replaces "survived").

Every survivor must be named in ``tools/mutation_verdicts.toml``: groups of mutants, each with a kind
(``equivalent``: the same behaviour for every valid input; ``cosmetic``: message, description or
diagnostic text only; ``accepted``: a real change, deliberately not pinned, and why) and the argument.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutation_recheck import _read as _answers  # noqa: E402  ("name: status" lines)

SCOPE = ("cosmobench.compare.*", "cosmobench.stats.*ǁsummarize__mutmut_*", "cosmobench.stats.*ǁ_summarize__mutmut_*")
VERDICTS = Path("tools/mutation_verdicts.toml")
OUT = Path("docs/mutation-survivors.md")
KINDS = ("equivalent", "cosmetic", "accepted")
# what mutmut's exit codes mean (mutmut.stats.status_by_exit_code, without importing mutmut's CLI)
_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
           -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}
_DEAD = ("killed", "timeout")  # timeouts count as killed, as mutmut counts them


def short(name: str) -> str:
    return name[len("cosmobench."):] if name.startswith("cosmobench.") else name


def area(name: str) -> str:
    parts = name.split(".")
    return parts[2] if parts[1] == "compare" else f"stats.{parts[2]}"


def statuses(new_tests: bool = True) -> "dict[str, tuple[str, str]]":
    """name -> (status, how it was decided) for every mutant in scope (``new_tests=False``: without the
    re-run of the survivors against tests written after the run)."""
    out = {}
    for meta in sorted(Path("mutants/cosmobench").rglob("*.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatch.fnmatch(name, p) for p in SCOPE):
                out[name] = (_STATUS.get(code, "suspicious"), "mutmut")
    for name, answer in _answers(Path("mutants/recheck.txt")).items():
        if out.get(name, ("",))[0] in ("suspicious", "timeout"):
            status = ("timeout" if "(timeout)" in answer else "killed") if answer.startswith("killed") else answer.split(" ")[0]
            out[name] = (status, "recheck: " + answer)
    for name, answer in _answers(Path("mutants/recheck-unrun.txt")).items():
        if out.get(name, ("",))[0] == "not checked":
            status = ("timeout" if "(timeout)" in answer else "killed") if answer.startswith("killed") else answer.split(" ")[0]
            out[name] = ("no tests" if answer == "no tests" else status, "one-process run: " + answer)
    # a whole module re-run in one process (``mutation_recheck.py --module``) after its code changed: mutmut's
    # regenerated mutants of the changed functions are "not checked", and the module run decides them
    for path in sorted(Path("mutants").glob("module-*.txt")):
        for name, answer in _answers(path).items():
            if out.get(name, ("",))[0] == "not checked":
                status = ("timeout" if "(timeout)" in answer else "killed") if answer.startswith("killed") else answer.split(" ")[0]
                out[name] = (status, "module run: " + answer)
    for name, answer in _answers(Path("mutants/recheck-survivors.txt")).items() if new_tests else ():
        if out.get(name, ("",))[0] in ("survived", "no tests") and answer.startswith("killed"):
            out[name] = ("killed", "new test: " + answer[len("killed by "):])
    return out


def one_line_diff(name: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    module = re.match(r"^(.*?)\.x[_ǁ]", name).group(1)  # cosmobench.compare.effects.x__pdf__mutmut_3
    path = Path(*module.split(".")).with_suffix(".py")
    lines = get_diff_for_mutant(name, path=path).splitlines()
    minus = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    return f"{' / '.join(minus) or '(nothing)'}  →  {' / '.join(plus) or '(removed)'}"


def verdicts() -> "dict[str, tuple[str, str, str]]":
    """short name -> (kind, group title, argument)."""
    data = tomllib.loads(VERDICTS.read_text(encoding="utf-8"))
    out = {}
    for g in data["group"]:
        if g["kind"] not in KINDS:
            raise SystemExit(f"{VERDICTS}: group {g['title']!r} has kind {g['kind']!r}, not one of {KINDS}")
        for m in g["mutants"]:
            if m in out:
                raise SystemExit(f"{VERDICTS}: {m} is in two groups")
            out[m] = (g["kind"], g["title"], " ".join(g["why"].split()))
    return out


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("`", "'")


def main(argv: "list[str]") -> int:
    if "--run-tests" in argv:  # the table with the tests the run had (before the survivors' new tests)
        argv = [a for a in argv if a != "--run-tests"] + ["--table-only"]
    st = statuses(new_tests="--table-only" not in argv)
    given = verdicts()
    by_area: dict = defaultdict(Counter)
    for name, (s, _) in st.items():
        by_area[area(name)][s] += 1
    survivors = sorted(n for n, (s, _) in st.items() if s not in (*_DEAD, "not checked"))
    missing = [n for n in survivors if short(n) not in given]
    stale = sorted(set(given) - {short(n) for n in survivors})

    rows = ["| module | mutants | killed | timeout | survived | no tests | suspicious | not run | score |",
            "|---|---|---|---|---|---|---|---|---|"]
    total: Counter = Counter()
    for a, c in sorted(by_area.items()):
        total.update(c)
    compare, summaries = Counter(), Counter()
    for a, c in by_area.items():
        (summaries if a.startswith("stats.") else compare).update(c)
    for a, c in [*sorted(by_area.items()), ("*compare/*", compare), ("*summaries*", summaries), ("**all**", total)]:
        n = sum(c.values()) - c["not checked"]
        dead = c["killed"] + c["timeout"]
        rows.append(f"| {a} | {sum(c.values())} | {c['killed']} | {c['timeout']} | {c['survived']} | {c['no tests']} | "
                    f"{c['suspicious']} | {c['not checked']} | {100 * dead / max(n, 1):.1f} % |")
    print("\n".join(rows))
    if "--table-only" in argv:
        return 0
    kinds = Counter(given[short(n)][0] for n in survivors if short(n) in given)
    print(f"survivors: {len(survivors)} ({dict(kinds)}); without a verdict: {len(missing)}; stale verdicts: {len(stale)}")
    for n in missing:
        print("  no verdict:", short(n), "|", one_line_diff(n))
    for n in stale:
        print("  stale verdict (not a survivor):", n, st.get("cosmobench." + n, ("not in scope",))[0])
    if "--check" in argv:
        return 1 if missing or stale else 0

    doc = [
        "# Surviving mutants of the scoring layer (generated)",
        "",
        "Generated by `python tools/mutation_survivors.py` from mutmut's results in `mutants/` and the verdicts in",
        "`tools/mutation_verdicts.toml`; how the run was made and what the numbers mean: `docs/mutation.md`.",
        "Score = (killed + timeout) / (mutants run); a timeout is a mutant that made the tests hang (noticed).",
        "Status: as decided by mutmut's run, the one-process recheck of its suspicious and timed-out mutants,",
        "the one-process run of the mutants it did not reach and of a module re-run after its code changed",
        "(`module run`; all with the tests of main at the run), and the re-run of the survivors against the",
        "tests written for them (`new test`); the first table is the result.",
        "",
        *rows,
        "",
        f"{len(survivors)} survivors: " + ", ".join(f"{kinds[k]} {k}" for k in KINDS) + ".",
        "Kinds: **equivalent** — the same behaviour for every valid input; **cosmetic** — only message, description",
        "or diagnostic text changes; **accepted** — a real change, deliberately not pinned (the reason is given).",
        "",
    ]
    groups: dict = defaultdict(list)
    for n in survivors:
        groups[given.get(short(n), ("", "NO VERDICT", ""))[1]].append(n)
    order = [g["title"] for g in tomllib.loads(VERDICTS.read_text(encoding="utf-8"))["group"]]
    for title, names in sorted(groups.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1):
        kind, _, why = given.get(short(names[0]), ("?", title, "no verdict yet"))
        doc += [f"## {title} ({kind}, {len(names)})", "", why, "", "| mutant | status | diff (original → mutant) |",
                "|---|---|---|"]
        doc += [f"| `{short(n)}` | {st[n][0]} ({st[n][1].split(':')[0]}) | `{_md(one_line_diff(n))}` |" for n in names]
        doc.append("")
    OUT.write_text("\n".join(doc), encoding="utf-8")
    print(f"-> {OUT}")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
