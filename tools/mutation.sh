#!/usr/bin/env bash
# Mutation testing of the scoring layer with mutmut 3 (not in CI: ~1-2 h for compare/ on 2 shared cores).
#
#   tools/mutation.sh                  # every function of cosmobench/compare/, then the summary
#   tools/mutation.sh null verdict     # only these modules of cosmobench/compare/ (null, verdict, effects,
#                                      # validity, memorisation, metric, score, distances, _spec)
#   tools/mutation.sh all              # compare/ and the statistics' summaries
#   tools/mutation.sh report [all]     # only print the summary of the last run(s)
#
# Scope (docs/mutation.md): cosmobench/compare/ by default; with "all" also the statistics' summaries (the
# base Statistic.summarize template and every subclass's _summarize). The tests mutmut runs are the fast
# ones of pyproject.toml [tool.mutmut] pytest_add_cli_args_test_selection (tests marked slow are left
# out). mutmut works in a copy under mutants/ (git-ignored) and keeps every result there, so per-module
# runs add up. Run it under nice on a shared machine: MUTMUT_CHILDREN=1 nice -n 10 tools/mutation.sh
# On a machine too loaded for mutmut's tracing pass and forks, tools/mutation_recheck.py --module runs one
# module's mutants (or a sample) in one process against given tests (docs/mutation.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# the mutated copy must be what the tests import: no PYTHONPATH pointing at the work tree
unset PYTHONPATH
export NUMBA_NUM_THREADS="${NUMBA_NUM_THREADS:-1}" COSMOBENCH_THREADS="${COSMOBENCH_THREADS:-1}"

COMPARE=("cosmobench.compare.*")
SUMMARIES=("cosmobench.stats.*ǁsummarize__mutmut_*" "cosmobench.stats.*ǁ_summarize__mutmut_*")

mode="run"
if [ "${1:-}" = report ]; then
  mode="report"
  shift
fi
case "${1:-}" in
  "") SCOPE=("${COMPARE[@]}") ;;
  all) SCOPE=("${COMPARE[@]}" "${SUMMARIES[@]}") ;;
  *) SCOPE=()
     for m in "$@"; do
       [ -f "cosmobench/compare/$m.py" ] || { echo "no module cosmobench/compare/$m.py" >&2; exit 2; }
       SCOPE+=("cosmobench.compare.$m.*")
     done ;;
esac

if [ "$mode" = run ]; then
  mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "${SCOPE[@]}" || true
  # mutmut 3.8 calls a mutant "suspicious" when its forked worker raised; re-run those in plain pytest
  python3 tools/mutation_recheck.py "${SCOPE[@]}"
fi

# Summary per compare module (and the summaries) from mutmut's own result list, one "name: status" a line.
mutmut results --all true > mutants/results.txt 2>/dev/null || true
python3 - "${SCOPE[@]}" <<'PY'
import fnmatch, re, sys
from collections import Counter, defaultdict
scope = sys.argv[1:]
status_of = {}
for line in open("mutants/results.txt", encoding="utf-8"):
    m = re.match(r"\s*(\S+): (.+)$", line)
    if m and any(fnmatch.fnmatch(m.group(1), p) for p in scope):
        status_of[m.group(1)] = m.group(2).strip()
try:  # the recheck's answer replaces "suspicious" (and only that)
    for line in open("mutants/recheck.txt", encoding="utf-8"):
        m = re.match(r"\s*(\S+): (.+)$", line)
        if m and status_of.get(m.group(1)) == "suspicious":
            status_of[m.group(1)] = m.group(2).strip()
except FileNotFoundError:
    pass
by_area = defaultdict(Counter)
unrun = 0
for name, status in status_of.items():
    if status == "not checked":  # in scope but not run yet (an interrupted run): reported, not scored
        unrun += 1
        continue
    area = name.split(".")[2] if name.startswith("cosmobench.compare.") else "summaries"
    by_area[area][status] += 1
total = Counter()
print("score = killed / (killed + survived + no tests + suspicious + ...); timeouts count as killed")
for area, c in sorted(by_area.items()):
    total.update(c)
    killed = c["killed"] + c.get("timeout", 0)
    print(f"{area:13s} {killed}/{sum(c.values())} killed ({100 * killed / max(1, sum(c.values())):.1f} %)  {dict(c)}")
k = total["killed"] + total.get("timeout", 0)
print(f"{'all':13s} {k}/{sum(total.values())} killed ({100 * k / max(1, sum(total.values())):.1f} %); {unrun} not run")
PY
echo "survivors: grep -E ': (survived|no tests)' mutants/results.txt; mutmut show NAME"
