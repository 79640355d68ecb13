-- Who is counted in the figures (bot/services/population.py).

-- Whether leaders and co-leaders count in the figures: 'streaming' (default: on the days
-- they stream, i.e. have a check-in), 'always' (like any creator) or 'never'.
ALTER TABLE guilds ADD COLUMN leaders_count TEXT NOT NULL DEFAULT 'streaming'
    CHECK (leaders_count IN ('streaming', 'always', 'never'));

-- How a membership began: 'creator' (joined, was invited, transferred or was added) or
-- 'leader' (appointed leader or co-leader of a family they were not in). Joins and leaves
-- count creators' memberships only.
ALTER TABLE family_members ADD COLUMN started_as TEXT NOT NULL DEFAULT 'creator'
    CHECK (started_as IN ('creator', 'leader'));

-- Memberships begun with an appointment before this column existed: the current leader's or
-- co-leader's membership that began with the family, or at the moment of their appointment
-- (its audit entry).
UPDATE family_members SET started_as = 'leader'
WHERE EXISTS (
    SELECT 1 FROM families f WHERE f.id = family_members.family_id
      AND family_members.user_id IN (f.leader_user_id, f.co_leader_user_id)
      AND (abs(julianday(family_members.joined_at) - julianday(f.created_at)) < 1.0 / 1440
           OR EXISTS (SELECT 1 FROM audit_log a WHERE a.guild_id = f.guild_id
                        AND a.action IN ('family.leader', 'family.co_leader')
                        AND a.target = CAST(f.id AS TEXT)
                        AND abs(julianday(a.created_at) - julianday(family_members.joined_at))
                            < 1.0 / 1440)));
