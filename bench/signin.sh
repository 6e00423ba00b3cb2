#!/usr/bin/env bash
# Sign-in flood (issue 16): ATTEMPTS concurrent sign-in attempts against a real `vigil serve` on
# loopback (first each a different name from one of 50 loopback addresses, then all on one
# name) while USERS signed-in users browse; reports the answers, the server's resident memory
# (idle, peak, SETTLE seconds after) and the latency of other pages before and during.
#
#   bash bench/signin.sh            ATTEMPTS [1000]  USERS [10]  SETTLE [10]
#
# Builds the release binary unless VIGIL_BIN is given; the store lives under BENCH_DIR
# [/var/tmp]. Loopback only; every request times out after 60 s.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
if [ -z "${VIGIL_BIN:-}" ]; then
  cargo build --release --locked -q -p vigil-cli
  VIGIL_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/vigil"
fi
export VIGIL_BIN
# Two thousand connections at once (the flood's and the server's ends).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cargo bench --locked -q -p vigil-web --bench signin
