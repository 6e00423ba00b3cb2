#!/usr/bin/env bash
# Metadata extraction benchmark (issue 6): `vigil inspect --json` against `exiftool -j` on the
# same 1,000 files in one run, one process each for all the files, as a user would run them;
# goal vigil ≥ 10× faster.
#
#   bash bench/metadata.sh          N [1000]  REPEAT [3]  BREAKDOWN [1]
#
# The files are copies, under distinct names, of the team's reference vectors in
# $SHARED/vectors [../shared next to the repository]: by default 80 % images (half of them the
# EXIF-rich camera photos of threatexchange/pdq/data/reg-test-input/exif-rotn, half the other
# JPEG/PNG files of threatexchange/pdq/data, most without EXIF as platforms serve them), 15 %
# MP4 clips (threatexchange/tmk/sample-videos) and 5 % files with Content Credentials
# (c2pa/*: JPEG, PNG, WebP, MP4). Copies of one source have the same bytes; neither tool
# caches anything between files, so that costs neither of them anything.
#
# Both tools first run once with their output kept, to check that each gives one record per
# file (and to warm the page cache); then each timing is the best of REPEAT runs with the
# output sent to /dev/null, the two tools taking turns. Wall time is what the ratio uses; the
# CPU time (user + system) of the best run is shown beside it because it moves less when the
# machine is busy. BREAKDOWN=1 times each kind of file on its own as well (one process per
# kind), so one can see where the time goes.
#
# Environment: SHARED (see above); VIGIL_BIN (default: a release build, which respects
# CARGO_TARGET_DIR); EXIFTOOL [exiftool] (Debian: libimage-exiftool-perl).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
VECTORS="$SHARED/vectors"
N="${N:-1000}"
REPEAT="${REPEAT:-3}"
BREAKDOWN="${BREAKDOWN:-1}"
EXIFTOOL="${EXIFTOOL:-exiftool}"
command -v "$EXIFTOOL" >/dev/null || { echo "no $EXIFTOOL (apt-get install libimage-exiftool-perl)" >&2; exit 1; }
[ -d "$VECTORS" ] || { echo "no reference vectors at $VECTORS (set SHARED)" >&2; exit 1; }
if [ -z "${VIGIL_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --locked -q -p vigil-cli)
  VIGIL_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/vigil"
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# ---- the files
mapfile -t exif_src < <(find "$VECTORS/threatexchange/pdq/data/reg-test-input/exif-rotn" -type f -iname '*.jpg' | sort)
mapfile -t img_src < <(find "$VECTORS/threatexchange/pdq/data" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) \
  -not -path '*/exif-rotn/*' | sort)
mapfile -t vid_src < <(find "$VECTORS/threatexchange/tmk/sample-videos" -type f -iname '*.mp4' | sort)
mapfile -t c2pa_src < <(find "$VECTORS/c2pa" -type f \( -iname '*.jpg' -o -iname '*.png' -o -iname '*.webp' -o -iname '*.mp4' \) | sort)
n_vid=$((N * 15 / 100)); n_c2pa=$((N * 5 / 100)); n_img=$((N - n_vid - n_c2pa))
n_exif=$((n_img / 2)); n_other=$((n_img - n_exif))
mkdir -p "$WORK/files"
i=0
# take KIND COUNT SOURCES...: COUNT copies, round robin over SOURCES, named NNNN-KIND-SOURCE.
take() {
  local kind=$1 count=$2; shift 2
  local srcs=("$@") k src
  [ "${#srcs[@]}" -gt 0 ] || { echo "no source files for $kind under $VECTORS" >&2; exit 1; }
  for ((k = 0; k < count; k++)); do
    src=${srcs[k % ${#srcs[@]}]}
    i=$((i + 1))
    cp "$src" "$WORK/files/$(printf '%04d' "$i")-$kind-$(basename "$src")"
    echo "$(printf '%04d' "$i")-$kind-$(basename "$src")" >> "$WORK/$kind.list"
  done
}
take exif "$n_exif" "${exif_src[@]}"
take image "$n_other" "${img_src[@]}"
take video "$n_vid" "${vid_src[@]}"
take c2pa "$n_c2pa" "${c2pa_src[@]}"
cd "$WORK/files"
mapfile -t all < <(ls)
mb() { du -cb "$@" | tail -1 | awk '{printf "%.0f MB", $1 / 1e6}'; }
echo "== $N files ($(mb "${all[@]}")), copies with the same bytes per source, under $WORK/files:"
echo "  $n_exif images with camera EXIF (${#exif_src[@]} sources: exif-rotn-*.jpg), $(mb $(cat "$WORK/exif.list"))"
echo "  $n_other other images (${#img_src[@]} JPEG/PNG sources under threatexchange/pdq/data), $(mb $(cat "$WORK/image.list"))"
echo "  $n_vid MP4 videos (${#vid_src[@]} sources: threatexchange/tmk/sample-videos), $(mb $(cat "$WORK/video.list"))"
echo "  $n_c2pa files with or about Content Credentials (${#c2pa_src[@]} sources: c2pa/*), $(mb $(cat "$WORK/c2pa.list"))"
echo "  vigil: $VIGIL_BIN ($("$VIGIL_BIN" --version)); exiftool $("$EXIFTOOL" -ver); load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

# ---- one record per file?
run_exiftool() { "$EXIFTOOL" -j -q "$@"; }
run_vigil() { "$VIGIL_BIN" inspect --json "$@"; }
set +e
run_exiftool "${all[@]}" > "$WORK/exiftool.json" 2> "$WORK/exiftool.err"; rc_e=$?
run_vigil "${all[@]}" > "$WORK/vigil.jsonl" 2> "$WORK/vigil.err"; rc_v=$?
set -e
python3 - "$WORK/exiftool.json" "$WORK/vigil.jsonl" "$rc_e" "$rc_v" "$WORK/vigil.err" "$WORK/exiftool.err" "${all[@]}" <<'PY'
import json, sys
ex_path, vi_path, rc_e, rc_v, vi_err, ex_err, *files = sys.argv[1:]
ex = json.load(open(ex_path))
vi = [json.loads(l) for l in open(vi_path) if l.strip()]
ex_files = [r.get("SourceFile") for r in ex]
vi_files = [r.get("file") for r in vi]
ex_bad = [(r["SourceFile"], r["Error"]) for r in ex if "Error" in r]
vi_bad = [(r["file"], r.get("error")) for r in vi if "error" in r and "size" not in r]
vi_part = [(r["file"], r["errors"]) for r in vi if r.get("errors")]
print(f"exiftool: exit {rc_e}, {len(ex)} records, {'one per file, in order' if ex_files == files else 'NOT one per file'}, "
      f"{len(ex_bad)} with an Error")
print(f"vigil:    exit {rc_v}, {len(vi)} records, {'one per file, in order' if vi_files == files else 'NOT one per file'}, "
      f"{len(vi_bad)} failed, {len(vi_part)} with a part unread")
for f, e in ex_bad[:10]: print(f"  exiftool error: {f}: {e}")
for f, e in vi_bad[:10]: print(f"  vigil failure: {f}: {e}")
seen = set()
for f, e in vi_part:
    key = (f.split("-", 2)[-1], json.dumps(e))
    if key not in seen:
        seen.add(key); print(f"  vigil part unread: {f} (and its other copies): {e}")
for p, who in ((vi_err, "vigil"), (ex_err, "exiftool")):
    err = open(p).read().strip()
    if err: print(f"  {who} stderr: {err[:2000]}")
kb = lambda p: sum(len(l) for l in open(p)) / 1e3
print(f"output: exiftool {kb(ex_path):,.0f} kB, vigil {kb(vi_path):,.0f} kB")
if ex_files != files or vi_files != files: sys.exit(1)
PY

# ---- timings: best of REPEAT wall times, the two tools taking turns
# timed exiftool|vigil FILES...: "wall cpu" of one run, output to /dev/null.
timed() {
  local tool=$1; shift
  local cmd=("$EXIFTOOL" -j -q)
  [ "$tool" = vigil ] && cmd=("$VIGIL_BIN" inspect --json)
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$WORK/time" "${cmd[@]}" "$@" > /dev/null 2>&1 || true
  t1=$(date +%s%N)
  tail -1 "$WORK/time" | awk -v ns=$((t1 - t0)) '{printf "%.3f %.2f\n", ns / 1e9, $1 + $2}'
}
# best LABEL FILES...: a table row.
best() {
  local label=$1; shift
  local be="" bv="" ce="" cv="" w c r
  for ((r = 0; r < REPEAT; r++)); do
    read -r w c < <(timed exiftool "$@")
    if [ -z "$be" ] || awk "BEGIN{exit !($w < $be)}"; then be=$w; ce=$c; fi
    read -r w c < <(timed vigil "$@")
    if [ -z "$bv" ] || awk "BEGIN{exit !($w < $bv)}"; then bv=$w; cv=$c; fi
  done
  awk -v l="$label" -v n="$#" -v be="$be" -v bv="$bv" -v ce="$ce" -v cv="$cv" 'BEGIN{
    printf "| %s | %d | %.3f (cpu %.2f) | %.3f (cpu %.2f) | **%.1f×** | %.0f | %.0f |\n", l, n, be, ce, bv, cv, be / bv, n / be, n / bv }'
  RATIO=$(awk -v be="$be" -v bv="$bv" 'BEGIN{printf "%.1f", be / bv}')
}
echo
echo "== best of $REPEAT, output to /dev/null (wall seconds; cpu = user + system of that run)"
echo "| files | count | exiftool -j s | vigil inspect --json s | exiftool / vigil | exiftool files/s | vigil files/s |"
echo "|---|---|---|---|---|---|---|"
best "all" "${all[@]}"
total_ratio=$RATIO
if [ "$BREAKDOWN" = 1 ]; then
  best "images with EXIF" $(cat "$WORK/exif.list")
  best "other images" $(cat "$WORK/image.list")
  best "videos" $(cat "$WORK/video.list")
  best "Content Credentials" $(cat "$WORK/c2pa.list")
  best "one image (start-up)" "$(head -1 "$WORK/image.list")"
fi
echo
echo "goal vigil ≥ 10× faster than exiftool on all $N files: $(awk -v r="$total_ratio" 'BEGIN{print (r >= 10 ? "met" : "not met")}') (${total_ratio}×); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
