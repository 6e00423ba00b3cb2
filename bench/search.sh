#!/usr/bin/env bash
# Full-text search benchmark (issue 7: p95 < 50 ms with 1M indexed records): builds an index of
# $N synthetic records (mixed Armenian, Russian, English and Azerbaijani text, 30–200 words a
# body, tags, statuses, platforms, sensitivity labels, dates, 50 collections), then runs
# $QUERIES mixed queries one at a time on one thread (single words, two words, prefixes,
# phrases, filters, a viewer's collections): build time, index size on disk, latency p50/p95/p99
# and queries/s, overall and per kind of query.
#
#   bash bench/search.sh                (N=1000000 QUERIES=1000 MERGE=1)
#
# Environment: N [1000000], QUERIES [1000], THREADS [2] indexing threads, WRITER_MB [512],
# MERGE [1] also merge into one segment and query again, SEED [7], INDEX_DIR [a temp dir,
# removed afterwards; about 1.2 KB a record] (kept when given; REUSE=1 then searches the index
# already there instead of rebuilding it).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
export N="${N:-1000000}" QUERIES="${QUERIES:-1000}" MERGE="${MERGE:-1}"
(cd "$REPO" && cargo bench --locked -q -p vigil-search --bench search)
