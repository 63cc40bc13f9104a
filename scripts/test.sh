#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (scripts/ensure-deps.sh),
# checks the committed generated code, builds, and runs every Swift test
# (unit, golden-vector, integration and interop tests; the Python peers come
# from .venv), then the concurrency-heavy suites under ThreadSanitizer
# (scripts/tsan.sh), then the AddressSanitizer/LeakSanitizer check of the gRPC server
# over a storm of 1000 mTLS connections (Benchmarks/grpc/leak-check-asan.sh),
# then every fuzz target on its committed corpus and 20,000 mutations from a
# fixed seed (scripts/fuzz.sh --ci: libFuzzer + AddressSanitizer, its own
# build in .build-fuzz).
# Exits non-zero when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
export SRIOV_TEST_PYTHON="$PWD/.venv/bin/python"

echo "== generated code"
scripts/generate-proto.sh --check

echo "== build"
swift build --build-tests

echo "== tests"
# Suites one at a time: many start real processes (controller, agents, etcd
# members, Python peers, the demo) with deadlines of seconds, and running them
# side by side on 2 cores starves them. About 3.5 minutes on 2 cores; 25
# minutes means a hang.
timeout --kill-after=30 1500 swift test --skip-build --no-parallel

echo "== race detection (ThreadSanitizer)"
# Its own build in .build-tsan (a few minutes cold), then the
# concurrency-heavy suites (about 45 s); any race report fails.
scripts/tsan.sh

echo "== leak check (AddressSanitizer + LeakSanitizer)"
# Its own build in .build-asan (about 1 minute cold) and about 25 s of runs;
# every wait in it is bounded.
Benchmarks/grpc/leak-check-asan.sh 1000

echo "== fuzz targets on the committed corpus (libFuzzer + AddressSanitizer)"
# Its own build in .build-fuzz (a few minutes cold), then the corpus and
# 20,000 mutations per target from a fixed seed: the same inputs on every run,
# so a failure here is reproducible; campaigns (scripts/fuzz.sh TARGET) look
# for new ones.
scripts/fuzz.sh --ci 20000
