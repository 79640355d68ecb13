-- Leaderboards: all-time totals kept by triggers over progress_totals, the indexes that serve
-- top-N boards straight from an index (metric DESC, then user_id for a stable order of ties),
-- and board_posts, the claim that makes scheduled posts idempotent.

-- One row per creator: the sum of their monthly rows, maintained by the triggers below so an
-- all-time board never scans history.
CREATE TABLE progress_alltime (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    checkins   INTEGER NOT NULL DEFAULT 0,
    valid_days INTEGER NOT NULL DEFAULT 0,
    hours      REAL    NOT NULL DEFAULT 0,
    diamonds   INTEGER NOT NULL DEFAULT 0,
    followers  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id)
);
INSERT INTO progress_alltime (guild_id, user_id, checkins, valid_days, hours, diamonds, followers)
    SELECT guild_id, user_id, sum(checkins), sum(valid_days), round(sum(hours), 2),
           sum(diamonds), sum(followers)
    FROM progress_totals WHERE period_kind = 'month' GROUP BY guild_id, user_id;

CREATE TRIGGER progress_alltime_insert AFTER INSERT ON progress_totals
WHEN new.period_kind = 'month'
BEGIN
    INSERT INTO progress_alltime (guild_id, user_id, checkins, valid_days, hours, diamonds,
                                  followers)
    VALUES (new.guild_id, new.user_id, new.checkins, new.valid_days, new.hours, new.diamonds,
            new.followers)
    ON CONFLICT (guild_id, user_id) DO UPDATE SET
        checkins = checkins + excluded.checkins,
        valid_days = valid_days + excluded.valid_days,
        hours = round(hours + excluded.hours, 2),
        diamonds = diamonds + excluded.diamonds,
        followers = followers + excluded.followers;
END;

CREATE TRIGGER progress_alltime_update AFTER UPDATE ON progress_totals
WHEN new.period_kind = 'month'
BEGIN
    UPDATE progress_alltime SET
        checkins = checkins + new.checkins - old.checkins,
        valid_days = valid_days + new.valid_days - old.valid_days,
        hours = round(hours + new.hours - old.hours, 2),
        diamonds = diamonds + new.diamonds - old.diamonds,
        followers = followers + new.followers - old.followers
    WHERE guild_id = new.guild_id AND user_id = new.user_id;
END;

CREATE TRIGGER progress_alltime_delete AFTER DELETE ON progress_totals
WHEN old.period_kind = 'month'
BEGIN
    UPDATE progress_alltime SET
        checkins = checkins - old.checkins,
        valid_days = valid_days - old.valid_days,
        hours = round(hours - old.hours, 2),
        diamonds = diamonds - old.diamonds,
        followers = followers - old.followers
    WHERE guild_id = old.guild_id AND user_id = old.user_id;
END;

CREATE INDEX alltime_top_hours ON progress_alltime (guild_id, hours DESC, user_id);
CREATE INDEX alltime_top_diamonds ON progress_alltime (guild_id, diamonds DESC, user_id);
CREATE INDEX alltime_top_followers ON progress_alltime (guild_id, followers DESC, user_id);
CREATE INDEX alltime_top_checkins ON progress_alltime (guild_id, checkins DESC, user_id);

-- Weeks and months ranked straight from an index, ties in user id order (0004's indexes lack
-- the user id, so a metric with many ties, like check-in days, would need a sort).
CREATE INDEX progress_rank_hours
    ON progress_totals (guild_id, period_kind, period, hours DESC, user_id);
CREATE INDEX progress_rank_diamonds
    ON progress_totals (guild_id, period_kind, period, diamonds DESC, user_id);
CREATE INDEX progress_rank_followers
    ON progress_totals (guild_id, period_kind, period, followers DESC, user_id);
CREATE INDEX progress_rank_checkins
    ON progress_totals (guild_id, period_kind, period, checkins DESC, user_id);
-- One day's board ("today"), and custom ranges, read check-ins by date.
CREATE INDEX checkins_day_hours ON checkins (guild_id, local_date, hours DESC, user_id);
CREATE INDEX checkins_day_diamonds ON checkins (guild_id, local_date, diamonds DESC, user_id);
CREATE INDEX checkins_day_followers ON checkins (guild_id, local_date, followers DESC, user_id);
CREATE INDEX checkins_day_users ON checkins (guild_id, local_date, user_id);
-- Current streaks, and the members of a tier.
CREATE INDEX checkin_streaks_top ON checkin_streaks (guild_id, current DESC, user_id);
CREATE INDEX member_tiers_tier ON member_tiers (guild_id, tier_id);

-- A scheduled board (kind 'week' or 'month' of period_key) is claimed before it is posted,
-- so a restart or a second sweep never posts it twice.
CREATE TABLE board_posts (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('week', 'month')),
    period_key  TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('claimed', 'sent', 'empty', 'failed')),
    channel_id  INTEGER,
    message_id  INTEGER,
    claimed_at  TEXT    NOT NULL,
    finished_at TEXT,
    late        INTEGER NOT NULL DEFAULT 0,
    detail      TEXT,
    UNIQUE (guild_id, kind, period_key)
);

-- Opt-in weekly nudge to a creator whose month-end pace misses their tier, one per ISO week
-- (claimed before the DM is sent, like board_posts).
CREATE TABLE pace_nudge_prefs (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE TABLE pace_nudges (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    week        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('claimed', 'sent', 'failed')),
    claimed_at  TEXT    NOT NULL,
    finished_at TEXT,
    detail      TEXT,
    UNIQUE (guild_id, user_id, week)
);
