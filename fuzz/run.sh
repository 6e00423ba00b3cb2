#!/usr/bin/env bash
# Runs every fuzz target for a while (not part of the tests).
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET]     (default 120)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds the corpora
# with the project's demo files and, when present, the team's reference vectors in ../shared.
set -euo pipefail
cd "$(dirname "$0")"
SECS="${1:-120}"
SHARED="../../shared/vectors"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
seed() {
  local target="$1"; shift
  mkdir -p "corpus/$target"
  for f in "$@"; do [ -f "$f" ] && cp -n "$f" "corpus/$target/" 2>/dev/null || true; done
}
seed image_decode ../demo/sample/photos/*.png ../demo/site/post.png \
  "$SHARED"/threatexchange/pdq/data/misc-images/* "$SHARED"/c2pa/sample1.webp "$SHARED"/c2pa/no_manifest.jpg
seed video_vpdq "$SHARED"/threatexchange/tmk/sample-videos/pattern-sd-grey-bar.mp4
seed receipt_and_leaf "$SHARED"/tlog/c2sp-specs/tlog-proof.md
for target in image_decode video_vpdq receipt_and_leaf hash_index; do
  echo "== $target for ${SECS}s"
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=60 -max_len=4194304 2>&1 \
    | grep -E '^(Done|==[0-9]+==|SUMMARY|INFO: (a leak|Running))|panicked|Test unit written' || true
done
echo "== findings (fuzz/artifacts):"
find artifacts -type f 2>/dev/null | grep -v '/slow-unit-' || true
