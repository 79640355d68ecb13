-- The policy and training library (#20): documents, their versions (a body per language),
-- a full-text index of the version in force, and who acknowledged which version.

-- A document of a guild. category: one of the built-in keys (monetisation, trust_safety,
-- community, campaigns, training, agreements) or a manager's own word. audience: who may find
-- and read it; 'tiers' and 'families' name their ids in audience_ids (a JSON array).
-- kind 'agreement' marks the family agreement (one per guild).
CREATE TABLE policy_documents (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    audience     TEXT    NOT NULL DEFAULT 'everyone'
                 CHECK (audience IN ('everyone', 'tiers', 'families', 'leaders')),
    audience_ids TEXT    NOT NULL DEFAULT '[]',
    kind         TEXT    NOT NULL DEFAULT 'document' CHECK (kind IN ('document', 'agreement')),
    created_by   INTEGER,
    created_at   TEXT    NOT NULL,
    archived_at  TEXT,
    archived_by  INTEGER
);
CREATE UNIQUE INDEX policy_documents_title ON policy_documents (guild_id, lower(title));
CREATE UNIQUE INDEX policy_documents_agreement ON policy_documents (guild_id)
    WHERE kind = 'agreement';

-- Each publish is a new version (1, 2, …); the highest is the version in force. A body per
-- language; a missing one falls back to the other (with a note). major: readers are asked to
-- acknowledge it (by ack_deadline when one is set).
CREATE TABLE policy_versions (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    document_id  INTEGER NOT NULL REFERENCES policy_documents (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    major        INTEGER NOT NULL DEFAULT 0,
    summary      TEXT    NOT NULL DEFAULT '',
    body_en      TEXT,
    body_es      TEXT,
    ack_deadline TEXT,
    published_by INTEGER,
    published_at TEXT    NOT NULL,
    UNIQUE (document_id, version),
    CHECK (body_en IS NOT NULL OR body_es IS NOT NULL)
);

-- Full-text index of the version in force of each document, one row per language written
-- (rowid = document id × 2 + 0 for English, 1 for Spanish). Accents and case are folded by
-- the tokenizer, so "monetizacion" finds "monetización".
CREATE VIRTUAL TABLE policy_search USING fts5 (
    title, body, guild_id UNINDEXED, document_id UNINDEXED, lang UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Who acknowledged which version of a document, and when.
CREATE TABLE policy_acks (
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    document_id     INTEGER NOT NULL REFERENCES policy_documents (id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    acknowledged_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, document_id, version)
);
CREATE INDEX policy_acks_document ON policy_acks (document_id, version);
