#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build and run the libFuzzer targets of fuzz/ (docs/SECURITY.md "Fuzzing").
#
#   scripts/fuzz.sh --quick [target...]  each target FUZZ_RUNS runs (default
#                                        20000; 9p, rpmsg a fifth) from its seed
#                                        corpus: make test
#   scripts/fuzz.sh --long [target...]   each target FUZZ_SECONDS seconds
#                                        (default 300): make fuzz
#   scripts/fuzz.sh --build              build only
#   scripts/fuzz.sh --list               print the targets
#
# Knobs (environment): FUZZ_DIR build directory (build-fuzz), FUZZ_WORK where
# new corpus entries and crash artifacts go (a fresh /tmp dir; the committed
# corpora in fuzz/corpus/ are only read), FUZZ_RUNS, FUZZ_SECONDS, JOBS.
# One target at a time, one process each (no -jobs/-workers): the machine
# is shared.  A crash, leak, sanitizer report or timeout fails the run and
# names the artifact; keep it as fuzz/corpus/<target>/crash-<what> once the
# bug is fixed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_DIR=${FUZZ_DIR:-$ROOT/build-fuzz}
FUZZ_RUNS=${FUZZ_RUNS:-20000}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
JOBS=${JOBS:-2}
TARGETS_ALL=$(sed -n 's/^\(add_executable\|hvl_fuzz_backend\)(\(fuzz_[a-z0-9_]*\).*/\2/p' "$ROOT/fuzz/CMakeLists.txt")

die() { printf 'fuzz.sh: error: %s\n' "$*" >&2; exit 1; }

mode=${1:-}
[ $# -gt 0 ] && shift
case "$mode" in
  --quick|--long|--build) ;;
  --list) printf '%s\n' $TARGETS_ALL; exit 0 ;;
  -h|--help|"") sed -n '4,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) die "unknown mode '$mode' (try --help)" ;;
esac
targets=${*:-$TARGETS_ALL}

CC_FUZZ=${CC_FUZZ:-clang}
command -v "$CC_FUZZ" >/dev/null 2>&1 || die "$CC_FUZZ not found: run 'make deps' (clang, libclang-rt-14-dev)"
CC="$CC_FUZZ" cmake -S "$ROOT/fuzz" -B "$FUZZ_DIR" >/dev/null
MAKEFLAGS= cmake --build "$FUZZ_DIR" --parallel "$JOBS"
[ "$mode" = --build ] && exit 0

work=${FUZZ_WORK:-$(mktemp -d /tmp/hvl-fuzz.XXXXXX)}
mkdir -p "$work"
echo "fuzz.sh: scratch corpus and artifacts in $work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in $targets; do
  bin="$FUZZ_DIR/$t"
  [ -x "$bin" ] || die "no target $t (known: $(echo $TARGETS_ALL))"
  mkdir -p "$work/$t"
  if [ "$mode" = --quick ]; then
    runs=$FUZZ_RUNS
    # Targets that make real file-system or socket calls per input run a fifth as often.
    case "$t" in fuzz_9p|fuzz_rpmsg) runs=$((FUZZ_RUNS / 5)) ;; esac
    limit=(-runs="$runs"); guard=300
  else
    limit=(-max_total_time="$FUZZ_SECONDS"); guard=$((FUZZ_SECONDS + 120))
  fi
  t0=$(date +%s)
  # New inputs go to the scratch dir (first corpus dir); the seeds are read only.
  if timeout "$guard" "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work/$t/" \
       "$work/$t" "$ROOT/fuzz/corpus/$t" >"$work/$t.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    printf 'fuzz.sh: %-14s %s runs clean in %ss\n' "$t" "${runs:-?}" $(( $(date +%s) - t0 ))
  else
    failed=1
    printf 'fuzz.sh: %-14s FAILED after %ss; log %s\n' "$t" $(( $(date +%s) - t0 )) "$work/$t.log"
    grep -E 'ERROR|invariant violated|runtime error|Test unit written' "$work/$t.log" | head -5 || true
  fi
done
if [ "$failed" -eq 0 ] && [ -z "${FUZZ_WORK:-}" ] && [ "$mode" = --quick ]; then
  rm -rf "$work"
fi
exit "$failed"
