"""The weekly digests follow the guild's per-metric source (#18, must-have 4): a stats import
that changes a creator's hours changes the manager's and the leader's digest, in English and
Spanish, and a rollback brings the check-ins back (real SQLite, real SMTP server)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests._email import body, make_sender, verified
from tests.test_email_digests import NAMES, checkin, lobos
from tests.test_stats_import import csv_file


async def handles(services):
    async with services.db.transaction() as tx:
        for user, handle in ((20, "bea.live"), (21, "caro")):
            await tx.execute(
                "INSERT INTO creator_profiles (guild_id, user_id, handle, updated_at)"
                " VALUES (1, ?, ?, '2026-02-10')", (user, handle))


async def digest_texts(services, smtp, clock, *addresses):
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    await services.digests.sweep(names=lambda g, u: NAMES.get(u))
    await make_sender(services, smtp).drain()
    return [body(smtp.to(a)[-1], "plain") for a in addresses]


async def test_manager_and_leader_digests_count_imported_hours(services, smtp, clock):
    await lobos(services, clock, members=(20, 21))
    await handles(services)
    await verified(services, 10, "lena@example.org")  # the leader
    for user, address, locale in ((30, "mara@example.org", "en"),
                                  (31, "nico@example.org", "es")):
        await verified(services, user, address, locale=locale)
        async with services.db.transaction() as tx:
            await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = ?",
                             (user,))
    await checkin(services, clock, 20, datetime(2026, 2, 24, 20, tzinfo=UTC), 3)
    await checkin(services, clock, 21, datetime(2026, 2, 25, 21, tzinfo=UTC), 1)
    await checkin(services, clock, 21, datetime(2026, 2, 18, 21, tzinfo=UTC), 4)
    # the platform says Bea streamed 10 h on the 24th, and 2 h on the 26th (no check-in)
    preview = await services.stats.stage(1, 30, "week.csv", csv_file(
        "Handle,Date,Hours", "bea.live,2026-02-24,10", "bea.live,2026-02-26,2"))
    await services.stats.apply(1, preview.record.id, 30)
    mara, nico, lena = await digest_texts(services, smtp, clock, "mara@example.org",
                                          "nico@example.org", "lena@example.org")
    assert "Hours live: 13 (last week 4)" in mara  # 10 + 2 + Caro's 1
    assert "Check-ins: 2 (" in mara  # check-ins stay the days checked in
    assert "Horas en vivo: 13 (la semana pasada 4)" in nico
    top = lena.split("Top of the week:")[1]
    assert top.index("Bea: 12 hours") < top.index("Caro: 1 hour")

    # the same week again after a rollback: the check-ins as typed
    await services.stats.rollback(1, preview.record.id, 30)
    async with services.db.transaction() as tx:  # let the sweep send the week again
        await tx.execute("DELETE FROM email_digest_log")
        await tx.execute("UPDATE email_outbox SET dedupe_key = dedupe_key || ':sent'")
    mara, nico = await digest_texts(services, smtp, clock, "mara@example.org",
                                    "nico@example.org")
    assert "Hours live: 4 (last week 4)" in mara
    assert "Horas en vivo: 4 (la semana pasada 4)" in nico
