-- Check-ins and the progress model: one check-in per creator per local day, leader feedback,
-- streaks, running totals per ISO week and month, reminder preferences and the reminder log.

-- A guild's check-in options (a missing row means the defaults).
CREATE TABLE checkin_settings (
    guild_id      INTEGER PRIMARY KEY REFERENCES guilds (guild_id) ON DELETE CASCADE,
    post_mode     TEXT    NOT NULL DEFAULT 'summary' CHECK (post_mode IN ('off', 'summary', 'full')),
    -- 'HH:MM' in the guild's zone; NULL turns the roll-call / the leaders' summary off.
    rollcall_time TEXT,
    summary_time  TEXT,
    rest_days     INTEGER NOT NULL DEFAULT 1 CHECK (rest_days BETWEEN 0 AND 6),
    updated_at    TEXT    NOT NULL
);

-- local_date is the creator's own calendar day (YYYY-MM-DD) in `timezone` when it was made.
CREATE TABLE checkins (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    family_id     INTEGER REFERENCES families (id),
    local_date    TEXT    NOT NULL,
    timezone      TEXT    NOT NULL,
    hours         REAL    NOT NULL CHECK (hours BETWEEN 0 AND 24),
    diamonds      INTEGER NOT NULL CHECK (diamonds >= 0),
    followers     INTEGER NOT NULL CHECK (followers >= 0),
    peak_viewers  INTEGER NOT NULL CHECK (peak_viewers >= 0),
    mood          INTEGER CHECK (mood BETWEEN 1 AND 5),
    notes         TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    channel_id    INTEGER,
    message_id    INTEGER,
    UNIQUE (guild_id, user_id, local_date)
);
CREATE INDEX checkins_family_date ON checkins (family_id, local_date);
CREATE INDEX checkins_guild_created ON checkins (guild_id, created_at);

-- A leader's feedback on a check-in; user_id is the creator it is for.
CREATE TABLE checkin_feedback (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    checkin_id   INTEGER NOT NULL REFERENCES checkins (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    leader_id    INTEGER NOT NULL,
    text         TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    -- 'dm' or 'checkin' (shown on the creator's next /checkin); NULL while undelivered.
    delivered_via TEXT,
    delivered_at TEXT
);
CREATE INDEX checkin_feedback_pending ON checkin_feedback (guild_id, user_id, delivered_at);
CREATE INDEX checkin_feedback_checkin ON checkin_feedback (checkin_id);

-- First-feedback time per check-in (the service-quality KPI), kept when feedback is edited.
CREATE TABLE checkin_response (
    checkin_id       INTEGER PRIMARY KEY REFERENCES checkins (id) ON DELETE CASCADE,
    guild_id         INTEGER NOT NULL,
    family_id        INTEGER,
    checkin_at       TEXT    NOT NULL,
    first_feedback_at TEXT   NOT NULL,
    minutes          REAL    NOT NULL
);

CREATE TABLE checkin_streaks (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    current  INTEGER NOT NULL DEFAULT 0,
    best     INTEGER NOT NULL DEFAULT 0,
    last_date TEXT,
    PRIMARY KEY (guild_id, user_id)
);

-- Running totals per creator and period ('2026-W10' ISO week, '2026-03' month), in the
-- creator's zone; updated in the check-in's transaction (an edit subtracts the old values).
CREATE TABLE progress_totals (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    period_kind  TEXT    NOT NULL CHECK (period_kind IN ('week', 'month')),
    period       TEXT    NOT NULL,
    checkins     INTEGER NOT NULL DEFAULT 0,
    valid_days   INTEGER NOT NULL DEFAULT 0,
    hours        REAL    NOT NULL DEFAULT 0,
    diamonds     INTEGER NOT NULL DEFAULT 0,
    followers    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id, period_kind, period)
);
CREATE INDEX progress_top_hours ON progress_totals (guild_id, period_kind, period, hours DESC);
CREATE INDEX progress_top_diamonds
    ON progress_totals (guild_id, period_kind, period, diamonds DESC);
CREATE INDEX progress_top_followers
    ON progress_totals (guild_id, period_kind, period, followers DESC);
CREATE INDEX progress_top_days
    ON progress_totals (guild_id, period_kind, period, valid_days DESC);

-- Opt-in personal reminder: a DM at the creator's local time ('HH:MM').
CREATE TABLE reminder_prefs (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    dm_time  TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Every reminder sent or attempted. recipient_id is a user, or for a roll-call the family
-- channel. A row is claimed in a transaction before sending, so nothing is sent twice.
CREATE TABLE reminders (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('rollcall', 'dm', 'summary', 'email')),
    local_date   TEXT    NOT NULL,
    family_id    INTEGER,
    state        TEXT    NOT NULL CHECK (state IN ('claimed', 'sent', 'failed')),
    route        TEXT,
    due_at       TEXT    NOT NULL,
    claimed_at   TEXT    NOT NULL,
    finished_at  TEXT,
    late         INTEGER NOT NULL DEFAULT 0,
    detail       TEXT,
    UNIQUE (guild_id, recipient_id, kind, local_date)
);
CREATE INDEX reminders_claimed ON reminders (state, claimed_at);
