"""The policy library in the weekly email digests (#20, must-have 6), on real SQLite and the
real local SMTP server: the manager digest shows the acknowledgement progress of documents
whose deadline is still ahead; a creator digest lists what they still have to read and
acknowledge (past deadlines included, marked), in their language."""

from __future__ import annotations

from datetime import UTC, datetime

from tests._email import body, make_sender, verified
from tests.test_email_digests import checkin, lobos

G, MANAGER, LEADER, ANA, BEN, MARA = 1, 99, 10, 20, 21, 30


async def test_manager_progress_and_creators_still_to_read(services, smtp, clock):
    await lobos(services, clock, members=(ANA, BEN))
    await verified(services, MARA, "mara@example.org")
    await verified(services, ANA, "ana@example.org", weekly_digest=True)
    await verified(services, BEN, "ben@example.org", weekly_digest=True, locale="es")
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE email_addresses SET manager = 1 WHERE user_id = ?", (MARA,))
    policies = services.policies
    clock.set(datetime(2026, 2, 20, 12, 0, tzinfo=UTC))
    safety, _ = await policies.publish(
        G, MANAGER, "Safety rules", category="trust_safety", bodies={"en": "Be safe."},
        ack_deadline=datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    gifts, _ = await policies.publish(
        G, MANAGER, "Gifting rules", category="monetisation", bodies={"en": "No begging."},
        ack_deadline=datetime(2026, 2, 27, 12, 0, tzinfo=UTC))
    await policies.publish(G, MANAGER, "Go-live guide", category="training",
                           bodies={"en": "Light, sound."})  # nothing asked
    await policies.acknowledge(G, ANA, safety.id, 1)
    await policies.acknowledge(G, ANA, gifts.id, 1)
    for user in (ANA, BEN):
        await checkin(services, clock, user, datetime(2026, 2, 25, 20, tzinfo=UTC), 2)
    clock.set(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # Monday: the week of 23 Feb–1 Mar
    assert await services.digests.sweep() == 3
    await make_sender(services, smtp).drain()

    manager = body(smtp.to("mara@example.org")[0], "plain")
    assert "Acknowledgements with a deadline ahead:" in manager
    # the audience is everyone in the program: the leader, Ana and Ben; Ana acknowledged
    assert "Safety rules (v1): 1 of 3 acknowledged, deadline Mar 9, 2026" in manager
    assert "Gifting rules" not in manager  # its deadline has passed
    html = smtp.to("mara@example.org")[0].get_body(preferencelist=("html",)).get_content()
    assert "<li>Safety rules (v1): 1 of 3 acknowledged, deadline Mar 9, 2026</li>" in html

    ana = body(smtp.to("ana@example.org")[0], "plain")
    assert "Still to read" not in ana  # she acknowledged both
    ben = body(smtp.to("ben@example.org")[0], "plain")
    assert "Pendiente de leer y confirmar (/policy show):" in ben
    assert "Gifting rules (v1), antes del 27 feb 2026 (plazo vencido)" in ben
    assert "Safety rules (v1), antes del 9 mar 2026\r\n" in ben  # not past
    assert ben.index("Gifting rules") < ben.index("Safety rules")  # nearest deadline first
    assert "Go-live guide" not in ben
