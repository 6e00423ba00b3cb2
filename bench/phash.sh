#!/usr/bin/env bash
# Perceptual hashing benchmark (issue 4), one thread, side by side with PyPI `pdqhash` (a
# wrapper of Meta's C++ reference):
#  1. PDQ alone on the same generated 1024×1024 RGB image;
#  2. end to end from JPEG files (read, decode, PDQ) against Pillow + pdqhash on the same files:
#     $IMAGES [the team's reference photos in ../shared; else 40 generated 1600×1000 JPEGs].
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
"$VENV/bin/python" -c 'import numpy, pdqhash, PIL' 2>/dev/null || "$VENV/bin/pip" install -q numpy pdqhash pillow
echo "== vigil-phash (cargo bench -p vigil-phash)"
(cd "$REPO" && cargo bench --locked -p vigil-phash 2>/dev/null | grep -v '^test \|^running\|^$\|test result')
echo
echo "== PyPI pdqhash $("$VENV/bin/pip" show pdqhash 2>/dev/null | sed -n 's/^Version: //p')"
(cd "$REPO" && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$VENV/bin/python" crates/vigil-phash/benches/pdqhash_peer.py)

IMAGES="${IMAGES:-$REPO/../shared/vectors/threatexchange/pdq/data}"
[ -d "$IMAGES" ] || IMAGES="$REPO/vectors/threatexchange/pdq/data"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [ ! -d "$IMAGES" ]; then
  IMAGES="$WORK/images"
  mkdir -p "$IMAGES"
  "$VENV/bin/python" - "$IMAGES" <<'PY'
import sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(7)
y, x = np.mgrid[0:1000, 0:1600]
for i in range(40):
    base = (np.sin(x / (17 + i)) * 60 + np.cos(y / (23 + i)) * 60 + 128)[..., None]
    noise = rng.normal(0, 12, (1000, 1600, 3))
    rgb = np.clip(base + noise + [i * 3, 40, 200 - i * 4], 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(f"{sys.argv[1]}/gen-{i:02}.jpg", quality=88)
PY
fi
echo
echo "== end to end from JPEG files under $IMAGES"
(cd "$REPO" && VIGIL_BENCH_IMAGES="$IMAGES" VIGIL_BENCH_HASHES="$WORK/vigil.csv" \
  cargo bench --locked -q -p vigil-media --bench jpeg_files 2>/dev/null | grep files/s)
(cd "$REPO" && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
  "$VENV/bin/python" crates/vigil-media/benches/jpeg_files_peer.py "$IMAGES" "$WORK/peer.csv")
python3 - "$WORK/vigil.csv" "$WORK/peer.csv" <<'PY'
import sys
ours, theirs = ({l.split(",")[0]: l.split(",")[1:] for l in open(p)} for p in sys.argv[1:])
dist = {k: bin(int(v[0], 16) ^ int(theirs[k][0], 16)).count("1") for k, v in ours.items()}
print(f"same files: {sorted(ours) == sorted(theirs)}; hash distance max {max(dist.values())}, "
      f"{sum(d == 0 for d in dist.values())} of {len(dist)} identical")
PY
