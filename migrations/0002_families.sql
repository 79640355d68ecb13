-- Families: leaders, members with agreements and exit reasons, join requests and invites,
-- transfers, tiers. A membership is a row in family_members; it is active while left_at IS
-- NULL, and a creator has at most one active membership per guild.

CREATE TABLE families (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    leader_user_id    INTEGER,
    co_leader_user_id INTEGER,
    capacity          INTEGER CHECK (capacity IS NULL OR capacity > 0),
    channel_id        INTEGER,
    role_id           INTEGER,
    created_by        INTEGER,
    created_at        TEXT    NOT NULL,
    archived_at       TEXT
);
-- Names are unique among a guild's active families, ignoring case.
CREATE UNIQUE INDEX families_active_name ON families (guild_id, lower(name))
    WHERE archived_at IS NULL;
CREATE INDEX families_guild ON families (guild_id, archived_at);

CREATE TABLE family_members (
    id                    INTEGER PRIMARY KEY,
    guild_id              INTEGER NOT NULL,
    family_id             INTEGER NOT NULL REFERENCES families (id),
    user_id               INTEGER NOT NULL,
    joined_at             TEXT    NOT NULL,
    agreement_version     INTEGER,
    agreement_accepted_at TEXT,
    left_at               TEXT,
    -- self, removed, transfer, left_server, archived
    ended_by              TEXT,
    -- moved_agency, earnings, support, time, platform_policy, personal, other, left_server
    leave_reason          TEXT,
    leave_note            TEXT,
    ended_by_user_id      INTEGER
);
CREATE UNIQUE INDEX family_members_one_active ON family_members (guild_id, user_id)
    WHERE left_at IS NULL;
CREATE INDEX family_members_family ON family_members (family_id, left_at);
CREATE INDEX family_members_left ON family_members (guild_id, left_at);

-- Requests to join (by a creator), invites (by a leader or manager), transfers.
CREATE TABLE family_requests (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    family_id      INTEGER NOT NULL REFERENCES families (id),
    user_id        INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('request', 'invite', 'transfer')),
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'approved', 'declined', 'cancelled')),
    from_family_id INTEGER REFERENCES families (id),
    requested_by   INTEGER NOT NULL,
    decided_by     INTEGER,
    decided_at     TEXT,
    channel_id     INTEGER,
    message_id     INTEGER,
    created_at     TEXT    NOT NULL
);
CREATE UNIQUE INDEX family_requests_one_pending ON family_requests (guild_id, user_id, family_id)
    WHERE status = 'pending';

-- Which version of the program agreement each member accepted, and when.
CREATE TABLE agreement_acceptances (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    accepted_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id, version)
);

CREATE TABLE tiers (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    rank           INTEGER NOT NULL,
    role_id        INTEGER,
    min_hours      REAL,
    min_diamonds   INTEGER,
    min_valid_days INTEGER,
    min_followers  INTEGER,
    created_at     TEXT    NOT NULL,
    UNIQUE (guild_id, rank)
);
CREATE UNIQUE INDEX tiers_name ON tiers (guild_id, lower(name));

-- A creator's current tier (history in tier_changes).
CREATE TABLE member_tiers (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    tier_id  INTEGER REFERENCES tiers (id) ON DELETE SET NULL,
    since    TEXT    NOT NULL,
    source   TEXT    NOT NULL CHECK (source IN ('manual', 'sweep')),
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE tier_changes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    old_tier_id INTEGER,
    new_tier_id INTEGER,
    period     TEXT,
    source     TEXT    NOT NULL,
    changed_at TEXT    NOT NULL
);
