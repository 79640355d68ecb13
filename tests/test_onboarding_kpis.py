"""Time to onboard (#22, must-have 4) as a KPI: the manager digest (real SQLite and the real
local SMTP server) and the weekly review's email show how many new members sent a first
check-in that week and the median days since they applied, else since they joined."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.clock import to_db
from bot.events import ApplicationAccepted
from bot.mail.rendering import Renderer
from tests._email import body, make_sender, verified
from tests.test_email_digests import checkin, lobos

G, MARA, ANA, BEN, CARLA = 1, 30, 20, 21, 40


async def test_the_manager_digest_shows_the_weeks_time_to_onboard(services, smtp, clock):
    await lobos(services, clock, members=(ANA, BEN))  # joined on 10 Feb
    async with services.db.transaction() as tx:  # Ben came through an application on 4 Feb
        await services.events.publish(ApplicationAccepted(
            tx, G, BEN, 3, "creator", to_db(datetime(2026, 2, 4, 12, 0, tzinfo=UTC)),
            to_db(datetime(2026, 2, 9, 12, 0, tzinfo=UTC)), None))
    await verified(services, MARA, "mara@example.org", locale="es")
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = ?", (MARA,))
    await checkin(services, clock, ANA, datetime(2026, 2, 24, 12, tzinfo=UTC), 2)  # 14 days
    await checkin(services, clock, BEN, datetime(2026, 2, 25, 12, tzinfo=UTC), 2)  # 21 days
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # Monday: the week of 23 Feb–1 Mar
    await services.digests.sweep()
    await make_sender(services, smtp).drain()
    manager = body(smtp.to("mara@example.org")[0], "plain")
    assert ("Incorporados: 2 miembros nuevos enviaron su primer registro, una mediana de"
            " 17,5 días después de solicitar (o de unirse).") in manager
    assert "Desde una solicitud (1): una mediana de 21 días." in manager


async def test_the_weekly_review_email_shows_it_too(services, clock, templates):
    await lobos(services, clock, members=(ANA,))
    await checkin(services, clock, ANA, datetime(2026, 2, 13, 12, tzinfo=UTC), 2)  # 3 days
    kpi = await services.onboarding.time_to_onboard_days(G, date(2026, 2, 9),
                                                         date(2026, 2, 15))
    assert (kpi.onboarded, kpi.median_days, kpi.applied) == (1, 3.0, 0)
    assert await services.onboarding.time_to_onboard_days(
        G, date(2026, 2, 16), date(2026, 2, 22)) is None
    review = await services.reviews.review(G, "2026-W07")
    renderer = Renderer(templates)
    for context, shown in (({"onboarded": kpi}, True), ({"onboarded": None}, False)):
        email = renderer.one("en", "review", {"review": review, "names": {},
                                              "unsubscribe_url": "", **context})
        for text in (email.text, email.html):
            assert (("Onboarded: 1 new member sent a first check-in, a median of 3 days after"
                     " applying (or joining).") in text) is shown
            assert "From an application" not in text
