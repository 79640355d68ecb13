-- Images shown inline in an email's HTML (a digest's chart): JSON {content id: base64 PNG},
-- NULL for mail without images.
ALTER TABLE email_outbox ADD COLUMN images TEXT;
