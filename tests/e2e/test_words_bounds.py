"""Input bounds end to end: Discord is told every option's limits, and what a client sends past
them anyway (the emulator, like any client, passes it on) is refused by the service with a
short localised answer — nothing changes in the database."""

from __future__ import annotations

from discord import AppCommandOptionType as T

from bot.runner import offline_tree
from tests.e2e._families import create, join, membership, refused

BIG = 2**53
HUGE = 2**63


async def _rows(app, table: str) -> list[tuple]:
    return [tuple(r) for r in await app.services.db.fetchall(f"SELECT * FROM {table}")]


def _walk(commands, prefix=""):
    for command in commands:
        if hasattr(command, "commands"):
            yield from _walk(command.commands, prefix + command.name + " ")
        else:
            yield prefix + command.name, command


async def test_every_option_tells_discord_its_limits():
    """Text options without a list of choices carry max_length; numbers min and max."""
    missing = []
    async with offline_tree() as tree:
        for path, command in _walk(tree.get_commands()):
            for option in command.to_dict(tree)["options"]:
                if option.get("choices"):
                    continue
                where = f"/{path} {option['name']}"
                if option["type"] == T.string.value and not option.get("max_length"):
                    missing.append(where)
                if option["type"] in (T.integer.value, T.number.value) and (
                        option.get("min_value") is None or option.get("max_value") is None):
                    missing.append(where)
    assert not missing, missing


async def test_the_removal_reason_is_bounded_like_the_leave_note(app):
    sofia, ana = app.user("sofia"), app.user("ana")
    family = await create(app, "Lobos", sofia)
    await join(app, ana, family)
    before = await _rows(app, "family_members")
    text = await refused(app, sofia, "family", {"member": ana, "reason": "x" * 5000},
                         subcommand="remove")
    assert "can be at most 500 characters long (yours has 5,000)" in text, text
    assert await _rows(app, "family_members") == before
    assert (await membership(app, ana)).family_id == family.id
    text = await refused(app, sofia, "family", {"member": ana, "reason": "x" * 501},
                         subcommand="remove", locale="es-ES")
    assert "admite como máximo 500 caracteres (el tuyo tiene 501)" in text, text
    assert await _rows(app, "family_members") == before


async def test_names_without_anything_visible_are_refused_and_bidi_controls_dropped(app):
    sofia, leo = app.user("sofia"), app.user("leo")
    before = await _rows(app, "families")
    for name in ("\u200b\u200b\u200b", "\u200d\u2060\ufeff", "\u202e\u2066"):
        text = await refused(app, app.owner, "family", {"name": name, "leader": sofia},
                             subcommand="create")
        assert "A family name needs 1 to 60 characters" in text, text
    assert await _rows(app, "families") == before
    text = await app.reply(app.owner, "family", {"name": "Lo\u202ebos\u202c", "leader": leo},
                           subcommand="create")
    assert "Family created" in text, text
    assert await app.services.db.fetchval("SELECT name FROM families") == "Lobos"
    text = await refused(app, app.owner, "tier", {"name": "\u200b", "rank": 1},
                         subcommand="define")
    assert "A tier name needs 1 to 40 characters" in text, text
    assert await _rows(app, "tiers") == []


async def test_tier_thresholds_have_program_sized_maxima(app):
    cases = [({"hours": float(BIG)}, "hours", "744"), ({"valid-days": 40}, "valid-days", "31"),
             ({"diamonds": HUGE}, "diamonds", "310,000,000"),
             ({"followers": BIG}, "followers", "31,000,000"), ({"rank": 101}, None, "100")]
    for options, field, high in cases:
        text = await refused(app, app.owner, "tier", {"name": "Bronce", "rank": 1, **options},
                             subcommand="define")
        assert "Something went wrong" not in text, text
        assert high in text and (field is None or f"`{field}`" in text), text
    assert await _rows(app, "tiers") == []
    text = await refused(app, app.owner, "tier", {"name": "Bronce", "rank": 1, "valid-days": 40},
                         subcommand="define", locale="es-ES")
    assert "40 está fuera del rango de `dias-validos`: usa un número de 0 a 31" in text, text


async def test_campaign_goals_have_maxima(app):
    sofia = app.user("sofia")
    await create(app, "Lobos", sofia)
    today = app.clock.now().date().isoformat()
    for options, field in (({"target": float(BIG)}, "target"),
                           ({"target": 10.0, "family_target": float(BIG)}, "family_target")):
        it = await app.run(app.owner, "campaign", {
            "name": "Spring", "metric": "hours", "start": today, "end": today, **options},
            subcommand="new")
        text = await it.reply_text()  # refused before the form opens
        assert it.ephemeral and "out of range" in text and f"`{field}`" in text, text
    assert await _rows(app, "campaigns") == []


async def test_stats_days_past_the_maximum_are_refused_not_a_crash(app):
    sofia = app.user("sofia")
    await create(app, "Lobos", sofia)
    text = await refused(app, app.owner, "family", {"days": 10**9}, subcommand="stats")
    assert "out of range for `days`: use a number from 1 to 3,660" in text, text
    text = await app.reply(app.owner, "family", {"days": 3660}, subcommand="stats")
    assert "Program stats" in text, text
