"""/export roster|checkins|progress|kpis: the program's tables as a spreadsheet (managers;
leaders their own family), CSV (UTF-8 with BOM) or ``.xlsx``, headers in the reader's
language.

:class:`~bot.services.exports.ExportService` reads the rows (and checks who may); the file is
written in a thread (:func:`bot.sheets.write_async`) while the answer shows a progress line
that is edited every couple of seconds for a big export; it is delivered as an attachment.
A file past the server's attachment size goes by email, as an attachment, to the manager's
verified address (:meth:`~bot.services.exports.ExportService.send_by_email`); a leader, or a
manager without a verified address, is told what to narrow (and how to set an address).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, leader_or_manager
from bot.cogkit.buttons import labels
from bot.cogkit.options import FamilyArg
from bot.errors import UserError
from bot.interactions import acknowledge, edit, locale_for, reply
from bot.services.exports import Table
from bot.services.roster import ROSTER
from bot.sheets import write_async

LABELS = "discord/exports/labels.j2"
label = labels(LABELS)
PROGRESS_EVERY = 2.0  # seconds between two edits of the progress line
PERIODS = [
    app_commands.Choice(name=_T("This week"), value="this_week"),
    app_commands.Choice(name=_T("Last week"), value="last_week"),
    app_commands.Choice(name=_T("This month"), value="this_month"),
    app_commands.Choice(name=_T("Last month"), value="last_month"),
    app_commands.Choice(name=_T("All time"), value="all"),
]
FORMATS = [app_commands.Choice(name=_T("Excel (.xlsx)"), value="xlsx"),
           app_commands.Choice(name=_T("CSV"), value="csv")]
DESCRIBE = {"period": _T("Which period (default: this month)"),
            "family": _T("One family (leaders: their own; default: the whole program)"),
            "format": _T("Excel (.xlsx) or CSV")}


def bar(done: int, total: int, width: int = 20) -> str:
    """A progress bar of ``width`` blocks."""
    filled = min(width, done * width // total) if total else width
    return "█" * filled + "░" * (width - filled)


class Counted(Iterable[Sequence[Any]]):
    """Rows handed to the writer's thread, counted as they are written (read by the
    progress line on the event loop: an int, written by one thread)."""

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self.rows = rows
        self.done = 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self.rows:
            yield row
            self.done += 1


class ExportsCog(commands.Cog):
    export = app_commands.Group(name=_T("export"),
                                description=_T("Download the program's data as a spreadsheet"),
                                guild_only=True)

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    @export.command(name=_T("roster"), description=_T("Members, families and profiles"))
    @app_commands.describe(family=DESCRIBE["family"], format=DESCRIBE["format"])
    @app_commands.choices(format=FORMATS)
    @leader_or_manager()
    async def roster(self, interaction: discord.Interaction, family: FamilyArg | None = None,
                     format: str = "xlsx") -> None:
        await self._export(interaction, "roster", "all", family, format)

    @export.command(name=_T("checkins"), description=_T("Every check-in of a period"))
    @app_commands.describe(**DESCRIBE)
    @app_commands.choices(period=PERIODS, format=FORMATS)
    @leader_or_manager()
    async def checkins(self, interaction: discord.Interaction, period: str = "this_month",
                       family: FamilyArg | None = None, format: str = "xlsx") -> None:
        await self._export(interaction, "checkins", period, family, format)

    @export.command(name=_T("progress"), description=_T("Each creator's totals of a period"))
    @app_commands.describe(**DESCRIBE)
    @app_commands.choices(period=PERIODS, format=FORMATS)
    @leader_or_manager()
    async def progress(self, interaction: discord.Interaction, period: str = "this_month",
                       family: FamilyArg | None = None, format: str = "xlsx") -> None:
        await self._export(interaction, "progress", period, family, format)

    @export.command(name=_T("kpis"), description=_T("Family KPIs of a period"))
    @app_commands.describe(**DESCRIBE)
    @app_commands.choices(period=PERIODS, format=FORMATS)
    @leader_or_manager()
    async def kpis(self, interaction: discord.Interaction, period: str = "this_month",
                   family: FamilyArg | None = None, format: str = "xlsx") -> None:
        await self._export(interaction, "kpis", period, family, format)

    async def _export(self, interaction: discord.Interaction, kind: str, period_name: str,
                      family: Any, fmt: str) -> None:
        if fmt not in ("xlsx", "csv"):  # a client that ignores the choices
            raise UserError("common.bad_option", value=fmt)
        if period_name not in [c.value for c in PERIODS]:
            raise UserError("common.bad_option", value=period_name)
        await acknowledge(interaction)
        services = self.bot.services
        guild = cogkit.guild(interaction)
        period = await services.leaderboards.resolve_period(guild.id, period_name)
        table = await services.exports.table(
            guild.id, interaction.user.id, kind, period.first, period.last, family,
            as_manager=await is_manager(interaction), period_kind=period.kind,
            period_key=period.key)
        locale = await locale_for(interaction)
        header = self._header(locale, table)
        rows = Counted(self._localised(locale, table))
        work = asyncio.ensure_future(write_async(fmt, header, rows, title=kind))
        while True:
            done, _ = await asyncio.wait([work], timeout=PROGRESS_EVERY)
            if done:
                break
            await edit(interaction, self.bot.templates.render(
                locale, "discord/exports/progress.md.j2", done=rows.done,
                total=len(table.rows), bar=bar(rows.done, len(table.rows))))
        out, count, size = work.result()
        with out:
            limit = guild.filesize_limit
            name = f"familia-{label(self.bot, locale, 'kind', kind)}-{period.key}.{fmt}"
            if size > limit:  # by email to the manager, if they have a verified address
                size_mb, limit_mb = round(size / 2**20, 1), limit // 2**20
                address = await services.exports.send_by_email(
                    guild.id, interaction.user.id, as_manager=await is_manager(interaction),
                    filename=name, data=out.read(), size_mb=size_mb, limit_mb=limit_mb,
                    locale=locale, kind=kind, rows=count, period=period.key,
                    family=table.family.name if table.family else None)
                await reply(interaction, "discord/exports/emailed.md.j2", kind=kind,
                            rows=count, size_mb=size_mb, limit_mb=limit_mb, address=address)
                return
            await reply(interaction, "discord/exports/done.md.j2", kind=kind, rows=count,
                        period=period, family=table.family,
                        files=[discord.File(io.BytesIO(out.read()), filename=name)])

    def _header(self, locale: str, table: Table) -> list[str]:
        titles = {c.key: c.title(locale) for c in ROSTER.columns} if table.kind == "roster" \
            else {}
        return [titles.get(k) or label(self.bot, locale, "column", k) for k in table.columns]

    def _localised(self, locale: str, table: Table) -> list[list[Any]]:
        """The roster's positions in the reader's language (the import reads both)."""
        if table.kind != "roster":
            return table.rows
        at = table.columns.index("position")
        names = {p: label(self.bot, locale, "position", p)
                 for p in ("creator", "leader", "co_leader")}
        return [[*row[:at], names.get(row[at], row[at]), *row[at + 1:]] for row in table.rows]


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(ExportsCog(bot))
