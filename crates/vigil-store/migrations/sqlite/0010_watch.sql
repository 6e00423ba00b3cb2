-- Watched sources (issue 9): channels, feeds and playlists polled for new posts, and every post
-- seen on them, so that each is captured exactly once and its later deletion or change is
-- noticed.
--
-- A post is recorded as `pending` in the same transaction that records the poll that found it,
-- before anything is captured; its capture is linked afterwards. A kill between the capture's
-- commit and the link leaves a pending post whose capture already exists: the next run finds
-- it by its source URL and watch key (in the capture's details) and links it instead of
-- capturing again. Removing a source keeps its posts (`removed_at`): they are evidence.

CREATE TABLE watch_sources (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    url                  TEXT NOT NULL UNIQUE,          -- as given, normalised
    kind                 TEXT NOT NULL CHECK (kind IN ('telegram', 'feed', 'playlist')),
    poll_url             TEXT NOT NULL,                 -- what is fetched (t.me/s/NAME…)
    every_secs           INTEGER NOT NULL CHECK (every_secs >= 60),
    recheck_secs         INTEGER NOT NULL CHECK (recheck_secs >= 60), -- deletion re-checks
    note                 TEXT,
    tags                 TEXT NOT NULL DEFAULT '[]',    -- JSON array of strings
    collection_id        INTEGER NOT NULL DEFAULT 1 REFERENCES collections (id),
    added_at             TEXT NOT NULL,
    added_by             TEXT NOT NULL,
    removed_at           TEXT,                          -- no longer polled; posts kept
    next_poll_at         TEXT NOT NULL,                 -- RFC 3339 UTC, with jitter and backoff
    last_poll_at         TEXT,
    last_outcome         TEXT,                          -- `ok`, or a stable failure code
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0)
);
CREATE INDEX watch_sources_due ON watch_sources (next_poll_at) WHERE removed_at IS NULL;

CREATE TABLE watch_posts (
    source_id       INTEGER NOT NULL REFERENCES watch_sources (id),
    post_key        TEXT NOT NULL CHECK (length(post_key) BETWEEN 1 AND 512), -- stable id in its source
    url             TEXT NOT NULL,                      -- the post's own page
    author          TEXT,
    published_at    TEXT,                               -- what the platform claims
    first_seen_at   TEXT NOT NULL,                      -- our clock
    state           TEXT NOT NULL CHECK (state IN ('pending', 'captured', 'failed')),
    capture_id      INTEGER REFERENCES captures (id),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_check_at   TEXT,                               -- deletion re-check
    last_checked_at TEXT,
    gone_at         TEXT,                               -- first seen deleted
    gone_reason     TEXT,                               -- `http-404`, `not-found-page`…
    changed_at      TEXT,                               -- media no longer what we captured
    PRIMARY KEY (source_id, post_key),
    CHECK ((state = 'captured') = (capture_id IS NOT NULL))
);
CREATE INDEX watch_posts_pending ON watch_posts (state) WHERE state <> 'captured';
CREATE INDEX watch_posts_recheck ON watch_posts (next_check_at) WHERE gone_at IS NULL;
CREATE INDEX watch_posts_by_capture ON watch_posts (capture_id);
