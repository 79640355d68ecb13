"""The policy library's service on real SQLite (#20): versions that only grow and stay
readable, a missing translation falling back, the "what changed" diff, archiving, full-text
search ranked by bm25 with Spanish accents folded, audiences enforced on search and show,
acknowledgements of the version in force, and bad input refused with nothing stored."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import NotFound, UserError
from bot.services.families import AGREEMENT_VERSION

G, MANAGER, LEADER, CREATOR, STRANGER = 1, 10, 20, 30, 40
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

GIFTS_EN = "Gifts\n\nYou may thank gifters by name.\nNever ask for gifts.\n"
GIFTS_ES = ("Regalos\n\nPuedes agradecer a quien regala.\n"
            "Nunca pidas regalos ni monetización extra.\n")


async def _program(services, clock):
    clock.set(NOW)
    lobos = await services.families.create(G, MANAGER, "Lobos", LEADER)
    request = await services.families.request_join(G, CREATOR, lobos.id, AGREEMENT_VERSION)
    await services.families.decide(G, LEADER, request.id, True)
    return lobos


async def _count(services, table):
    return await services.db.fetchval(f"SELECT count(*) FROM {table}")


async def test_versions_grow_stay_readable_and_show_what_changed(services, clock):
    await _program(services, clock)
    policies = services.policies
    doc, v1 = await policies.publish(G, MANAGER, "Gifting rules", category="monetisation",
                                     bodies={"en": GIFTS_EN, "es": GIFTS_ES})
    assert (v1.version, v1.major) == (1, True)
    with pytest.raises(UserError) as refused:  # a second version says what changed
        await policies.publish(G, MANAGER, "gifting RULES", bodies={"en": GIFTS_EN})
    assert refused.value.code == "policies.summary_needed"
    _, v2 = await policies.publish(
        G, MANAGER, "gifting RULES", summary="No gift goals", major=False,
        bodies={"en": GIFTS_EN.replace("Never ask for gifts.", "Never ask for gifts.\n"
                                        "No gift goals on screen.")})
    assert (v2.version, v2.major, v2.summary) == (2, False, "No gift goals")
    document, versions = await policies.versions(G, doc.id)
    assert [v.version for v in versions] == [2, 1] and document.title == "Gifting rules"

    shown = await policies.show(G, CREATOR, doc.id, "es")  # v2 has no Spanish body
    assert (shown.version.version, shown.fallback, shown.lang) == (2, True, "en")
    old = await policies.show(G, CREATOR, doc.id, "es", version=1)
    assert (old.body, old.fallback) == (GIFTS_ES.strip(), False)
    for missing in (3, 2**63):  # a raw API call's number past SQLite's integers too
        with pytest.raises(NotFound):
            await policies.show(G, CREATOR, doc.id, "en", version=missing)
    with pytest.raises(NotFound):
        await policies.show(G, CREATOR, 2**64, "en")

    change = await policies.diff(G, CREATOR, doc.id, "en")
    assert (change.old.version, change.new.version) == (1, 2)
    assert "+No gift goals on screen." in change.lines
    assert not any(line.startswith("-") for line in change.lines)


async def test_search_folds_accents_ranks_titles_first_and_follows_versions(services, clock):
    await _program(services, clock)
    policies = services.policies
    gifts, _ = await policies.publish(G, MANAGER, "Gifting rules", category="monetisation",
                                      bodies={"en": GIFTS_EN, "es": GIFTS_ES})
    money, _ = await policies.publish(G, MANAGER, "Monetización", category="monetisation",
                                      bodies={"es": "Cómo cobrar tus diamantes."})
    hits = await policies.search(G, CREATOR, "monetizacion", "es")
    assert [h.document.id for h in hits] == [money.id, gifts.id]  # the title's hit ranks first
    assert "\x02Monetización\x03" in hits[0].title
    assert "\x02monetización\x03" in hits[1].snippet
    assert [h.document.id for h in await policies.search(G, CREATOR, "GIFTERS", "en")] == [
        gifts.id]
    # a snippet is plain words, Markdown's marks gone, the matches marked
    await policies.publish(G, MANAGER, "Styled", category="community",
                           bodies={"en": "# Heading\n\n- **Bold** rule about `tokens`"})
    [styled] = await policies.search(G, CREATOR, "tokens", "en")
    assert styled.snippet == "Heading Bold rule about \x02tokens\x03"
    # FTS syntax typed by someone is only words
    assert await policies.search(G, CREATOR, '"thank* gift) ', "en")
    # a new version replaces the old text in the index; archiving removes the document
    await policies.publish(G, MANAGER, "Gifting rules", summary="Rewritten",
                           bodies={"en": "Thank people kindly."})
    assert await policies.search(G, CREATOR, "gifters", "en") == []
    assert await policies.search(G, CREATOR, "kindly", "en")
    await policies.archive(G, MANAGER, gifts.id)
    assert await policies.search(G, CREATOR, "kindly", "en") == []
    assert (await policies.show(G, CREATOR, gifts.id, "en", version=1)).version.version == 1
    with pytest.raises(UserError):
        await policies.publish(G, MANAGER, "Gifting rules", summary="x", bodies={"en": "x"})


async def test_audiences_are_enforced_on_search_and_show(services, clock):
    lobos = await _program(services, clock)
    policies = services.policies
    doc, _ = await policies.publish(G, MANAGER, "Leader handbook", category="training",
                                    audience="leaders", bodies={"en": "How to steward a family."})
    fam, _ = await policies.publish(G, MANAGER, "Lobos rules", category="community",
                                    audience="families", audience_ids=[lobos.id],
                                    bodies={"en": "Lobos steward kindly."})
    assert [h.document.id for h in await policies.search(G, CREATOR, "steward", "en")] == [
        fam.id]
    assert {h.document.id for h in await policies.search(G, LEADER, "steward", "en")} == {
        doc.id, fam.id}
    assert await policies.search(G, STRANGER, "steward", "en") == []
    assert {h.document.id for h in await policies.search(G, STRANGER, "steward", "en",
                                                         manager=True)} == {doc.id, fam.id}
    with pytest.raises(NotFound):
        await policies.show(G, CREATOR, doc.id, "en")
    assert (await policies.show(G, LEADER, doc.id, "en")).body == "How to steward a family."
    titles = await policies.titles(G, CREATOR, "", manager=False)
    assert [d.title for d in titles] == ["Family program agreement", "Lobos rules"]


async def test_acknowledgements_name_the_version_in_force(services, clock):
    lobos = await _program(services, clock)
    policies = services.policies
    deadline = NOW + timedelta(days=7)
    doc, _ = await policies.publish(G, MANAGER, "Safety", category="trust_safety",
                                    bodies={"en": "Be safe."}, ack_deadline=deadline)
    status = await policies.status(G, doc.id)
    assert (status.acknowledged, sorted(status.pending), status.overdue) == (
        [], sorted([CREATOR, LEADER]), False)
    assert await policies.acknowledge(G, CREATOR, doc.id, 1) == 1
    assert await policies.acknowledge(G, CREATOR, doc.id, 1) == 1  # twice is once
    await policies.publish(G, MANAGER, "Safety", summary="New rule", major=True,
                           bodies={"en": "Be safe. Be kind."}, ack_deadline=deadline)
    with pytest.raises(UserError) as refused:
        await policies.acknowledge(G, LEADER, doc.id, 1)
    assert refused.value.code == "policies.ack_outdated"
    status = await policies.status(G, doc.id)
    assert sorted(status.pending) == sorted([CREATOR, LEADER])  # v2 not acknowledged by anyone yet
    clock.set(deadline + timedelta(days=1))
    await policies.acknowledge(G, CREATOR, doc.id, 2)
    status = await policies.status(G, doc.id, family_id=lobos.id)
    assert status.overdue and status.pending == [LEADER] and status.acknowledged[0][0] == CREATOR
    csv = policies.status_csv(await policies.status(G, doc.id))
    assert f"{LEADER},overdue," in csv and f"{CREATOR},acknowledged," in csv
    shown = await policies.show(G, CREATOR, doc.id, "en")
    assert shown.acknowledged == 2
    exported = await services.privacy.export(G, CREATOR)
    assert "policy_acks" in str(exported)


@pytest.mark.parametrize("kwargs, code", [
    ({"bodies": {"en": "  "}}, "policies.empty_body"),
    ({"bodies": {"en": "x" * 60_001}}, "policies.body_too_long"),
    ({"bodies": {"en": "x"}, "category": None}, "policies.category_needed"),
    ({"bodies": {"en": "x"}, "audience": "tiers"}, "policies.audience_ids_needed"),
    ({"bodies": {"en": "x"}, "ack_deadline": NOW - timedelta(minutes=1)},
     "policies.deadline_past"),
])
async def test_bad_input_is_refused_and_nothing_is_stored(services, clock, kwargs, code):
    clock.set(NOW)
    options = {"category": "community", **kwargs}
    with pytest.raises(UserError) as refused:
        await services.policies.publish(G, MANAGER, "A rule", **options)
    assert refused.value.code == code
    assert await _count(services, "policy_documents") == 0
    assert await _count(services, "policy_versions") == 0


async def test_the_family_agreement_is_the_agreements_document(services, clock):
    """Its template's text moves in as version 1 in both languages; acknowledging it here is
    accepting it (what joining asks for); it takes no version through the library and stays."""
    lobos = await _program(services, clock)
    policies = services.policies
    hits = await policies.search(G, STRANGER, "acuerdo", "es")  # anyone may read it
    assert [h.document.kind for h in hits] == ["agreement"]
    document = hits[0].document
    assert (document.title, document.category) == ("Family program agreement", "agreements")
    _, versions = await policies.versions(G, document.id)
    assert [v.version for v in versions] == [AGREEMENT_VERSION]
    assert "I report my stream stats honestly" in versions[0].bodies["en"]
    assert "Acuerdo del programa" in versions[0].bodies["es"]
    await policies.ensure_agreement(G)  # once per guild, however often it is read
    assert await _count(services, "policy_documents") == 1

    shown = await policies.show(G, CREATOR, document.id, "en")
    assert shown.acknowledged == AGREEMENT_VERSION  # CREATOR accepted it when joining
    assert (await policies.show(G, STRANGER, document.id, "en")).acknowledged is None
    status = await policies.status(G, document.id, family_id=lobos.id)
    assert [u for u, _ in status.acknowledged] == [CREATOR] and status.pending == [LEADER]

    assert await policies.acknowledge(G, LEADER, document.id, AGREEMENT_VERSION) == 1
    assert (await services.families.agreement_of(G, LEADER)).version == AGREEMENT_VERSION
    with pytest.raises(UserError) as refused:
        await policies.publish(G, MANAGER, document.title, summary="x", bodies={"en": "x"})
    assert refused.value.code == "policies.agreement_fixed"
    with pytest.raises(UserError):
        await policies.archive(G, MANAGER, document.id)


def _ask(it):
    from bot.delivery.queue import Send

    return Send("policy_ack", f"policy-ack:{it.document.id}:{it.version.version}:{it.user_id}"
                f":{it.reminder}", "dm", it.user_id, {"content": f"r{it.reminder}"})


async def _asked(services):
    rows = await services.db.fetchall(
        "SELECT target_id, payload FROM deliveries WHERE kind = 'policy_ack' ORDER BY id")
    return [(r["target_id"], r["payload"].split('"content": "')[1][:2]) for r in rows]


async def test_a_major_version_with_a_deadline_asks_and_reminds_at_most_twice(services, clock):
    await _program(services, clock)
    policies = services.policies
    deadline = NOW + timedelta(days=5)
    await policies.publish(G, MANAGER, "Minor", category="community", bodies={"en": "x"},
                           ask=_ask)  # no deadline: nobody is asked
    assert await _asked(services) == []
    doc, _ = await policies.publish(G, MANAGER, "Safety", category="trust_safety",
                                    bodies={"en": "Be safe."}, ack_deadline=deadline, ask=_ask)
    assert sorted(await _asked(services)) == sorted([(CREATOR, "r0"), (LEADER, "r0")])
    assert await policies.remind(_ask) == 0  # nothing due yet
    clock.set(deadline - timedelta(hours=47))
    await policies.acknowledge(G, CREATOR, doc.id, 1)
    assert await policies.remind(_ask) == 1 and await policies.remind(_ask) == 0
    clock.set(deadline - timedelta(hours=23))
    assert await policies.remind(_ask) == 1
    clock.set(deadline + timedelta(hours=1))
    assert await policies.remind(_ask) == 0  # past the deadline: overdue, not reminded
    assert await _asked(services) == [
        *sorted([(CREATOR, "r0"), (LEADER, "r0")]), (LEADER, "r1"), (LEADER, "r2")]


async def test_a_version_published_close_to_its_deadline_is_not_reminded_at_once(services,
                                                                                 clock):
    await _program(services, clock)
    await services.policies.publish(G, MANAGER, "Late", category="community",
                                    bodies={"en": "x"}, ack_deadline=NOW + timedelta(hours=12),
                                    ask=_ask)
    clock.set(NOW + timedelta(hours=1))
    assert await services.policies.remind(_ask) == 0
    assert len(await _asked(services)) == 2


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_a_status_page_fits_one_message(services, clock, templates, locale):
    """20 people with 18-digit ids under a 100-character title: one page, no cut."""
    from bot.limits import CONTENT
    from bot.services.policies import STATUS_PAGE

    clock.set(NOW)
    policies = services.policies
    doc, _ = await policies.publish(G, MANAGER, "T" * 100, category="x" * 40,
                                    bodies={"en": "x"}, ack_deadline=NOW + timedelta(days=1))
    status = await policies.status(G, doc.id)
    ids = [1516774411468800030 + n for n in range(60)]
    status = type(status)(status.document, status.version,
                          [(u, NOW) for u in ids[:30]], ids[30:], True)
    page = policies.status_page(status, 1)
    assert len(page.items) == STATUS_PAGE and page.paged
    text = templates.render(locale, "discord/policies/status.md.j2", status=status, page=page)
    assert len(text) <= CONTENT and ("page 2 of 3" in text or "página 2 de 3" in text)
