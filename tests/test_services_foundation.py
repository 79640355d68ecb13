"""Guild settings and member preferences on a real SQLite file."""

import json

import pytest

from bot import timezones
from bot.errors import UserError


async def test_guild_defaults_come_from_settings(services):
    current = await services.guilds.get(42)
    assert (current.timezone, current.locale, current.manager_role_id) == ("UTC", "en", None)
    assert await services.db.fetchval("SELECT count(*) FROM guilds") == 0  # reading writes nothing


async def test_settings_changes_are_stored_and_audited(services):
    assert await services.guilds.set_timezone(42, 7, "america/mexico_city") == "America/Mexico_City"
    await services.guilds.set_locale(42, 7, "es")
    await services.guilds.set_manager_role(42, 7, 555)
    await services.guilds.set_channel(42, 7, "announcements", 900, is_category=False)
    current = await services.guilds.get(42)
    assert current.timezone == "America/Mexico_City"
    assert current.locale == "es"
    assert current.manager_role_id == 555
    assert current.channels == {"announcements": 900}
    audit = await services.audit.recent(42)
    assert [a.action for a in audit][:2] == ["settings.channel", "settings.manager_role_id"]
    assert audit[-1].details == {"old": "UTC", "new": "America/Mexico_City"}
    assert all(a.actor_id == 7 for a in audit)
    await services.guilds.set_channel(42, 7, "announcements", None)
    assert (await services.guilds.get(42)).channels == {}


async def test_guilds_are_isolated(services):
    await services.guilds.set_timezone(1, 7, "Europe/London")
    assert (await services.guilds.get(2)).timezone == "UTC"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda s: s.guilds.set_timezone(1, 7, "Mars/Olympus"), "common.unknown_timezone"),
        (lambda s: s.guilds.set_locale(1, 7, "fr"), "common.unknown_language"),
        (lambda s: s.guilds.set_channel(1, 7, "weather", 5), "settings.unknown_channel_kind"),
        (lambda s: s.guilds.set_channel(1, 7, "family_category", 5, is_category=False),
         "settings.category_needed"),
        (lambda s: s.guilds.set_channel(1, 7, "leaderboard", 5, is_category=True),
         "settings.text_needed"),
        (lambda s: s.members.set_timezone(1, 7, "Nowhere"), "common.unknown_timezone"),
        (lambda s: s.members.set_locale(1, 7, "de"), "common.unknown_language"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(services, call, code):
    with pytest.raises(UserError) as caught:
        await call(services)
    assert caught.value.code == code
    for table in ("guilds", "guild_channels", "members", "audit_log"):
        assert await services.db.fetchval(f"SELECT count(*) FROM {table}") == 0


async def test_member_preferences(services):
    assert await services.members.get(1, 7) is None
    await services.guilds.set_timezone(1, 99, "America/Bogota")
    assert await services.members.timezone_of(1, 7) == "America/Bogota"
    await services.members.set_timezone(1, 7, "Asia/Jakarta")
    await services.members.set_locale(1, 7, "es")
    member = await services.members.get(1, 7)
    assert (member.timezone, member.locale, member.in_program) == ("Asia/Jakarta", "es", False)
    assert await services.members.timezone_of(1, 7) == "Asia/Jakarta"
    await services.members.set_timezone(1, 7, None)
    await services.members.set_locale(1, 7, None)
    member = await services.members.get(1, 7)
    assert (member.timezone, member.locale) == (None, None)
    assert await services.members.timezone_of(1, 7) == "America/Bogota"
    details = await services.db.fetchval(
        "SELECT details FROM audit_log WHERE action = 'me.locale' ORDER BY id LIMIT 1"
    )
    assert json.loads(details) == {"new": "es"}


def test_timezone_search_and_validation():
    assert timezones.search("mexico")[0] == "America/Mexico_City"
    assert "America/Bogota" in timezones.search("bog")
    assert len(timezones.search("")) == 25
    assert timezones.validate("Europe/London") == "Europe/London"
    assert timezones.validate("asia/jakarta") == "Asia/Jakarta"
    with pytest.raises(UserError) as caught:
        timezones.validate("America/Mexico_Cty")
    assert caught.value.params["suggestion"] == "America/Mexico_City"


async def test_gateway_events_let_other_tasks_run_between_them():
    """A burst of buffered gateway frames must not hold the loop (acknowledgements wait)."""
    import asyncio

    from bot.app import _yield_between_gateway_events

    order: list[str] = []

    class Socket:  # stands in for discord.py's DiscordWebSocket: only poll_event is used
        async def poll_event(self):
            order.append("event")  # a buffered frame: returns without suspending

    ws = Socket()
    _yield_between_gateway_events(ws)
    _yield_between_gateway_events(ws)  # a second on_connect does not wrap twice

    async def reader():
        for _ in range(3):
            await ws.poll_event()

    async def ack():
        order.append("ack")

    task = asyncio.create_task(reader())
    acked = asyncio.create_task(ack())  # scheduled while the reader has frames buffered
    await asyncio.gather(task, acked)
    assert order == ["event", "ack", "event", "event"]
