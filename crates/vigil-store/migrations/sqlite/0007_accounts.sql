-- Who may use the workspace, what they may see, and the record of everything they did.
--
-- Unlike the evidence tables, accounts and sessions change (a role is changed, a session ends);
-- every such change is itself an audit event. Audit events are only ever inserted, and each
-- carries the SHA-256 of the one before it, so an edited, removed or reordered event breaks the
-- chain (`vigil verify` walks it).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE
                  CHECK (length(username) BETWEEN 1 AND 64),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'investigator', 'viewer')),
    password_hash TEXT NOT NULL,          -- PHC string, argon2id
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    show_graphic  INTEGER NOT NULL DEFAULT 0 CHECK (show_graphic IN (0, 1)), -- preference: unblurred by default
    created_at    TEXT NOT NULL
);

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a copy
-- of the catalog does not give anyone a session.
CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,             -- required on every state-changing request
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Collections group what a team works on; a user sees the captures of the collections they
-- belong to (admins see everything). Captures not assigned belong to collection 1, `default`.
CREATE TABLE collections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 128),
    created_at TEXT NOT NULL
);
INSERT INTO collections (id, name, created_at)
    VALUES (1, 'default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE collection_members (
    collection_id INTEGER NOT NULL REFERENCES collections (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (collection_id, user_id)
);
CREATE INDEX collection_members_by_user ON collection_members (user_id);

CREATE TABLE capture_collections (
    capture_id    INTEGER PRIMARY KEY NOT NULL REFERENCES captures (id),
    collection_id INTEGER NOT NULL REFERENCES collections (id)
);
CREATE INDEX capture_collections_by_collection ON capture_collections (collection_id);

-- Every view, download, edit, export, sign-in and account change.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,              -- RFC 3339, UTC, our clock
    user_id   INTEGER,                    -- NULL for anonymous requests and the command line
    actor     TEXT NOT NULL,              -- username as it was, or `cli:<os user>`, `anonymous`
    action    TEXT NOT NULL,              -- login, login-failed, logout, view, download, user-add, ...
    subject   TEXT NOT NULL,              -- what it concerned: item:<sha256>, user:<name>, ...
    detail    TEXT NOT NULL,              -- JSON
    ip        TEXT,
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_events_by_subject ON audit_events (subject);
CREATE INDEX audit_events_by_user ON audit_events (user_id);
