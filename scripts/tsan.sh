#!/usr/bin/env bash
# The concurrency-heavy tests under ThreadSanitizer.
#
#   scripts/tsan.sh [FILTER]
#
# Builds the tests with --sanitize=thread into .build-tsan (under the shared
# build lock) and runs the RPC runtime's loopback (including shutdown),
# channel, failover, keepalive and transport suites, the controller's Agent
# and Operator services and end-to-end streams (the controller and agent
# processes are TSan builds too), the store contract (SQLite's writer thread
# and read pool, and etcd), and the HTTP/2 conformance and fuzz-corpus
# replays (default FILTER), with
# halt_on_error=1: any data race report fails the run. The only suppressions
# are races inside system libraries, each listed in scripts/tsan.supp with
# its reason.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=/tmp/sriov-swift-build.lock
SCRATCH=.build-tsan
FILTER=${1:-'SriovGRPCTests\.(LoopbackTests|ChannelTests|ChannelFailoverTests|KeepaliveTests|TransportTests|HTTP2ConformanceTests)|SriovControllerTests\.(AgentServiceTests|OperatorServiceTests|EndToEndTests)|SriovStoreTests\.StoreContractTests|CorpusReplayTests'}

mkdir -p "$SCRATCH"
echo "tsan: building the tests with --sanitize=thread into $SCRATCH"
# -DSRIOV_TSAN: the project's locks (SriovSync.Locked) tell ThreadSanitizer
# about themselves; Synchronization's Mutex locks with futex calls it does
# not see, and every value behind one would be reported as a race.
if ! flock "$LOCK" swift build --build-tests --sanitize=thread -Xswiftc -DSRIOV_TSAN --scratch-path "$SCRATCH" >"$SCRATCH/build.log" 2>&1; then
  tail -40 "$SCRATCH/build.log" >&2
  echo "tsan: FAIL: the build failed (log: $SCRATCH/build.log)" >&2
  exit 1
fi
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp}
export SWIFT_BACKTRACE=enable=no
# The tests start the ThreadSanitizer builds of the controller, agent and
# CLI too, so races in those processes fail the run as well.
export SRIOV_TEST_BIN_DIR=$SCRATCH/debug
echo "tsan: running $FILTER"
# Bounded: these suites take about a minute plainly; TSan slows them 5-15x.
timeout --kill-after=30 900 swift test --skip-build --no-parallel --sanitize=thread -Xswiftc -DSRIOV_TSAN --scratch-path "$SCRATCH" --filter "$FILTER"
