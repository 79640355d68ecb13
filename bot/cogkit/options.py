"""Options that arrive typed: a family, a tier, a campaign (with their autocomplete), a day, a
moment on the reader's clock — each with a localised refusal (``families.unknown_family``,
``common.bad_day`` …), so a cog receives the record or the value, never the text.

What a user may send is accepted exactly as when cogs resolved the text themselves: the value
autocomplete offers (a family's id, a tier's or campaign's name) or a name typed by hand (a
family named with digits only is found by name when no family has that id).

Use ``app_commands.Transform[Family, FamilyOption]`` (``| None = None`` when optional).

Every option has Discord's limits from ``bot/services/bounds.py`` (the services check the same
bounds again): a transformer's ``max_value`` is the ``max_length`` Discord shows for text, and
the ``…Text`` and number aliases at the end carry the rest.

An option that another option of the command can make irrelevant (a family for the tier
scope, a list of families for every family, a range's day for "this week") reads
``interaction.namespace`` — the options as sent — and is not read then (None, or an empty
list), so it is never refused for a value the command ignores, as before.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T

from bot import timezones
from bot.checks import is_manager
from bot.cogkit import guild_id
from bot.errors import FamiliaError, UserError
from bot.interactions import familia
from bot.limits import fit_choices
from bot.localtime import LocalMoment, parse_day, parse_local, parse_moment
from bot.services import bounds
from bot.services.campaigns.models import Campaign
from bot.services.families import Family
from bot.services.tiers import Tier

T = TypeVar("T")
Choices = list[app_commands.Choice[str]]


class Refused(FamiliaError, app_commands.AppCommandError):
    """A domain refusal met while reading an option. discord.py hands an ``AppCommandError``
    to the error handler as it is (anything else it wraps in ``TransformerError``, which
    would read "bad option"), so the user sees the refusal's own message."""

    def __init__(self, error: FamiliaError) -> None:
        super().__init__(error.code, **error.params)
        self.original = error


async def _refusing(found: Awaitable[T]) -> T:
    try:
        return await found
    except FamiliaError as exc:
        raise Refused(exc) from exc


# -- autocomplete --------------------------------------------------------------------------

async def family_autocomplete(interaction: discord.Interaction, current: str) -> Choices:
    found = await familia(interaction).services.families.search(guild_id(interaction), current)
    return fit_choices([app_commands.Choice(name=f.name, value=str(f.id)) for f in found])


async def tier_autocomplete(interaction: discord.Interaction, current: str) -> Choices:
    tiers = await familia(interaction).services.tiers.list_tiers(guild_id(interaction))
    return fit_choices([app_commands.Choice(name=t.name, value=t.name) for t in tiers
                        if current.lower() in t.name.lower()])


async def campaign_autocomplete(interaction: discord.Interaction, current: str) -> Choices:
    states = (("draft", "scheduled", "running", "finished") if await is_manager(interaction)
              else ("scheduled", "running", "finished"))
    found = await familia(interaction).services.campaigns.search(
        guild_id(interaction), current, states)
    return fit_choices([app_commands.Choice(name=c.name, value=c.name) for c in found])


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> Choices:
    return fit_choices([app_commands.Choice(name=z, value=z) for z in timezones.search(current)])


LANGUAGE_CHOICES = [
    app_commands.Choice(name=_T("English"), value="en"),
    app_commands.Choice(name=_T("Spanish"), value="es"),
]


# -- transformers --------------------------------------------------------------------------

class _Bounded(app_commands.Transformer):
    """A text option with a maximum length (``max_value`` of a string option is Discord's
    ``max_length``)."""

    longest = bounds.CHOICE_MAX

    @property
    def max_value(self) -> int:
        return self.longest


class PlainFamilyOption(_Bounded):
    """A family (not archived) typed by name (or id), without suggestions."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> Family:
        families = familia(interaction).services.families
        return await _refusing(families.resolve(guild_id(interaction), str(value)))


class FamilyOption(PlainFamilyOption):
    """A family (not archived): its id from autocomplete, or its name typed by hand."""

    async def autocomplete(  # type: ignore[override]  # discord.py's allows int/float choices
        self, interaction: discord.Interaction, value: str
    ) -> Choices:
        return await family_autocomplete(interaction, value)


class TierOption(_Bounded):
    """A tier, by name (any case)."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> Tier:
        tiers = familia(interaction).services.tiers
        return await _refusing(tiers.get(guild_id(interaction), str(value)))

    async def autocomplete(  # type: ignore[override]  # discord.py's allows int/float choices
        self, interaction: discord.Interaction, value: str
    ) -> Choices:
        return await tier_autocomplete(interaction, value)


class CampaignOption(_Bounded):
    """A campaign: its name (any case), or its id."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> Campaign:
        campaigns = familia(interaction).services.campaigns
        return await _refusing(campaigns.resolve(guild_id(interaction), str(value)))

    async def autocomplete(  # type: ignore[override]  # discord.py's allows int/float choices
        self, interaction: discord.Interaction, value: str
    ) -> Choices:
        return await campaign_autocomplete(interaction, value)


class DayOption(_Bounded):
    """A calendar day written YYYY-MM-DD."""

    longest = bounds.DATE_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> date:
        day = parse_day(str(value))
        if day is None:
            raise Refused(UserError("common.bad_day", value=str(value)))
        return day


class MomentOption(_Bounded):
    """A moment written YYYY-MM-DD HH:MM on the reader's clock (their time zone), as a UTC
    instant. Whether it may be in the past is the service's rule, not the option's."""

    longest = bounds.DATE_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> datetime:
        tz, when = await _moment(interaction, str(value))
        if when is None:
            raise Refused(UserError("common.bad_moment", value=str(value), timezone=tz))
        return when


class SendAtOption(_Bounded):
    """/broadcast new's ``at``: a moment as :class:`MomentOption` reads it, refused as
    ``broadcasts.bad_time``; blank is None (send now)."""

    longest = bounds.DATE_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> datetime | None:
        if not str(value).strip():
            return None
        tz, when = await _moment(interaction, str(value))
        if when is None:
            raise Refused(UserError("broadcasts.bad_time", value=str(value), timezone=tz))
        return when


async def _moment(interaction: discord.Interaction, text: str) -> tuple[str, datetime | None]:
    """The reader's time zone, and ``text`` read on their clock (None: unreadable)."""
    members = familia(interaction).services.members
    tz = await members.timezone_of(guild_id(interaction), interaction.user.id)
    return tz, parse_moment(text, tz)


class ScopeFamilyOption(_Bounded):
    """/leaderboard creators: a family as :class:`FamilyOption` reads it, but only for the
    family scope (another scope ignores the option, so it is not refused: None)."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> Family | None:
        if interaction.namespace.scope != "family":
            return None
        return await FamilyOption().transform(interaction, value)

    async def autocomplete(  # type: ignore[override]  # discord.py's allows int/float choices
        self, interaction: discord.Interaction, value: str
    ) -> Choices:
        return await family_autocomplete(interaction, value)


class ScopeTierOption(_Bounded):
    """/leaderboard creators: a tier as :class:`TierOption` reads it, only for the tier
    scope."""

    async def transform(self, interaction: discord.Interaction, value: Any) -> Tier | None:
        if interaction.namespace.scope != "tier":
            return None
        return await TierOption().transform(interaction, value)

    async def autocomplete(  # type: ignore[override]  # discord.py's allows int/float choices
        self, interaction: discord.Interaction, value: str
    ) -> Choices:
        return await tier_autocomplete(interaction, value)


class _RangeDayOption(_Bounded):
    """A bound of a custom leaderboard range, YYYY-MM-DD: read only when the period is custom
    and both bounds are given (else the service says the range is needed, as it always did),
    refused as ``leaderboards.bad_date`` naming the option."""

    longest = bounds.DATE_MAX

    field = ""

    async def transform(self, interaction: discord.Interaction, value: Any) -> date | None:
        given = interaction.namespace
        if given.period != "custom" or not getattr(given, "from") or not given.to:
            return None
        day = parse_day(str(value))
        if day is None:
            raise Refused(UserError("leaderboards.bad_date", field=self.field, value=str(value)))
        return day


class RangeStartOption(_RangeDayOption):
    field = "from"


class RangeEndOption(_RangeDayOption):
    field = "to"


class CampaignDateOption(_Bounded):
    """A campaign's start or end: YYYY-MM-DD, or YYYY-MM-DD HH:MM for a time, on the
    campaign's clock. Which instant it is (a bare end date means the end of that day) is the
    campaign's rule, read in its zone; an unreadable one is refused naming that zone (the
    server's, or an edited campaign's own)."""

    longest = bounds.DATE_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> LocalMoment:
        found = parse_local(str(value))
        if found is None:
            raise Refused(UserError("campaigns.bad_date", value=str(value),
                                    timezone=await _campaign_zone(interaction)))
        return found


async def _campaign_zone(interaction: discord.Interaction) -> str:
    services = familia(interaction).services
    named = interaction.namespace.campaign  # /campaign edit: the campaign keeps its zone
    if named:
        try:
            return (await services.campaigns.resolve(guild_id(interaction), str(named))).timezone
        except FamiliaError:
            pass  # refused by its own option
    return (await services.guilds.get(guild_id(interaction))).timezone


class _NamesOption(_Bounded):
    """Names separated by commas, each read as one record; read only when the command's
    ``audience`` option picks this list (a list the chosen audience ignores is not refused).
    ``infer``: with no audience named, the first list given names it (/campaign edit)."""

    longest = bounds.LIST_MAX

    kind: str = ""
    infer = False

    def _read(self, interaction: discord.Interaction) -> bool:
        given = interaction.namespace  # the options as sent (text), before any transform
        audience = given.audience
        if audience is None and self.infer:
            audience = "families" if given.families else "tiers" if given.tiers else None
        return audience == self.kind

    @staticmethod
    def names(value: Any) -> list[str]:
        return [n.strip() for n in str(value).split(",") if n.strip()]


class FamilyListOption(_NamesOption):
    """Families (not archived) by name or id, separated by commas."""

    kind = "families"

    async def transform(self, interaction: discord.Interaction, value: Any) -> list[Family]:
        if not self._read(interaction):
            return []
        families = familia(interaction).services.families
        return [await _refusing(families.resolve(guild_id(interaction), name))
                for name in self.names(value)]


class TierListOption(_NamesOption):
    """Tiers by name (any case), separated by commas."""

    kind = "tiers"

    async def transform(self, interaction: discord.Interaction, value: Any) -> list[Tier]:
        if not self._read(interaction):
            return []
        tiers = familia(interaction).services.tiers
        return [await _refusing(tiers.get(guild_id(interaction), name))
                for name in self.names(value)]


class InferredFamilyListOption(FamilyListOption):
    infer = True


class InferredTierListOption(TierListOption):
    infer = True


class StatsDaysOption(app_commands.Transformer):
    """/family stats ``days``: 1 to ``bounds.STATS_DAYS_MAX``, refused here as
    ``common.out_of_range`` when a client sends more anyway (the period is reckoned from it
    before any service sees a number)."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.integer

    @property
    def min_value(self) -> int:
        return 1

    @property
    def max_value(self) -> int:
        return bounds.STATS_DAYS_MAX

    async def transform(self, interaction: discord.Interaction, value: Any) -> int:
        try:
            bounds.check_number(int(value), "days", 1, bounds.STATS_DAYS_MAX)
        except UserError as exc:
            raise Refused(exc) from exc
        return int(value)


FamilyArg = app_commands.Transform[Family, FamilyOption]
PlainFamilyArg = app_commands.Transform[Family, PlainFamilyOption]
TierArg = app_commands.Transform[Tier, TierOption]
CampaignArg = app_commands.Transform[Campaign, CampaignOption]
DayArg = app_commands.Transform[date, DayOption]
MomentArg = app_commands.Transform[datetime, MomentOption]
CampaignDateArg = app_commands.Transform[LocalMoment, CampaignDateOption]
SendAtArg = app_commands.Transform[datetime, SendAtOption]  # None as well: blank
# None as well when the scope or the period does not read them
ScopeFamilyArg = app_commands.Transform[Family, ScopeFamilyOption]
ScopeTierArg = app_commands.Transform[Tier, ScopeTierOption]
RangeStartArg = app_commands.Transform[date, RangeStartOption]
RangeEndArg = app_commands.Transform[date, RangeEndOption]
FamilyListArg = app_commands.Transform[list[Family], FamilyListOption]
TierListArg = app_commands.Transform[list[Tier], TierListOption]
# /campaign edit: with no audience named, the first list given is the new audience
InferredFamilyListArg = app_commands.Transform[list[Family], InferredFamilyListOption]
InferredTierListArg = app_commands.Transform[list[Tier], InferredTierListOption]

# Text and numbers Discord limits before they are sent (the services check them again).
FamilyNameText = app_commands.Range[str, 1, bounds.FAMILY_NAME_MAX]
TierNameText = app_commands.Range[str, 1, bounds.TIER_NAME_MAX]
CampaignNameText = app_commands.Range[str, 1, bounds.CAMPAIGN_NAME_MAX]
NoteText = app_commands.Range[str, 1, bounds.NOTE_MAX]  # a leave note, a removal's reason
EmailText = app_commands.Range[str, 1, bounds.EMAIL_MAX]
CodeText = app_commands.Range[str, 1, bounds.CODE_MAX]
TimeText = app_commands.Range[str, 1, bounds.TIME_MAX]  # HH:MM or "off"
ZoneText = app_commands.Range[str, 1, bounds.CHOICE_MAX]  # an IANA zone (autocompleted)
MonthText = app_commands.Range[str, 1, bounds.DATE_MAX]  # YYYY-MM
TargetNumber = app_commands.Range[float, 0, bounds.TARGET_OPTION_MAX]
TierRank = app_commands.Range[int, 1, bounds.TIER_RANK_MAX]
TierHours = app_commands.Range[float, 0, bounds.TIER_MAXIMA["min_hours"]]
TierDiamonds = app_commands.Range[int, 0, bounds.TIER_MAXIMA["min_diamonds"]]
TierValidDays = app_commands.Range[int, 0, bounds.TIER_MAXIMA["min_valid_days"]]
TierFollowers = app_commands.Range[int, 0, bounds.TIER_MAXIMA["min_followers"]]
Capacity = app_commands.Range[int, 1, bounds.CAPACITY_MAX]
StatsDays = app_commands.Transform[int, StatsDaysOption]
HistoryDays = app_commands.Range[int, 1, bounds.HISTORY_DAYS_MAX]
RestDays = app_commands.Range[int, 0, bounds.REST_DAYS_MAX]
IdNumber = app_commands.Range[int, 1, bounds.ID_MAX]  # a record's number (a broadcast's)
