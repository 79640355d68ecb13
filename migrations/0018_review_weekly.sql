-- The weekly review per tier (bot/services/reviews.py): its schedule, the posts made of it
-- (one per guild and ISO week, claimed before it is queued: never twice) and the action
-- items managers and leaders record from it.

-- When the review is posted to the managers' channel (a missing row: not scheduled).
CREATE TABLE review_settings (
    guild_id   INTEGER PRIMARY KEY REFERENCES guilds (guild_id) ON DELETE CASCADE,
    day        INTEGER NOT NULL CHECK (day BETWEEN 0 AND 6),   -- 0 = Monday (program zone)
    hour       INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    updated_at TEXT    NOT NULL
);

-- A scheduled review of one ISO week (the program's zone), claimed with its post and emails.
CREATE TABLE review_posts (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    week        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'no_channel')),
    channel_id  INTEGER,
    emails      INTEGER NOT NULL DEFAULT 0,
    late        INTEGER NOT NULL DEFAULT 0,
    claimed_at  TEXT    NOT NULL,
    UNIQUE (guild_id, week)
);

-- An action item: about a creator, a family, a tier (or the program), owned by a member,
-- due on a day of the program's calendar. Its history (created, done, reopened, dropped) is
-- in the audit log (target 'review-action:<id>').
CREATE TABLE review_actions (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    week           TEXT    NOT NULL,               -- the review it came from
    about_user_id  INTEGER,                        -- a creator
    family_id      INTEGER,
    tier_id        INTEGER,
    owner_user_id  INTEGER NOT NULL,
    due_date       TEXT    NOT NULL,               -- YYYY-MM-DD, program zone
    note           TEXT    NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'dropped')),
    created_by     INTEGER NOT NULL,
    created_at     TEXT    NOT NULL,
    closed_at      TEXT,
    closed_by      INTEGER,
    due_queued_at  TEXT                            -- the owner's due-day DM handed to the queue
);
CREATE INDEX review_actions_open ON review_actions (guild_id, state, due_date);

-- The review reads five weeks of every creator's totals at once (the week, the one before
-- and the four before it): from this index alone, as the tier sweep reads the month's
-- (progress_month_tiers), instead of one table row a creator and week.
CREATE INDEX progress_week_totals
    ON progress_totals (guild_id, period_kind, period, user_id, checkins, valid_days, hours,
                        diamonds, followers)
    WHERE period_kind = 'week';
