#!/usr/bin/env bash
# Leak check of the gRPC server under AddressSanitizer + LeakSanitizer.
#
#   Benchmarks/grpc/leak-check-asan.sh [CONNECTIONS]
#
# Builds sriov-controller and grpc-load with --sanitize=address into
# .build-asan (under the shared build lock) and runs the controller twice
# with leak detection on.
#
# Run 1 drives it with:
#   1. CONNECTIONS (default 1000) mTLS connections with one health check
#      each, 8 at a time (grpc-load handshakes);
#   2. two seconds of concurrent unary calls on 8 connections x 4 streams;
#   3. abnormal endings: clients killed with SIGKILL while idle and while
#      calls are in flight, 200 rounds of calls ending abnormally (grpc-load
#      abort: cancelled streams, expired deadlines, oversized and malformed
#      requests, a gzip bomb, a connection closed under a stream), TCP connections closed before the TLS handshake,
#      random bytes instead of TLS, TLS clients without a certificate or
#      with an expired one, a client that closes in the middle of the HTTP/2
#      preface, and two handshakes that stall until the server's handshake
#      timeout;
# then stops it with SIGTERM while 16 idle mTLS connections are open (they
# answer GOAWAY, so the shutdown is prompt).
# Run 2 stops a fresh controller while 4 idle mTLS connections and a TCP
# connection that never starts its handshake are open; the latter ignores
# GOAWAY, so shutdown waits out the grace period (10 s) and force-closes it.
#
# The controller is stopped by PID and waited for (LeakSanitizer runs at
# exit). The check fails if it exits non-zero or if any process's sanitizer
# log has an AddressSanitizer or LeakSanitizer report; grpc-load runs with
# the same sanitizers, so a report from the client side of SriovGRPC fails
# it too. Every wait has a timeout.
#
# Before the storm, a canary proves that LeakSanitizer works in this
# environment (it needs ptrace, which some containers deny): the ASan
# controller is run with a preloaded library that leaks one block, and the
# check must see that report. Without it, a LeakSanitizer that silently does
# nothing would look like a clean run.
#
# No suppressions are used: nothing from the Swift runtime has shown up in
# the reports. If runtime noise ever does, list it in Benchmarks/grpc/lsan.supp
# with a reason per entry (never SriovGRPC, nghttp2 or OpenSSL frames) and
# pass it to the controller as LSAN_OPTIONS=suppressions=...
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000}
PARALLEL=8
LOCK=/tmp/sriov-swift-build.lock

# Debug + ASan rather than release + ASan: both work; measured on 2 cores,
# the cold build of the two products takes about 45 s in debug against about
# 70 s in release (and rebuilds after a change to SriovGRPC are cheaper, as
# release recompiles the whole module), while the storm runs at about the
# same handshake rate (OpenSSL's crypto dominates and is not instrumented).
# Debug also keeps object lifetimes as written, and stacks exact.
BUILD=(swift build -c debug --sanitize=address --scratch-path .build-asan)

say() { echo "leak-check-asan: $*"; }
fail() {
  # A process that died of an AddressSanitizer error is the likely cause.
  reports "$work"/asan-*.* || true
  echo "leak-check-asan: FAIL: $*" >&2
  exit 1
}

work=$(mktemp -d)
spid="" hold="" victim=""
cleanup() {
  # Only the processes this script started, by PID.
  for p in $victim $hold $spid; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM   # so that cleanup runs when the check itself is stopped
trap 'exit 130' INT

# wait_pid PID SECONDS: the exit status of PID, or 124 if it is still
# running after SECONDS.
wait_pid() {
  local pid=$1 deadline=$((SECONDS + $2)) rc=0
  while kill -0 "$pid" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 124
    sleep 0.1
  done
  wait "$pid" || rc=$?
  return "$rc"
}

# wait_for FILE PATTERN SECONDS
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# Sanitizer reports in the given files, printed demangled.
reports() { # FILE...
  local f found=1
  for f in "$@"; do
    [ -e "$f" ] || continue
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|LeakSanitizer has encountered a fatal error" "$f"; then
      found=0
      echo "---- $(basename "$f")" >&2
      if command -v swift >/dev/null; then swift demangle --simplified <"$f" >&2; else cat "$f" >&2; fi
    fi
  done
  return "$found"
}

# ---- build
for product in sriov-controller grpc-load; do
  if ! flock -w 1200 "$LOCK" timeout 1200 "${BUILD[@]}" --product "$product" >"$work/build.log" 2>&1; then
    tail -40 "$work/build.log" >&2
    fail "ASan build of $product failed (or the build lock or the build took over 20 minutes)"
  fi
done
BIN=$("${BUILD[@]}" --show-bin-path)

# The Swift runtime's crash backtracer reads other threads' stacks, which
# AddressSanitizer reports as an overflow of its own; with it off, a crash
# shows only the report of the real error.
export SWIFT_BACKTRACE=enable=no
# strip_path_prefix keeps the reports repo-relative.
server_asan="detect_leaks=1:abort_on_error=0:halt_on_error=1:strip_path_prefix=$PWD/"

# ---- canary: LeakSanitizer must report a deliberate leak in the same binary
cat >"$work/canary.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
/* Drops the only pointer to a 4099-byte block: a leak LeakSanitizer must report. */
static void __attribute__((noinline)) leak_once(void) {
    volatile char *p = malloc(4099);
    if (p) p[0] = 1;
    p = 0;
}
__attribute__((constructor)) static void lsan_canary(void) {
    leak_once();
    volatile char scrub[4096];
    memset((char *)scrub, 0, sizeof scrub);
}
EOF
clang -shared -fPIC -O0 -o "$work/canary.so" "$work/canary.c" 2>"$work/canary-build.log" \
  || { cat "$work/canary-build.log" >&2; fail "could not build the LeakSanitizer canary"; }
canary_rc=0
LD_PRELOAD="$work/canary.so" ASAN_OPTIONS="$server_asan:log_path=$work/canary-lsan" \
  timeout 120 "$BIN/sriov-controller" --help >/dev/null 2>&1 || canary_rc=$?
if [ "$canary_rc" = 0 ] || ! grep -qs "Direct leak of 4099 byte" "$work"/canary-lsan.*; then
  cat "$work"/canary-lsan.* >&2 2>/dev/null || true
  fail "LeakSanitizer did not report the canary's deliberate leak (exit $canary_rc): leak detection does not work here (does the container allow ptrace?)"
fi

# ---- certificates
certs/make-certs.sh "$work" --node storm --expired node/old >/dev/null 2>&1 \
  || fail "certs/make-certs.sh failed"
# Signed by the same CA, but in another trust domain: refused by the
# server's identity check (SPIFFE parsing), after the chain verified.
mkdir -p "$work/evil" && cp "$work/ca.crt" "$work/ca.key" "$work/evil/"
certs/make-certs.sh "$work/evil" --trust-domain evil.example --operator admin >/dev/null 2>&1 \
  || fail "certs/make-certs.sh (evil.example) failed"
CA=$work/ca.crt CERT=$work/node-storm.crt KEY=$work/node-storm.key

# ---- servers
# Each run of the controller gets its own sanitizer log prefix; every process
# must end with a clean log, and the controller with exit status 0.
export ASAN_OPTIONS="$server_asan:log_path=$work/asan-client"
failed=0 runs=()
start_server() { # NAME: sets spid and port
  ASAN_OPTIONS="$server_asan:log_path=$work/asan-$1" \
    "$BIN/sriov-controller" --data-dir "$(mktemp -d "$work/data.XXXXXX")" --listen 127.0.0.1:0 --threads 2 --tls-cert "$work/controller.crt" \
    --tls-key "$work/controller.key" --tls-ca "$CA" 2>"$work/$1.log" &
  spid=$!
  runs+=("$1")
  wait_for "$work/$1.log" "listening on" 60 \
    || { cat "$work/$1.log" >&2; fail "sriov-controller ($1) did not start listening within 60 s"; }
  port=$(grep -o "listening on 127.0.0.1:[0-9]*" "$work/$1.log" | cut -d: -f2)
  target=("127.0.0.1:$port" "$CA" "$CERT" "$KEY")
}
stop_server() { # NAME: SIGTERM, wait, check the exit status
  local rc=0
  kill -0 "$spid" 2>/dev/null || fail "sriov-controller ($1) died before SIGTERM"
  kill -TERM "$spid"
  # Up to the 10 s grace period for open connections, plus LeakSanitizer's
  # scan of the heap at exit.
  wait_pid "$spid" 120 || rc=$?
  [ "$rc" != 124 ] || fail "sriov-controller ($1) did not exit within 120 s of SIGTERM"
  spid=""
  if [ "$rc" != 0 ]; then
    tail -5 "$work/$1.log" >&2
    echo "leak-check-asan: sriov-controller ($1) exited with status $rc after SIGTERM" >&2
    failed=1
  fi
}
# hold_idle COUNT: COUNT idle mTLS connections (grpc-load idle keeps them
# until its stdin, fd 7, closes); sets hold.
hold_idle() {
  rm -f "$work/hold.in" "$work/hold.out"; mkfifo "$work/hold.in"
  "$BIN/grpc-load" idle "${target[@]}" "$1" <"$work/hold.in" >"$work/hold.out" 2>"$work/hold.err" &
  hold=$!
  exec 7>"$work/hold.in"
  wait_for "$work/hold.out" "^idle $1" 120 || { cat "$work/hold.err" >&2; fail "grpc-load idle did not connect"; }
}
release_idle() {
  local rc=0
  exec 7>&-
  wait_pid "$hold" 60 || rc=$?
  [ "$rc" != 124 ] || fail "grpc-load idle did not exit within 60 s of its stdin closing"
  hold=""
}
# Clients run as grpc-load MODE "${target[@]}" ARGS. Background ones are
# started directly, not through a shell function, so that $! is grpc-load's
# own PID, and with fd 7 closed, so that only this shell holds the write end
# of the idle client's stdin.
tload() { timeout "$1" "$BIN/grpc-load" "$2" "${target[@]}" "${@:3}"; } # SECONDS MODE ...
start=$SECONDS
abnormal=0

# ---- run 1: the storm, then a prompt shutdown.
start_server storm
# 16 idle mTLS connections stay open until the shutdown, which sends them
# GOAWAY; they close at once, so the shutdown is prompt.
hold_idle 16
# Two TCP connections that stall before (or in the middle of) the TLS
# handshake, for the server's handshake timeout (10 s) to close.
exec 8<>"/dev/tcp/127.0.0.1/$port"
exec 9<>"/dev/tcp/127.0.0.1/$port"
printf '\x16\x03\x01\x02\x00\x01' >&9   # a record header and 1 byte of a ClientHello
abnormal=$((abnormal + 2))

# 1. The storm.
tload 900 handshakes "$N" "$PARALLEL" >"$work/storm.out" 2>"$work/storm.err" \
  || { cat "$work/storm.err" >&2; fail "grpc-load handshakes failed"; }
say "$(cat "$work/storm.out")"

# 2. Concurrent unary calls: 8 connections x 4 streams for 2 s.
tload 300 calls 8 4 2 >"$work/calls.out" 2>"$work/calls.err" \
  || { cat "$work/calls.err" >&2; fail "grpc-load calls failed"; }
say "$(cat "$work/calls.out")"

# 3. Abnormal endings.
# 3a. 50 idle mTLS connections whose client dies (SIGKILL: no GOAWAY, no
#     TLS close_notify, just FINs from the kernel).
mkfifo "$work/victim.in"
"$BIN/grpc-load" idle "${target[@]}" 50 7>&- <"$work/victim.in" >"$work/victim.out" 2>"$work/victim.err" &
victim=$!
exec 6>"$work/victim.in"
wait_for "$work/victim.out" "^idle 50" 120 || { cat "$work/victim.err" >&2; fail "grpc-load idle did not connect"; }
kill -KILL "$victim"; { wait_pid "$victim" 30 || true; } 2>/dev/null; victim=""
exec 6>&-
abnormal=$((abnormal + 50))
# 3b. A client killed while 4 x 16 calls are in flight.
"$BIN/grpc-load" calls "${target[@]}" 4 16 60 7>&- >/dev/null 2>"$work/victim.err" &
victim=$!
sleep 2
kill -KILL "$victim"; { wait_pid "$victim" 30 || true; } 2>/dev/null; victim=""
abnormal=$((abnormal + 4))
# 3c. TCP connections closed before the handshake; random bytes instead of
#     a ClientHello.
for _ in $(seq 1 20); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || true
  (head -c 3000 /dev/urandom >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || true
done
abnormal=$((abnormal + 40))
# 3d. TLS clients the server must refuse (no certificate; an expired one;
#     one of another trust domain), and one with a valid certificate that
#     closes halfway through the HTTP/2 connection preface.
for _ in $(seq 1 10); do
  timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA" -alpn h2 \
    -cert "$work/evil/operator-admin.crt" -key "$work/evil/operator-admin.key" \
    </dev/null >/dev/null 2>&1 || true
  timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA" -alpn h2 \
    </dev/null >/dev/null 2>&1 || true
  timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA" -alpn h2 \
    -cert "$work/expired-node-old.crt" -key "$work/expired-node-old.key" \
    </dev/null >/dev/null 2>&1 || true
  printf 'PRI * HTTP/2.0\r\n' | timeout 20 openssl s_client -quiet -no_ign_eof \
    -connect "127.0.0.1:$port" -CAfile "$CA" -alpn h2 -cert "$CERT" -key "$KEY" \
    >/dev/null 2>&1 || true
done
abnormal=$((abnormal + 40))
# 3e. Calls that end abnormally on live connections: server and bidi
#     streams cancelled (RST_STREAM), deadlines expiring mid-stream,
#     oversized, malformed and unknown-method requests, a gzip bomb, a
#     connection closed under an open stream (grpc-load checks each status).
tload 300 abort 200 8 >"$work/abort.out" 2>"$work/abort.err" \
  || { cat "$work/abort.out" "$work/abort.err" >&2; fail "grpc-load abort failed"; }
say "$(tail -1 "$work/abort.out")"
abnormal=$((abnormal + $(tail -1 "$work/abort.out" | sed -n 's/.* rounds, \([0-9]*\) abnormal endings.*/\1/p')))
# 3f. The two stalled handshakes from the start time out.
deadline=$((SECONDS + 30))
until [ "$(grep -c "TLS handshake did not finish within" "$work/storm.log")" -ge 2 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the server did not time out the two stalled TLS handshakes"
  sleep 0.2
done
exec 8>&- 9>&-

# The server still serves after all that.
tload 300 handshakes 50 4 >/dev/null 2>"$work/after.err" \
  || { cat "$work/after.err" >&2; fail "the server stopped serving after the abnormal endings"; }

# 4. SIGTERM with the 16 idle connections open; LeakSanitizer runs at exit.
stop_server storm
release_idle

# ---- run 2: a shutdown that has to force connections closed.
# A TCP connection that never starts its handshake ignores GOAWAY, so the
# controller waits out its 10 s grace period and then force-closes it; the
# 4 idle mTLS connections close on GOAWAY.
start_server forced
hold_idle 4
exec 8<>"/dev/tcp/127.0.0.1/$port"
sleep 0.5
stop_server forced
exec 8>&-
release_idle
abnormal=$((abnormal + 1))
seconds=$((SECONDS - start))

for r in "${runs[@]}"; do
  # The log_path files, and stderr in case the runtime could not open them.
  if reports "$work/asan-$r".* "$work/$r.log"; then
    echo "leak-check-asan: sanitizer report(s) from sriov-controller ($r run) above" >&2; failed=1
  fi
done
if reports "$work"/asan-client.* "$work"/*.err; then
  echo "leak-check-asan: sanitizer report(s) from grpc-load above" >&2; failed=1
fi
if [ "$failed" != 0 ]; then
  echo "leak-check-asan: FAIL: AddressSanitizer/LeakSanitizer found problems ($N + $abnormal connections, ${seconds}s)" >&2
  exit 1
fi
say "$N mTLS connections with a health check each ($PARALLEL at a time), 8 x 4 streams of calls, $abnormal abnormal endings, 16 + 5 open at shutdown, 2 controller runs: ${seconds}s; no leaks reported (the canary's leak was, so LeakSanitizer is active)"
