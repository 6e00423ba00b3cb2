#!/usr/bin/env python3
"""The peer of benches/jpeg_files.rs: read a JPEG file, decode it with Pillow, PDQ of its pixels
with PyPI `pdqhash` (Meta's C++ reference), one thread, on every .jpg/.jpeg under a directory.

Run: python jpeg_files_peer.py DIR [HASHES_OUT]
"""
import os
import sys
import time

import numpy as np
import pdqhash
from PIL import Image

root = sys.argv[1]
files = sorted(
    os.path.join(d, f)
    for d, _, names in os.walk(root)
    for f in names
    if f.lower().endswith((".jpg", ".jpeg"))
)


def hash_file(path):
    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB"))
    bits, quality = pdqhash.compute(pixels)
    return "%064x" % int("".join(str(int(b)) for b in bits), 2), quality


if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as out:
        for path in files:
            h, q = hash_file(path)
            out.write("%s,%s,%d\n" % (os.path.basename(path), h, q))

start, done = time.perf_counter(), 0
while time.perf_counter() - start < 5.0:
    for path in files:
        hash_file(path)
        done += 1
secs = time.perf_counter() - start
print(
    "Pillow %s + pdqhash, one thread: %d files: %.1f files/s (%.2f ms a file)"
    % (Image.__version__, len(files), done / secs, 1e3 * secs / done)
)
