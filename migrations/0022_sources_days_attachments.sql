-- One truth per figure beyond the progress model (#18): campaign totals, day boards, a custom
-- range's loose days and the digests read the platform's daily figures of some days for
-- everyone (bot/services/day_figures.py). platform_stats' key starts with the creator, so
-- those reads would scan a guild's every imported row; this index finds a day's rows.
CREATE INDEX platform_stats_days ON platform_stats (guild_id, period_kind, period);

-- Files sent with an email (#18: an export past Discord's attachment size goes by email):
-- one row per file, in order, deleted with its outbox row. Kept apart from email_bodies so
-- the mail without files (nearly all) reads and writes exactly what it did; the sender reads
-- them only for a row of a kind that carries files (bot/mail/outbox.py, ATTACHING).
CREATE TABLE email_attachments (
    outbox_id    INTEGER NOT NULL REFERENCES email_outbox (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    data         TEXT    NOT NULL,  -- base64, as it goes on the wire
    PRIMARY KEY (outbox_id, position)
) WITHOUT ROWID;
