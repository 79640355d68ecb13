-- Foundation: guild program settings, members per guild, the channels Familia posts to,
-- an audit log, and process metadata. Times are UTC ISO-8601 text.

CREATE TABLE guilds (
    guild_id        INTEGER PRIMARY KEY,
    timezone        TEXT    NOT NULL,
    locale          TEXT    NOT NULL CHECK (locale IN ('en', 'es')),
    manager_role_id INTEGER,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

-- Which channel Familia posts to for each purpose (announcements, leaderboard, ...).
CREATE TABLE guild_channels (
    guild_id   INTEGER NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    channel_id INTEGER NOT NULL,
    PRIMARY KEY (guild_id, kind)
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    -- NULL: known to Familia (preferences) but not in the program.
    program_role TEXT CHECK (program_role IN ('creator', 'leader', 'manager')),
    timezone     TEXT,
    locale       TEXT CHECK (locale IN ('en', 'es')),
    joined_at    TEXT    NOT NULL,
    left_at      TEXT,
    UNIQUE (guild_id, user_id)
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    actor_id   INTEGER,
    action     TEXT    NOT NULL,
    target     TEXT,
    details    TEXT    NOT NULL DEFAULT '{}',
    created_at TEXT    NOT NULL
);
CREATE INDEX audit_log_guild_time ON audit_log (guild_id, created_at);

-- Process metadata (for example the digest of the last synced command tree).
CREATE TABLE app_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
