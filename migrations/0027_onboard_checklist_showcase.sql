-- #22: the onboarding checklist and the monthly showcase.

-- A guild's onboarding settings (a missing row: the defaults). email_step: whether adding and
-- verifying an email is a step of the checklist; stuck_days: a member whose checklist has not
-- moved in this many days is named in their leader's daily summary.
CREATE TABLE onboarding_settings (
    guild_id   INTEGER PRIMARY KEY,
    email_step INTEGER NOT NULL DEFAULT 0 CHECK (email_step IN (0, 1)),
    stuck_days INTEGER NOT NULL DEFAULT 7 CHECK (stuck_days BETWEEN 1 AND 90),
    updated_at TEXT    NOT NULL
);

-- One checklist per member of a guild, started when they first join a family or when their
-- application is accepted. The steps' states are NOT stored: each is read from the facts the
-- other features keep (an agreement acceptance, a check-in, a feedback, an enrolment...).
-- applied_at: when the application was made (time to onboard is measured from it, else from
-- started_at).
CREATE TABLE onboarding_checklists (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('join', 'application')),
    application_id INTEGER,
    applied_at     TEXT,
    started_at     TEXT    NOT NULL,
    UNIQUE (guild_id, user_id)
);

-- A guild's showcase settings: where the month's featured moments are posted, and how many
-- entries each family's leaders may nominate a month.
CREATE TABLE showcase_settings (
    guild_id    INTEGER PRIMARY KEY,
    channel_id  INTEGER,
    nominations INTEGER NOT NULL DEFAULT 3 CHECK (nominations BETWEEN 1 AND 25),
    updated_at  TEXT    NOT NULL
);

-- A LIVE moment a creator submitted for the month of its date (the program's calendar).
-- state: submitted → shortlisted → featured, or rejected (with a note); nominated_at/by: a
-- leader of the creator's family nominated it.
CREATE TABLE showcase_entries (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    family_id    INTEGER,
    month        TEXT    NOT NULL,
    url          TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    what_worked  TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    live_date    TEXT    NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'submitted'
                 CHECK (state IN ('submitted', 'shortlisted', 'featured', 'rejected')),
    note         TEXT,
    nominated_at TEXT,
    nominated_by INTEGER,
    curated_at   TEXT,
    curated_by   INTEGER,
    created_at   TEXT    NOT NULL,
    UNIQUE (guild_id, user_id, url)
);
CREATE INDEX showcase_entries_month ON showcase_entries (guild_id, month, state);

-- The month-end showcase of a guild, claimed with its post and emails in one transaction:
-- never twice. state: 'queued' (posted through the delivery queue), 'no_channel', 'empty'.
CREATE TABLE showcase_posts (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    month      TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('queued', 'no_channel', 'empty')),
    channel_id INTEGER,
    entries    INTEGER NOT NULL DEFAULT 0,
    emails     INTEGER NOT NULL DEFAULT 0,
    claimed_at TEXT    NOT NULL,
    UNIQUE (guild_id, month)
);
