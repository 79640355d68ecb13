"""The cog toolkit: options read into typed values with the refusal a user sees."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from discord import app_commands

from bot.cogkit import guild_id
from bot.cogkit.options import (
    DayOption,
    FamilyListOption,
    InferredFamilyListOption,
    InferredTierListOption,
    MomentOption,
    RangeEndOption,
    RangeStartOption,
    Refused,
    ScopeFamilyOption,
    ScopeTierOption,
    TierListOption,
)
from bot.errors import FamiliaError, UserError
from bot.localtime import parse_day, parse_local, parse_moment
from bot.templating import Templates


def _interaction(tz: str = "America/Mexico_City", guild: int | None = 1) -> SimpleNamespace:
    async def timezone_of(guild_id: int, user_id: int) -> str:
        return tz

    services = SimpleNamespace(members=SimpleNamespace(timezone_of=timezone_of))
    return SimpleNamespace(guild_id=guild, user=SimpleNamespace(id=2),
                           client=SimpleNamespace(services=services))


def test_guild_id_refuses_outside_a_guild():
    assert guild_id(_interaction()) == 1
    with pytest.raises(UserError) as caught:
        guild_id(_interaction(guild=None))
    assert caught.value.code == "common.guild_only"


def test_parse_day_and_moment():
    assert parse_day(" 2026-03-05 ") == date(2026, 3, 5)
    assert parse_day("2026-02-30") is None and parse_day("tomorrow") is None
    # 18:30 in Mexico City (UTC-6) is 00:30 UTC the next day; 18h30 and 18.30 read the same
    for text in ("2026-03-05 18:30", "2026-03-05T18h30", " 2026-03-05  18.30 "):
        assert parse_moment(text, "America/Mexico_City") == datetime(2026, 3, 6, 0, 30,
                                                                     tzinfo=UTC)
    for text in ("2026-03-05", "2026-02-30 10:00", "tomorrow 5pm", "2026-03-05 25:00", ""):
        assert parse_moment(text, "UTC") is None


async def test_day_and_moment_options_refuse_in_the_readers_words():
    assert await DayOption().transform(_interaction(), "2026-03-05") == date(2026, 3, 5)
    when = await MomentOption().transform(_interaction("Europe/Madrid"), "2026-03-05 18:30")
    assert when == datetime(2026, 3, 5, 17, 30, tzinfo=UTC)
    templates = Templates()
    with pytest.raises(Refused) as day:
        await DayOption().transform(_interaction(), "5/3/2026")
    with pytest.raises(Refused) as moment:
        await MomentOption().transform(_interaction("Europe/Madrid"), "mañana")
    for refusal in (day.value, moment.value):
        # discord.py passes an AppCommandError to the error handler as it is
        assert isinstance(refusal, app_commands.AppCommandError)
        assert isinstance(refusal, FamiliaError)
    assert "“5/3/2026” is not a date" in templates.render_error("en", day.value)
    text = templates.render_error("en", moment.value)
    assert "I can't read the time “mañana”" in text and "(Europe/Madrid)" in text
    assert "No entiendo la hora “mañana”" in templates.render_error("es", moment.value)
    assert "no es una fecha" in templates.render_error("es", day.value)


def _listing(audience=None, families=None, tiers=None) -> SimpleNamespace:
    """An interaction whose command got these options (as text), over a fake program with
    the family Lobos (id 7) and the tier Gold."""
    async def resolve(guild_id: int, text: str) -> SimpleNamespace:
        if text.lower() not in ("lobos", "7"):
            raise UserError("families.unknown_family", value=text)
        return SimpleNamespace(id=7, name="Lobos")

    async def get(guild_id: int, name: str) -> SimpleNamespace:
        if name.lower() != "gold":
            raise UserError("families.unknown_tier", value=name)
        return SimpleNamespace(id=3, name="Gold")

    services = SimpleNamespace(families=SimpleNamespace(resolve=resolve),
                               tiers=SimpleNamespace(get=get))
    return SimpleNamespace(guild_id=1, user=SimpleNamespace(id=2),
                           client=SimpleNamespace(services=services),
                           namespace=SimpleNamespace(audience=audience, families=families,
                                                     tiers=tiers))


async def test_lists_are_read_only_for_the_audience_that_uses_them():
    found = await FamilyListOption().transform(_listing("families", "Lobos, 7,"), "Lobos, 7,")
    assert [f.id for f in found] == [7, 7]
    assert [t.id for t in await TierListOption().transform(_listing("tiers"), "gold")] == [3]
    with pytest.raises(Refused) as unknown:
        await FamilyListOption().transform(_listing("families"), "Lobos, Osos")
    assert (unknown.value.code, unknown.value.params) == ("families.unknown_family",
                                                          {"value": "Osos"})
    # an audience that ignores the list: it is not read, so not refused
    assert await FamilyListOption().transform(_listing("all", "Osos"), "Osos") == []
    assert await TierListOption().transform(_listing(None, tiers="Plata"), "Plata") == []
    # /campaign edit with no audience: the first list given is the audience
    assert [t.id for t in await InferredTierListOption().transform(
        _listing(None, tiers="gold"), "gold")] == [3]
    assert await InferredTierListOption().transform(
        _listing(None, families="Lobos", tiers="Plata"), "Plata") == []
    with pytest.raises(Refused):
        await InferredFamilyListOption().transform(_listing(None, families="Osos"), "Osos")


async def test_leaderboard_options_are_read_only_for_the_scope_and_period_that_use_them():
    def given(**options):
        interaction = _listing()
        interaction.namespace = SimpleNamespace(**{"scope": None, "period": None, "from": None,
                                                   "to": None, **options})
        return interaction

    assert await ScopeFamilyOption().transform(given(scope="tier"), "Osos") is None
    assert await ScopeTierOption().transform(given(), "Plata") is None  # program scope
    assert (await ScopeFamilyOption().transform(given(scope="family"), "7")).id == 7
    with pytest.raises(Refused) as unknown:
        await ScopeTierOption().transform(given(scope="tier"), "Plata")
    assert unknown.value.code == "families.unknown_tier"
    # a range's bound: only for a custom period with both bounds (else: range needed)
    assert await RangeStartOption().transform(given(**{"from": "x", "to": "y"}), "x") is None
    assert await RangeEndOption().transform(given(period="custom", to="y"), "y") is None
    bounds = given(period="custom", to="2026-03-02", **{"from": "2026-02-31"})
    assert await RangeEndOption().transform(bounds, "2026-03-02") == date(2026, 3, 2)
    with pytest.raises(Refused) as bad:
        await RangeStartOption().transform(bounds, "2026-02-31")
    assert (bad.value.code, bad.value.params) == ("leaderboards.bad_date",
                                                  {"field": "from", "value": "2026-02-31"})


def test_campaign_dates_are_days_or_moments_read_in_the_campaigns_zone():
    day, timed = parse_local(" 2026-3-5 "), parse_local("2026-03-05T18h30")
    assert (str(day), str(timed)) == ("2026-03-05", "2026-03-05 18:30")
    # a bare day begins at its start and, as an end, means the end of that day
    assert day.start("America/Mexico_City") == datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
    assert day.end("America/Mexico_City") == datetime(2026, 3, 6, 6, 0, tzinfo=UTC)
    assert timed.start("UTC") == timed.end("UTC") == datetime(2026, 3, 5, 18, 30, tzinfo=UTC)
    for text in ("3rd of March", "2026-02-30", "2026-03-05 25:00", ""):
        assert parse_local(text) is None
