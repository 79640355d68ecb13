-- The /setup wizard (#23): how far a server's managers got through its steps, and the
-- channels picked for a step that needs two before it can be saved (the support desk's
-- support and staff channels). What a step configures lives in its own tables (guilds,
-- guild_channels, tiers, …); this only remembers the wizard's place, so /setup resumes.
-- key: 'step:<step>' with value 'done' or 'skipped'; 'pick:<what>' with a channel id.
CREATE TABLE setup_state (
    guild_id   INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, key)
);
