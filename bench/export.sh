#!/usr/bin/env bash
# Export and verification benchmark (issue 8): `vigil export` (copy + hash into a BagIt
# package) and `vigil-verify` (hash every file, check every receipt) of a SIZE_GB incident,
# side by side with `openssl dgst -sha256` over the same files in the same run; goals ≥ 0.6×
# openssl's throughput for export and ≥ 0.8× for verification.
#
#   SIZE_GB=10 FILES=10 bash bench/export.sh
#
# The items are FILES files of random bytes (video-sized: 1 GB each by default), captured with
# `vigil capture --no-enrich` (enrichment is not what is measured); the source files are then
# deleted so that the run needs about 2 × SIZE_GB of disk (the store and the package), under
# WORK_ROOT [/var/tmp]. Every timing is the best of two runs, so each program reads files
# the page cache holds (the first openssl run warms it; exported items are written around the
# cache, so the first reads of the package warm it for both verifiers, taking turns): the
# ratios compare the programs, not the disk. The export's time includes making every file
# durable (fsync), which openssl does not have to do; the figure is reported as it is.
#
# Environment: VIGIL_BIN, VIGIL_VERIFY_BIN (default: release builds, which respect
# CARGO_TARGET_DIR); OPENSSL [openssl].
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SIZE_GB="${SIZE_GB:-10}"
FILES="${FILES:-10}"
OPENSSL="${OPENSSL:-openssl}"
WORK_ROOT="${WORK_ROOT:-/var/tmp}"
if [ -z "${VIGIL_BIN:-}" ] || [ -z "${VIGIL_VERIFY_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --locked -q -p vigil-cli -p vigil-verify)
  VIGIL_BIN="${VIGIL_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/vigil}"
  VIGIL_VERIFY_BIN="${VIGIL_VERIFY_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/vigil-verify}"
fi
WORK="$(mktemp -d "$WORK_ROOT/vigil-export-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
need=$(( SIZE_GB * 2 * 1024 * 1024 + 1024 * 1024 ))
free=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
[ "$free" -gt "$need" ] || { echo "needs $((need / 1024 / 1024)) GiB free under $WORK_ROOT" >&2; exit 1; }

store="$WORK/store"
"$VIGIL_BIN" --store "$store" init >/dev/null
mkdir -p "$WORK/src"
mb_each=$(( SIZE_GB * 1024 / FILES ))
echo "== making $FILES files of $mb_each MiB of random bytes"
for i in $(seq 1 "$FILES"); do
  # AES-CTR keystream: random-looking bytes much faster than /dev/urandom (openssl is stopped
  # by SIGPIPE when head has enough, which is not a failure).
  (set +o pipefail
   "$OPENSSL" enc -aes-128-ctr -nosalt -pass "pass:vigil-bench-$i" -in /dev/zero 2>/dev/null \
     | head -c $(( mb_each * 1024 * 1024 )) > "$WORK/src/item-$i.bin")
done
items=$("$VIGIL_BIN" --store "$store" --json capture --no-enrich "$WORK/src" \
  | python3 -c 'import json,sys; print(" ".join("--item " + l["items"][0]["sha256"] for l in map(json.loads, sys.stdin) if l.get("event") == "committed"))')
rm -rf "$WORK/src"
# Let the capture's writes reach the disk first: each step starts from a settled machine.
sync; sleep 5
bytes=$(( mb_each * 1024 * 1024 * FILES ))
blobs=$(find "$store/blobs" -type f -size +1M | sort)

seconds() { python3 -c 'import sys; print(f"{float(sys.argv[1]):.2f}")' "$1"; }
timed() { # prints the wall seconds of "$@"
  local t0 t1
  t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
  python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1"
}
rate() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / float(sys.argv[2]) / 1e9:.2f}")' "$bytes" "$1"; }

best() { # the smaller of two wall times
  python3 -c 'import sys; print(min(float(a) for a in sys.argv[1:]))' "$@"
}
echo "== openssl dgst -sha256 over the stored items (twice: the first warms the cache)"
# shellcheck disable=SC2086
t_openssl_store=$(best "$(timed "$OPENSSL" dgst -sha256 $blobs)" "$(timed "$OPENSSL" dgst -sha256 $blobs)")
echo "== vigil export (twice)"
# shellcheck disable=SC2086
t1=$(timed "$VIGIL_BIN" --store "$store" export --out "$WORK/package" $items)
rm -rf "$WORK/package"; sync; sleep 5
# shellcheck disable=SC2086
t2=$(timed "$VIGIL_BIN" --store "$store" export --out "$WORK/package" $items)
t_export=$(best "$t1" "$t2")
payload=$(find "$WORK/package/data/items" -type f | sort)
echo "== openssl dgst -sha256 over the exported items, and vigil-verify (each twice, in turns)"
# shellcheck disable=SC2086
o1=$(timed "$OPENSSL" dgst -sha256 $payload)
v1=$(timed "$VIGIL_VERIFY_BIN" "$WORK/package")
# shellcheck disable=SC2086
o2=$(timed "$OPENSSL" dgst -sha256 $payload)
v2=$(timed "$VIGIL_VERIFY_BIN" "$WORK/package")
t_openssl_pkg=$(best "$o1" "$o2")
t_verify=$(best "$v1" "$v2")
echo
echo "size: $(( bytes / 1024 / 1024 )) MiB in $FILES files"
printf '%-40s %8s s %6s GB/s\n' "openssl dgst -sha256 (stored items)" "$(seconds "$t_openssl_store")" "$(rate "$t_openssl_store")"
printf '%-40s %8s s %6s GB/s  %s× openssl\n' "vigil export (copy + hash + fsync)" "$(seconds "$t_export")" "$(rate "$t_export")" \
  "$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$t_openssl_store" "$t_export")"
printf '%-40s %8s s %6s GB/s\n' "openssl dgst -sha256 (package items)" "$(seconds "$t_openssl_pkg")" "$(rate "$t_openssl_pkg")"
printf '%-40s %8s s %6s GB/s  %s× openssl\n' "vigil-verify (whole package)" "$(seconds "$t_verify")" "$(rate "$t_verify")" \
  "$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.2f}")' "$t_openssl_pkg" "$t_verify")"
