#!/usr/bin/env python3
"""The peer figure for benches/pdq.rs: PyPI `pdqhash` (a wrapper of the C++ reference) on the
same generated 1024x1024 RGB image, one thread.

Setup: python3 -m venv /tmp/pdq-venv && /tmp/pdq-venv/bin/pip install numpy pdqhash
Run:   /tmp/pdq-venv/bin/python crates/vigil-phash/benches/pdqhash_peer.py
"""
import time

import numpy as np
import pdqhash

SIDE = 1024

# pixel = (x*7 + y*13 + c*29) % 256, as in benches/pdq.rs
y, x, c = np.meshgrid(np.arange(SIDE), np.arange(SIDE), np.arange(3), indexing="ij")
image = ((x * 7 + y * 13 + c * 29) % 256).astype(np.uint8)


def rate(fn, min_seconds=3.0):
    for _ in range(3):
        fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


bits, quality = pdqhash.compute(image)
print("hash %064x quality %d" % (int("".join(str(int(b)) for b in bits), 2), quality))
r = rate(lambda: pdqhash.compute(image))
print("pdqhash 1024x1024 rgb, one thread: %8.1f hashes/s  (%.3f ms)" % (r, 1e3 / r))
