-- An email's rendered content, apart from its outbox row. The sender writes the outbox row
-- several times per email (the claim, the lease's renewals, the outcome), and each UPDATE
-- rewrote the whole record, bodies and chart included (several KB, on overflow pages). The
-- bodies are written once, in the transaction that queues the row, and read once, when the
-- message is built; they go with their row (ON DELETE CASCADE: /me delete).
CREATE TABLE email_bodies (
    outbox_id INTEGER PRIMARY KEY REFERENCES email_outbox (id) ON DELETE CASCADE,
    subject   TEXT    NOT NULL,
    body_text TEXT    NOT NULL,
    body_html TEXT    NOT NULL,
    -- JSON object of extra headers (List-Unsubscribe, List-Unsubscribe-Post).
    headers   TEXT    NOT NULL DEFAULT '{}',
    -- Images shown inline in the HTML: JSON {content id: base64 PNG}, NULL for none.
    images    TEXT
);

INSERT INTO email_bodies (outbox_id, subject, body_text, body_html, headers, images)
SELECT id, subject, body_text, body_html, headers, images FROM email_outbox;

ALTER TABLE email_outbox DROP COLUMN subject;
ALTER TABLE email_outbox DROP COLUMN body_text;
ALTER TABLE email_outbox DROP COLUMN body_html;
ALTER TABLE email_outbox DROP COLUMN headers;
ALTER TABLE email_outbox DROP COLUMN images;
