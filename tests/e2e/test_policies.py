"""/policy end to end (#20): a manager publishes a document from a Markdown upload and a new
version through the form; a Spanish-speaking creator searches without accents, reads it in
pages, acknowledges it with the button; the manager sees who has; a leader's status is their
family's; what changed between versions; archiving; bad uploads refused with nothing stored;
the agreement flow to join a family still works beside the library."""

from __future__ import annotations

import pytest

from bot.services.families import AGREEMENT_VERSION

LONG_ES = "\n\n".join(
    f"## Parte {i}\nNo pidas regalos durante el LIVE. La monetización sigue las normas. " * 3
    for i in range(12))
LONG_EN = "\n\n".join(f"## Part {i}\nNever ask for gifts on LIVE. " * 3 for i in range(12))


@pytest.fixture
async def program(app):
    """Lobos (leader lena) with ana (reads Spanish) and ben; Osos (leader oto) with tom."""
    s, g = app.services, app.guild.id
    people = {"lena": app.user("lena"), "ana": app.user("ana", locale="es-ES"),
              "ben": app.user("ben"), "oto": app.user("oto"), "tom": app.user("tom")}
    lobos = await s.families.create(g, app.owner.id, "Lobos", people["lena"].id,
                                    channel_id=None)
    osos = await s.families.create(g, app.owner.id, "Osos", people["oto"].id, channel_id=None)
    for name, family, leader in (("ana", lobos, "lena"), ("ben", lobos, "lena"),
                                 ("tom", osos, "oto")):
        invite = await s.families.invite(g, people[leader].id, family.id, people[name].id,
                                         as_manager=False)
        await s.families.decide(g, people[name].id, invite.id, True,
                                agreement_version=AGREEMENT_VERSION)
    return people


async def publish_file(app, name, data, **options):
    it = await app.run(app.owner, "policy", {"file": (name, data), **options},
                       subcommand="publish")
    return await it.reply_text()


async def test_publish_search_show_pages_and_acknowledge(app, program):
    ana, lena = program["ana"], program["lena"]
    text = await publish_file(app, "regalos.md", LONG_ES.encode(), title="Regalos en LIVE",
                              category="monetisation", language="es")
    assert "Published **Regalos en LIVE**, version 1" in text
    assert "No English text yet" in text
    # a second version through the form, with the English text and what changed
    it = await app.run(app.owner, "policy", {"title": "regalos en live", "summary":
                                             "English added", "major": True},
                       subcommand="publish")
    assert await it.wait_modal()
    done = await it.submit({"body_en": LONG_EN, "body_es": LONG_ES})
    assert "version 2" in await done.reply_text()

    found = await app.reply(ana, "policy", {"query": "monetizacion"}, subcommand="search")
    assert "**Regalos** **en** **LIVE**" not in found and "Regalos en LIVE" in found
    assert "**monetización**" in found  # the Spanish snippet, the word marked
    document = await app.services.db.fetchval(
        "SELECT id FROM policy_documents WHERE kind = 'document'")
    shown = await app.run(ana, "policy", {"document": str(document)}, subcommand="show")
    first = await shown.wait_message()
    assert "Parte 0" in first.content and len(first.content) <= 2000
    assert "página 1 de" in first.content  # ana reads Spanish
    next_page = next(c for c in first.custom_ids if c.startswith("familia:pg:policy:"))
    turned = await app.emu.click(ana, first, next_page)
    two = await turned.reply_text()
    assert "página 2 de" in two and "Parte 0" not in two and len(two) <= 2000

    ack = next(c for c in first.custom_ids if c.startswith("familia:pol:ack:"))
    thanks = await app.emu.click(ana, first, ack)
    assert "confirmaste la lectura de la versión 2" in await thanks.reply_text()
    acks = await app.services.db.fetchall("SELECT user_id, version FROM policy_acks")
    assert [tuple(r) for r in acks] == [(ana.id, 2)]

    status = await app.reply(app.owner, "policy", {"document": "Regalos en LIVE"},
                             subcommand="status")
    assert "Acknowledged: 1 · pending: 4" in status and f"<@{ana.id}>" in status
    led = await app.reply(lena, "policy", {"document": "Regalos en LIVE"}, subcommand="status")
    assert "Acknowledged: 1 · pending: 2" in led  # Lobos: ana done, lena and ben pending
    assert f"<@{program['tom'].id}>" not in led

    changes = await app.reply(ana, "policy", {"document": "Regalos en LIVE"},
                              subcommand="changes")
    assert "de la versión 1 a la 2" in changes and "did not change" not in changes


async def test_bad_uploads_and_archive(app, program):
    ben = program["ben"]
    assert "not a Markdown or text file" in await publish_file(
        app, "rules.pdf", b"%PDF", title="Rules", category="community")
    assert "not UTF-8 text" in await publish_file(
        app, "rules.md", "Reglas: señal".encode("utf-16"), title="Rules", category="community")
    assert "The document is empty" in await publish_file(
        app, "rules.md", b"   \n", title="Rules", category="community")
    assert await app.services.db.fetchval("SELECT count(*) FROM policy_documents") == 0

    await publish_file(app, "rules.md", b"Be kind to everyone.", title="Rules",
                       category="community")
    refused = await app.reply(ben, "policy", {"document": "Rules"}, subcommand="archive")
    assert "managers" in refused.lower()
    assert "kind" in await app.reply(ben, "policy", {"query": "kind"}, subcommand="search")
    archived = await app.reply(app.owner, "policy", {"document": "Rules"},
                               subcommand="archive")
    assert "Archived **Rules**" in archived
    assert "Nothing matches" in await app.reply(ben, "policy", {"query": "kind"},
                                                subcommand="search")


async def test_leaders_only_document_is_hidden_from_creators(app, program):
    await publish_file(app, "lead.md", b"How to lead.", title="Leader guide",
                       category="training", audience="leaders")
    assert "There is no document" in await app.reply(
        program["ben"], "policy", {"document": "Leader guide"}, subcommand="show")
    assert "How to lead." in await app.reply(
        program["lena"], "policy", {"document": "Leader guide"}, subcommand="show")


async def test_the_agreement_is_a_document_and_joining_accepts_its_version_in_force(app):
    """The agreement /family join shows is the Agreements document's version in force;
    accepting it to join acknowledges it in the library, where members find and read it."""
    from tests.e2e._families import create, join

    nia = app.user("nia", locale="es-ES")
    lobos = await create(app, "Lobos", app.user("lena"))
    prompt = await (await app.run(nia, "family", {"family": lobos.name},
                                  subcommand="join")).wait_message()
    document = await app.services.policies.resolve(app.guild.id, "Family program agreement")
    shown = await app.services.policies.show(app.guild.id, nia.id, document.id, "es")
    assert shown.acknowledged is None and shown.version.version == shown.latest
    for line in shown.body.splitlines()[1:]:  # the numbered rules, word for word
        assert line in prompt.content
    await join(app, nia, lobos)

    found = await app.reply(nia, "policy", {"query": "acuerdo familias"}, subcommand="search")
    assert "Family program agreement" in found and "**Acuerdo**" in found
    it = await app.run(nia, "policy", {"document": str(document.id)}, subcommand="show")
    again = await it.wait_message()
    assert "Acuerdo del programa de familias (versión 1)" in again.content
    assert "Confirmaste la lectura de la versión vigente." in again.content
    assert not any(c.startswith("familia:pol:ack:") for c in again.custom_ids)
    status = await app.reply(app.owner, "policy", {"document": document.title},
                             subcommand="status")
    assert f"✅ <@{nia.id}>" in status
    refused = await app.reply(app.owner, "policy", {"title": "Family program agreement",
                                                    "file": ("a.md", b"New rules"),
                                                    "summary": "v2"}, subcommand="publish")
    assert "The family agreement changes with a new version" in refused


async def test_a_major_version_asks_by_dm_or_in_the_family_channel_when_dms_are_closed(app):
    """Publishing a major version with a deadline asks its audience through the delivery
    queue: a DM with Read and I acknowledge; someone whose DMs are closed is mentioned in
    their family's channel instead. Acknowledging from the DM records the version."""
    from tests.e2e._families import create, join

    lena, ana = app.user("lena"), app.user("ana", locale="es-ES")
    cai = app.user("cai", dms_open=False)
    lobos = await create(app, "Lobos", lena)
    await join(app, ana, lobos)
    await join(app, cai, lobos)
    deadline = (app.clock.now() + __import__("datetime").timedelta(days=3)).strftime(
        "%Y-%m-%d %H:%M")
    text = await publish_file(app, "safety.md", b"Be safe on LIVE.", title="Safety",
                              category="trust_safety", major=True, deadline=deadline)
    assert "Published **Safety**, version 1" in text
    asks = await app.emu.wait_for(lambda: [m for m in app.emu.dms(ana) if "Safety" in m.content],
                                  what="ana's DM")
    dm = asks[0]
    assert "Lee y confirma la lectura de **Safety** (versión 1)" in dm.content
    read = next(c for c in dm.custom_ids if c.startswith("familia:pol:read:"))
    assert "Be safe on LIVE." in await (await app.emu.click(ana, dm, read)).reply_text()
    ack = next(c for c in dm.custom_ids if c.startswith("familia:pol:dmack:"))
    assert "versión 1 de **Safety**" in await (await app.emu.click(ana, dm, ack)).reply_text()
    posts = await app.emu.wait_for(
        lambda: [m for m in app.emu.messages(lobos.channel) if "Safety" in m.content],
        what="the family channel's mention of cai")
    assert posts[0].content.startswith(f"<@{cai.id}>") and "DMs are closed" in posts[0].content
    acks = await app.services.db.fetchall("SELECT user_id, version FROM policy_acks")
    assert [tuple(r) for r in acks] == [(ana.id, 1)]
    # a stranger pressing ana's DM button is refused, and nothing is recorded
    outsider = app.user("outsider")
    refused = await (await app.emu.click(outsider, dm, ack)).reply_text()
    assert "Safety" not in refused
    assert await app.services.db.fetchval("SELECT count(*) FROM policy_acks") == 1
