-- Issue 16: the log records its own events, and knows its keys.
--
-- A log event is a leaf that is neither a capture nor a derivation:
--   audit-anchor   the audit trail's last event and hash, appended before a checkpoint is
--                  signed, so that truncating or rewriting the trail contradicts the log;
--   key-rotation   a new signing key (and origin) replacing the old one, with the reason;
--   store-upgrade  the one-time logging of captures made before the log existed.
CREATE TABLE log_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('audit-anchor', 'key-rotation', 'store-upgrade')),
    created_at TEXT NOT NULL,             -- RFC 3339, UTC, our clock
    detail     TEXT NOT NULL              -- JSON, exactly as the leaf records it
);

-- The keys that have signed this log, each from the first tree size it signs: a checkpoint is
-- checked with the key in force at its size, and a key file that is none of these is refused.
CREATE TABLE log_keys (
    origin     TEXT PRIMARY KEY NOT NULL,
    vkey       TEXT NOT NULL UNIQUE,      -- C2SP verifier key
    first_size INTEGER NOT NULL UNIQUE CHECK (first_size >= 0),
    added_at   TEXT NOT NULL
);

-- Leaves now record exactly one of a capture, a derivation or a log event. SQLite cannot
-- change a CHECK in place, so the table is rebuilt with every row kept.
CREATE TABLE log_leaves_v3 (
    leaf_index    INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
    capture_id    INTEGER UNIQUE REFERENCES captures (id),
    derivation_id INTEGER UNIQUE REFERENCES derivations (id),
    event_id      INTEGER UNIQUE REFERENCES log_events (id),
    leaf          BLOB NOT NULL,          -- canonical record (vigil.capture/v1, vigil.derivation/v1, vigil.log-event/v1)
    leaf_hash     BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    CHECK ((capture_id IS NOT NULL) + (derivation_id IS NOT NULL) + (event_id IS NOT NULL) = 1)
);
INSERT INTO log_leaves_v3 (leaf_index, capture_id, derivation_id, leaf, leaf_hash)
    SELECT leaf_index, capture_id, derivation_id, leaf, leaf_hash FROM log_leaves;
DROP TABLE log_leaves;
ALTER TABLE log_leaves_v3 RENAME TO log_leaves;
