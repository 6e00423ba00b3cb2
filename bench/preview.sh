#!/usr/bin/env bash
# Preview benchmark (issue 6): thumbnail, keyframes and contact sheet of a generated 5-minute
# 1080p H.264 clip (scene changes every 10 s), goal faster than 20× real time.
#
#   bash bench/preview.sh           CLIP_SECS [300]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CLIP_SECS="${CLIP_SECS:-300}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
clip="$WORK/clip-1080p.mp4"
# testsrc2 with a hue that jumps every 10 s, so there are scenes to find.
ffmpeg -loglevel error -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$CLIP_SECS" \
  -vf "hue=h='360*floor(t/10)/7'" -c:v libx264 -preset veryfast -pix_fmt yuv420p "$clip"
(cd "$REPO" && cargo bench --locked -q -p vigil-media --bench preview -- "$clip" 2>/dev/null)
