-- Platform statistics imported from the streaming platform's exports (TikTok LIVE Backstage
-- and similar), the imports that brought them, and which source each figure follows.

-- Which source the progress model uses per metric: 'imported' (the platform's figure where
-- one was imported for that creator and day or month, else the check-in) or 'checkins' (the
-- check-ins only); and the reconciliation's tolerance, in percent. A missing row means the
-- defaults.
CREATE TABLE stat_settings (
    guild_id      INTEGER PRIMARY KEY,
    hours         TEXT NOT NULL DEFAULT 'imported' CHECK (hours IN ('imported', 'checkins')),
    diamonds      TEXT NOT NULL DEFAULT 'imported' CHECK (diamonds IN ('imported', 'checkins')),
    followers     TEXT NOT NULL DEFAULT 'imported' CHECK (followers IN ('imported', 'checkins')),
    valid_days    TEXT NOT NULL DEFAULT 'imported' CHECK (valid_days IN ('imported', 'checkins')),
    tolerance_pct REAL NOT NULL DEFAULT 10 CHECK (tolerance_pct BETWEEN 0 AND 1000),
    updated_at    TEXT NOT NULL
);

-- One uploaded stats file: staged (previewed, not applied), applied, or rolled back.
-- granularity 'day' (first/last_period YYYY-MM-DD) or 'month' (YYYY-MM).
CREATE TABLE stat_imports (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    file_hash      TEXT    NOT NULL,  -- SHA-256 of the file's bytes
    file_name      TEXT    NOT NULL,
    granularity    TEXT    NOT NULL CHECK (granularity IN ('day', 'month')),
    first_period   TEXT,
    last_period    TEXT,
    rows_read      INTEGER NOT NULL DEFAULT 0,
    rows_refused   INTEGER NOT NULL DEFAULT 0,
    creators       INTEGER NOT NULL DEFAULT 0,
    added          INTEGER NOT NULL DEFAULT 0,
    changed        INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    state          TEXT    NOT NULL CHECK (state IN ('staged', 'applied', 'rolled_back')),
    created_by     INTEGER,
    created_at     TEXT    NOT NULL,
    applied_at     TEXT,
    rolled_back_by INTEGER,
    rolled_back_at TEXT
);
CREATE INDEX stat_imports_guild ON stat_imports (guild_id, id);

-- The platform's figures per creator and day ('day', YYYY-MM-DD, the creator's day) or month
-- ('month', YYYY-MM, when only monthly totals exist). A NULL metric was not in the file: that
-- figure stays the check-in's. import_id: the import that wrote the row as it is now.
CREATE TABLE platform_stats (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    period_kind  TEXT    NOT NULL CHECK (period_kind IN ('day', 'month')),
    period       TEXT    NOT NULL,
    hours        REAL,
    diamonds     INTEGER,
    followers    INTEGER,
    valid_days   INTEGER,
    sessions     INTEGER,
    peak_viewers INTEGER,
    avg_viewers  INTEGER,
    gifters      INTEGER,
    import_id    INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, period_kind, period)
) WITHOUT ROWID;
-- No other index: an import writes hundreds of thousands of rows (bench/imports.py), and
-- every read goes by guild and creator; a rollback, rare, scans for its import's rows.

-- A file's rows between its preview and Apply (kept in the database, so Apply works after a
-- restart); deleted when applied or discarded. A plain table in the file's order (the reader
-- already refused a creator and period twice): Apply reads it by rowid ranges.
CREATE TABLE platform_staging (
    import_id    INTEGER NOT NULL,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    period_kind  TEXT    NOT NULL,
    period       TEXT    NOT NULL,
    hours        REAL,
    diamonds     INTEGER,
    followers    INTEGER,
    valid_days   INTEGER,
    sessions     INTEGER,
    peak_viewers INTEGER,
    avg_viewers  INTEGER,
    gifters      INTEGER
);

-- The rows an applied import replaced (their figures then, and the import that had written
-- them), so rolling it back puts them back.
CREATE TABLE platform_replaced (
    import_id     INTEGER NOT NULL,
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    period_kind   TEXT    NOT NULL,
    period        TEXT    NOT NULL,
    hours         REAL,
    diamonds      INTEGER,
    followers     INTEGER,
    valid_days    INTEGER,
    sessions      INTEGER,
    peak_viewers  INTEGER,
    avg_viewers   INTEGER,
    gifters       INTEGER,
    old_import_id INTEGER NOT NULL,
    PRIMARY KEY (import_id, user_id, period_kind, period)
) WITHOUT ROWID;
