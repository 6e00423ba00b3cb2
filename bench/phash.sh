#!/usr/bin/env bash
# Perceptual hashing benchmark (issue 4): Vigil's PDQ side by side with PyPI `pdqhash` (a
# wrapper of Meta's C++ reference) on the same generated 1024×1024 RGB image, one thread.
#
#   bash bench/phash.sh        (or ./run bench)
#
# Installs numpy and pdqhash into a virtual environment at $VENV [/tmp/vigil-bench-venv]; pdqhash
# builds its C++ from source there.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-/tmp/vigil-bench-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || {
    apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
fi
"$VENV/bin/python" -c 'import numpy, pdqhash' 2>/dev/null || "$VENV/bin/pip" install -q numpy pdqhash
echo "== vigil-phash (cargo bench -p vigil-phash)"
(cd "$REPO" && cargo bench --locked -p vigil-phash 2>/dev/null | grep -v '^test \|^running\|^$\|test result')
echo
echo "== PyPI pdqhash $("$VENV/bin/pip" show pdqhash 2>/dev/null | sed -n 's/^Version: //p')"
(cd "$REPO" && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$VENV/bin/python" crates/vigil-phash/benches/pdqhash_peer.py)
