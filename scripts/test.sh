#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing (scripts/ensure-deps.sh),
# checks the committed generated code, builds, and runs every Swift test
# (unit, golden-vector, integration and interop tests; the Python peers come
# from .venv). Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh
export SRIOV_TEST_PYTHON="$PWD/.venv/bin/python"

echo "== generated code"
scripts/generate-proto.sh --check

echo "== build"
swift build --build-tests

echo "== tests"
# Bounded: the suite takes a few minutes on 2 cores; 25 minutes means a hang.
timeout --kill-after=30 1500 swift test --skip-build
