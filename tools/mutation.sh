#!/usr/bin/env bash
# Mutation testing of the scoring layer with mutmut 3 (not in CI: ~50 min of mutmut and ~35 min of rechecks for
# compare/ and the summaries on 2 shared cores, 2 Dec 2026; docs/mutation.md).
#
#   tools/mutation.sh                  # every function of cosmobench/compare/, then the summary
#   tools/mutation.sh null verdict     # only these modules of cosmobench/compare/ (null, verdict, effects,
#                                      # validity, memorisation, metric, score, distances, _spec)
#   tools/mutation.sh all              # compare/ and the statistics' summaries
#   tools/mutation.sh finish [all]     # after a stopped mutmut run: recheck, run what it did not reach, report
#   tools/mutation.sh report           # only the summary (tools/mutation_survivors.py)
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
if [ "${1:-}" = report ] || [ "${1:-}" = finish ]; then
  mode="$1"
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
fi
if [ "$mode" != report ]; then
  # mutmut 3.8 calls a mutant "suspicious" when its forked worker raised or was signalled, and "timeout" when
  # it overran a wall clock that a loaded machine overruns too: re-run both in one plain pytest process
  python3 tools/mutation_recheck.py "${SCOPE[@]}"
  # whatever mutmut did not reach (stopped, or too slow on a shared machine): the same mapped tests, one process
  python3 tools/mutation_recheck.py --unrun "${SCOPE[@]}"
fi
# every mutant's final status per module, and docs/mutation-survivors.md with each survivor's verdict
python3 tools/mutation_survivors.py
