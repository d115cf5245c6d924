#!/usr/bin/env bash
# Mutation testing of the scoring layer with mutmut 3 (not in CI: ~30-60 min on 2 cores).
#
#   tools/mutation.sh              # run the scoped mutants, then print the summary
#   tools/mutation.sh report       # only print the summary of the last run
#
# Scope (docs/mutation.md): every function of cosmobench/compare/, the statistics' summaries (the base
# Statistic.summarize template and every subclass's _summarize), and the reference-summary cache key/reader of
# cosmobench/evaluation.py. The tests mutmut runs are the fast ones listed in pyproject.toml
# [tool.mutmut] pytest_add_cli_args_test_selection. mutmut works in a copy under mutants/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
# the mutated copy must be what the tests import: no PYTHONPATH pointing at the work tree
unset PYTHONPATH
export NUMBA_NUM_THREADS="${NUMBA_NUM_THREADS:-1}" COSMOBENCH_THREADS="${COSMOBENCH_THREADS:-1}"

SCOPE=(
  "cosmobench.compare.*"
  "cosmobench.stats.*ǁsummarize__mutmut_*"
  "cosmobench.stats.*ǁ_summarize__mutmut_*"
  "cosmobench.evaluation.x__cache_key__mutmut_*"
  "cosmobench.evaluation.x__read_cache__mutmut_*"
)

if [ "${1:-run}" = run ]; then
  mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "${SCOPE[@]}" || true
  # mutmut 3.8 calls a mutant "suspicious" when its forked worker raised; re-run those in plain pytest
  python3 tools/mutation_recheck.py --jobs "${MUTMUT_CHILDREN:-2}"
fi

# Summary per area from mutmut's own result list (one "name: status" line per mutant).
mutmut results --all true > mutants/results.txt 2>/dev/null || true
python3 - "${SCOPE[@]}" <<'PY'
import fnmatch, re, sys
from collections import Counter, defaultdict
scope = sys.argv[1:]
by_area = defaultdict(Counter)
status_of = {}
for path in ("mutants/results.txt", "mutants/recheck.txt"):  # the recheck overrides "suspicious"
    try:
        lines = open(path, encoding="utf-8").readlines()
    except FileNotFoundError:
        continue
    for line in lines:
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m and any(fnmatch.fnmatch(m.group(1), p) for p in scope):
            status_of[m.group(1)] = m.group(2).strip()
unrun = sum(1 for s in status_of.values() if s == "not checked")
for name, status in status_of.items():
    if status == "not checked":  # in scope but not run yet (an interrupted run): reported, not scored
        continue
    area = "compare" if name.startswith("cosmobench.compare.") else ("cache" if name.startswith("cosmobench.evaluation.") else "summaries")
    by_area[area][status] += 1
total = Counter()
for area, c in sorted(by_area.items()):
    total.update(c)
    killed = c["killed"] + c.get("timeout", 0)
    print(f"{area:10s} {killed}/{sum(c.values())} killed ({100 * killed / max(1, sum(c.values())):.1f} %)  {dict(c)}")
k = total["killed"] + total.get("timeout", 0)
print(f"{'all':10s} {k}/{sum(total.values())} killed ({100 * k / max(1, sum(total.values())):.1f} %); {unrun} not run")
PY
echo "survivors: grep -hE ': (survived|no tests)' mutants/results.txt mutants/recheck.txt; mutmut show NAME"
