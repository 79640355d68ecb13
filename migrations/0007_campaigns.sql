-- Campaigns: a manager's time-boxed goal on one metric of the progress model, its enrolments,
-- the announcements it posts on its own (a durable queue like the broadcasts'), and the
-- results snapshot taken when it ends (which also drives reward roles).

CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    -- Instants (UTC); ends_at is exclusive. first_day..last_day are the local days that count,
    -- named in the guild's zone at creation (each creator's check-ins by their own day).
    starts_at      TEXT    NOT NULL,
    ends_at        TEXT    NOT NULL,
    first_day      TEXT    NOT NULL,
    last_day       TEXT    NOT NULL,
    timezone       TEXT    NOT NULL,
    audience       TEXT    NOT NULL CHECK (audience IN ('all', 'families', 'tiers')),
    audience_ids   TEXT    NOT NULL DEFAULT '[]',
    metric         TEXT    NOT NULL
                   CHECK (metric IN ('hours', 'diamonds', 'followers', 'days', 'streak')),
    target_creator REAL    CHECK (target_creator > 0),
    target_family  REAL    CHECK (target_family > 0),
    reward_text    TEXT    NOT NULL DEFAULT '',
    reward_role_id INTEGER,
    enrolment      TEXT    NOT NULL CHECK (enrolment IN ('optin', 'auto')),
    -- comma-separated subset of midway, 3days, lastday
    reminders      TEXT    NOT NULL DEFAULT 'midway,3days,lastday',
    state          TEXT    NOT NULL DEFAULT 'draft'
                   CHECK (state IN ('draft', 'scheduled', 'running', 'finished', 'cancelled')),
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    scheduled_at   TEXT,
    started_at     TEXT,
    finished_at    TEXT,
    -- JSON: participation, completion, uplift (written once, when it finishes)
    summary        TEXT,
    CHECK (target_creator IS NOT NULL OR target_family IS NOT NULL),
    CHECK (ends_at > starts_at)
);
CREATE UNIQUE INDEX campaigns_name ON campaigns (guild_id, name COLLATE NOCASE);
CREATE INDEX campaigns_due ON campaigns (state, starts_at);

-- Who takes part. Opt-in campaigns: the Enrol button or /campaign join; automatic ones: every
-- creator in the audience, written when it starts and again when it ends.
CREATE TABLE campaign_enrolments (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    family_id   INTEGER,
    via         TEXT    NOT NULL CHECK (via IN ('button', 'command', 'auto')),
    enrolled_at TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX campaign_enrolments_user ON campaign_enrolments (guild_id, user_id);

-- Announcement queue: one row per campaign, stage and family channel, claimed before it is
-- sent (a row left 'claimed' by a dead process is looked up in the channel before a resend).
CREATE TABLE campaign_posts (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    stage       TEXT    NOT NULL
                CHECK (stage IN ('start', 'midway', '3days', 'lastday', 'results')),
    family_id   INTEGER NOT NULL,
    channel_id  INTEGER,
    state       TEXT    NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'claimed', 'sent', 'failed', 'skipped')),
    late        INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    message_id  INTEGER,
    queued_at   TEXT    NOT NULL,
    claimed_at  TEXT,
    sent_at     TEXT,
    UNIQUE (campaign_id, stage, family_id)
);
CREATE INDEX campaign_posts_state ON campaign_posts (state, id);

-- The snapshot when a campaign ends: every creator of the audience, participant or not, with
-- the goal metric over the campaign and over the same number of days just before it.
CREATE TABLE campaign_results (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    family_id    INTEGER,
    participant  INTEGER NOT NULL CHECK (participant IN (0, 1)),
    value        REAL    NOT NULL,
    before       REAL    NOT NULL,
    reached      INTEGER NOT NULL CHECK (reached IN (0, 1)),
    -- none (no reward role or not reached), pending, granted, had (already had it), failed
    reward_state TEXT    NOT NULL DEFAULT 'none'
                 CHECK (reward_state IN ('none', 'pending', 'granted', 'had', 'failed')),
    reward_error TEXT,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX campaign_results_reward ON campaign_results (reward_state, campaign_id);
