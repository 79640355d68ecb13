-- Creator profiles (who a member is on the streaming platform) and bulk roster imports.

-- One profile per member of a guild. The handle is stored normalised (no leading @, lower
-- case); handle and platform user id are each unique within a guild.
CREATE TABLE creator_profiles (
    guild_id           INTEGER NOT NULL,
    user_id            INTEGER NOT NULL,
    handle             TEXT,
    platform_user_id   TEXT,
    region             TEXT,
    language           TEXT,
    category           TEXT,
    -- dates as YYYY-MM-DD
    platform_joined_on TEXT,
    program_joined_on  TEXT,
    -- seen and written by managers only
    manager_notes      TEXT,
    updated_at         TEXT    NOT NULL,
    updated_by         INTEGER,
    PRIMARY KEY (guild_id, user_id)
);
CREATE UNIQUE INDEX creator_profiles_handle ON creator_profiles (guild_id, handle)
    WHERE handle IS NOT NULL;
CREATE UNIQUE INDEX creator_profiles_platform_id
    ON creator_profiles (guild_id, platform_user_id) WHERE platform_user_id IS NOT NULL;

-- A roster file a manager uploaded: previewed, then applied (once). The file's bytes are
-- kept apart (roster_upload_files) only until it is applied, or for a day.
CREATE TABLE roster_uploads (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    actor_id    INTEGER NOT NULL,
    file_name   TEXT    NOT NULL,
    -- SHA-256 of the file's bytes, hex
    file_hash   TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    applied_at  TEXT,
    applied_by  INTEGER,
    -- counts of the last preview, then of the apply: JSON {added, changed, unchanged, refused}
    counts      TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX roster_uploads_guild ON roster_uploads (guild_id, created_at);

CREATE TABLE roster_upload_files (
    upload_id INTEGER PRIMARY KEY REFERENCES roster_uploads (id) ON DELETE CASCADE,
    guild_id  INTEGER NOT NULL,
    data      BLOB    NOT NULL
);
