-- The delivery queue (0010) may also edit a message Familia posted: target 'edit', where
-- target_id and channel_id are the message's channel and the payload holds "message_id" and
-- the new "content" (and "components", the buttons it keeps). An edit is idempotent; after
-- a crash the sender reads the message back and leaves it alone when it already says so.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same rows
-- (same ids, columns and indexes).
CREATE TABLE deliveries_next (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    source          TEXT,
    -- channel: a channel id; dm: a user id; role_add / role_remove: a member's user id;
    -- edit: the channel of the message to edit
    target          TEXT    NOT NULL
                    CHECK (target IN ('channel', 'dm', 'role_add', 'role_remove', 'edit')),
    target_id       INTEGER NOT NULL,
    role_id         INTEGER,
    channel_id      INTEGER,
    payload         TEXT    NOT NULL DEFAULT '{}',
    dedupe_key      TEXT    NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    lease_owner     TEXT,
    lease_until     TEXT,
    claimed_at      TEXT,
    next_attempt_at TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    parts_sent      INTEGER NOT NULL DEFAULT 0,
    message_ids     TEXT    NOT NULL DEFAULT '[]',
    error           TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    outcome         TEXT,
    UNIQUE (guild_id, dedupe_key)
);
INSERT INTO deliveries_next (id, guild_id, kind, source, target, target_id, role_id,
                             channel_id, payload, dedupe_key, priority, state, lease_owner,
                             lease_until, claimed_at, next_attempt_at, attempts, parts_sent,
                             message_ids, error, created_at, sent_at, outcome)
SELECT id, guild_id, kind, source, target, target_id, role_id, channel_id, payload,
       dedupe_key, priority, state, lease_owner, lease_until, claimed_at, next_attempt_at,
       attempts, parts_sent, message_ids, error, created_at, sent_at, outcome
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_next RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_source ON deliveries (source, state);
