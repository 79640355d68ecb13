"""Language everywhere: an interaction without a guild (a button clicked in a DM) answers in the
language the member chose in the guild the item belongs to, not in their Discord app's; and
/me delete answers in the language the member had before their data went.

Every person here has a Discord app language DIFFERENT from the one they chose with /me
language: a test that used the same one for both could not tell the two apart.

The DM items: the invitation's Accept and Decline (``familia:req:{y,n}:<guild>:<request>``),
the only buttons Familia sends by DM (feedback, reminders, nudges, the leaders' summary and
broadcasts are DMs without buttons).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e._families import button, create, membership, roles_become


async def chose(app, user, language: str) -> None:
    """``user`` picks a language with /me language (their Discord app stays as it is)."""
    await app.reply(user, "me", {"language": language}, subcommand="language")
    assert (await app.services.members.get(app.guild.id, user.id)).locale == language


async def invited(app, *, locale: str, language: str):
    """Sofia invites Ana (Discord app in ``locale``, chose ``language``); Ana's DM."""
    sofia, ana = app.user("sofia"), app.user("ana", locale=locale)
    await chose(app, ana, language)
    family = await create(app, "Lobos", sofia)
    await app.reply(sofia, "family", {"member": ana}, subcommand="invite")
    return family, sofia, ana, app.emu.dms(ana)[-1]


async def test_invitation_accepted_in_a_dm_answers_in_the_chosen_language(app):
    family, _, ana, dm = await invited(app, locale="en-US", language="es")
    assert "te invita" in dm.content  # the DM itself was already in her language
    click = await app.emu.click(ana, dm, button(dm, "familia:req:y:"))  # her app: en-US
    await click.wait_response()
    assert "¡Bienvenido a Lobos! Ya eres miembro." in dm.content, dm.content
    await roles_become(app, ana, has=family.role)


async def test_invitation_declined_in_a_dm_answers_in_the_chosen_language(app):
    _, _, ana, dm = await invited(app, locale="es-ES", language="en")
    click = await app.emu.click(ana, dm, button(dm, "familia:req:n:"))  # her app: Spanish
    await click.wait_response()
    assert "You declined the invitation to Lobos." in dm.content, dm.content
    assert await membership(app, ana) is None


async def test_a_refusal_in_a_dm_is_in_the_chosen_language(app):
    """The error handler speaks the same language: accepted with /family join in the server,
    the invitation still shows its buttons in the DM, and a click there finds it decided."""
    _, _, ana, dm = await invited(app, locale="en-US", language="es")
    prompt = await (await app.run(ana, "family", {"family": "Lobos"},
                                  subcommand="join")).wait_message()
    await (await app.emu.click(ana, prompt, button(prompt, "familia:req:y:"))).wait_response()
    again = await app.emu.click(ana, dm, button(dm, "familia:req:n:"))
    text = await again.reply_text()
    assert "Esto ya se decidió: aprobada." in text and again.ephemeral, text


async def test_someone_elses_invitation_refused_in_the_clickers_language(app):
    _, _, ana, dm = await invited(app, locale="en-US", language="es")
    ben = app.user("ben", locale="es-419")
    await chose(app, ben, "en")
    stolen = await app.emu.click(ben, dm, button(dm, "familia:req:y:"))
    assert "This invitation is for someone else." in await stolen.reply_text()
    assert await membership(app, ben) is None and await membership(app, ana) is None


async def test_without_a_choice_a_dm_click_follows_the_discord_app(app):
    """Nothing chosen: the Discord language of the click, as in a guild."""
    sofia, ana = app.user("sofia"), app.user("ana", locale="es-ES")
    await create(app, "Lobos", sofia)
    await app.reply(sofia, "family", {"member": ana}, subcommand="invite")
    dm = app.emu.dms(ana)[-1]
    await (await app.emu.click(ana, dm, button(dm, "familia:req:n:"))).wait_response()
    assert "Rechazaste la invitación a Lobos." in dm.content, dm.content


@pytest.mark.parametrize(("locale", "language", "expected"), [
    ("en-US", "es", "Listo: se borr"),
    ("es-ES", "en", "Done: "),
])
async def test_me_delete_answers_in_the_language_the_member_had(app, locale, language,
                                                                  expected):
    ana = app.user("ana", locale=locale)
    await chose(app, ana, language)
    await app.reply(ana, "me", {"zone": "Asia/Jakarta"}, subcommand="timezone")
    prompt = await (await app.run(ana, "me", subcommand="delete")).wait_message()
    confirm = await app.emu.click(ana, prompt, "familia:me:delete")
    assert expected in await confirm.reply_text()
    assert await app.services.members.get(app.guild.id, ana.id) is None


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_button_in_a_dm_knows_its_guild_or_refuses():
    """A button that can be clicked in a DM names its guild in its custom id (it answers in
    the member's language there); any other reads the guild from the interaction, which
    refuses in a DM ("use this in the server"), never answering in a guessed language."""
    import importlib
    import inspect
    import pkgutil

    import cogs
    from bot.cogkit.buttons import PersistentButton

    for module in pkgutil.iter_modules(cogs.__path__):
        importlib.import_module(f"cogs.{module.name}")
    found = [cls for cls in _subclasses(PersistentButton) if cls.custom_id_format]
    assert len(found) >= 12
    strays = []
    for cls in found:
        if "{guild_id}" in cls.custom_id_format:
            continue
        source = inspect.getsource(cls.run)
        helpers = [getattr(cls, n, None) or getattr(inspect.getmodule(cls), n, None)
                   for n in re.findall(r"(?:self\.)?(\w+)\(interaction", source)]
        sources = [source] + [inspect.getsource(h) for h in helpers if callable(h)]
        # cogkit.guild_id(interaction) or cogkit.guild(interaction): both refuse in a DM
        if not any(re.search(r"\bguild(?:_id)?\(interaction\)", s) for s in sources):
            strays.append(cls.__name__)
    assert not strays, f"buttons that neither name their guild nor refuse in a DM: {strays}"
