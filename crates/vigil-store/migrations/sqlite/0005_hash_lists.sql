-- Hash lists imported from partners (the plain text form of ThreatExchange/HMA tooling: one PDQ
-- hash a line, then tags), kept in the catalog so the collection can be matched against them
-- again later, and so there is a record of which list, from which file, was imported when.
CREATE TABLE hash_lists (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,            -- the file as given
    sha256      TEXT NOT NULL,            -- SHA-256 of the file's bytes as imported
    imported_at TEXT NOT NULL,            -- RFC 3339, UTC
    entries     INTEGER NOT NULL,
    bad_lines   INTEGER NOT NULL          -- lines that were not hashes (not imported)
);

CREATE TABLE hash_list_entries (
    list_id INTEGER NOT NULL REFERENCES hash_lists (id),
    line    INTEGER NOT NULL,             -- 1-based line in the file
    hash    BLOB NOT NULL CHECK (length(hash) = 32),
    tags    TEXT NOT NULL,                -- JSON array of strings
    PRIMARY KEY (list_id, line)
);
