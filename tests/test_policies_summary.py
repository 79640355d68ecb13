"""Overdue policy acknowledgements in the leader's daily summary (#20, must-have 3), on real
SQLite with time travel past the deadline: only the leader's own family's people, only once
the deadline has passed, gone once acknowledged, in both languages."""

from datetime import UTC, datetime

from bot.delivery.queue import Send
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, ANA, BEN = 1, 10, 20, 30, 40
OTHER_LEADER, CARLA = 50, 60
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


class _Recorder:
    async def __call__(self, due):
        return [Send(due.kind, f"reminder:{due.id}", "dm", due.recipient_id, {"content": "."})]


async def _join(services, family, leader, *users):
    for user in users:
        request = await services.families.request_join(G, user, family.id, AGREEMENT_VERSION)
        await services.families.decide(G, leader, request.id, True)


async def _summary(services, day):
    """The leader's summary of ``day`` (22:00 UTC, the server's zone)."""
    services.clock.set(datetime(2026, 3, day, 22, 0, tzinfo=UTC))
    done = await services.reminders.sweep(_Recorder())
    return next(d for d, _ in done if d.kind == "summary" and d.recipient_id == LEADER)


async def test_the_leaders_summary_lists_overdue_acknowledgements_of_their_family(
        services, clock, templates):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    osos = await services.families.create(G, MANAGER, "Osos", OTHER_LEADER)
    await _join(services, lobos, LEADER, ANA, BEN)
    await _join(services, osos, OTHER_LEADER, CARLA)
    await services.checkins.update_settings(G, MANAGER, summary_time="22:00")
    policies = services.policies
    safety, _ = await policies.publish(G, MANAGER, "Safety rules", category="trust_safety",
                                       bodies={"en": "Be safe."}, ack_deadline=DEADLINE)
    await policies.publish(G, MANAGER, "Old guide", category="training",  # no deadline
                           bodies={"en": "Go live."})
    await policies.acknowledge(G, ANA, safety.id, 1)

    before = await _summary(services, 4)  # the deadline is still ahead: nothing overdue
    assert before.overdue == []
    assert "Overdue" not in templates.render("en", "discord/checkins/summary.md.j2", due=before)

    after = await _summary(services, 5)  # past the deadline
    assert [(s.document.id, s.version.version) for s in after.overdue] == [(safety.id, 1)]
    assert sorted(after.overdue[0].pending) == [LEADER, BEN]  # Carla is another family's
    for locale, words in (("en", "Overdue acknowledgements:"),
                          ("es", "Confirmaciones vencidas:")):
        text = templates.render(locale, "discord/checkins/summary.md.j2", due=after)
        line = next(x for x in text.splitlines() if "**Safety rules** (v1)" in x)
        assert words in text and line.endswith(f": <@{LEADER}>, <@{BEN}>")

    for user in (LEADER, BEN):  # late, but acknowledged: off the next summary
        await policies.acknowledge(G, user, safety.id, 1)
    assert (await _summary(services, 6)).overdue == []


async def test_many_overdue_documents_stay_within_one_message(services, clock, templates):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    creators = list(range(1000, 1030))  # 30 pending on each document: 10 named
    await _join(services, lobos, LEADER, *creators)
    await services.checkins.update_settings(G, MANAGER, summary_time="22:00")
    for n in range(8):
        await services.policies.publish(G, MANAGER, f"Rule {n} " + "x" * 80,
                                        category="community", bodies={"en": "Read me."},
                                        ack_deadline=DEADLINE)
    summary = await _summary(services, 6)
    assert len(summary.overdue) == 8
    for locale, words, more in (("en", "3 more documents", "… and 21 more"),
                                ("es", "3 documentos más", "… y 21 más")):
        text = templates.render(locale, "discord/checkins/summary.md.j2", due=summary)
        assert words in text and text.count(more) == 5
        overdue = text[text.index("📜"):]
        assert len(overdue) <= 1200  # leaves room for the rest within Discord's 2,000
