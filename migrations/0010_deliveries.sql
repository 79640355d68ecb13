-- One Discord delivery queue for everything Familia sends to Discord: channel posts, DMs and
-- role changes, written by a service in the transaction of the event that causes them and
-- drained by one sender (bot/delivery/). The email outbox gets the same lease columns.
--
-- States: queued -> sending (leased: lease_owner, lease_until, claimed_at) -> sent | failed,
-- or queued again (a temporary failure, next_attempt_at later). A row found 'sending' with
-- its lease run out is resumed: the sender reads Discord back (message history, or the
-- member's roles) before trying it again, so nothing is lost or sent twice.

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    -- what it is for: broadcast, reminder, rollcall, feedback, nudge, board, tier_role, ...
    kind            TEXT    NOT NULL,
    -- what caused it, for reports: 'broadcast:12', 'reminder:7' (NULL: nothing to report)
    source          TEXT,
    -- channel: a channel id; dm: a user id; role_add / role_remove: a member's user id
    target          TEXT    NOT NULL
                    CHECK (target IN ('channel', 'dm', 'role_add', 'role_remove')),
    target_id       INTEGER NOT NULL,
    role_id         INTEGER,
    -- where the messages go: the channel, or the DM channel once opened (NULL: open it)
    channel_id      INTEGER,
    -- JSON: {"content": text split into messages of at most 2,000 characters, or "parts":
    -- [text, ...] sent as they are; "mentions": allowed mentions ({"everyone": bool,
    -- "users": [id, ...]}; nothing pings by default); "components": buttons as
    -- View.to_components() writes them, and "files": [{"filename", "data" (base64)}], both
    -- with the last message; "fallback": another delivery queued when the DM is refused;
    -- "reason": the audit-log reason of a role change}
    payload         TEXT    NOT NULL DEFAULT '{}',
    dedupe_key      TEXT    NOT NULL,
    -- higher first: someone is waiting for it (feedback answered in a form)
    priority        INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    lease_owner     TEXT,
    lease_until     TEXT,
    claimed_at      TEXT,
    next_attempt_at TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- messages already on Discord (ids in message_ids, JSON list, in order)
    parts_sent      INTEGER NOT NULL DEFAULT 0,
    message_ids     TEXT    NOT NULL DEFAULT '[]',
    error           TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    UNIQUE (guild_id, dedupe_key)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_source ON deliveries (source, state);

-- Every broadcast delivery moves to the new queue (same ids, same parts already sent, the
-- reports unchanged). A row a dead process left claimed is resumed and read back, matching
-- the nonce it was sent with ("b<id>p<part>"); a pending one is simply sent, once.
INSERT INTO deliveries (id, guild_id, kind, source, target, target_id, channel_id, payload,
                        dedupe_key, state, lease_until, claimed_at, next_attempt_at, attempts,
                        parts_sent, message_ids, error, created_at, sent_at)
SELECT d.id, d.guild_id, 'broadcast', 'broadcast:' || d.broadcast_id, d.route,
       CASE d.route WHEN 'channel' THEN d.channel_id ELSE d.target_id END,
       d.channel_id,
       json_object('content', b.text,
                   'mentions', json_object('everyone', json(CASE b.allow_everyone
                                                            WHEN 1 THEN 'true'
                                                            ELSE 'false' END)),
                   'nonce', 'b' || d.id),
       'broadcast:' || d.broadcast_id || ':' || d.route || ':' || d.target_id,
       CASE d.state WHEN 'pending' THEN 'queued' WHEN 'claimed' THEN 'sending' ELSE d.state END,
       CASE d.state WHEN 'claimed' THEN coalesce(d.claimed_at, b.started_at, b.created_at) END,
       d.claimed_at,
       coalesce(b.started_at, b.created_at), d.attempts, d.parts_sent,
       CASE WHEN d.message_id IS NULL THEN '[]' ELSE json_array(d.message_id) END,
       d.error, coalesce(b.started_at, b.created_at), d.sent_at
FROM broadcast_deliveries d JOIN broadcasts b ON b.id = d.broadcast_id
WHERE d.route IN ('channel', 'dm');
DROP TABLE broadcast_deliveries;

ALTER TABLE email_outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE email_outbox ADD COLUMN claimed_at TEXT;
