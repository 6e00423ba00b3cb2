#!/usr/bin/env python3
"""Benchmark data for bench/index.sh, written once and read by both sides.

  python index_data.py DIR COUNT {uniform,clustered} [QUERIES]

hashes.bin: COUNT random 256-bit hashes (32 bytes each); "clustered" makes 10% of them
near-duplicates of others (1 to 40 bits flipped from a random earlier hash, shuffled in).
queries.bin: QUERIES [10,000] hashes, half near-duplicates of stored hashes (0 to 40 bits
flipped), half random, so results are both empty and not. Seeded: the same arguments give the
same bytes.
"""
import os
import sys

import numpy as np

directory, count, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
queries = int(sys.argv[4]) if len(sys.argv) > 4 else 10_000
rng = np.random.default_rng(20261127)


def flip(rows, low, high):
    """Each row with a uniform number in [low, high] of distinct bits flipped."""
    out = rows.copy()
    n = len(rows)
    ks = rng.integers(low, high + 1, n)
    for start in range(0, n, 100_000):
        end = min(n, start + 100_000)
        order = np.argsort(rng.random((end - start, 256)), axis=1)
        mask = order < ks[start:end, None]  # k distinct positions per row
        out[start:end] ^= np.packbits(mask, axis=1)
    return out


os.makedirs(directory, exist_ok=True)
hashes = rng.integers(0, 256, (count, 32), dtype=np.uint8)
if kind == "clustered":
    dups = count // 10
    sources = rng.integers(0, count - dups, dups)
    hashes[count - dups :] = flip(hashes[sources], 1, 40)
    hashes = hashes[rng.permutation(count)]
near = queries // 2
qs = np.concatenate(
    [
        flip(hashes[rng.integers(0, count, near)], 0, 40),
        rng.integers(0, 256, (queries - near, 32), dtype=np.uint8),
    ]
)
hashes.tofile(os.path.join(directory, "hashes.bin"))
qs.tofile(os.path.join(directory, "queries.bin"))
print(f"{directory}: {count:,} {kind} hashes, {queries:,} queries")
