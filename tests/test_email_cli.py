"""``familia email test ADDRESS`` sends its own test mail and nothing else: the other rows
of the outbox (digests, verifications… due or not) are the bot's sender's, sent in its own
time, never by an operator checking the SMTP settings."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import load_settings
from bot.db import Database
from bot.mail import outbox
from bot.mail.cli import email_main
from tests._email import SmtpSink

CREATOR = "ana@example.org"


async def test_email_test_sends_only_its_test_mail(tmp_path, capsys):
    sink = SmtpSink()
    sink.controller.start()
    try:
        settings = load_settings(env_file=None, database_path=tmp_path / "f.db",
                                 smtp_host="127.0.0.1", smtp_port=sink.port,
                                 smtp_security="none")
        db = await Database.open(settings.database_path)
        try:
            await db.migrate()
            async with db.transaction() as tx:  # a digest to a creator, due now
                assert await outbox.enqueue(tx, outbox.Email(
                    CREATOR, "digest_leader", "digest:1", "Your week", "text", "<p>html</p>",
                    {}, 1, 30), Clock().now())
        finally:
            await db.close()

        assert await email_main(settings, "test", "ops@example.org") == 0
        assert capsys.readouterr().out.strip() == "test email to o•••@e•••.org: sent"
        assert [m["To"] for m in sink.messages] == ["ops@example.org"]

        db = await Database.open(settings.database_path)
        try:
            left = await db.fetchall("SELECT recipient, kind, state, attempts FROM email_outbox"
                                     " WHERE kind <> 'test'")
        finally:
            await db.close()
        # the creator's digest is still waiting for the bot, untried
        assert [tuple(r) for r in left] == [(CREATOR, "digest_leader", "queued", 0)]
    finally:
        sink.controller.stop()
