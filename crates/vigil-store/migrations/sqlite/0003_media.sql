-- What each item is as media, and its perceptual hashes. Derived data: recomputable from the
-- blob, written by the enrichment job after capture. An item that cannot be decoded keeps its
-- bytes and gets a row here with the error.

CREATE TABLE media_analyses (
    sha256        TEXT PRIMARY KEY NOT NULL REFERENCES items (sha256),
    kind          TEXT NOT NULL,          -- image | video | audio | other
    format        TEXT,                   -- jpeg, png, mp4, ...
    width         INTEGER,
    height        INTEGER,
    orientation   INTEGER,                -- EXIF orientation 1..8 (images)
    error_code    TEXT,                   -- set when analysis failed
    error         TEXT,
    analysed_at   TEXT NOT NULL,
    vigil_version TEXT NOT NULL
);

CREATE TABLE pdq_hashes (
    sha256    TEXT NOT NULL REFERENCES items (sha256),
    variant   TEXT NOT NULL,              -- stored | displayed (images) | frame (video)
    frame     INTEGER NOT NULL,           -- video frame number; -1 for still images
    timestamp REAL,                       -- seconds into the video
    hash      BLOB NOT NULL CHECK (length(hash) = 32),
    quality   INTEGER NOT NULL CHECK (quality BETWEEN 0 AND 100),
    PRIMARY KEY (sha256, variant, frame)
);
