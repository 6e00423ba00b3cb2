#!/usr/bin/env bash
# Near-duplicate index benchmark (issue 5): Vigil's HashIndex beside faiss-cpu's
# IndexBinaryFlat and IndexBinaryMultiHash(256, 16, 16) with nflip = 1, on the same hashes and
# 10,000 queries at radius 31, the same number of threads, in one run; result sets compared.
#
#   bash bench/index.sh                 (SIZES="1000000 10000000" KINDS="uniform clustered")
#
# Environment: SIZES, KINDS, THREADS [all cores], FLAT_MAX [10000000] largest size given to the
# brute-force IndexBinaryFlat, VENV [/tmp/vigil-bench-venv], WORK [a temp dir].
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-/tmp/vigil-bench-venv}"
SIZES="${SIZES:-1000000 10000000}"
KINDS="${KINDS:-uniform clustered}"
THREADS="${THREADS:-$(nproc)}"
FLAT_MAX="${FLAT_MAX:-10000000}"
WORK="${WORK:-$(mktemp -d)}"
trap 'rm -rf "$WORK"' EXIT
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import numpy, faiss' 2>/dev/null || "$VENV/bin/pip" install -q numpy faiss-cpu
(cd "$REPO" && cargo build --release --locked -q -p vigil-store --bench index)
echo "faiss-cpu $("$VENV/bin/pip" show faiss-cpu 2>/dev/null | sed -n 's/^Version: //p'), $THREADS threads, $(nproc) cores"
for size in $SIZES; do
  for kind in $KINDS; do
    dir="$WORK/$kind-$size"
    "$VENV/bin/python" "$REPO/bench/index_data.py" "$dir" "$size" "$kind"
    (cd "$REPO" && cargo bench --locked -q -p vigil-store --bench index -- "$dir" "$THREADS" 2>/dev/null | grep HashIndex)
    "$VENV/bin/python" "$REPO/bench/index_peer.py" "$dir" "$THREADS" mih
    cmp -s "$dir/vigil.txt" "$dir/faiss-mih.txt" && echo "  results: identical to MultiHash" || echo "  results: DIFFER from MultiHash"
    if [ "$size" -le "$FLAT_MAX" ]; then
      "$VENV/bin/python" "$REPO/bench/index_peer.py" "$dir" "$THREADS" flat
      cmp -s "$dir/vigil.txt" "$dir/faiss-flat.txt" && echo "  results: identical to Flat" || echo "  results: DIFFER from Flat"
    fi
    rm -rf "$dir"
  done
done
