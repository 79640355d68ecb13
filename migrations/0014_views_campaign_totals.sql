-- Running totals per campaign and creator, so a campaign board reads one small table instead
-- of summing every check-in of the campaign's days on each view (bench/views.py: 200 families,
-- 5,000 creators). Kept by triggers, the way progress_alltime is (0005): every write to
-- checkins (a check-in, an edit, "yesterday", a deletion, /me delete) and every campaign
-- created or changed (its days or its metric) keeps them equal to the campaign's metric summed
-- over the check-ins of its local days, whatever code path wrote. Values are kept rounded to
-- 2 decimals (a check-in's hours have at most 2), as the live sum is shown. A row whose days
-- drop to 0 is deleted: a creator with no check-in in the campaign's days has no row, as the
-- live sum has none. Streak campaigns have no rows (a streak is not a sum: standings compute
-- it). Check-ins must be written with INSERT or an upsert, never INSERT OR REPLACE (its
-- implicit delete fires no trigger).
CREATE TABLE campaign_totals (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    days        INTEGER NOT NULL,  -- the creator's check-ins in the campaign's days
    value       REAL    NOT NULL,  -- the campaign's metric summed over them
    PRIMARY KEY (campaign_id, user_id)
) WITHOUT ROWID;

-- A board's first page straight from the index (value DESC, then user id for ties).
CREATE INDEX campaign_totals_rank ON campaign_totals (campaign_id, value DESC, user_id);
-- The campaigns whose days hold a check-in's day, found by the triggers below.
CREATE INDEX campaigns_days ON campaigns (guild_id, last_day, first_day);

INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, value)
    SELECT c.id, c.guild_id, k.user_id, count(*),
           round(sum(CASE c.metric WHEN 'hours' THEN k.hours WHEN 'diamonds' THEN k.diamonds
                     WHEN 'followers' THEN k.followers ELSE 1 END), 2)
    FROM campaigns c JOIN checkins k ON k.guild_id = c.guild_id
         AND k.local_date BETWEEN c.first_day AND c.last_day
    WHERE c.metric <> 'streak'
    GROUP BY c.id, k.user_id;

CREATE TRIGGER campaign_totals_checkin_insert AFTER INSERT ON checkins
BEGIN
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, value)
    SELECT c.id, new.guild_id, new.user_id, 1,
           CASE c.metric WHEN 'hours' THEN new.hours WHEN 'diamonds' THEN new.diamonds
           WHEN 'followers' THEN new.followers ELSE 1 END
    FROM campaigns c WHERE c.guild_id = new.guild_id AND c.last_day >= new.local_date
         AND c.first_day <= new.local_date AND c.metric <> 'streak'
    ON CONFLICT (campaign_id, user_id) DO UPDATE SET
        days = days + 1, value = round(value + excluded.value, 2);
END;

-- The usual edit (the same day's check-in again): the difference, where the metric changed.
CREATE TRIGGER campaign_totals_checkin_edit AFTER UPDATE OF hours, diamonds, followers
ON checkins
WHEN old.guild_id = new.guild_id AND old.user_id = new.user_id
     AND old.local_date = new.local_date
BEGIN
    UPDATE campaign_totals SET value = round(value + CASE c.metric
            WHEN 'hours' THEN new.hours - old.hours
            WHEN 'diamonds' THEN new.diamonds - old.diamonds
            ELSE new.followers - old.followers END, 2)
    FROM campaigns c
    WHERE c.id = campaign_totals.campaign_id AND campaign_totals.user_id = new.user_id
      AND c.guild_id = new.guild_id AND c.last_day >= new.local_date
      AND c.first_day <= new.local_date
      AND ((c.metric = 'hours' AND new.hours IS NOT old.hours)
           OR (c.metric = 'diamonds' AND new.diamonds IS NOT old.diamonds)
           OR (c.metric = 'followers' AND new.followers IS NOT old.followers));
END;

-- A check-in moved to another day, creator or guild: out of the old day's campaigns, into
-- the new day's.
CREATE TRIGGER campaign_totals_checkin_move AFTER UPDATE OF guild_id, user_id, local_date
ON checkins
WHEN old.guild_id IS NOT new.guild_id OR old.user_id IS NOT new.user_id
     OR old.local_date IS NOT new.local_date
BEGIN
    UPDATE campaign_totals SET days = days - 1, value = round(value - CASE c.metric
            WHEN 'hours' THEN old.hours WHEN 'diamonds' THEN old.diamonds
            WHEN 'followers' THEN old.followers ELSE 1 END, 2)
    FROM campaigns c
    WHERE c.id = campaign_totals.campaign_id AND campaign_totals.user_id = old.user_id
      AND c.guild_id = old.guild_id AND c.last_day >= old.local_date
      AND c.first_day <= old.local_date;
    DELETE FROM campaign_totals WHERE user_id = old.user_id AND days <= 0 AND campaign_id IN (
        SELECT c.id FROM campaigns c WHERE c.guild_id = old.guild_id
               AND c.last_day >= old.local_date AND c.first_day <= old.local_date);
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, value)
    SELECT c.id, new.guild_id, new.user_id, 1,
           CASE c.metric WHEN 'hours' THEN new.hours WHEN 'diamonds' THEN new.diamonds
           WHEN 'followers' THEN new.followers ELSE 1 END
    FROM campaigns c WHERE c.guild_id = new.guild_id AND c.last_day >= new.local_date
         AND c.first_day <= new.local_date AND c.metric <> 'streak'
    ON CONFLICT (campaign_id, user_id) DO UPDATE SET
        days = days + 1, value = round(value + excluded.value, 2);
END;

CREATE TRIGGER campaign_totals_checkin_delete AFTER DELETE ON checkins
BEGIN
    UPDATE campaign_totals SET days = days - 1, value = round(value - CASE c.metric
            WHEN 'hours' THEN old.hours WHEN 'diamonds' THEN old.diamonds
            WHEN 'followers' THEN old.followers ELSE 1 END, 2)
    FROM campaigns c
    WHERE c.id = campaign_totals.campaign_id AND campaign_totals.user_id = old.user_id
      AND c.guild_id = old.guild_id AND c.last_day >= old.local_date
      AND c.first_day <= old.local_date;
    DELETE FROM campaign_totals WHERE user_id = old.user_id AND days <= 0 AND campaign_id IN (
        SELECT c.id FROM campaigns c WHERE c.guild_id = old.guild_id
               AND c.last_day >= old.local_date AND c.first_day <= old.local_date);
END;

CREATE TRIGGER campaign_totals_campaign_insert AFTER INSERT ON campaigns
WHEN new.metric <> 'streak'
BEGIN
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, value)
    SELECT new.id, new.guild_id, k.user_id, count(*),
           round(sum(CASE new.metric WHEN 'hours' THEN k.hours WHEN 'diamonds' THEN k.diamonds
                     WHEN 'followers' THEN k.followers ELSE 1 END), 2)
    FROM checkins k WHERE k.guild_id = new.guild_id
         AND k.local_date BETWEEN new.first_day AND new.last_day
    GROUP BY k.user_id;
END;

CREATE TRIGGER campaign_totals_campaign_change
AFTER UPDATE OF guild_id, first_day, last_day, metric ON campaigns
WHEN old.guild_id IS NOT new.guild_id OR old.first_day IS NOT new.first_day
     OR old.last_day IS NOT new.last_day OR old.metric IS NOT new.metric
BEGIN
    DELETE FROM campaign_totals WHERE campaign_id = new.id;
    INSERT INTO campaign_totals (campaign_id, guild_id, user_id, days, value)
    SELECT new.id, new.guild_id, k.user_id, count(*),
           round(sum(CASE new.metric WHEN 'hours' THEN k.hours WHEN 'diamonds' THEN k.diamonds
                     WHEN 'followers' THEN k.followers ELSE 1 END), 2)
    FROM checkins k WHERE new.metric <> 'streak' AND k.guild_id = new.guild_id
         AND k.local_date BETWEEN new.first_day AND new.last_day
    GROUP BY k.user_id;
END;

CREATE TRIGGER campaign_totals_campaign_delete AFTER DELETE ON campaigns
BEGIN
    DELETE FROM campaign_totals WHERE campaign_id = old.id;
END;
