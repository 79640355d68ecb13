-- Email: addresses and preferences, verification codes (hashed), the outbox, suppressions,
-- guild digest schedules and the digest log. Times are UTC ISO-8601 text.

-- One address per member of a guild. Mail goes only to verified, not-suppressed addresses.
CREATE TABLE email_addresses (
    guild_id        INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    address         TEXT    NOT NULL,
    verified_at     TEXT,
    -- The pending verification: sha256 of the code, its expiry and wrong tries so far.
    code_hash       TEXT,
    code_expires_at TEXT,
    code_attempts   INTEGER NOT NULL DEFAULT 0,
    -- NULL: the role's default (on for leaders and managers, off for creators: opt-in).
    weekly_digest   INTEGER CHECK (weekly_digest IN (0, 1)),
    -- 0 = Monday … 6 = Sunday; NULL follows the guild's digest day.
    digest_day      INTEGER CHECK (digest_day BETWEEN 0 AND 6),
    campaigns       INTEGER NOT NULL DEFAULT 1 CHECK (campaigns IN (0, 1)),
    broadcasts      INTEGER NOT NULL DEFAULT 1 CHECK (broadcasts IN (0, 1)),
    reminders       INTEGER NOT NULL DEFAULT 0 CHECK (reminders IN (0, 1)),
    locale          TEXT    CHECK (locale IN ('en', 'es')),
    -- 1 when the person was a program manager the last time they used /email (manager digest).
    manager         INTEGER NOT NULL DEFAULT 0 CHECK (manager IN (0, 1)),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Every email Familia sends, written in the transaction of the event that causes it.
CREATE TABLE email_outbox (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER,
    user_id         INTEGER,
    recipient       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    -- JSON object of extra headers (List-Unsubscribe, List-Unsubscribe-Post).
    headers         TEXT    NOT NULL DEFAULT '{}',
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (state, next_attempt_at);
CREATE INDEX email_outbox_member ON email_outbox (guild_id, user_id);

-- Addresses that keep bouncing, by sha256 of the lower-cased address (kept after deletion).
CREATE TABLE email_suppressions (
    address_hash  TEXT    PRIMARY KEY,
    bounces       INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    suppressed_at TEXT
);

-- A guild's digest schedule (a missing row: Monday 09:00 in the guild's zone).
CREATE TABLE email_settings (
    guild_id    INTEGER PRIMARY KEY REFERENCES guilds (guild_id) ON DELETE CASCADE,
    digest_day  INTEGER NOT NULL DEFAULT 0 CHECK (digest_day BETWEEN 0 AND 6),
    digest_hour INTEGER NOT NULL DEFAULT 9 CHECK (digest_hour BETWEEN 0 AND 23),
    updated_at  TEXT    NOT NULL
);

-- When each recipient's digest of a kind was last attempted (the sweep's memory).
CREATE TABLE email_digest_log (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    attempted_at TEXT    NOT NULL,
    week         TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, kind)
);
