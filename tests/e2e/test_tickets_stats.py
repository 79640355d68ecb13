"""/ticket stats end to end (#21 must-have 6): a manager gets the desk's numbers in one
ephemeral message (Spanish for a Spanish client), a creator is refused."""

from __future__ import annotations


async def test_manager_sees_the_numbers_and_a_creator_is_refused(app):
    s, guild = app.services, app.guild.id
    ana, sam = app.user("ana"), app.user("sam")
    await s.tickets.configure(guild, app.owner.id, 500, 501)
    first = (await s.tickets.open(guild, ana.id, "technical", "Key", "Fails")).ticket
    await s.tickets.open(guild, ana.id, "money", "Payout", "Late")
    await s.tickets.claim(guild, sam.id, first.id)
    text = await app.reply(app.owner, "ticket", {"period": "7d", "category": "technical"},
                           subcommand="stats")
    assert "last 7 days" in text and "Technical" in text
    assert "opened: 1 · open now: 1" in text and "SLA met 100%" in text
    assert f"<@{sam.id}>: 1" in text and "the share reopened" in text
    every = await app.reply(app.owner, "ticket", {}, subcommand="stats")
    assert "opened: 2 · open now: 2" in every and "Monetisation" in every
    es = await app.reply(app.owner, "ticket", {}, subcommand="stats", locale="es-ES")
    assert "nuevos: 2 · abiertos ahora: 2" in es and "últimos 30 días" in es
    refused = await app.reply(ana, "ticket", {}, subcommand="stats")
    assert "Only program managers" in refused and "opened:" not in refused
