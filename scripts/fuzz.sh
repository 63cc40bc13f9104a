#!/usr/bin/env bash
# Fuzzing with libFuzzer (the toolchain's -sanitize=fuzzer) and AddressSanitizer.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     a campaign: SECONDS (default 300) per target
#   scripts/fuzz.sh --ci [RUNS]                every target on the committed corpus, then
#                                              RUNS (default 20000; h2-client a tenth)
#                                              mutations from a fixed seed, so a run is
#                                              reproducible: the same inputs on every
#                                              machine; new inputs are not kept. Finding
#                                              new failures is what campaigns are for.
#   scripts/fuzz.sh --minimize TARGET          merge the committed corpus into its smallest
#                                              covering subset (regressions/ stays as it is)
#
# Targets (Tests/Fuzz/SriovFuzzTargets): protobuf, grpc-wire, cr, h2-server, h2-client. The build
# goes to .build-fuzz under the shared build lock. A campaign runs on a
# scratch copy of Tests/Fuzz/corpus/TARGET and then merges what it found
# into the committed corpus with -merge=1 (only inputs that add coverage are
# kept, so the corpus stays small). Each input is limited to 10 s
# (-timeout: a hang is a failure) and 2 GiB RSS, 512 MiB per allocation
# (-rss_limit_mb, -malloc_limit_mb: excessive memory is a failure). Inputs
# are at most 64 KiB (-max_len). A failure leaves the input in
# .build-fuzz/artifacts/TARGET/; turn it into a file under
# Tests/Fuzz/corpus/TARGET/ (named regression-WHAT) so that SriovFuzzTests
# replays it in every test run. Prints the executions of each run.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=/tmp/sriov-swift-build.lock
SCRATCH=.build-fuzz
TARGETS=(protobuf grpc-wire cr h2-server h2-client)
LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -max_len=65536 -print_final_stats=1)

mode=campaign
if [ "${1:-}" = "--ci" ]; then mode=ci; shift; runs=${1:-20000}; targets=("${TARGETS[@]}")
elif [ "${1:-}" = "--minimize" ]; then mode=minimize; shift; targets=("${1:?--minimize needs a target}")
else
  t=${1:-all}; seconds=${2:-300}
  if [ "$t" = all ]; then targets=("${TARGETS[@]}"); else targets=("$t"); fi
fi
for t in "${targets[@]}"; do
  case " ${TARGETS[*]} " in *" $t "*) ;; *) echo "fuzz: unknown target $t (known: ${TARGETS[*]})" >&2; exit 2;; esac
done

mkdir -p "$SCRATCH"
echo "fuzz: building sriov-fuzz with -sanitize=fuzzer,address into $SCRATCH"
if ! flock "$LOCK" swift build -c debug --scratch-path "$SCRATCH" --product sriov-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
    >"$SCRATCH/build.log" 2>&1; then
  tail -40 "$SCRATCH/build.log" >&2
  echo "fuzz: FAIL: the build failed (log: $SCRATCH/build.log)" >&2
  exit 1
fi
bin=$SCRATCH/debug/sriov-fuzz
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
# libFuzzer prints the stack of a failure; the Swift runtime's own backtracer
# would take minutes over the instrumented binary.
export SWIFT_BACKTRACE=enable=no

total=0
for t in "${targets[@]}"; do
  corpus=Tests/Fuzz/corpus/$t
  artifacts=$SCRATCH/artifacts/$t
  mkdir -p "$artifacts"
  log=$SCRATCH/fuzz-$t.log
  case $mode in
    ci)
      # The committed corpus only, read-only: an empty scratch directory
      # receives whatever the short run finds. A fixed seed and a fixed
      # number of runs (bounded in time as well, for a slow machine).
      scratch=$(mktemp -d)
      status=0
      # h2-client waits up to 50 ms on each input for the client's answer
      # (about 40 inputs a second): a tenth of the runs.
      target_runs=$runs
      [ "$t" = h2-client ] && target_runs=$((runs / 10))
      SRIOV_FUZZ_TARGET=$t "$bin" "${LIMITS[@]}" -seed=1 -runs="$target_runs" -max_total_time=120 \
        -artifact_prefix="$artifacts/" "$scratch" "$corpus" >"$log" 2>&1 || status=$?
      rm -rf "$scratch"
      ;;
    campaign)
      scratch=$(mktemp -d)
      cp "$corpus"/* "$scratch"/ 2>/dev/null || true
      status=0
      SRIOV_FUZZ_TARGET=$t "$bin" "${LIMITS[@]}" -max_total_time="$seconds" \
        -artifact_prefix="$artifacts/" "$scratch" >"$log" 2>&1 || status=$?
      if [ "$status" -eq 0 ]; then
        before=$(ls "$corpus" | wc -l)
        SRIOV_FUZZ_TARGET=$t "$bin" "${LIMITS[@]}" -merge=1 "$corpus" "$scratch" >"$log.merge" 2>&1
        echo "fuzz: $t: corpus $before -> $(ls "$corpus" | wc -l) inputs"
      fi
      rm -rf "$scratch"
      ;;
    minimize)
      scratch=$(mktemp -d)
      status=0
      SRIOV_FUZZ_TARGET=$t "$bin" "${LIMITS[@]}" -merge=1 "$scratch" "$corpus" >"$log" 2>&1 || status=$?
      if [ "$status" -eq 0 ]; then
        find "$corpus" -maxdepth 1 -type f ! -name 'regression-*' ! -name 'seed-*' -delete
        for f in "$scratch"/*; do
          [ -e "$corpus/$(basename "$f")" ] || cp "$f" "$corpus/"
        done
        echo "fuzz: $t: corpus minimised to $(ls "$corpus" | wc -l) inputs (seed-* and regression-* kept)"
      fi
      rm -rf "$scratch"
      ;;
  esac
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  execs=${execs:-0}
  total=$((total + execs))
  if [ "$status" -ne 0 ]; then
    grep -E 'ERROR|Fatal error|sriov-fuzz|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    echo "fuzz: FAIL: $t (exit $status; log $log, input in $artifacts/)" >&2
    exit 1
  fi
  echo "fuzz: $t: $execs executions, no failure"
done
echo "fuzz: $total executions in total"
