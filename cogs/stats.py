"""/stats: import the platform's statistics, choose each figure's source, reconcile.

Managers upload the platform's export (CSV or .xlsx) with ``/stats import``: a preview (rows
to add, change and leave alone, refused rows with their line and reason) with **Apply** and
**Discard**; a long read or apply edits the answer with a progress bar. ``/stats imports``
lists them (file hash, period, counts), ``/stats rollback`` undoes one. ``/stats sources``
says which source each metric follows; ``/stats reconcile`` compares check-ins with imports.
"""

from __future__ import annotations

import io
import logging

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import is_manager, leader_or_manager, manager_only
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.options import FamilyArg, IdNumber, MonthText
from bot.cogkit.progress import ProgressShown, finish
from bot.errors import UserError
from bot.interactions import acknowledge, familia, locale_for, reply
from bot.services.platform_stats import Preview
from bot.services.reconcile import COMPARED, Report
from bot.sheets import SheetError

log = logging.getLogger("familia.stats")
label = labels("discord/stats/labels.j2")
PROGRESS_EVERY = 2.0  # seconds between two edits of a long import's answer (bot/cogkit/progress.py)
REFUSED_SHOWN = 15  # refused rows a preview lists (then "and N more")
RECONCILE_SHOWN = 20  # creators a reconciliation lists (the CSV has them all)

METRIC_CHOICES = [
    app_commands.Choice(name=_T("Hours live"), value="hours"),
    app_commands.Choice(name=_T("Diamonds"), value="diamonds"),
    app_commands.Choice(name=_T("New followers"), value="followers"),
    app_commands.Choice(name=_T("Valid days"), value="valid_days"),
]
SOURCE_CHOICES = [
    app_commands.Choice(name=_T("Imported where present, else check-ins"), value="imported"),
    app_commands.Choice(name=_T("Check-ins only"), value="checkins"),
]


async def _preview(interaction: discord.Interaction, preview: Preview,
                   shown: ProgressShown) -> None:
    bot = familia(interaction)
    locale = await locale_for(interaction)
    refused = [(r.line, bot.templates.render_error(locale, r.error))
               for r in preview.refused[:REFUSED_SHOWN]]
    view = discord.ui.View(timeout=None)
    record = preview.record
    if record.rows:
        view.add_item(StatsApplyButton(label(bot, locale, "apply"), import_id=record.id))
    view.add_item(StatsDiscardButton(label(bot, locale, "discard"), import_id=record.id))
    await finish(interaction, shown, "discord/stats/preview.md.j2", view=view,
                 preview=preview, record=record, refused=refused,
                 refused_more=record.rows_refused - len(refused))


class StatsApplyButton(PersistentButton, custom_id="familia:st:apply:{import_id}"):
    style = discord.ButtonStyle.success
    default_label = "✓"
    managers_only = True
    import_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        await acknowledge(interaction)
        bot = familia(interaction)
        shown = ProgressShown(interaction, await locale_for(interaction), PROGRESS_EVERY)
        record = await bot.services.stats.apply(cogkit.guild_id(interaction), self.import_id,
                                                interaction.user.id, shown)
        await finish(interaction, shown, "discord/stats/applied.md.j2", record=record)


class StatsDiscardButton(PersistentButton, custom_id="familia:st:discard:{import_id}"):
    default_label = "✗"
    managers_only = True
    import_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        await familia(interaction).services.stats.discard(cogkit.guild_id(interaction),
                                                          self.import_id)
        await reply(interaction, "discord/stats/discarded.md.j2")


class StatsCog(commands.Cog, name="Stats"):
    stats = app_commands.Group(
        name=_T("stats"), description=_T("The platform's statistics: import, sources, reconcile"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(StatsApplyButton, StatsDiscardButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(StatsApplyButton, StatsDiscardButton)

    @stats.command(name=_T("import"),
                   description=_T("Upload the platform's stats export (CSV or .xlsx): a preview"))
    @app_commands.describe(file=_T("Per creator and day (or month): LIVE duration, diamonds, "
                                   "followers…"))
    @manager_only()
    async def import_(self, interaction: discord.Interaction,
                      file: discord.Attachment) -> None:
        limits = self.bot.services.stats.limits
        if file.size > limits.max_bytes:  # refused before it is downloaded
            raise SheetError("sheets.too_big", limit_mb=limits.max_bytes // (1024 * 1024))
        await acknowledge(interaction)
        data = await file.read()
        locale = await locale_for(interaction)
        shown = ProgressShown(interaction, locale, PROGRESS_EVERY)
        preview = await self.bot.services.stats.stage(
            cogkit.guild_id(interaction), interaction.user.id, file.filename, data, locale,
            shown)
        await _preview(interaction, preview, shown)

    @stats.command(name=_T("imports"), description=_T("The latest stats imports"))
    @manager_only()
    async def imports(self, interaction: discord.Interaction) -> None:
        found = await self.bot.services.stats.imports(cogkit.guild_id(interaction))
        await reply(interaction, "discord/stats/imports.md.j2", imports=found)

    @stats.command(name=_T("rollback"), description=_T("Undo a stats import"))
    @app_commands.describe(number=_T("The import's number (see /stats imports)"))
    @manager_only()
    async def rollback(self, interaction: discord.Interaction, number: IdNumber) -> None:
        await acknowledge(interaction)
        record = await self.bot.services.stats.rollback(
            cogkit.guild_id(interaction), number, interaction.user.id)
        await reply(interaction, "discord/stats/rolled_back.md.j2", record=record)

    @stats.command(name=_T("sources"),
                   description=_T("Which source each figure follows: imported or check-ins"))
    @app_commands.describe(metric=_T("The figure to change (empty: show them)"),
                           source=_T("Where that figure comes from"),
                           tolerance=_T("Reconciliation: flag differences over this percent"))
    @app_commands.choices(metric=METRIC_CHOICES, source=SOURCE_CHOICES)
    @manager_only()
    async def sources(self, interaction: discord.Interaction, metric: str | None = None,
                      source: str | None = None,
                      tolerance: app_commands.Range[float, 0, 1000] | None = None) -> None:
        if (metric is None) != (source is None):
            raise UserError("stats.metric_and_source")
        guild_id = cogkit.guild_id(interaction)
        changed = metric is not None or tolerance is not None
        if changed:
            await acknowledge(interaction)  # a whole program's progress is recomputed
            settings = await self.bot.services.sources.set(
                guild_id, interaction.user.id, metric=metric, source=source,
                tolerance=tolerance)
        else:
            settings = await self.bot.services.sources.get(guild_id)
        await reply(interaction, "discord/stats/sources.md.j2", settings=settings,
                    changed=changed)

    @stats.command(name=_T("reconcile"),
                   description=_T("Check-ins against imported stats, per creator"))
    @app_commands.describe(month=_T("The month as YYYY-MM (default: last month)"),
                           family=_T("Managers: one family (leaders see their own)"))
    @leader_or_manager()
    async def reconcile(self, interaction: discord.Interaction,
                        month: MonthText | None = None,
                        family: FamilyArg | None = None) -> None:
        await acknowledge(interaction)
        guild_id = cogkit.guild_id(interaction)
        service = self.bot.services.reconcile
        scope = await service.scope(guild_id, interaction.user.id, family,
                                    await is_manager(interaction))
        report = await service.report(guild_id, service.month(month),
                                      scope.id if scope else None)
        locale = await locale_for(interaction)
        csv = await self._csv(interaction, report, locale)
        await reply(interaction, "discord/stats/reconcile.md.j2", report=report,
                    family=scope, shown=report.lines[:RECONCILE_SHOWN],
                    more=max(0, len(report.lines) - RECONCILE_SHOWN), metrics=COMPARED,
                    files=[csv])

    async def _csv(self, interaction: discord.Interaction, report: Report,
                   locale: str) -> discord.File:
        names = {}
        guild = interaction.guild
        for line in report.lines:
            member = guild.get_member(line.user_id) if guild else None
            if member is not None:
                names[line.user_id] = member.display_name
        titles = [label(self.bot, locale, "column", key) for key in (
            "member", "user_id", "family", "checkin_days",
            *[f"{m}_{side}" for m in COMPARED
              for side in ("reported", "imported", "difference", "flag")], "status")]
        statuses = {s: label(self.bot, locale, "status", s)
                    for s in ("ok", "differs", "no_import", "no_checkins", "no_data")}
        data = await self.bot.services.reconcile.csv(report, names, titles, statuses)
        return discord.File(io.BytesIO(data), filename=f"reconcile-{report.month}.csv")


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(StatsCog(bot))
