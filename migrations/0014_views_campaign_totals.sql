-- Running totals per campaign and creator, so a campaign board reads one small table instead
-- of summing every check-in of the campaign's days on each view (bench/views.py: 200 families,
-- 5,000 creators). Kept by triggers, the way progress_alltime is (0005): every write to
-- checkins (a check-in, an edit, "yesterday", a deletion, /me delete) and every campaign
-- created or moved to other days keeps them equal to the sum over the check-ins of the
-- campaign's local days, whatever code path wrote. Hours are kept rounded to 2 decimals (a
-- check-in's hours have at most 2), as the live sum is shown. A row whose days drop to 0 is
-- deleted: a creator with no check-in in the campaign's days has no row, as the live sum has
-- none. The streak metric is not kept here (it is not a sum): standings compute it.
CREATE TABLE campaign_totals (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    days        INTEGER NOT NULL DEFAULT 0,
    hours       REAL    NOT NULL DEFAULT 0,
    diamonds    INTEGER NOT NULL DEFAULT 0,
    followers   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, user_id)
) WITHOUT ROWID;

-- A board's first page straight from an index (metric DESC, then user id for ties).
CREATE INDEX campaign_totals_hours ON campaign_totals (campaign_id, hours DESC, user_id);
CREATE INDEX campaign_totals_diamonds ON campaign_totals (campaign_id, diamonds DESC, user_id);
CREATE INDEX campaign_totals_followers
    ON campaign_totals (campaign_id, followers DESC, user_id);
CREATE INDEX campaign_totals_days ON campaign_totals (campaign_id, days DESC, user_id);
-- The campaigns whose days hold a check-in's day, found by the triggers below.
CREATE INDEX campaigns_days ON campaigns (guild_id, last_day, first_day);

INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, hours, diamonds, followers)
    SELECT c.id, c.guild_id, k.user_id, count(*), round(sum(k.hours), 2), sum(k.diamonds),
           sum(k.followers)
    FROM campaigns c JOIN checkins k ON k.guild_id = c.guild_id
         AND k.local_date BETWEEN c.first_day AND c.last_day
    GROUP BY c.id, k.user_id;

CREATE TRIGGER campaign_totals_checkin_insert AFTER INSERT ON checkins
BEGIN
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, hours, diamonds,
                                 followers)
    SELECT c.id, new.guild_id, new.user_id, 1, new.hours, new.diamonds, new.followers
    FROM campaigns c WHERE c.guild_id = new.guild_id AND c.last_day >= new.local_date
         AND c.first_day <= new.local_date
    ON CONFLICT (campaign_id, user_id) DO UPDATE SET
        days = days + 1,
        hours = round(hours + excluded.hours, 2),
        diamonds = diamonds + excluded.diamonds,
        followers = followers + excluded.followers;
END;

CREATE TRIGGER campaign_totals_checkin_update
AFTER UPDATE OF guild_id, user_id, local_date, hours, diamonds, followers ON checkins
BEGIN
    UPDATE campaign_totals SET
        days = days - 1,
        hours = round(hours - old.hours, 2),
        diamonds = diamonds - old.diamonds,
        followers = followers - old.followers
    WHERE user_id = old.user_id AND campaign_id IN (
        SELECT c.id FROM campaigns c WHERE c.guild_id = old.guild_id
               AND c.last_day >= old.local_date AND c.first_day <= old.local_date);
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, hours, diamonds,
                                 followers)
    SELECT c.id, new.guild_id, new.user_id, 1, new.hours, new.diamonds, new.followers
    FROM campaigns c WHERE c.guild_id = new.guild_id AND c.last_day >= new.local_date
         AND c.first_day <= new.local_date
    ON CONFLICT (campaign_id, user_id) DO UPDATE SET
        days = days + 1,
        hours = round(hours + excluded.hours, 2),
        diamonds = diamonds + excluded.diamonds,
        followers = followers + excluded.followers;
    DELETE FROM campaign_totals WHERE user_id = old.user_id AND days <= 0 AND campaign_id IN (
        SELECT c.id FROM campaigns c WHERE c.guild_id = old.guild_id
               AND c.last_day >= old.local_date AND c.first_day <= old.local_date);
END;

CREATE TRIGGER campaign_totals_checkin_delete AFTER DELETE ON checkins
BEGIN
    UPDATE campaign_totals SET
        days = days - 1,
        hours = round(hours - old.hours, 2),
        diamonds = diamonds - old.diamonds,
        followers = followers - old.followers
    WHERE user_id = old.user_id AND campaign_id IN (
        SELECT c.id FROM campaigns c WHERE c.guild_id = old.guild_id
               AND c.last_day >= old.local_date AND c.first_day <= old.local_date);
    DELETE FROM campaign_totals WHERE user_id = old.user_id AND days <= 0 AND campaign_id IN (
        SELECT c.id FROM campaigns c WHERE c.guild_id = old.guild_id
               AND c.last_day >= old.local_date AND c.first_day <= old.local_date);
END;

CREATE TRIGGER campaign_totals_campaign_insert AFTER INSERT ON campaigns
BEGIN
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, hours, diamonds,
                                 followers)
    SELECT new.id, new.guild_id, k.user_id, count(*), round(sum(k.hours), 2), sum(k.diamonds),
           sum(k.followers)
    FROM checkins k WHERE k.guild_id = new.guild_id
         AND k.local_date BETWEEN new.first_day AND new.last_day
    GROUP BY k.user_id;
END;

CREATE TRIGGER campaign_totals_campaign_days AFTER UPDATE OF guild_id, first_day, last_day
ON campaigns
WHEN old.guild_id IS NOT new.guild_id OR old.first_day IS NOT new.first_day
     OR old.last_day IS NOT new.last_day
BEGIN
    DELETE FROM campaign_totals WHERE campaign_id = new.id;
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, hours, diamonds,
                                 followers)
    SELECT new.id, new.guild_id, k.user_id, count(*), round(sum(k.hours), 2), sum(k.diamonds),
           sum(k.followers)
    FROM checkins k WHERE k.guild_id = new.guild_id
         AND k.local_date BETWEEN new.first_day AND new.last_day
    GROUP BY k.user_id;
END;

CREATE TRIGGER campaign_totals_campaign_delete AFTER DELETE ON campaigns
BEGIN
    DELETE FROM campaign_totals WHERE campaign_id = old.id;
END;

