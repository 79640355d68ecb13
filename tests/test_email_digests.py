"""Weekly digests: who is due, empty digests skipped, idempotent sweeps, contents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import to_db
from bot.services.digests import due_at
from bot.services.families import AGREEMENT_VERSION
from tests.test_email_support import body, make_sender, smtp_server  # noqa: F401

LENA = "lena@example.org"


async def verified(services, user, address, **prefs):
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, 1, user)
        stamp = to_db(services.clock.now() - timedelta(days=30))
        await tx.execute(
            "INSERT INTO email_addresses (guild_id, user_id, address, verified_at, created_at,"
            " updated_at) VALUES (1, ?, ?, ?, ?, ?)", (user, address, stamp, stamp, stamp))
    if prefs:
        await services.email.set_preferences(1, user, **prefs)


def test_due_at_is_the_last_local_digest_moment():
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    assert due_at(now, "UTC", 0, 9) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    # 09:00 in Mexico City is 15:00 UTC
    assert due_at(now, "America/Mexico_City", 2, 9) == datetime(2026, 2, 25, 15, 0, tzinfo=UTC)


async def test_leader_digest_once_a_week_and_empty_ones_skipped(services, smtp, clock):
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    family = await services.families.create(1, 99, "Lobos", 10)
    for user in (20, 21):
        request = await services.families.request_join(1, user, family.id, AGREEMENT_VERSION)
        await services.families.decide(1, 10, request.id, True)
    await services.families.request_join(1, 22, family.id, AGREEMENT_VERSION)
    await verified(services, 10, LENA, locale="es")
    await verified(services, 20, "ana@example.org")  # a creator: digest is opt-in
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # Monday 09:30 UTC
    assert await services.digests.sweep() == 1
    assert await services.digests.sweep() == 0  # idempotent
    await make_sender(services, smtp).drain()
    [msg] = smtp.to(LENA)
    assert msg["Subject"] == "Lobos: la semana de tu familia"
    text = body(msg, "plain")
    assert "Miembros: 3" in text and "al 1 mar 2026" in text
    assert "Tienes 1 solicitud de ingreso pendiente." in text
    assert msg["List-Unsubscribe"].startswith("<http")
    clock.advance(days=7)
    assert await services.digests.sweep() == 1  # next week: a new one
    await services.families.decide(1, 10, (await services.db.fetchval(
        "SELECT id FROM family_requests WHERE status = 'pending'")), False)


async def test_creator_digest_is_opt_in_and_not_sent_empty(services, clock):
    await verified(services, 20, "ana@example.org")
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE members SET program_role = 'creator' WHERE user_id = 20")
    assert await services.digests.sweep() == 0  # not opted in
    await services.email.set_preferences(1, 20, weekly_digest=True)
    clock.advance(days=7)
    assert await services.digests.sweep() == 0  # opted in, but no check-ins: empty
    assert await services.db.fetchval("SELECT count(*) FROM email_digest_log") == 1


async def test_manager_digest_follows_who_manages_now(services, smtp, clock):
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    await services.families.create(1, 99, "Lobos", 10)
    await verified(services, 30, "mara@example.org")
    await verified(services, 31, "olga@example.org")
    async with services.db.transaction() as tx:  # Mara verified while she was a manager
        await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = 30")
    now_managing = {30: False, 31: True}  # since then, Olga took over
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert await services.digests.sweep(
        is_manager=lambda g, u: now_managing.get(u)) == 1
    await make_sender(services, smtp).drain()
    assert smtp.to("mara@example.org") == []
    [msg] = smtp.to("olga@example.org")
    assert "Lobos" in body(msg, "plain")
    flags = dict(await services.db.fetchall(
        "SELECT user_id, manager FROM email_addresses ORDER BY user_id"))
    assert flags == {30: 0, 31: 1}  # remembered for sweeps that cannot ask Discord
    clock.advance(days=7)
    assert await services.digests.sweep(is_manager=lambda g, u: None) == 1  # Olga again


async def test_leader_digest_has_an_inline_chart_of_the_week(services, smtp, clock):
    clock.set(datetime(2026, 2, 17, 12, 0, tzinfo=UTC))
    family = await services.families.create(1, 99, "Lobos", 10)
    request = await services.families.request_join(1, 20, family.id, AGREEMENT_VERSION)
    await services.families.decide(1, 10, request.id, True)
    await verified(services, 10, LENA)
    stats = {"hours": "3", "diamonds": "100", "followers": "1", "peak_viewers": "5"}
    for day in (18, 25, 26):  # one day the week before, two this week
        clock.set(datetime(2026, 2, day, 20, 0, tzinfo=UTC))
        await services.checkins.submit(1, 20, stats)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert await services.digests.sweep() == 1
    await make_sender(services, smtp).drain()
    [msg] = smtp.to(LENA)
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert 'src="cid:daily"' in html.get_content()
    assert image.get_content_type() == "image/png" and image["Content-ID"] == "<daily>"
    assert image.get_content().startswith(b"\x89PNG")


async def test_a_digest_without_check_ins_has_no_chart(services, smtp, clock):
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    family = await services.families.create(1, 99, "Lobos", 10)
    request = await services.families.request_join(1, 20, family.id, AGREEMENT_VERSION)
    await services.families.decide(1, 10, request.id, True)
    await verified(services, 10, LENA)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    await services.digests.sweep()
    await make_sender(services, smtp).drain()
    [msg] = smtp.to(LENA)
    assert [p.get_content_type() for p in msg.get_payload()] == ["text/plain", "text/html"]
