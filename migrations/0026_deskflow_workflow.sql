-- #21 the ticket workflow: waiting on the creator (the resolution clock stands still), the
-- time a ticket's clock stood still in all (waits, and the days it stood closed before a
-- reopen), reopening, and the desk's two windows in days.
ALTER TABLE tickets ADD COLUMN waiting_since TEXT;  -- set by staff, cleared when the creator writes
ALTER TABLE tickets ADD COLUMN paused_seconds REAL NOT NULL DEFAULT 0;  -- finished pauses
ALTER TABLE tickets ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN reopened_at TEXT;
-- The auto-close sweep reads only the waiting tickets.
CREATE INDEX tickets_waiting ON tickets (guild_id, waiting_since)
    WHERE state = 'open' AND waiting_since IS NOT NULL;

-- Days a ticket waits on its creator before it closes itself, and days a closed ticket may
-- be reopened.
ALTER TABLE ticket_settings ADD COLUMN waiting_days INTEGER NOT NULL DEFAULT 7;
ALTER TABLE ticket_settings ADD COLUMN reopen_days INTEGER NOT NULL DEFAULT 7;
