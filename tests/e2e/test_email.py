"""/email end to end: the real bot, the emulator and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re

import pytest

from bot.mail.smtp import Connection
from tests._email import body, smtp_config

ANA = "ana@example.org"


@pytest.fixture
def mail(app, smtp):
    """Point the running bot's sender at the test SMTP server."""
    sender = app.bot.email_sender
    sender.config = smtp_config(smtp)
    sender.connections = [Connection(sender.config)]
    return smtp


async def test_set_code_verify_preferences(app, mail):
    ana = app.user("ana")
    it = await app.run(ana, "email", {"address": ANA}, subcommand="set")
    text = await it.reply_text()
    assert it.ephemeral and "a•••@e•••.org" in text and ANA not in text
    msgs = await app.emu.wait_for(lambda: mail.to(ANA), what="the code email")
    code = re.search(r"\b(\d{6})\b", body(msgs[0], "plain")).group(1)
    # a wrong code first: refused, with the tries left
    text = await app.reply(ana, "email", {"code": "000000" if code != "000000" else "111111"},
                           subcommand="verify")
    assert "not right" in text and "4 tries left" in text
    it = await app.run(ana, "email", {"code": code}, subcommand="verify")
    text = await it.reply_text()
    assert it.ephemeral and "verified" in text and ANA not in text
    text = await app.reply(ana, "email", {"digest": False, "day": 4, "language": "es"},
                           subcommand="preferences")
    assert "Saved." in text and "Weekly digest: off, Friday" in text
    found = await app.services.email.get(app.guild.id, ana.id)
    assert found.verified and found.weekly_digest is False and found.locale == "es"
    # /email and its masked reply never show the address in the channel
    for message in app.emu.messages(app.emu.default_channel(app.guild)):
        assert ANA not in message.content


async def test_bad_address_is_refused_in_spanish(app, mail):
    ana = app.user("ana", locale="es-ES")
    it = await app.run(ana, "email", {"address": "ana@"}, subcommand="set")
    text = await it.reply_text()
    assert it.ephemeral and "no es una dirección de correo" in text
    assert await app.services.email.get(app.guild.id, ana.id) is None
    text = await app.reply(ana, "email", {"code": "123456"}, subcommand="verify")
    assert "No hay ningún código pendiente" in text


async def test_remove_and_manager_schedule(app, mail):
    ana = app.user("ana")
    assert "no email address" in await app.reply(ana, "email", subcommand="remove")
    await app.run(ana, "email", {"address": ANA}, subcommand="set")
    assert "forgotten" in await app.reply(ana, "email", subcommand="remove")
    assert "Only program managers" in await app.reply(ana, "email", {"day": 2},
                                                      subcommand="schedule")
    text = await app.reply(app.owner, "email", {"day": 2, "hour": 18}, subcommand="schedule")
    assert "Wednesday at 18:00" in text


async def test_unsubscribe_endpoint_and_health_are_served(app, mail):
    import aiohttp

    port = app.bot.web.port
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
            report = await health.json()  # the real bot: connected, both senders running
            assert health.status == 200 and report["status"] == "ok", report
            assert report["gateway"] is True and report["database"] is True
            assert report["senders"] == {"discord": True, "email": True}
        async with http.get(f"http://127.0.0.1:{port}/unsubscribe?t=forged.token") as bad:
            assert bad.status == 400


async def test_leaving_the_server_sends_one_exit_survey(app, mail):
    ana = app.user("ana")
    await app.run(ana, "email", {"address": ANA}, subcommand="set")
    msgs = await app.emu.wait_for(lambda: mail.to(ANA), what="the code email")
    code = re.search(r"\b(\d{6})\b", body(msgs[0], "plain")).group(1)
    await (await app.run(ana, "email", {"code": code}, subcommand="verify")).reply_text()
    app.emu.remove_member(app.guild, ana)
    surveys = await app.emu.wait_for(
        lambda: [m for m in mail.to(ANA) if "Tell us why" in m["Subject"]], what="the survey")
    assert len(surveys) == 1 and "/exit?t=" in body(surveys[0], "plain")
