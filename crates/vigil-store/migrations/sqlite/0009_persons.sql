-- Persons the material concerns: prisoners of war, detainees, the missing, the dead, remains
-- awaiting exchange. Personal data of protected persons: visible to investigators and admins
-- of the person's collection only (viewers never see them), every read and change audited.

CREATE TABLE persons (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id  INTEGER NOT NULL REFERENCES collections (id),
    status         TEXT NOT NULL DEFAULT 'unknown'
                   CHECK (status IN ('pow', 'detained', 'missing', 'deceased', 'remains-returned',
                                     'released', 'unknown')),
    unit           TEXT,
    service_number TEXT,
    born           TEXT,                -- ISO 8601 date, as precise as known
    status_since   TEXT,                -- ISO 8601 date, as precise as known
    notes          TEXT NOT NULL DEFAULT '',
    created_by     INTEGER REFERENCES users (id),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX persons_by_collection ON persons (collection_id);

-- A person's names, in every script they are known by: as written by a source, and
-- transliterations (marked), so that a search in Armenian, Cyrillic or Latin finds them.
CREATE TABLE person_names (
    person_id       INTEGER NOT NULL REFERENCES persons (id),
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    script          TEXT NOT NULL CHECK (script IN ('armn', 'cyrl', 'latn', 'other')),
    transliteration INTEGER NOT NULL DEFAULT 0 CHECK (transliteration IN (0, 1)),
    PRIMARY KEY (person_id, position)
);

CREATE TABLE incident_persons (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    person_id   INTEGER NOT NULL REFERENCES persons (id),
    role        TEXT NOT NULL CHECK (role IN ('victim', 'perpetrator', 'witness', 'mentioned')),
    added_by    INTEGER REFERENCES users (id),
    added_at    TEXT NOT NULL,
    PRIMARY KEY (incident_id, person_id)
);
CREATE INDEX incident_persons_by_person ON incident_persons (person_id);

CREATE TABLE person_items (
    person_id INTEGER NOT NULL REFERENCES persons (id),
    sha256    TEXT NOT NULL REFERENCES items (sha256),
    added_by  INTEGER REFERENCES users (id),
    added_at  TEXT NOT NULL,
    PRIMARY KEY (person_id, sha256)
);
CREATE INDEX person_items_by_item ON person_items (sha256);

-- Every change of a person record, shown with it.
CREATE TABLE person_changes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER NOT NULL REFERENCES persons (id),
    user_id   INTEGER REFERENCES users (id),
    at        TEXT NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX person_changes_by_person ON person_changes (person_id);
