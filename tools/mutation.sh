#!/usr/bin/env bash
# Mutation testing of the scoring layer with mutmut 3 (not in CI: ~30-60 min on 2 cores).
#
#   tools/mutation.sh              # run the scoped mutants, then print the summary
#   tools/mutation.sh report       # only print the summary of the last run
#
# Scope (docs/mutation.md): every function of cosmobench/compare/, the summarize methods of the statistics
# (plus the structures' _summary helper they call), and the reference-summary cache key/reader of
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
  "cosmobench.stats.structures.x__summary__mutmut_*"
  "cosmobench.evaluation.x__cache_key__mutmut_*"
  "cosmobench.evaluation.x__read_cache__mutmut_*"
)

if [ "${1:-run}" = run ]; then
  mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "${SCOPE[@]}" || true
fi

# Summary per area from mutmut's own result list (one "name: status" line per mutant).
mutmut results --all true > mutants/results.txt 2>/dev/null || true
python3 - "${SCOPE[@]}" <<'PY'
import fnmatch, re, sys
from collections import Counter, defaultdict
scope = sys.argv[1:]
by_area = defaultdict(Counter)
for line in open("mutants/results.txt", encoding="utf-8"):
    m = re.match(r"\s*(\S+): (.+)$", line)
    if not m or not any(fnmatch.fnmatch(m.group(1), p) for p in scope):
        continue
    name, status = m.groups()
    area = "compare" if name.startswith("cosmobench.compare.") else ("cache" if name.startswith("cosmobench.evaluation.") else "summaries")
    by_area[area][status.strip()] += 1
total = Counter()
for area, c in sorted(by_area.items()):
    total.update(c)
    killed = c["killed"] + c.get("timeout", 0)
    print(f"{area:10s} {killed}/{sum(c.values())} killed ({100 * killed / max(1, sum(c.values())):.1f} %)  {dict(c)}")
k = total["killed"] + total.get("timeout", 0)
print(f"{'all':10s} {k}/{sum(total.values())} killed ({100 * k / max(1, sum(total.values())):.1f} %)")
PY
echo "survivors: grep -E ': (survived|no tests)' mutants/results.txt; mutmut show NAME"
