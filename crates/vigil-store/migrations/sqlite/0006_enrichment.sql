-- What files say about themselves, what Vigil derived from them, and how each enrichment job
-- on each item ended.

-- Derivations: items Vigil made from another item (thumbnails, keyframes, contact sheets).
-- A derived item is an item like any other (a row in `items`, a blob), linked to the item it
-- was made from here and never to a capture: derived pictures are not evidence collected, they
-- show what was examined. Each derivation is a leaf of the transparency log (its own format,
-- vigil.derivation/v1), written in the same transaction. Rows are only ever inserted.
CREATE TABLE derivations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source_sha256 TEXT NOT NULL REFERENCES items (sha256),   -- derived from this item
    kind          TEXT NOT NULL,          -- preview
    tool          TEXT NOT NULL,          -- what made it, e.g. vigil-media/video_preview
    params        TEXT NOT NULL,          -- JSON: the settings used (sizes, thresholds)
    created_at    TEXT NOT NULL,          -- RFC 3339, UTC, our clock
    vigil_version TEXT NOT NULL
);
CREATE INDEX derivations_by_source ON derivations (source_sha256);

CREATE TABLE derivation_items (
    derivation_id INTEGER NOT NULL REFERENCES derivations (id),
    position      INTEGER NOT NULL,
    sha256        TEXT NOT NULL REFERENCES items (sha256),
    role          TEXT NOT NULL,          -- thumbnail | keyframe | contact-sheet
    name          TEXT NOT NULL,          -- a file name to export it under
    detail        TEXT NOT NULL,          -- JSON: timestamp, width, height, change ...
    PRIMARY KEY (derivation_id, position)
);
CREATE INDEX derivation_items_by_item ON derivation_items (sha256);

-- The log's leaves now record either a capture or a derivation (exactly one). SQLite cannot
-- relax a NOT NULL in place, so the table is rebuilt with every row and index kept.
CREATE TABLE log_leaves_v2 (
    leaf_index    INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
    capture_id    INTEGER UNIQUE REFERENCES captures (id),
    derivation_id INTEGER UNIQUE REFERENCES derivations (id),
    leaf          BLOB NOT NULL,          -- canonical record (vigil.capture/v1 or vigil.derivation/v1)
    leaf_hash     BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    CHECK ((capture_id IS NULL) <> (derivation_id IS NULL))
);
INSERT INTO log_leaves_v2 (leaf_index, capture_id, leaf, leaf_hash)
    SELECT leaf_index, capture_id, leaf, leaf_hash FROM log_leaves;
DROP TABLE log_leaves;
ALTER TABLE log_leaves_v2 RENAME TO log_leaves;

-- What a file says about itself (EXIF/XMP/IPTC, container and streams, Content Credentials,
-- the post a yt-dlp .info.json describes), as extracted: derived, recomputable, replaced when
-- the metadata job runs again.
CREATE TABLE item_metadata (
    sha256        TEXT PRIMARY KEY NOT NULL REFERENCES items (sha256),
    report        TEXT NOT NULL,          -- JSON: the whole report, every raw tag included
    extracted_at  TEXT NOT NULL,
    vigil_version TEXT NOT NULL
);

-- What deserves an investigator's second look, one row per flag, for filtering.
CREATE TABLE item_flags (
    sha256 TEXT NOT NULL REFERENCES items (sha256),
    code   TEXT NOT NULL,                 -- gps-present | editing-software | metadata-stripped | ...
    detail TEXT NOT NULL
);
CREATE INDEX item_flags_by_item ON item_flags (sha256);
CREATE INDEX item_flags_by_code ON item_flags (code);

-- How each enrichment job ended on each item: ok, failed (with a stable code) or timed out.
-- A failed job leaves the item intact; `vigil enrich --retry-failed` runs it again.
CREATE TABLE enrichment_jobs (
    sha256        TEXT NOT NULL REFERENCES items (sha256),
    job           TEXT NOT NULL,          -- analysis | metadata | preview
    status        TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    error_code    TEXT,
    error         TEXT,
    seconds       REAL NOT NULL,
    finished_at   TEXT NOT NULL,
    vigil_version TEXT NOT NULL,
    PRIMARY KEY (sha256, job)
);
CREATE INDEX enrichment_jobs_failed ON enrichment_jobs (job, status);

-- Analyses recorded before this table existed count as the analysis job's outcome.
INSERT INTO enrichment_jobs (sha256, job, status, error_code, error, seconds, finished_at, vigil_version)
    SELECT sha256, 'analysis',
           CASE WHEN error_code IS NULL OR error_code = 'partly-decoded' THEN 'ok' ELSE 'failed' END,
           error_code, error, 0, analysed_at, vigil_version
    FROM media_analyses;
