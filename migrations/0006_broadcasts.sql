-- Broadcasts: a manager's message to an audience over routes (family channels, DMs, email),
-- with a durable send queue (one row per recipient and route) and DM opt-ins.

CREATE TABLE broadcasts (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    author_id      INTEGER NOT NULL,
    text           TEXT    NOT NULL,
    -- all, families, tiers, leaders; audience_ids: JSON list of family or tier ids.
    audience       TEXT    NOT NULL CHECK (audience IN ('all', 'families', 'tiers', 'leaders')),
    audience_ids   TEXT    NOT NULL DEFAULT '[]',
    -- comma-separated subset of channel, dm, email
    routes         TEXT    NOT NULL,
    allow_everyone INTEGER NOT NULL DEFAULT 0 CHECK (allow_everyone IN (0, 1)),
    state          TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (state IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')),
    send_at        TEXT,
    created_at     TEXT    NOT NULL,
    confirmed_at   TEXT,
    started_at     TEXT,
    finished_at    TEXT
);
CREATE INDEX broadcasts_due ON broadcasts (state, send_at);

-- The send queue. pending -> claimed (a sender took it, claimed_at) -> sent | failed.
-- A row found 'claimed' after a restart is ambiguous and is resolved against Discord.
CREATE TABLE broadcast_deliveries (
    id           INTEGER PRIMARY KEY,
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    route        TEXT    NOT NULL CHECK (route IN ('channel', 'dm', 'email')),
    -- family id (channel), user id (dm, email)
    target_id    INTEGER NOT NULL,
    -- where the message goes: the family channel or the DM channel (NULL: open the DM first)
    channel_id   INTEGER,
    state        TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'claimed', 'sent', 'failed')),
    parts_sent   INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    message_id   INTEGER,
    claimed_at   TEXT,
    sent_at      TEXT,
    UNIQUE (broadcast_id, route, target_id)
);
CREATE INDEX broadcast_deliveries_state ON broadcast_deliveries (state, broadcast_id);

-- Who wants broadcasts as direct messages (opt-in), and their DM channel once known.
CREATE TABLE broadcast_optins (
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    dm            INTEGER NOT NULL DEFAULT 0 CHECK (dm IN (0, 1)),
    dm_channel_id INTEGER,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
