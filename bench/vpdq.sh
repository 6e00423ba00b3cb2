#!/usr/bin/env bash
# vPDQ benchmark (issue 4): `vigil hash` side by side with PyPI `vpdq` (Meta's C++ vPDQ, built
# against the same FFmpeg) on the same files at the same sampling, checking the outputs agree.
#
#   bash bench/vpdq.sh            (or ./run bench)
#
# Each timing is the best of REPEAT [3] runs for the short sample clips (start-up and page
# cache dominate their single runs), of one run for the generated clip.
#
# Environment: SAMPLINGS ["1 0"] seconds per hash to time (0: every frame); CLIP_SECS [300]
# length of the generated 1080p H.264 clip (0: no clip); VENV
# [/tmp/vigil-bench-venv]; VIGIL_BIN (default: a release build); SAMPLES (default: the team's
# sample clips in ../shared when present, else those carried in vectors/).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-/tmp/vigil-bench-venv}"
CLIP_SECS="${CLIP_SECS:-300}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# PyPI vpdq builds against FFmpeg's libraries, libavdevice and libavfilter included, and needs
# a compiler and the venv module: install what a fresh machine lacks (Debian/Ubuntu).
need=()
pkg-config --exists libavdevice libavfilter libavformat libavcodec libswscale 2>/dev/null \
  || need+=(libavdevice-dev libavfilter-dev libavformat-dev libavcodec-dev libswscale-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v c++ >/dev/null || need+=(build-essential)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import vpdq' 2>/dev/null || "$VENV/bin/pip" install -q vpdq
if [ -z "${VIGIL_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --locked -q -p vigil-cli)
  VIGIL_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/vigil"
fi
files=()
if [ "$CLIP_SECS" != 0 ]; then
  clip="$WORK/clip-1080p.mp4"
  ffmpeg -loglevel error -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$CLIP_SECS" \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p "$clip"
  files+=("$clip")
fi
samples="$REPO/vectors/threatexchange/tmk/sample-videos"
[ -d "$REPO/../shared/vectors" ] && samples="$REPO/../shared/vectors/threatexchange/tmk/sample-videos"
for f in "${SAMPLES:-$samples}"/{chair-19-sd-bar,pattern-hd-no-bar}.mp4; do
  [ -f "$f" ] && files+=("$f")
done
printf '| file | frames | sampling | vigil skipped | vigil s | vigil frames/s | vpdq (1 thread) s | vpdq (auto threads) s | vigil / vpdq-1 | hashes equal |\n|---|---|---|---|---|---|---|---|---|---|\n'
for f in "${files[@]}"; do
  for sph in ${SAMPLINGS:-1 0}; do
    flag=""; [ "$sph" = 0 ] && flag="--every-frame"
    repeat="${REPEAT:-3}"; [ "$f" = "${clip:-}" ] && repeat=1
    best=""
    for _ in $(seq "$repeat"); do
      t0=$(date +%s.%N); "$VIGIL_BIN" --json hash $flag "$f" > "$WORK/v.json"; t1=$(date +%s.%N)
      best=$(python3 -c "print(min(x for x in [$t1 - $t0, ${best:-1e9}]))")
    done
    t0=0; t1=$best
    read -r frame_count skipped < <(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(d["frame_count"], d["frames_skipped"])' "$WORK/v.json")
    out=$("$VENV/bin/python" - "$f" "$sph" "$WORK/v.json" "$repeat" <<'PY'
import json, sys, time, vpdq
path, sph, ours = sys.argv[1], float(sys.argv[2]), json.load(open(sys.argv[3]))
def run(threads):
    best = None
    for _ in range(int(sys.argv[4])):
        t = time.perf_counter(); feats = vpdq.computeHash(path, seconds_per_hash=sph, thread_count=threads)
        t = time.perf_counter() - t
        best = t if best is None or t < best else best
    return best, feats
t1, feats = run(1)
ta, _ = run(0)
theirs = [(f.frame_number, f.quality, f.hex) for f in feats]
mine = [tuple(l.split(",")[:3]) for l in ours["frames"]]
mine = [(int(a), int(b), c) for a, b, c in mine]
def dist(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")
same_frames = [m[0] for m in mine] == [t[0] for t in theirs]
maxd = max((dist(m[2], t[2]) for m, t in zip(mine, theirs)), default=0)
print(f"{t1:.2f} {ta:.2f} {len(theirs)} {'yes' if same_frames else 'NO'} {maxd}")
PY
)
    read -r t_one t_auto n_theirs same maxd <<<"$out"
    ours=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
    fps=$(python3 -c "print(f'{$frame_count / ($t1 - $t0):.0f}')")
    ratio=$(python3 -c "print(f'{$t_one / ($t1 - $t0):.2f}')")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s× | frames %s, max distance %s |\n' \
      "$(basename "$f")" "$frame_count" "$([ "$sph" = 0 ] && echo every frame || echo 1/s)" \
      "$skipped" "$ours" "$fps" "$t_one" "$t_auto" "$ratio" "$same" "$maxd"
  done
done
