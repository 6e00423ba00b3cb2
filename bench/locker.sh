#!/usr/bin/env bash
# Locker benchmark (issue 2): capture throughput of `vigil capture`, side by side with
# plain tools, on data this script generates.
#
#   bash bench/locker.sh          (or ./run bench)
#
# Environment:
#   BENCH_DIR    work dir [/tmp/vigil-bench]; removed at the end unless KEEP=1
#   KEEP=1       keep the work dir (data and stores)
#   BIG_GIB      size of the large file in GiB [4] (fractions allowed, e.g. 0.5)
#   SMALL_FILES  number of small files [10000], spread over SMALL_DIRS dirs [100]
#   SEED         seed for the small files' sizes and bytes [42]
#   VIGIL_BIN    use this binary instead of building one
#
# Also timed, as references: `cp` + `sync` of the large file (a durable copy, no hashing: the
# write ceiling for any tool that keeps a copy), and `vigil verify` of both stores.
#
# Method: page cache warm for every read (no cache drop): the large file is hashed once by
# openssl to warm the cache, then openssl is timed, then vigil. vigil fsyncs what it stores
# (syncfs for batches), the small-file baseline ends with `sync`. One run of each.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/vigil-bench}"
BIG_GIB="${BIG_GIB:-4}"
SMALL_FILES="${SMALL_FILES:-10000}"
SMALL_DIRS="${SMALL_DIRS:-100}"
SEED="${SEED:-42}"
KEEP="${KEEP:-0}"
MARK=".vigil-bench"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'locker.sh: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# ---- tools ---------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  say "installing GNU time (for peak RSS)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi
for t in openssl python3 sha256sum xargs; do
  command -v "$t" >/dev/null || die "$t is required"
done

if [ -n "${VIGIL_BIN:-}" ]; then
  BIN="$VIGIL_BIN"
else
  say "building vigil (release)"
  (cd "$REPO" && cargo build --release -p vigil-cli)
  BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/vigil"
  case "$BIN" in /*) ;; *) BIN="$REPO/$BIN" ;; esac
fi
[ -x "$BIN" ] || die "no vigil binary at $BIN"

# ---- work dir ------------------------------------------------------------------------------
mkdir -p "$BENCH_DIR"
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
if [ -n "$(ls -A "$BENCH_DIR")" ] && [ ! -e "$BENCH_DIR/$MARK" ]; then
  die "$BENCH_DIR is not empty and was not made by this script; set BENCH_DIR to a new dir"
fi
find "$BENCH_DIR" -mindepth 1 -maxdepth 1 ! -name "$MARK" -exec rm -rf {} +
touch "$BENCH_DIR/$MARK"
cleanup() {
  if [ "$KEEP" = 1 ]; then
    echo "KEEP=1: work dir kept at $BENCH_DIR"
  else
    rm -rf "$BENCH_DIR"
  fi
}
trap cleanup EXIT

BIG_BYTES="$(calc %.0f "$BIG_GIB * 1073741824")"
# Small files average ~51.7 KiB; the data lives three times (source, cp copy, vigil store),
# the big file three times (source, vigil store, cp copy); plus 1 GiB of slack.
NEED=$(( 3 * BIG_BYTES + 3 * SMALL_FILES * 53000 + (1 << 30) ))
AVAIL="$(df -B1 --output=avail "$BENCH_DIR" | tail -n1 | tr -d ' ')"
[ "$AVAIL" -gt "$NEED" ] || die "need $((NEED >> 20)) MiB free in $BENCH_DIR, have $((AVAIL >> 20)) MiB"

# ---- machine -------------------------------------------------------------------------------
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
NPROC="$(nproc)"
MEM="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
FS="$(df -P -hT "$BENCH_DIR" | tail -n1)"
REV="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ]; then REV="$REV (dirty)"; fi
say "machine"
echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "cpu:      $CPU"
echo "nproc:    $NPROC"
echo "memory:   $MEM"
echo "kernel:   $(uname -sr)"
echo "sha_ni:   $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
echo "openssl:  $(openssl version)"
echo "vigil:    $("$BIN" --version) at $REV ($BIN)"
echo "work dir: $BENCH_DIR"
df -hT "$BENCH_DIR"

# ---- timing helper -------------------------------------------------------------------------
# timed NAME CMD...: runs CMD, stdout to $BENCH_DIR/NAME.out; sets WALL[NAME] (s, from
# date +%s.%N) and RSS[NAME] (peak RSS in KiB, from GNU time).
declare -A WALL RSS
timed() {
  local name="$1"; shift
  local tf="$BENCH_DIR/$name.time" t0 t1
  sync
  t0="$(date +%s.%N)"
  if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$BENCH_DIR/$name.out"; then
    cat "$BENCH_DIR/$name.out" "$tf" >&2 || true
    die "$name failed: $*"
  fi
  t1="$(date +%s.%N)"
  WALL[$name]="$(calc %.3f "$t1 - $t0")"
  RSS[$name]="$(tail -n1 "$tf" | awk '{ print $2 }')"
  printf '%-22s %9s s   peak RSS %7.1f MiB\n' "$name" "${WALL[$name]}" "$(calc %.1f "${RSS[$name]} / 1024")"
}
gbps() { calc %.2f "$1 / 1e9 / $2"; }
mib() { calc %.1f "$1 / 1024"; }
met() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo "**no**"; fi; }
blob_path() { echo "$1/blobs/sha256/${2:0:2}/${2:2:2}/$2"; }

# ---- 1. one large file ---------------------------------------------------------------------
BIG="$BENCH_DIR/big.bin"
say "generating $BIG_GIB GiB ($BIG_BYTES bytes) of pseudo-random data (AES-128-CTR keystream)"
set +o pipefail
openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 \
  </dev/zero 2>/dev/null | head -c "$BIG_BYTES" >"$BIG"
set -o pipefail
[ "$(stat -c %s "$BIG")" = "$BIG_BYTES" ] || die "big file has the wrong size"
sync

say "large file: openssl warm-up (not timed), openssl timed, vigil capture timed, vigil verify timed"
openssl dgst -sha256 -r "$BIG" >/dev/null
timed openssl_big openssl dgst -sha256 -r "$BIG"
BIG_HEX="$(awk '{ print $1 }' "$BENCH_DIR/openssl_big.out")"
STORE_BIG="$BENCH_DIR/store-big"
"$BIN" --store "$STORE_BIG" init >/dev/null
timed vigil_big "$BIN" --store "$STORE_BIG" capture --quiet "$BIG"
grep -h . "$BENCH_DIR/vigil_big.out" | sed 's/^/  vigil: /'
[ -f "$(blob_path "$STORE_BIG" "$BIG_HEX")" ] || die "vigil did not store the big file under openssl's digest $BIG_HEX"
[ "$(stat -c %s "$(blob_path "$STORE_BIG" "$BIG_HEX")")" = "$BIG_BYTES" ] || die "stored blob has the wrong size"
timed verify_big "$BIN" --store "$STORE_BIG" verify
grep -h . "$BENCH_DIR/verify_big.out" | sed 's/^/  vigil: /'
# Reference for what limits vigil here: a durable copy without any hashing.
timed cp_big bash -c 'cp "$1" "$2" && sync' _ "$BIG" "$BENCH_DIR/big-copy.bin"
rm -f "$BENCH_DIR/big-copy.bin"

# ---- 2. many small files -------------------------------------------------------------------
SRC="$BENCH_DIR/small-src"
say "generating $SMALL_FILES files of 1-100 KiB in $SMALL_DIRS dirs (seed $SEED)"
python3 - "$SRC" "$SMALL_FILES" "$SMALL_DIRS" "$SEED" <<'PY'
import os, random, sys
root, n, ndirs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
per = -(-n // ndirs)
total = 0
for i in range(n):
    d = os.path.join(root, f"d{i // per:03d}")
    if i % per == 0:
        os.makedirs(d, exist_ok=True)
    size = rng.randint(1024, 100 * 1024)
    with open(os.path.join(d, f"f{i % per:04d}.bin"), "wb") as f:
        f.write(rng.randbytes(size))
    total += size
print(total)
PY
SMALL_BYTES="$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')"
SMALL_COUNT="$(find "$SRC" -type f | wc -l)"
echo "$SMALL_COUNT files, $SMALL_BYTES bytes"
sync
find "$SRC" -type f -print0 | xargs -0 cat >/dev/null   # warm the cache

say "small files: baseline (cp -r + sync + sha256sum) timed, vigil capture timed"
DST="$BENCH_DIR/small-copy"
timed baseline_small bash -c 'cp -r "$1" "$2" && sync && find "$2" -type f -print0 | xargs -0 sha256sum >/dev/null' _ "$SRC" "$DST"
STORE_SMALL="$BENCH_DIR/store-small"
"$BIN" --store "$STORE_SMALL" init >/dev/null
timed vigil_small "$BIN" --store "$STORE_SMALL" capture --quiet "$SRC"
grep -h . "$BENCH_DIR/vigil_small.out" | sed 's/^/  vigil: /'
STORED="$(find "$STORE_SMALL/blobs/sha256" -type f | wc -l)"
[ "$STORED" = "$SMALL_COUNT" ] || die "vigil stored $STORED blobs for $SMALL_COUNT distinct files"
timed verify_small "$BIN" --store "$STORE_SMALL" verify
grep -h . "$BENCH_DIR/verify_small.out" | sed 's/^/  vigil: /'

# ---- results -------------------------------------------------------------------------------
O_GBPS="$(gbps "$BIG_BYTES" "${WALL[openssl_big]}")"
V_GBPS="$(gbps "$BIG_BYTES" "${WALL[vigil_big]}")"
BIG_RATIO="$(calc %.2f "${WALL[openssl_big]} / ${WALL[vigil_big]}")"
VER_GBPS="$(gbps "$BIG_BYTES" "${WALL[verify_big]}")"
CP_GBPS="$(gbps "$BIG_BYTES" "${WALL[cp_big]}")"
BIG_RSS="$(mib "${RSS[vigil_big]}")"
SMALL_RATIO="$(calc %.2f "${WALL[vigil_small]} / ${WALL[baseline_small]}")"
SMALL_RSS="$(mib "${RSS[vigil_small]}")"
SMALL_MB="$(calc %.0f "$SMALL_BYTES / 1e6")"

say "results (GB = 10^9 bytes, MiB = 2^20 bytes; page cache warm; one run each)"
cat <<TABLE

Machine: $CPU, $NPROC CPUs, $MEM RAM; $(echo "$FS" | awk '{ print $2 " on " $1 ", mounted at " $7 }'). vigil $REV.

| Measure | Result | Goal | Met |
|---|---|---|---|
| Large file | $BIG_GIB GiB ($BIG_BYTES bytes) | | |
| \`openssl dgst -sha256\` | ${WALL[openssl_big]} s, $O_GBPS GB/s | | |
| \`vigil capture\` large file | ${WALL[vigil_big]} s, $V_GBPS GB/s | | |
| vigil / openssl throughput | ${BIG_RATIO}× | ≥ 0.7× | $(met "$BIG_RATIO >= 0.7") |
| vigil capture peak RSS, large file | $BIG_RSS MiB | < 100 MB | $(met "${RSS[vigil_big]} * 1024 < 100e6") |
| \`vigil verify\`, large-file store (info) | ${WALL[verify_big]} s, $VER_GBPS GB/s | | |
| \`cp\` + \`sync\` of the large file (reference, no hashing) | ${WALL[cp_big]} s, $CP_GBPS GB/s | | |
| vigil / \`cp\`+\`sync\` throughput (reference) | $(calc %.2f "${WALL[cp_big]} / ${WALL[vigil_big]}")× | | |
| Small files | $SMALL_COUNT files, 1–100 KiB, $SMALL_MB MB in $SMALL_DIRS dirs | | |
| baseline \`cp -r\` + \`sync\` + \`sha256sum\` | ${WALL[baseline_small]} s | | |
| \`vigil capture\` small files | ${WALL[vigil_small]} s, $(calc %.0f "$SMALL_COUNT / ${WALL[vigil_small]}") files/s | | |
| vigil / baseline time | ${SMALL_RATIO}× | ≤ 1.5× | $(met "$SMALL_RATIO <= 1.5") |
| vigil capture peak RSS, small files | $SMALL_RSS MiB | | |
| \`vigil verify\`, small-file store (info) | ${WALL[verify_small]} s | | |
TABLE
