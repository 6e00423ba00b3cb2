#!/usr/bin/env bash
# Workspace load benchmark (issue 7): USERS browsing users and UPLOADS concurrent uploads of
# UPLOAD_MB MiB each against a real `vigil serve` on loopback, for SECS seconds; reports
# requests/s, latency percentiles, errors, whether every upload arrived whole (SHA-256 checked)
# and the server's peak memory.
#
#   bash bench/serve.sh            USERS [50]  UPLOADS [10]  UPLOAD_MB [200]  SECS [20]
#
# Builds the release binary unless VIGIL_BIN is given; the store lives under BENCH_DIR
# [/var/tmp] (UPLOADS × UPLOAD_MB of disk).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
if [ -z "${VIGIL_BIN:-}" ]; then
  cargo build --release --locked -q -p vigil-cli
  VIGIL_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/vigil"
fi
export VIGIL_BIN
cargo bench --locked -q -p vigil-web --bench load
