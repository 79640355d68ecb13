"""/campaign: managers create, preview, schedule, edit and cancel campaigns and read their
results; creators join and follow their progress; leaders follow their family's. The campaign
clock (:meth:`CampaignCog.tick`, every 30 s and right after a manager schedules) runs the
service's sweep and renders each stage post (the announcement or the managers' copy of the
results with its CSV) for the Discord delivery queue; the queue's sender posts them and gives
the reward roles the sweep queued."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import locale_str as _T
from discord.ext import commands

from bot import cogkit
from bot.app import FamiliaBot
from bot.checks import creator_only, is_manager, led_family, manager_only
from bot.cogkit.buttons import PersistentButton, labels
from bot.cogkit.options import (
    CampaignArg,
    CampaignDateArg,
    CampaignNameText,
    FamilyListArg,
    InferredFamilyListArg,
    InferredTierListArg,
    PlainFamilyArg,
    TargetNumber,
    TierListArg,
)
from bot.cogkit.pages import PageButton, nav
from bot.delivery.queue import attachment
from bot.errors import NotAllowed, UserError
from bot.interactions import (
    FamiliaModal,
    acknowledge,
    familia,
    locale_for,
    log_command,
    reply,
    send,
    start_timer,
)
from bot.services.campaigns import (
    DESCRIPTION_MAX,
    REMINDERS,
    REWARD_MAX,
    Campaign,
    FamilyProgress,
    Post,
    Results,
    Spec,
)
from bot.services.families import Family
from bot.services.tiers import Tier
from bot.text import split_text

log = logging.getLogger(__name__)

LABELS = "discord/campaigns/labels.j2"
JOB_ID = "campaigns-sweep"
BOARD_SIZE = 15
POST_WAIT = 30.0  # seconds a pass waits for the family posts a managers' copy reports on
METRIC_CHOICES = [
    app_commands.Choice(name=_T("Hours live"), value="hours"),
    app_commands.Choice(name=_T("Diamonds"), value="diamonds"),
    app_commands.Choice(name=_T("New followers"), value="followers"),
    app_commands.Choice(name=_T("Check-in days"), value="days"),
    app_commands.Choice(name=_T("Longest streak"), value="streak"),
]
AUDIENCE_CHOICES = [
    app_commands.Choice(name=_T("Every family"), value="all"),
    app_commands.Choice(name=_T("Some families"), value="families"),
    app_commands.Choice(name=_T("Some tiers"), value="tiers"),
]
ENROLMENT_CHOICES = [
    app_commands.Choice(name=_T("Creators enrol with a button"), value="optin"),
    app_commands.Choice(name=_T("Everyone in the audience takes part"), value="auto"),
]
REMINDER_CHOICES = [
    app_commands.Choice(name=_T("Halfway, 3 days left and last day"), value="midway,3days,lastday"),
    app_commands.Choice(name=_T("3 days left and last day"), value="3days,lastday"),
    app_commands.Choice(name=_T("Last day only"), value="lastday"),
    app_commands.Choice(name=_T("No reminders"), value="none"),
]
CLEAR_CHOICES = [
    app_commands.Choice(name=_T("The family goal"), value="target_family"),
    app_commands.Choice(name=_T("The goal for each creator"), value="target_creator"),
    app_commands.Choice(name=_T("The reward role"), value="reward_role_id"),
    app_commands.Choice(name=_T("The family goal and the reward role"),
                        value="target_family,reward_role_id"),
]


label = labels(LABELS)


def _ids(audience: str | None, families: list[Family] | None, tiers: list[Tier] | None
         ) -> list[int]:
    """The ids of the list the audience reads (the other list is not read)."""
    if audience == "families":
        return [f.id for f in families or []]
    if audience == "tiers":
        return [t.id for t in tiers or []]
    return []


def _reminders(choice: str) -> tuple[str, ...]:
    return tuple(r for r in choice.split(",") if r in REMINDERS)


def check_reward_role(guild: discord.Guild | None, role: discord.Role | None) -> None:
    """Refuse a reward role Familia could not give (before anything is stored)."""
    if role is None or guild is None:
        return
    me = guild.me
    if (me is None or not me.guild_permissions.manage_roles or role >= me.top_role
            or role.managed or role.is_default()):
        raise UserError("campaigns.reward_role_unmanageable", role=role.name)



async def preview(interaction: discord.Interaction, campaign: Campaign) -> None:
    """The campaign's summary and its start announcement, with Schedule / Discard."""
    bot = familia(interaction)
    locale = await locale_for(interaction)
    service = bot.services.campaigns
    people = await service.audience(campaign.guild_id, campaign)
    families = {f.id: f for f in await bot.services.families.list_families(campaign.guild_id)}
    used = {f for f in people.values()} if campaign.audience == "tiers" else (
        set(campaign.audience_ids) if campaign.audience == "families" else set(families))
    channels = sum(1 for f in used if f in families and families[f].channel_id)
    view = None
    if campaign.state == "draft":
        view = discord.ui.View(timeout=None)
        view.add_item(ScheduleButton(label(bot, locale, "schedule"), campaign_id=campaign.id))
        view.add_item(DiscardButton(label(bot, locale, "discard"), campaign_id=campaign.id))
    await reply(interaction, "discord/campaigns/preview.md.j2", view=view, campaign=campaign,
                people=len(people), channels=channels, no_channel=len(used) - channels)
    text = bot.templates.render(
        (await bot.services.guilds.get(campaign.guild_id)).locale,
        "discord/campaigns/announcement.md.j2", campaign=campaign, stage="start", family=None,
        results=None, late=False)
    for part in split_text(text):  # exactly as the family channels will see it
        await send(interaction, part, allowed_mentions=discord.AllowedMentions.none())


class DetailsModal(FamiliaModal):
    """Description and reward text; submitting stores the draft (or the edit) and previews."""

    def __init__(self, bot: Any, locale: str, spec: Spec, campaign_id: int | None) -> None:
        title = label(bot, locale, "modal_edit" if campaign_id else "modal_new")
        super().__init__(title=title, timeout=900)
        self.spec, self.campaign_id = spec, campaign_id
        self.description: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "modal_description"), custom_id="description",
            style=discord.TextStyle.paragraph, max_length=DESCRIPTION_MAX, required=False,
            default=spec.description or None)
        self.reward: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=label(bot, locale, "modal_reward"), custom_id="reward", required=False,
            max_length=REWARD_MAX, default=spec.reward_text or None)
        self.add_item(self.description)
        self.add_item(self.reward)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        service = familia(interaction).services.campaigns
        spec = replace(self.spec, description=self.description.value,
                       reward_text=self.reward.value)
        if self.campaign_id is None:
            campaign = await service.create(cogkit.guild_id(interaction), interaction.user.id, spec)
        else:
            campaign = await service.update(cogkit.guild_id(interaction), interaction.user.id,
                                            self.campaign_id, spec)
        await preview(interaction, campaign)
        log_command(interaction, "ok")


class ScheduleButton(PersistentButton, custom_id="familia:cp:schedule:{campaign_id}"):
    style = discord.ButtonStyle.success
    default_label = "✓"
    managers_only = True
    campaign_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        await acknowledge(interaction)  # a campaign starting now: its posts are prepared first
        bot = familia(interaction)
        await bot.services.campaigns.schedule(
            cogkit.guild_id(interaction), interaction.user.id, self.campaign_id)
        cog = bot.get_cog("Campaigns")
        if isinstance(cog, CampaignCog):  # a campaign starting today starts now
            await cog.tick(wait=False)  # the answer does not wait for Discord
        campaign = await bot.services.campaigns.get(cogkit.guild_id(interaction), self.campaign_id)
        await reply(interaction, "discord/campaigns/scheduled.md.j2", campaign=campaign,
                    timezone=campaign.timezone)


class DiscardButton(PersistentButton, custom_id="familia:cp:discard:{campaign_id}"):
    default_label = "✗"
    managers_only = True
    campaign_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        campaign = await familia(interaction).services.campaigns.cancel(
            cogkit.guild_id(interaction), interaction.user.id, self.campaign_id)
        await reply(interaction, "discord/campaigns/cancelled.md.j2", campaign=campaign)


class EnrolButton(PersistentButton, custom_id="familia:cp:enrol:{campaign_id}:{post_id}"):
    """On opt-in announcements; the post id lets a restart find the message it is on."""

    style = discord.ButtonStyle.primary
    default_label = "✋"
    who = "program"  # as /campaign join
    campaign_id: int
    post_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        done = await familia(interaction).services.campaigns.enrol(
            cogkit.guild_id(interaction), interaction.user.id, self.campaign_id, "button")
        await reply(interaction, "discord/campaigns/enrolled.md.j2", campaign=done.campaign,
                    new=done.added)


class ProgressButton(PersistentButton, custom_id="familia:cp:me:{campaign_id}:{post_id}"):
    default_label = "📈"
    who = "program"  # as /campaign progress
    campaign_id: int
    post_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        service = familia(interaction).services.campaigns
        campaign = await service.get(cogkit.guild_id(interaction), self.campaign_id)
        progress = await service.progress_of(cogkit.guild_id(interaction), interaction.user.id,
                                             campaign)
        await reply(interaction, "discord/campaigns/progress.md.j2", progress=progress)


async def results_csv(service: Any, guild_id: int, campaign_id: int) -> tuple[str, bytes]:
    """Every creator's figures of a finished campaign: (file name, CSV)."""
    data = (await service.results_csv(guild_id, campaign_id)).encode()
    return f"campaign-{campaign_id}-results.csv", data


async def results_file(service: Any, guild_id: int, campaign_id: int) -> discord.File:
    """The CSV of :func:`results_csv` as an attachment."""
    filename, data = await results_csv(service, guild_id, campaign_id)
    return discord.File(io.BytesIO(data), filename=filename)


async def send_results(interaction: discord.Interaction, campaign_id: int) -> None:
    """The analysis of a finished campaign with every creator's figures as a CSV file."""
    service = familia(interaction).services.campaigns
    guild_id: int = cogkit.guild_id(interaction)
    results = await service.results(guild_id, campaign_id)
    await reply(interaction, "discord/campaigns/results.md.j2", results=results,
                files=[await results_file(service, guild_id, campaign_id)])


class ResultsButton(PersistentButton, custom_id="familia:cp:results:{campaign_id}:{post_id}"):
    """On the managers' copy of the results: the figures again (reward roles given since)."""

    default_label = "📊"
    managers_only = True
    campaign_id: int
    post_id: int

    async def run(self, interaction: discord.Interaction) -> None:
        await send_results(interaction, self.campaign_id)


def post_view(bot: Any) -> Any:
    def build(campaign: Campaign, post: Post, locale: str) -> discord.ui.View:
        view = discord.ui.View(timeout=None)
        if post.for_managers:
            view.add_item(ResultsButton(label(bot, locale, "results"),
                                        campaign_id=campaign.id, post_id=post.id))
            return view
        if campaign.opt_in and post.stage != "results":
            view.add_item(EnrolButton(label(bot, locale, "enrol"),
                                      campaign_id=campaign.id, post_id=post.id))
        view.add_item(ProgressButton(label(bot, locale, "my_progress"),
                                     campaign_id=campaign.id, post_id=post.id))
        return view
    return build


async def list_message(interaction: discord.Interaction,
                       page: int) -> tuple[str, discord.ui.View | None]:
    """A page of /campaign list: managers see drafts too."""
    bot = familia(interaction)
    manager = await is_manager(interaction)
    states = (("draft", "scheduled", "running", "finished") if manager
              else ("scheduled", "running", "finished"))
    found = await bot.services.campaigns.campaigns_page(cogkit.guild_id(interaction), states,
                                                        page)
    locale = await locale_for(interaction)
    text = bot.templates.render(locale, "discord/campaigns/list.md.j2", page=found,
                                manager=manager)
    return text, nav(bot, locale, found, ListPage)


class ListPage(PageButton, custom_id="familia:pg:campaigns:{page}"):
    """◀️/▶️ of /campaign list; the clicker must be in the program, checked again."""

    who = "program"

    async def render(self, interaction: discord.Interaction) -> tuple[str, discord.ui.View | None]:
        return await list_message(interaction, self.page)


class CampaignCog(commands.Cog, name="Campaigns"):
    campaign = app_commands.Group(
        name=_T("campaign"), description=_T("Monthly campaigns and challenges"),
        guild_only=True,
    )

    def __init__(self, bot: FamiliaBot) -> None:
        self.bot = bot
        self.views = post_view(bot)
        self._lock = asyncio.Lock()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ScheduleButton, DiscardButton, EnrolButton, ProgressButton,
                                   ResultsButton, ListPage)
        # catch_up: what fell due while the bot was down goes out once it is ready
        self.bot.jobs.every(JOB_ID, self.tick, seconds=30, catch_up=True)

    async def tick(self, *, wait: bool = True) -> None:
        """One pass of the campaign clock: the sweep (start, remind, finish; reward roles
        queued), then every stage post rendered and handed to the delivery queue. A managers'
        copy of results goes once the family posts it reports on are settled (with ``wait``,
        waited for here, at most :data:`POST_WAIT` seconds; else the next pass)."""
        if self._lock.locked():
            return  # a pass is running; it will see whatever is due
        async with self._lock:
            service = self.bot.services.campaigns
            done = await service.sweep()
            if any(done.values()):
                log.info("campaigns: %s", done)
            while queued := await service.queue_posts(self.render):
                if wait and await service.managers_copy_waiting():
                    for guild_id, keys in queued.items():
                        await self.bot.services.deliveries.wait_settled(guild_id, keys,
                                                                        POST_WAIT)

    async def render(self, post: Post) -> dict[str, Any]:
        """A post's payload for the delivery queue: a family's announcement, or the managers'
        copy of the results (the analysis of ``/campaign results`` with its CSV); the buttons
        last, no pings."""
        service = self.bot.services.campaigns
        campaign = await service.get(post.guild_id, post.campaign_id)
        locale = (await self.bot.services.guilds.get(post.guild_id)).locale
        view = self.views(campaign, post, locale)
        if post.for_managers:
            analysis = await service.results(post.guild_id, campaign.id)
            text = self.bot.templates.render(locale, "discord/campaigns/results.md.j2",
                                             results=analysis)
            filename, data = await results_csv(service, post.guild_id, campaign.id)
            return {"content": text, "components": view.to_components(),
                    "files": [attachment(filename, data)]}
        family: FamilyProgress | None = None
        results: Results | None = None
        if post.stage == "results":
            results = await service.results(post.guild_id, campaign.id)
        elif post.stage != "start":
            family = await service.progress_of_family(campaign, post.family_id)
        text = self.bot.templates.render(
            locale, "discord/campaigns/announcement.md.j2", campaign=campaign,
            stage=post.stage, family=family, results=results, family_id=post.family_id,
            late=post.late)
        return {"content": text, "components": view.to_components()}

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ScheduleButton, DiscardButton, EnrolButton,
                                      ProgressButton, ResultsButton, ListPage)
        self.bot.jobs.remove(JOB_ID)

    @campaign.command(name=_T("new"), description=_T("Create a campaign and preview it"))
    @app_commands.describe(
        name=_T("A short name creators will recognise"),
        metric=_T("What counts toward the goal"),
        start=_T("First day, YYYY-MM-DD (or YYYY-MM-DD HH:MM), in the server's time zone"),
        end=_T("Last day, YYYY-MM-DD (or YYYY-MM-DD HH:MM), in the server's time zone"),
        target=_T("Goal for each creator"),
        family_target=_T("Goal for each family together"),
        audience=_T("Who the campaign is for (default: every family)"),
        families=_T("Family names, separated by commas (audience: some families)"),
        tiers=_T("Tier names, separated by commas (audience: some tiers)"),
        enrolment=_T("How creators take part (default: with a button)"),
        reminders=_T("Reminder posts (default: halfway, 3 days left and last day)"),
        reward_role=_T("A role given to everyone who reaches the goal"),
    )
    @app_commands.choices(metric=METRIC_CHOICES, audience=AUDIENCE_CHOICES,
                          enrolment=ENROLMENT_CHOICES, reminders=REMINDER_CHOICES)
    @manager_only()
    async def new(self, interaction: discord.Interaction, name: CampaignNameText, metric: str,
                  start: CampaignDateArg, end: CampaignDateArg, target: TargetNumber | None = None,
                  family_target: TargetNumber | None = None,
                  audience: str = "all", families: FamilyListArg | None = None,
                  tiers: TierListArg | None = None, enrolment: str = "optin",
                  reminders: str = "midway,3days,lastday",
                  reward_role: discord.Role | None = None) -> None:
        guild_id: int = cogkit.guild_id(interaction)
        check_reward_role(interaction.guild, reward_role)
        spec = Spec(name, metric, start, end, target, family_target, audience,
                    _ids(audience, families, tiers), enrolment,
                    _reminders(reminders), reward_role.id if reward_role else None)
        await self.bot.services.campaigns.check(guild_id, spec)  # refuse before the modal
        locale = await locale_for(interaction)
        await interaction.response.send_modal(DetailsModal(self.bot, locale, spec, None))

    @campaign.command(name=_T("edit"),
                      description=_T("Change a campaign (a running one: text, reward, end)"))
    @app_commands.describe(
        campaign=_T("The campaign"), name=_T("A new name"),
        start=_T("New first day, YYYY-MM-DD (or YYYY-MM-DD HH:MM)"),
        end=_T("New last day, YYYY-MM-DD (or YYYY-MM-DD HH:MM)"),
        target=_T("New goal for each creator"),
        family_target=_T("New goal for each family together"),
        reward_role=_T("A new reward role"),
        metric=_T("A new goal metric"),
        audience=_T("A new audience"),
        families=_T("Family names, separated by commas (audience: some families)"),
        tiers=_T("Tier names, separated by commas (audience: some tiers)"),
        enrolment=_T("How creators take part"),
        reminders=_T("Which reminder posts to send"),
        clear=_T("Remove a goal or the reward role"),
    )
    @app_commands.choices(metric=METRIC_CHOICES, audience=AUDIENCE_CHOICES,
                          enrolment=ENROLMENT_CHOICES, reminders=REMINDER_CHOICES,
                          clear=CLEAR_CHOICES)
    @manager_only()
    async def edit(self, interaction: discord.Interaction, campaign: CampaignArg,
                   name: CampaignNameText | None = None, start: CampaignDateArg | None = None,
                   end: CampaignDateArg | None = None,
                   target: TargetNumber | None = None, family_target: TargetNumber | None = None,
                   reward_role: discord.Role | None = None, metric: str | None = None,
                   audience: str | None = None,
                   families: InferredFamilyListArg | None = None,
                   tiers: InferredTierListArg | None = None, enrolment: str | None = None,
                   reminders: str | None = None, clear: str | None = None) -> None:
        check_reward_role(interaction.guild, reward_role)
        # with no audience named, the first list given is the new audience
        kind = audience or ("families" if families is not None
                            else "tiers" if tiers is not None else None)
        ids = _ids(kind, families, tiers) if kind and (
            families is not None or tiers is not None) else None
        changes = {"name": name, "start": start, "end": end, "target_creator": target,
                   "target_family": family_target,
                   "reward_role_id": reward_role.id if reward_role else None,
                   "metric": metric, "audience": kind, "audience_ids": ids,
                   "enrolment": enrolment,
                   "reminders": _reminders(reminders) if reminders else None}
        edit = await self.bot.services.campaigns.prepare_edit(
            campaign, changes, tuple(clear.split(",")) if clear else ())
        found, spec = edit.campaign, edit.spec
        locale = await locale_for(interaction)
        await interaction.response.send_modal(DetailsModal(self.bot, locale, spec, found.id))

    @campaign.command(name=_T("preview"),
                      description=_T("See a campaign and its announcement; schedule a draft"))
    @app_commands.describe(campaign=_T("The campaign"))
    @manager_only()
    async def preview_command(self, interaction: discord.Interaction,
                              campaign: CampaignArg) -> None:
        await preview(interaction, campaign)

    @campaign.command(name=_T("cancel"), description=_T("Cancel a campaign"))
    @app_commands.describe(campaign=_T("The campaign"))
    @manager_only()
    async def cancel(self, interaction: discord.Interaction, campaign: CampaignArg) -> None:
        found = await self.bot.services.campaigns.cancel(campaign.guild_id, interaction.user.id,
                                                         campaign.id)
        await reply(interaction, "discord/campaigns/cancelled.md.j2", campaign=found)

    @campaign.command(name=_T("list"), description=_T("The program's campaigns"))
    @creator_only()
    async def list_command(self, interaction: discord.Interaction) -> None:
        text, view = await list_message(interaction, 0)
        await send(interaction, text, view=view)

    @campaign.command(name=_T("join"), description=_T("Take part in a campaign"))
    @app_commands.describe(campaign=_T("The campaign; leave empty for the running one"))
    @creator_only()
    async def join(self, interaction: discord.Interaction,
                   campaign: CampaignArg | None = None) -> None:
        service = self.bot.services.campaigns
        guild_id = cogkit.guild_id(interaction)
        found = campaign or await service.current_for(guild_id, interaction.user.id)
        done = await service.enrol(guild_id, interaction.user.id, found.id, "command")
        await reply(interaction, "discord/campaigns/enrolled.md.j2", campaign=done.campaign,
                    new=done.added)

    @campaign.command(name=_T("progress"),
                      description=_T("Your progress in a campaign, or your family's"))
    @app_commands.describe(campaign=_T("The campaign; leave empty for the running one"),
                           family=_T("A family (leaders: your own; managers: any)"))
    @creator_only()
    async def progress(self, interaction: discord.Interaction,
                       campaign: CampaignArg | None = None,
                       family: PlainFamilyArg | None = None) -> None:
        service = self.bot.services.campaigns
        guild_id: int = cogkit.guild_id(interaction)
        if family is None:
            found = await service.progress_of(guild_id, interaction.user.id, campaign)
            await reply(interaction, "discord/campaigns/progress.md.j2", progress=found)
            return
        if not await is_manager(interaction):
            led = await led_family(interaction)
            if led is None or led.id != family.id:
                raise NotAllowed("campaigns.own_family_only")
        result = await service.family_progress(guild_id, campaign, family.id,
                                               interaction.user.id)
        await reply(interaction, "discord/campaigns/family.md.j2", family=result)

    @campaign.command(name=_T("board"), description=_T("The campaign's leaderboard"))
    @app_commands.describe(campaign=_T("The campaign; leave empty for the running one"))
    @creator_only()
    async def board(self, interaction: discord.Interaction,
                    campaign: CampaignArg | None = None) -> None:
        service = self.bot.services.campaigns
        found = campaign or await service.current_for(cogkit.guild_id(interaction),
                                                      interaction.user.id)
        board = await service.board(found, interaction.user.id, BOARD_SIZE)
        await reply(interaction, "discord/campaigns/board.md.j2", campaign=found,
                    rows=board.rows, me=board.me, viewer_id=interaction.user.id,
                    imported=board.imported)

    @campaign.command(name=_T("results"),
                      description=_T("A finished campaign's results, with a CSV file"))
    @app_commands.describe(campaign=_T("The campaign"))
    @manager_only()
    async def results(self, interaction: discord.Interaction, campaign: CampaignArg) -> None:
        await send_results(interaction, campaign.id)


async def setup(bot: FamiliaBot) -> None:
    await bot.add_cog(CampaignCog(bot))
