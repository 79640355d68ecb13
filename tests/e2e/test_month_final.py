"""Results that are final when they say so (issue #16, must-have 2), with creators in UTC−5
(Bogotá) and UTC+2 (Johannesburg, no summer time) who both enter a campaign's last day late,
as "yesterday", before their own edit cutoff the next morning: the results wait for the latest
window (Bogotá's), include both late entries, say since when they are final; October's tier
sweep waits for the same window; a late entry after it is refused, so nothing final changes.
The services on a real SQLite file with the clock moved by hand (the Discord path of these is
covered by ``test_month.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.errors import UserError
from bot.localtime import parse_local
from bot.services.campaigns import Spec
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, ANA, BEN = 1, 10, 20, 30, 31
ZONES = {ANA: "America/Bogota", BEN: "Africa/Johannesburg"}
LAST = date(2026, 3, 16)
# 16 March's window: 17 March 12:00 local — Johannesburg 10:00 UTC, Bogotá 17:00 UTC
JOBURG_CLOSES = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)
FINAL = datetime(2026, 3, 17, 17, 0, tzinfo=UTC)


async def checkin(services, clock, user, at, hours, *, yesterday=False):
    clock.set(at)
    return await services.checkins.submit(G, user, {
        "hours": str(hours), "diamonds": "0", "followers": "0", "peak_viewers": "0"},
        yesterday=yesterday)


async def test_late_entries_in_both_zones_are_in_the_final_results(services, clock):
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    for user, zone in ZONES.items():
        await services.members.set_timezone(G, user, zone)
        invite = await services.families.invite(G, LEADER, lobos.id, user, as_manager=False)
        await services.families.decide(G, user, invite.id, True,
                                       agreement_version=AGREEMENT_VERSION)
    found = await services.campaigns.create(G, MANAGER, Spec(
        name="March push", metric="hours", start=parse_local("2026-03-03"),
        end=parse_local(LAST.isoformat()), target_creator=10.0))
    await services.campaigns.schedule(G, MANAGER, found.id)
    for user in ZONES:
        await services.campaigns.enrol(G, user, found.id, "command")
    await services.tiers.define(G, MANAGER, "Bronce", 1, min_hours=10)
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    assert (await services.campaigns.sweep())["started"] == [found.id]
    await checkin(services, clock, ANA, datetime(2026, 3, 5, 20, 0, tzinfo=UTC), 4)
    await checkin(services, clock, BEN, datetime(2026, 3, 5, 10, 0, tzinfo=UTC), 4)

    # 17 March, 08:00 in Johannesburg: Ben enters the 16th; nothing is final yet
    stored = await checkin(services, clock, BEN, datetime(2026, 3, 17, 6, 0, tzinfo=UTC), 7,
                           yesterday=True)
    assert stored.checkin.local_date == LAST
    assert (await services.campaigns.sweep())["finished"] == []
    clock.set(JOBURG_CLOSES)  # Ben's window closed, Ana's is open: still not final
    assert (await services.campaigns.sweep())["finished"] == []
    with pytest.raises(UserError) as caught:
        await services.campaigns.results(G, found.id)
    assert caught.value.code == "campaigns.results_pending"
    assert caught.value.params["at"] == FINAL
    # 08:00 in Bogotá: Ana enters the 16th too
    stored = await checkin(services, clock, ANA, datetime(2026, 3, 17, 13, 0, tzinfo=UTC), 7,
                           yesterday=True)
    assert stored.checkin.local_date == LAST
    clock.set(FINAL)
    assert (await services.campaigns.sweep())["finished"] == [found.id]
    results = await services.campaigns.results(G, found.id)
    assert results.final_at == FINAL
    assert (results.participants, results.reached) == (2, 2)
    assert results.families[0]["total"] == 22.0  # 11 h each, both late entries in

    # too late now: the 16th cannot change any more in either zone
    with pytest.raises(UserError):
        await checkin(services, clock, ANA, datetime(2026, 3, 17, 17, 1, tzinfo=UTC), 1,
                      yesterday=True)
    assert (await services.campaigns.results(G, found.id)).families[0]["total"] == 22.0


async def test_a_month_is_swept_once_its_latest_window_closed(services, clock):
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    for user, zone in ZONES.items():
        await services.members.set_timezone(G, user, zone)
        invite = await services.families.invite(G, LEADER, lobos.id, user, as_manager=False)
        await services.families.decide(G, user, invite.id, True,
                                       agreement_version=AGREEMENT_VERSION)
    await services.tiers.define(G, MANAGER, "Bronce", 1, min_hours=10)
    for user in ZONES:
        await checkin(services, clock, user, datetime(2026, 3, 20, 15, 0, tzinfo=UTC), 6)
    # 31 March entered late in both zones, 1 April 08:00 local
    await checkin(services, clock, BEN, datetime(2026, 4, 1, 6, 0, tzinfo=UTC), 5,
                  yesterday=True)
    await checkin(services, clock, ANA, datetime(2026, 4, 1, 13, 0, tzinfo=UTC), 5,
                  yesterday=True)
    clock.set(datetime(2026, 4, 1, 16, 59, tzinfo=UTC))
    with pytest.raises(UserError) as caught:
        await services.tiers.sweep(G, MANAGER, "2026-03")
    assert caught.value.code == "families.month_not_final"
    assert {c.user_id for c in await services.tiers.plan(G, "2026-03")} == {ANA, BEN}
    clock.set(datetime(2026, 4, 1, 17, 0, tzinfo=UTC))
    changes = await services.tiers.sweep(G, MANAGER, "2026-03")
    assert {(c.user_id, c.new.name) for c in changes} == {(ANA, "Bronce"), (BEN, "Bronce")}
