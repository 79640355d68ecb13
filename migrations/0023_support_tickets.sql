-- #21 support desk: where tickets live, their categories, and the tickets.
CREATE TABLE ticket_settings (
    guild_id           INTEGER PRIMARY KEY,
    support_channel_id INTEGER NOT NULL,  -- private threads are created here
    staff_channel_id   INTEGER NOT NULL,  -- the staff-only context of each ticket
    updated_at         TEXT    NOT NULL
);

CREATE TABLE ticket_categories (
    id                   INTEGER PRIMARY KEY,
    guild_id             INTEGER NOT NULL,
    key                  TEXT    NOT NULL,
    position             INTEGER NOT NULL,
    role_id              INTEGER,           -- the support role added to its threads
    first_response_hours REAL    NOT NULL CHECK (first_response_hours > 0),
    resolution_hours     REAL    NOT NULL CHECK (resolution_hours > 0),
    add_leader           INTEGER NOT NULL DEFAULT 0 CHECK (add_leader IN (0, 1)),
    allow_multiple       INTEGER NOT NULL DEFAULT 0 CHECK (allow_multiple IN (0, 1)),
    UNIQUE (guild_id, key)
);

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    number            INTEGER NOT NULL,     -- #1, #2 … per guild
    user_id           INTEGER NOT NULL,     -- the creator who asked
    category_id       INTEGER NOT NULL REFERENCES ticket_categories (id),
    subject           TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    via               TEXT    NOT NULL CHECK (via IN ('command', 'panel', 'dm')),
    state             TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    thread_id         INTEGER,              -- NULL until Discord created it
    assignee_id       INTEGER,
    priority          TEXT    NOT NULL DEFAULT 'normal'
                      CHECK (priority IN ('normal', 'high', 'urgent')),
    opened_at         TEXT    NOT NULL,
    first_response_at TEXT,                 -- staff's first Claim or /ticket reply
    closed_at         TEXT,
    closed_by         INTEGER,
    close_reason      TEXT,
    close_note        TEXT,
    UNIQUE (guild_id, number)
);
CREATE INDEX tickets_open ON tickets (guild_id, user_id, category_id) WHERE state = 'open';
CREATE INDEX tickets_thread ON tickets (guild_id, thread_id);
CREATE INDEX tickets_sla ON tickets (guild_id, category_id, opened_at) WHERE state = 'open';

-- Internal notes: staff see them (staff channel), the creator never does; they go with
-- their ticket.
CREATE TABLE ticket_notes (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL,
    body       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
CREATE INDEX ticket_notes_ticket ON ticket_notes (ticket_id);
