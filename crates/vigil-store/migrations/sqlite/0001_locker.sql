-- The evidence locker: immutable items, the captures that collected them, and which item
-- belongs to which capture. Rows are only ever inserted, never updated or deleted.

CREATE TABLE items (
    sha256            TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    size              INTEGER NOT NULL CHECK (size >= 0),
    first_captured_at TEXT NOT NULL
);

CREATE TABLE captures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        TEXT NOT NULL,
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- file | url
    method        TEXT NOT NULL,          -- file | http | yt-dlp
    status        TEXT NOT NULL,          -- ok | failed
    error_code    TEXT,
    error         TEXT,
    collector     TEXT NOT NULL,
    captured_at   TEXT NOT NULL,          -- RFC 3339, UTC, microseconds
    vigil_version TEXT NOT NULL,
    tools         TEXT NOT NULL,          -- JSON object: tool name -> version
    note          TEXT,
    tags          TEXT NOT NULL,          -- JSON array of strings
    details       TEXT NOT NULL           -- JSON: how it was collected (HTTP hops, file metadata, ...)
);
CREATE INDEX captures_by_time ON captures (captured_at);
CREATE INDEX captures_by_source ON captures (source);

CREATE TABLE capture_items (
    capture_id INTEGER NOT NULL REFERENCES captures (id),
    position   INTEGER NOT NULL,
    sha256     TEXT NOT NULL REFERENCES items (sha256),
    role       TEXT NOT NULL,             -- file | body | tls-chain | media | info-json | ...
    name       TEXT,                      -- name the source gave it: shown, never used as a path
    PRIMARY KEY (capture_id, position)
);
CREATE INDEX capture_items_by_item ON capture_items (sha256);
