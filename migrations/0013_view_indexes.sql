-- Indexes that let the listing views of a large program (bench/views.py: 200 families,
-- 5,000 creators) read what they need from an index alone, without a table lookup per row.

-- Active memberships with their family: who is in which family, for the tier sweep's plan
-- and family against family (family_members_one_active lacks the family). The planner
-- prefers a unique index, so the statements that want this one name it (INDEXED BY).
CREATE INDEX family_members_active_family
    ON family_members (guild_id, user_id, family_id, left_at) WHERE left_at IS NULL;

-- A month's progress of every creator with the values tier thresholds are about: the tier
-- sweep's plan reads them in user order.
CREATE INDEX progress_month_tiers
    ON progress_totals (guild_id, period_kind, period, user_id, hours, diamonds, valid_days,
                        followers)
    WHERE period_kind = 'month';

-- The tier each member holds, looked up per member by the tier sweep's plan (named there:
-- the primary key's index would be preferred and needs a table lookup).
CREATE INDEX member_tiers_held ON member_tiers (guild_id, user_id, tier_id);
