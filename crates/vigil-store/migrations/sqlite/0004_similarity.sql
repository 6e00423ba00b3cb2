-- Near-duplicates: which items show the same picture or footage, and the clusters they form.
--
-- pdq_hashes gets a row id so the near-duplicate index (STORE/index/pdq.vhix, a snapshot of
-- these hashes) can name each row with a number. AUTOINCREMENT: ids are never reused, so an id
-- the snapshot holds names this row or none (a re-analysed item's rows get new ids).
CREATE TABLE pdq_hashes_v2 (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256    TEXT NOT NULL REFERENCES items (sha256),
    variant   TEXT NOT NULL,              -- stored | displayed (images) | frame (video)
    frame     INTEGER NOT NULL,           -- video frame number; -1 for still images
    timestamp REAL,                       -- seconds into the video
    hash      BLOB NOT NULL CHECK (length(hash) = 32),
    quality   INTEGER NOT NULL CHECK (quality BETWEEN 0 AND 100),
    UNIQUE (sha256, variant, frame)
);
INSERT INTO pdq_hashes_v2 (sha256, variant, frame, timestamp, hash, quality)
    SELECT sha256, variant, frame, timestamp, hash, quality FROM pdq_hashes
    ORDER BY sha256, frame, variant;
DROP TABLE pdq_hashes;
ALTER TABLE pdq_hashes_v2 RENAME TO pdq_hashes;

-- A near-duplicate relation between two items, found by searching the index after an item's
-- hashes were recorded. One row per pair and method, the smaller digest first.
--   pdq:  image ↔ image or image ↔ video frame; distance = the smallest Hamming distance
--         between their hashes; detail = which hashes ({"a": {...}, "b": {...}}).
--   vpdq: video ↔ video by the vPDQ rule (each side's quality frames ≥ 80% matched);
--         distance = the smallest frame distance; detail = both percentages and the segments
--         of shared footage, with times in both videos.
CREATE TABLE similarities (
    item_a   TEXT NOT NULL REFERENCES items (sha256),
    item_b   TEXT NOT NULL REFERENCES items (sha256),
    method   TEXT NOT NULL CHECK (method IN ('pdq', 'vpdq')),
    distance INTEGER NOT NULL CHECK (distance BETWEEN 0 AND 256),
    detail   TEXT NOT NULL,               -- JSON
    found_at TEXT NOT NULL,               -- RFC 3339, UTC
    PRIMARY KEY (item_a, item_b, method),
    CHECK (item_a < item_b)
);
CREATE INDEX similarities_by_b ON similarities (item_b);

-- Clusters of near-duplicates: the connected components of the similarity links, kept
-- current in the transaction that records each link. An item without a row is alone. The
-- cluster's name is the smallest digest among its members (a merge keeps the smaller name).
CREATE TABLE item_clusters (
    sha256  TEXT PRIMARY KEY NOT NULL REFERENCES items (sha256),
    cluster TEXT NOT NULL
);
CREATE INDEX item_clusters_by_cluster ON item_clusters (cluster);
