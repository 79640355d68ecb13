"""/export past the server's attachment size, end to end: the real bot, the emulator and a real
SMTP server (aiosmtpd). The manager's answer says the file went by email (address masked), and
the email carries the very workbook."""

from __future__ import annotations

import io
from datetime import timedelta

import discord
import pytest
from openpyxl import load_workbook

from bot.clock import to_db
from bot.mail.smtp import Connection
from tests._email import smtp_config

pytestmark = pytest.mark.slow
MARA = "mara@example.org"


@pytest.fixture
def mail(app, smtp):
    """Point the running bot's sender at the test SMTP server."""
    sender = app.bot.email_sender
    sender.config = smtp_config(smtp)
    sender.connections = [Connection(sender.config)]
    return smtp


async def test_an_export_past_the_attachment_size_arrives_by_email(app, mail, monkeypatch):
    made = await app.program("small")
    # The emulator's server allows 10 MB a file, as Discord does; an export that big takes
    # minutes to build on this machine, so the limit discord.py reports is made small instead.
    monkeypatch.setattr(discord.Guild, "filesize_limit", property(lambda self: 4096))
    services = app.services
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, app.guild.id, app.owner.id)
        stamp = to_db(services.clock.now() - timedelta(days=1))
        await tx.execute(
            "INSERT INTO email_addresses (guild_id, user_id, address, verified_at, manager,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
            (app.guild.id, app.owner.id, MARA, stamp, stamp, stamp))
    it = await app.run(app.owner, "export", {"period": "all"}, subcommand="checkins")
    message = await it.wait_message(15)
    assert not message.attachments
    assert "on its way by email to m•••@e•••.org" in message.content, message.content
    assert f"is ready: {made.checkins:,} rows" in message.content and MARA not in message.content
    [msg] = await app.emu.wait_for(lambda: mail.to(MARA), what="the export by email")
    [attached] = list(msg.iter_attachments())
    assert attached.get_filename().endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(attached.get_content())).active.iter_rows(
        values_only=True))
    assert len(rows) - 1 == made.checkins and rows[0][:2] == ("Date", "Discord user")
    # a leader's export that big is refused with what to narrow (in the leader's Spanish)
    family = made.families[0]
    leader = made.extra["users"][family.leader_id]
    it = await app.run(leader, "export", {"period": "all"}, subcommand="checkins")
    text = await it.reply_text(15)
    assert "Elige una familia, un periodo más corto o CSV." in text and it.ephemeral
