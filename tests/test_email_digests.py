"""Weekly digests: who is due, empty digests skipped, idempotent sweeps, contents."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.digests import due_at
from bot.services.families import AGREEMENT_VERSION
from tests._email import body, make_sender, verified
from tests.test_charts import corner_pixel, png_size

LENA = "lena@example.org"


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
    # Two creators; the leader (no check-in) does not count by default, and says so.
    assert "Miembros: 2" in text and "al 1 mar 2026" in text
    assert "líderes y colíderes los días que transmiten" in text
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
    await checkin(services, clock, 10, datetime(2026, 2, 25, 20, tzinfo=UTC), 2)
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
    await checkin(services, clock, 10, datetime(2026, 3, 4, 20, tzinfo=UTC), 2)
    clock.set(datetime(2026, 3, 9, 9, 30, tzinfo=UTC))
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
    # drawn for a light email read 560 px wide (twice that for sharp screens)
    assert 'width="560"' in html.get_content()
    assert png_size(image.get_content()) == (1120, 640)
    assert corner_pixel(image.get_content()) == (255, 255, 255)


async def test_a_digest_without_check_ins_has_no_chart(services, smtp, clock):
    clock.set(datetime(2026, 2, 25, 12, 0, tzinfo=UTC))  # a join this week, no check-ins
    family = await services.families.create(1, 99, "Lobos", 10)
    request = await services.families.request_join(1, 20, family.id, AGREEMENT_VERSION)
    await services.families.decide(1, 10, request.id, True)
    await verified(services, 10, LENA)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    await services.digests.sweep()
    await make_sender(services, smtp).drain()
    [msg] = smtp.to(LENA)
    assert [p.get_content_type() for p in msg.get_payload()] == ["text/plain", "text/html"]


NAMES = {20: "Bea", 21: "Caro", 22: "Dani", 10: "Lena"}
STATS = {"diamonds": "100", "followers": "2", "peak_viewers": "5"}


async def checkin(services, clock, user, when, hours):
    clock.set(when)
    return await services.checkins.submit(1, user, {**STATS, "hours": str(hours)})


async def lobos(services, clock, members=(20, 21, 22)):
    clock.set(datetime(2026, 2, 10, 12, 0, tzinfo=UTC))
    family = await services.families.create(1, 99, "Lobos", 10)
    for user in members:
        request = await services.families.request_join(1, user, family.id, AGREEMENT_VERSION)
        await services.families.decide(1, 10, request.id, True)
    return family


async def test_leader_digest_names_top_performers_slipping_members_and_campaigns(
        services, smtp, clock):
    from bot.localtime import parse_local
    from bot.services.campaigns.models import Spec

    await lobos(services, clock)
    await verified(services, 10, LENA)
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    campaign = await services.campaigns.create(1, 99, Spec(
        name="Spring push", metric="hours", start=parse_local("2026-02-23"),
        end=parse_local("2026-03-08"),
        target_creator=5.0, target_family=20.0, enrolment="auto"))
    await services.campaigns.schedule(1, 99, campaign.id)
    for day in (17, 18, 19):  # the week before: Caro 3 days, Dani 2, Bea 1
        await checkin(services, clock, 21, datetime(2026, 2, day, 20, tzinfo=UTC), 2)
    for day in (17, 18):
        await checkin(services, clock, 22, datetime(2026, 2, day, 20, tzinfo=UTC), 2)
    await checkin(services, clock, 20, datetime(2026, 2, 17, 20, tzinfo=UTC), 2)
    clock.set(datetime(2026, 2, 23, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()  # the campaign starts
    for day in (24, 25, 26):  # this week: Bea 3 days, Caro 1, Dani none
        await checkin(services, clock, 20, datetime(2026, 2, day, 20, tzinfo=UTC), 3)
    await checkin(services, clock, 21, datetime(2026, 2, 25, 20, tzinfo=UTC), 5)
    # Monday before the digest hour: a new local day, so not part of last week's digest
    await checkin(services, clock, 20, datetime(2026, 3, 2, 8, 0, tzinfo=UTC), 4)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert await services.digests.sweep(names=lambda g, u: NAMES.get(u)) == 1
    await make_sender(services, smtp).drain()
    [msg] = [m for m in smtp.to(LENA) if "your family's week" in m["Subject"]]
    text = body(msg, "plain")
    assert "Check-ins: 4 (" in text  # Bea's Monday-morning check-in is next week's
    top = text.split("Top of the week:")[1].split("Slipping")[0]
    assert top.index("Bea: 9 hours") < top.index("Caro: 5 hours")
    assert "(3 check-ins)" in top and "Dani" not in top
    slipping = text.split("a word from you may help:")[1].split("Campaigns:")[0]
    assert "Dani: no check-in this week (2 the week before)" in slipping
    assert "Caro: 1 check-ins (3 the week before)" in slipping and "Bea" not in slipping
    campaigns = text.split("Campaigns:")[1]
    assert "“Spring push” (hours live, until Mar 8, 2026):" in campaigns
    # the family's roster takes part, its leader too: Bea (13 h with Monday) and Caro
    assert "“Spring push” (hours live, until Mar 8, 2026): 2 of 4 reached 5 hours." in campaigns
    assert "Together: 18 hours of 20 hours." in campaigns
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<li>Dani: no check-in this week (2 the week before)</li>" in html


async def test_creator_digest_shows_tier_pace_and_campaign_standing(services, smtp, clock):
    from bot.localtime import parse_local
    from bot.services.campaigns.models import Spec

    await lobos(services, clock, members=(20, 21))
    await services.tiers.define(1, 99, "Bronze", 1, min_hours=10)
    await services.tiers.define(1, 99, "Silver", 2, min_hours=40)
    await verified(services, 20, "bea@example.org", weekly_digest=True, locale="es")
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    campaign = await services.campaigns.create(1, 99, Spec(
        name="Marzo", metric="hours", start=parse_local("2026-03-06"),
        end=parse_local("2026-03-20"),
        target_creator=20.0, enrolment="auto"))
    await services.campaigns.schedule(1, 99, campaign.id)
    clock.set(datetime(2026, 3, 6, 1, 0, tzinfo=UTC))
    await services.campaigns.sweep()
    for day in (10, 11, 12):
        await checkin(services, clock, 20, datetime(2026, 3, day, 20, tzinfo=UTC), 3)
    await checkin(services, clock, 21, datetime(2026, 3, 11, 20, tzinfo=UTC), 12)
    clock.set(datetime(2026, 3, 16, 9, 30, tzinfo=UTC))  # Monday: the week of 9–15 March
    assert await services.digests.sweep() == 1
    await make_sender(services, smtp).drain()
    [msg] = [m for m in smtp.to("bea@example.org") if "semana" in m["Subject"]]
    text = body(msg, "plain")
    # 9 h in 15 days of March: 18.6 h at this pace by the 31st, Bronze needs 10
    assert "Camino a Bronze este mes:" in text
    assert ("Horas en vivo: 9 horas / 10 horas — 🟢 a ritmo de Bronze (18,6 horas a fin de mes)"
            in text)
    assert "«Marzo» (hasta el 20 mar 2026): llevas 9 horas de 20 horas · puesto 2 de 2" in text


async def test_manager_digest_has_program_totals_and_feedback_rate(services, smtp, clock):
    await lobos(services, clock, members=(20, 21))
    await verified(services, 30, "mara@example.org")
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = 30")
    first = await checkin(services, clock, 20, datetime(2026, 2, 24, 20, tzinfo=UTC), 3)
    await checkin(services, clock, 20, datetime(2026, 2, 25, 20, tzinfo=UTC), 2)
    await checkin(services, clock, 21, datetime(2026, 2, 25, 21, tzinfo=UTC), 1)
    await checkin(services, clock, 21, datetime(2026, 2, 18, 21, tzinfo=UTC), 4)
    clock.set(datetime(2026, 2, 25, 0, 30, tzinfo=UTC))
    await services.checkins.give_feedback(1, 10, first.checkin.id, "Great week!")
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert await services.digests.sweep() == 1
    await make_sender(services, smtp).drain()
    text = body(smtp.to("mara@example.org")[0], "plain")
    assert "2 creators checked in this week (last week 1)" in text
    # 3 of 2 creators × 7 days (the leader, who did not stream, is not expected to)
    assert "Check-ins: 3 (21% of possible days; last week 1)" in text
    assert "Hours live: 6 (last week 4)" in text
    assert "Leader feedback: 1 of 3 check-ins answered (33%), median 270 minutes" in text


async def test_quiet_weeks_send_no_digest_to_leaders_or_managers(services, smtp, clock):
    await lobos(services, clock, members=(20,))
    await verified(services, 10, LENA)
    await verified(services, 30, "mara@example.org")
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = 30")
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # joined weeks ago, nobody checked in
    assert await services.digests.sweep() == 0
    assert await services.db.fetchval("SELECT count(*) FROM email_digest_log") == 2  # tried
    await checkin(services, clock, 20, datetime(2026, 3, 3, 20, tzinfo=UTC), 1)
    clock.set(datetime(2026, 3, 9, 9, 30, tzinfo=UTC))
    assert await services.digests.sweep() == 2  # something happened: both are sent


async def test_sweep_is_capped_and_follows_each_persons_day_and_the_schedule(
        services, smtp, clock):
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    for user in (20, 21, 22):
        await verified(services, user, f"c{user}@example.org", weekly_digest=True)
        async with services.db.transaction() as tx:
            await tx.execute("UPDATE members SET program_role = 'creator' WHERE user_id = ?",
                             (user,))
    await lobos(services, clock, members=(20, 21, 22))
    for user in (20, 21, 22):
        await checkin(services, clock, user, datetime(2026, 2, 25, 20, tzinfo=UTC), 1)
    await services.email.set_preferences(1, 22, digest_day=2)  # Ana's own day: Wednesday
    await services.digests.set_schedule(1, 99, 0, 18)  # the program's: Monday 18:00
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    assert await services.digests.sweep() == 0  # Monday, before 18:00: nobody is due
    clock.set(datetime(2026, 3, 2, 18, 30, tzinfo=UTC))
    assert await services.digests.sweep(cap=1) == 1  # two are due, one per run
    assert await services.digests.sweep(cap=1) == 1
    assert await services.digests.sweep(cap=1) == 0
    clock.set(datetime(2026, 3, 4, 18, 30, tzinfo=UTC))
    assert await services.digests.sweep() == 1  # Wednesday 18:00: the third
