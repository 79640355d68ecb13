-- A check-in writes two progress_totals rows (its week and its month), and every index of the
-- table is written with each. Three of 0004's top-N indexes are the leading columns of 0005's
-- rank indexes (the same columns, then user_id for ties), so any query one serves, the other
-- serves as well: dropped, they are three index writes fewer per row (bench/checkins.py).
-- progress_top_days stays: no rank index leads with valid_days.
DROP INDEX IF EXISTS progress_top_hours;
DROP INDEX IF EXISTS progress_top_diamonds;
DROP INDEX IF EXISTS progress_top_followers;
