#!/usr/bin/env python3
"""The peer side of bench/index.sh: faiss-cpu on the same hashes and queries as
`cargo bench -p vigil-store --bench index`, same thread count, radius 31 (faiss's range search
keeps distances strictly below its radius, so it is given 32).

  python index_peer.py DIR THREADS {flat,mih}

DIR holds hashes.bin and queries.bin (32 bytes a hash); writes DIR/faiss-{flat,mih}.txt with
one line per query (sorted ids) and prints build time, search time, queries/s and memory.
"""
import os
import sys
import time

import faiss
import numpy as np


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


directory, threads, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
faiss.omp_set_num_threads(threads)
xb = np.fromfile(os.path.join(directory, "hashes.bin"), dtype=np.uint8).reshape(-1, 32)
xq = np.fromfile(os.path.join(directory, "queries.bin"), dtype=np.uint8).reshape(-1, 32)

before = rss_bytes()
start = time.perf_counter()
if kind == "flat":
    index = faiss.IndexBinaryFlat(256)
else:
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = 1
index.add(xb)
build = time.perf_counter() - start
memory = rss_bytes() - before

start = time.perf_counter()
lims, distances, ids = index.range_search(xq, 32)
search = time.perf_counter() - start

with open(os.path.join(directory, f"faiss-{kind}.txt"), "w") as out:
    for q in range(len(xq)):
        found = sorted(int(i) for i in ids[lims[q] : lims[q + 1]])
        out.write(" ".join(map(str, found)) + "\n")
name = "IndexBinaryFlat" if kind == "flat" else "IndexBinaryMultiHash(256,16,16) nflip=1"
print(
    f"faiss {faiss.__version__} {name}: {len(xb):,} hashes, {len(xq):,} queries, {threads} threads: "
    f"build {build:.2f} s, search {search:.2f} s = {len(xq) / search:,.0f} queries/s, "
    f"{lims[-1]:,} results, memory {memory / len(xb):.1f} B/hash"
)
