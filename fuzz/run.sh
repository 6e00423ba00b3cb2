#!/usr/bin/env bash
# Runs every fuzz target for a while (not part of the tests).
#
#   bash fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]     (default 120 s, every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds the corpora
# with the project's demo files and, when present, the team's reference vectors in ../shared.
set -euo pipefail
cd "$(dirname "$0")"
SECS="${1:-120}"
shift || true
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
# The phone photos (3 MB) with only their first 64 KiB (EXIF and the start of the picture):
# whole, each run of image_metadata takes seconds under the fuzzer's instrumentation.
seed image_metadata "$SHARED"/c2pa/*.jpg
for f in "$SHARED"/threatexchange/pdq/data/reg-test-input/exif-rotn/*.jpg; do
  out="corpus/image_metadata/head-$(basename "$f")"
  [ ! -f "$f" ] || [ -f "$out" ] || head -c 65536 "$f" > "$out"
done
seed post_info seeds/*.info.json
# The smallest sample clip, and 8 KB of six 0.5 s scenes turned 90° (more key pictures than the
# target keeps, a display matrix, a contact sheet of two rows).
seed container_probe seeds/*.mp4 \
  "$SHARED"/threatexchange/tmk/sample-videos/test-padded-dimensions.mp4
# content_credentials reads its first byte as the format hint (an index into HINTS in
# fuzz_targets/content_credentials.rs) and the rest as the file: seeds get their type's index.
mkdir -p corpus/content_credentials
for f in "$SHARED"/c2pa/*; do
  case "$f" in
    *.jpg) hint='\x00' ;; *.png) hint='\x01' ;; *.webp) hint='\x02' ;; *.mp4) hint='\x03' ;;
    *) continue ;;
  esac
  out="corpus/content_credentials/$(basename "$f")"
  [ -f "$out" ] || { printf "$hint"; cat "$f"; } > "$out"
done
# watch_feeds reads its first byte as the parser (0 preview, 1 embed page, 2 feed, 3 yt-dlp).
mkdir -p corpus/watch_feeds
FEEDS=../crates/vigil-feeds/tests/fixtures
for pair in 0:telegram_preview.html 1:telegram_post_present.html 1:telegram_post_deleted.html \
    2:rss.xml 2:atom.xml 3:ytdlp_single.json 3:ytdlp_lines.jsonl; do
  out="corpus/watch_feeds/${pair#*:}"
  [ -f "$out" ] || { printf "\\x0${pair%%:*}"; cat "$FEEDS/${pair#*:}"; } > "$out"
done
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(image_decode video_vpdq receipt_and_leaf hash_index
  image_metadata post_info content_credentials container_probe watch_feeds)
for target in "${TARGETS[@]}"; do
  echo "== $target for ${SECS}s"
  cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=60 -max_len=4194304 2>&1 \
    | grep -E '^(Done|==[0-9]+==|SUMMARY|INFO: (a leak|Running))|panicked|Test unit written' || true
done
echo "== findings (fuzz/artifacts):"
find artifacts -type f 2>/dev/null | grep -v '/slow-unit-' || true
