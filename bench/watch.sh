#!/usr/bin/env bash
# Watch benchmark (issue 9): SOURCES watched feeds on a local HTTP server; the time and peak
# memory of one full poll cycle of unchanged sources (every source polled, nothing new to
# capture); goal: 1,000 sources in under 30 s at default politeness, under 100 MB resident.
#
#   SOURCES=1000 bash bench/watch.sh
#
# Each feed is an RSS 2.0 document with ITEMS items (default 1) whose articles the server also
# serves; a first set of cycles captures them (not timed), then REPEAT [3] cycles with nothing
# new are timed (`vigil watch run --once --now`: every source polled whatever its schedule),
# best and worst reported. All sources are on one host, so default politeness (one request at
# a time per host) polls them one after another: the slowest arrangement. Last, the re-check
# of every captured post (`--recheck-now`, 500 a cycle) is timed once.
#
# Environment: VIGIL_BIN (default: a release build, which respects CARGO_TARGET_DIR).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SOURCES="${SOURCES:-1000}"
ITEMS="${ITEMS:-1}"
REPEAT="${REPEAT:-3}"
if [ -z "${VIGIL_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --locked -q -p vigil-cli)
  VIGIL_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/vigil"
fi
WORK="$(mktemp -d)"
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/site/feed" "$WORK/site/article"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$WORK/site" "$SOURCES" "$ITEMS" "$port" <<'EOF'
import sys, pathlib
root, sources, items, port = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for s in range(sources):
    entries = "".join(
        f"<item><title>Post {s}-{i}</title><link>http://127.0.0.1:{port}/article/{s}-{i}.html</link>"
        f"<guid>post-{s}-{i}</guid><description>Report {s}-{i}</description>"
        f"<pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate></item>"
        for i in range(items))
    (root / "feed" / f"{s}.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Source {s}</title><link>http://example.org/{s}</link>{entries}</channel></rss>")
    for i in range(items):
        (root / "article" / f"{s}-{i}.html").write_text(f"<!doctype html><p>post {s}-{i}</p>")
EOF
(cd "$WORK/site" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server_pid=$!
sleep 1

store="$WORK/store"
"$VIGIL_BIN" --store "$store" init >/dev/null
echo "== adding $SOURCES sources"
for s in $(seq 0 $((SOURCES - 1))); do
  "$VIGIL_BIN" --store "$store" watch add "http://127.0.0.1:$port/feed/$s.xml" --kind feed >/dev/null
done
cycle() {
  VIGIL_NO_BROWSER=1 "$VIGIL_BIN" --store "$store" --json watch run --once --now --no-media --allow-private
}
echo "== capturing what they hold (not timed)"
for _ in $(seq 1 $(( SOURCES * ITEMS / 200 + 2 ))); do
  line=$(cycle | tail -1)
  python3 -c 'import json,sys; s=json.loads(sys.argv[1])["summary"]; sys.exit(0 if s["new_posts"] == 0 and s["captured"] == 0 else 1)' "$line" && break
done
echo "== timing $REPEAT cycles of unchanged sources"
results=()
for _ in $(seq 1 "$REPEAT"); do
  /usr/bin/time -f '%e %M' -o "$WORK/time" bash -c "VIGIL_NO_BROWSER=1 '$VIGIL_BIN' --store '$store' --json watch run --once --now --no-media --allow-private > '$WORK/cycle.json'"
  read -r secs kb < "$WORK/time"
  summary=$(tail -1 "$WORK/cycle.json")
  echo "cycle: ${secs} s, peak RSS $((kb / 1024)) MiB: $summary"
  results+=("$secs $kb")
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
secs = sorted(r[0] for r in rows); mem = max(r[1] for r in rows) / 1024
print(f"sources: '"$SOURCES"'; cycle time best {secs[0]:.2f} s, worst {secs[-1]:.2f} s; peak RSS {mem:.0f} MiB")'
echo "== timing the re-check of every captured post"
/usr/bin/time -f '%e %M' -o "$WORK/time" bash -c "for _ in \$(seq 1 $(( (SOURCES * ITEMS + 499) / 500 ))); do VIGIL_NO_BROWSER=1 '$VIGIL_BIN' --store '$store' --json watch run --once --recheck-now --no-media --allow-private | tail -1; done > '$WORK/recheck.json'"
read -r secs kb < "$WORK/time"
python3 - "$WORK/recheck.json" "$secs" "$kb" <<'EOF'
import json, sys
rows = [json.loads(l)["summary"] for l in open(sys.argv[1]) if l.strip()]
checked = sum(r["rechecked"] for r in rows)
print(f"re-check: {checked} posts in {float(sys.argv[2]):.2f} s ({len(rows)} cycles), "
      f"peak RSS {int(sys.argv[3]) // 1024} MiB; deleted {sum(r['gone'] for r in rows)}, "
      f"changed {sum(r['changed'] for r in rows)}")
EOF
