-- Insights (#19): risk flags, the family scorecard's settings and monthly posts, and the
-- scheduled tier sweeps with their per-creator results.

-- A guild's insight settings: the scorecard's weights and the risk thresholds, by name
-- (bot/services/insight_settings.py holds the names and their documented defaults; a name
-- without a row has its default).
CREATE TABLE insight_settings (
    guild_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    value      REAL    NOT NULL,
    updated_by INTEGER,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, name)
);

-- One risk flag per episode: a kind about a subject ('u:<user>' or 'f:<family>'; unusual
-- earnings name the day too) from the sweep that first saw it until a sweep no longer sees
-- it (cleared_at). At most one live episode per guild, kind and subject: a second sweep, a
-- restart or two sweeps at once never raise it twice, and a flag dismissed stays dismissed
-- while its episode lasts.
CREATE TABLE risk_flags (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('sudden_drop', 'gone_quiet', 'streak_broken',
                                                 'mismatch', 'unusual_earnings', 'family_at_risk')),
    subject     TEXT    NOT NULL,
    user_id     INTEGER,
    family_id   INTEGER,
    -- JSON: the figures that raised it
    figures     TEXT    NOT NULL DEFAULT '{}',
    state       TEXT    NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'acknowledged', 'resolved', 'dismissed')),
    raised_at   TEXT    NOT NULL,
    raised_day  TEXT    NOT NULL,
    cleared_at  TEXT,
    acted_by    INTEGER,
    acted_at    TEXT,
    note        TEXT,
    -- told: the managers' channel post that listed it; the leader's daily summary (its
    -- reminders row) that listed it
    managers_told_at TEXT,
    summary_id  INTEGER
);
CREATE UNIQUE INDEX risk_flags_live ON risk_flags (guild_id, kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX risk_flags_family ON risk_flags (guild_id, family_id, state);

-- A sweep of the risk flags ran for a guild's local day (the daily job runs it once a day).
CREATE TABLE risk_sweeps (
    guild_id    INTEGER NOT NULL,
    day         TEXT    NOT NULL,
    finished_at TEXT    NOT NULL,
    raised      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day)
);

-- The scorecard's monthly post to the managers' channel, claimed with its delivery.
CREATE TABLE scorecard_posts (
    guild_id  INTEGER NOT NULL,
    period    TEXT    NOT NULL,
    posted_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, period)
);

-- The scheduled tier sweep of a month: previewed in the managers' channel, then approved
-- (applied once, in the transaction that approves it) or held.
CREATE TABLE tier_sweeps (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    period      TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'preview'
                CHECK (state IN ('preview', 'held', 'applied')),
    created_at  TEXT    NOT NULL,
    decided_by  INTEGER,
    decided_at  TEXT,
    UNIQUE (guild_id, period)
);

-- A manager's change to one creator in a sweep before it is approved: the tier to give
-- (NULL: no tier).
CREATE TABLE tier_sweep_overrides (
    sweep_id   INTEGER NOT NULL REFERENCES tier_sweeps (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    tier_id    INTEGER,
    set_by     INTEGER NOT NULL,
    set_at     TEXT    NOT NULL,
    PRIMARY KEY (sweep_id, user_id)
);

-- What an applied sweep did to each creator it changed: old and new tier and the figures.
CREATE TABLE tier_sweep_results (
    sweep_id    INTEGER NOT NULL REFERENCES tier_sweeps (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    period      TEXT    NOT NULL,
    user_id     INTEGER NOT NULL,
    family_id   INTEGER,
    old_tier_id INTEGER,
    new_tier_id INTEGER,
    overridden  INTEGER NOT NULL DEFAULT 0,
    hours       REAL    NOT NULL DEFAULT 0,
    diamonds    INTEGER NOT NULL DEFAULT 0,
    valid_days  INTEGER NOT NULL DEFAULT 0,
    followers   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sweep_id, user_id)
);
CREATE INDEX tier_sweep_results_user ON tier_sweep_results (guild_id, user_id);
