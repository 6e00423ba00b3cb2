-- Incidents: what the footage shows happening, qualified under international humanitarian law.
--
-- An incident belongs to a collection (who may see it), has a status that moves from new to
-- reported, dates and places with their precision (footage rarely says exactly when or where),
-- sensitivity labels, taxonomy tags (ids of the IHL taxonomy compiled into Vigil), linked
-- items, and comments. Every change is kept: fields in `incident_changes`, comment edits in
-- `comment_revisions`; and every change is also an audit event.

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id   INTEGER NOT NULL REFERENCES collections (id),
    title           TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    description     TEXT NOT NULL DEFAULT '',
    occurred        TEXT,               -- ISO 8601 date, as precise as known: 2023-09-19, 2023-09, 2023
    date_precision  TEXT NOT NULL DEFAULT 'unknown'
                    CHECK (date_precision IN ('day', 'month', 'year', 'approximate', 'unknown')),
    place           TEXT,               -- as named by the sources, any script
    place_precision TEXT NOT NULL DEFAULT 'unknown'
                    CHECK (place_precision IN ('exact', 'settlement', 'district', 'region', 'country', 'unknown')),
    latitude        REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude       REAL CHECK (longitude BETWEEN -180 AND 180),
    status          TEXT NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'in-review', 'verified', 'reported')),
    created_by      INTEGER REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX incidents_by_collection ON incidents (collection_id);

CREATE TABLE incident_labels (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    label       TEXT NOT NULL CHECK (label IN ('graphic-violence', 'identifiable-prisoner',
                                                'personal-data', 'deceptive-or-misleading')),
    PRIMARY KEY (incident_id, label)
);

CREATE TABLE incident_tags (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    taxonomy_id TEXT NOT NULL,          -- an entry id of the IHL taxonomy (vigil-taxonomy)
    added_by    INTEGER REFERENCES users (id),
    added_at    TEXT NOT NULL,
    PRIMARY KEY (incident_id, taxonomy_id)
);
CREATE INDEX incident_tags_by_tag ON incident_tags (taxonomy_id);

CREATE TABLE incident_items (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    sha256      TEXT NOT NULL REFERENCES items (sha256),
    added_by    INTEGER REFERENCES users (id),
    added_at    TEXT NOT NULL,
    PRIMARY KEY (incident_id, sha256)
);
CREATE INDEX incident_items_by_item ON incident_items (sha256);

-- Who published an item (posted the footage): a fact about the item, not an incident, so
-- the office's own holdings are never qualified as "public curiosity" (see the taxonomy).
CREATE TABLE item_publishers (
    sha256    TEXT PRIMARY KEY NOT NULL REFERENCES items (sha256),
    publisher TEXT NOT NULL CHECK (publisher IN ('perpetrator-side', 'third-party', 'own-office')),
    set_by    INTEGER REFERENCES users (id),
    set_at    TEXT NOT NULL
);

-- Every change of an incident's fields, labels, tags and links: the history shown with it.
CREATE TABLE incident_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    user_id     INTEGER REFERENCES users (id),
    at          TEXT NOT NULL,
    field       TEXT NOT NULL,          -- title, status, tag+, tag-, item+, label+, ...
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX incident_changes_by_incident ON incident_changes (incident_id);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    user_id     INTEGER REFERENCES users (id),
    body        TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at  TEXT NOT NULL,
    edited_at   TEXT
);
CREATE INDEX comments_by_incident ON comments (incident_id);

-- Earlier texts of edited comments, newest last.
CREATE TABLE comment_revisions (
    comment_id INTEGER NOT NULL REFERENCES comments (id),
    body       TEXT NOT NULL,
    replaced_at TEXT NOT NULL
);
CREATE INDEX comment_revisions_by_comment ON comment_revisions (comment_id);
