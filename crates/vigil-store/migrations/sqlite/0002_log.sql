-- The transparency log: one leaf per capture, written in the same transaction as the capture,
-- and every checkpoint the store has signed. Rows are only ever inserted.

CREATE TABLE log_leaves (
    leaf_index INTEGER PRIMARY KEY CHECK (leaf_index >= 0),   -- position in the Merkle tree
    capture_id INTEGER NOT NULL UNIQUE REFERENCES captures (id),
    leaf       BLOB NOT NULL,                                  -- canonical capture record (vigil.capture/v1)
    leaf_hash  BLOB NOT NULL CHECK (length(leaf_hash) = 32)    -- RFC 9162 leaf hash of `leaf`
);

CREATE TABLE log_checkpoints (
    tree_size       INTEGER PRIMARY KEY CHECK (tree_size >= 0),
    root_hash       BLOB NOT NULL CHECK (length(root_hash) = 32),
    signed_note     TEXT NOT NULL,     -- the C2SP checkpoint exactly as signed and published
    signed_at       TEXT NOT NULL,     -- RFC 3339, UTC, our clock
    timestamp_token BLOB               -- RFC 3161 TimeStampResp over the signed note, when a TSA was used
);
