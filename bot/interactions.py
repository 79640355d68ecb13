"""What every cog uses to answer: the reader's language, rendered replies, and the one error
handler for slash commands, buttons, selects and modals."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.errors import FamiliaError, NotAllowed, UserError
from bot.i18n import normalise, pick_locale
from bot.limits import CONTENT, fit_message
from bot.text import split_at_most, split_text

if TYPE_CHECKING:
    from bot.app import FamiliaBot

log = logging.getLogger("familia.errors")
command_log = logging.getLogger("familia.commands")
SPLIT_MAX = 5  # messages of one split reply


class Denied(app_commands.CheckFailure):
    """A permission check failed; carries the translatable reason."""

    def __init__(self, error: FamiliaError) -> None:
        super().__init__(error.code)
        self.error = error


def familia(interaction: discord.Interaction) -> FamiliaBot:
    return interaction.client  # type: ignore[return-value]  # the one client is a FamiliaBot


def about_guild(interaction: discord.Interaction, guild_id: int) -> None:
    """An interaction without a guild (a button in a DM: an invitation's Accept) is about
    ``guild_id`` (its custom id or its stored row says which): it answers in the member's
    language there. Only the language follows; permission checks still read the interaction."""
    if interaction.guild_id is None and interaction.extras.get("guild_id") != guild_id:
        interaction.extras["guild_id"] = guild_id
        interaction.extras.pop("locale", None)


def language_guild(interaction: discord.Interaction) -> int | None:
    """The guild whose member settings pick the reply language: where the interaction
    happened, else (a DM) the guild its item belongs to (:func:`about_guild`)."""
    if interaction.guild_id is not None:
        return interaction.guild_id
    found = interaction.extras.get("guild_id")
    return found if isinstance(found, int) else None


async def locale_for(interaction: discord.Interaction) -> str:
    """The reply language: member's choice, else their Discord locale, else the guild's. In a
    DM, the member's choice in the guild the clicked item belongs to (:func:`about_guild`)."""
    cached = interaction.extras.get("locale")
    if cached:
        return cached
    services = familia(interaction).services
    chosen = None
    guild_default: str = familia(interaction).settings.default_locale
    guild_id = language_guild(interaction)
    if guild_id is not None:
        member = await services.members.get(guild_id, interaction.user.id)
        chosen = member.locale if member else None
        guild_default = (await services.guilds.get(guild_id)).locale
        seen = normalise(interaction.locale.value)
        if member is not None and seen and member.discord_locale != seen:
            # for what they did not ask for (DMs, emails) in their language too
            await services.members.remember_discord_locale(guild_id, interaction.user.id, seen)
    locale = pick_locale(chosen, interaction.locale.value, guild_default)
    interaction.extras["locale"] = locale
    return locale


def known_locale(interaction: discord.Interaction, *, member: bool, chosen: str | None,
                 remembered: str | None, guild_default: str) -> None:
    """What :func:`locale_for` would read, already read by a service along with its own work
    (a check-in): the reply language is settled without a query of its own. Unless the
    member's Discord locale changed since it was remembered: :func:`locale_for` then reads
    and remembers it."""
    seen = normalise(interaction.locale.value)
    if member and seen and remembered != seen:
        return
    interaction.extras["locale"] = pick_locale(chosen, interaction.locale.value, guild_default)


async def send(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    ephemeral: bool = True,
    **kwargs: Any,
) -> None:
    """Reply, or follow up when the interaction was already answered or deferred. What is sent
    is fitted to Discord's limits first (``bot.limits``: cut with "… and N more")."""
    if "view" in kwargs and kwargs["view"] is None:  # no buttons (a list of one page)
        del kwargs["view"]
    kwargs.update(await _fitted(interaction, content, kwargs))
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)


async def edit(interaction: discord.Interaction, content: str | None = None,
               **kwargs: Any) -> None:
    """Edit the message of a button or select (or, once answered, the original response),
    fitted to Discord's limits like :func:`send`."""
    kwargs.update(await _fitted(interaction, content, kwargs))
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        await interaction.response.edit_message(**kwargs)


async def _fitted(interaction: discord.Interaction, content: str | None,
                  kwargs: dict[str, Any]) -> dict[str, Any]:
    bot = familia(interaction)
    embeds = list(kwargs.pop("embeds", None) or [])
    if "embed" in kwargs:
        embeds.insert(0, kwargs.pop("embed"))
    view = kwargs.get("view")
    cut = embeds or (content is not None and len(content) > CONTENT)
    # the reader's language only for a cut's marker (usually known already: no query)
    locale = await _safe_locale(interaction, bot) if cut else bot.settings.default_locale
    return fit_message(bot.templates, locale, content, embeds=embeds or None,
                       view=view if isinstance(view, discord.ui.View) else None)


async def acknowledge(interaction: discord.Interaction, *, ephemeral: bool = True) -> None:
    """Acknowledge now, answer later: Discord drops an interaction not acknowledged within 3 s,
    and any work with Discord calls of its own (a post, a role, a DM, waiting for the delivery
    queue) can take longer under load. The user sees "thinking…" until :func:`reply` (or an
    error) replaces it; ``ephemeral`` as the answer will be. A no-op once acknowledged."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)


async def reply(
    interaction: discord.Interaction,
    template: str,
    *,
    ephemeral: bool = True,
    view: discord.ui.View | None = None,
    files: list[discord.File] | None = None,
    split: bool = False,
    whole: bool = False,
    **context: Any,
) -> None:
    """Render ``templates/<template>`` in the reader's language and send it. ``split``: a
    text over one message goes as several (at most ``SPLIT_MAX``), cut at line breaks (a
    report read once, such as a sweep preview); otherwise, and past the last part, it is cut
    with "… and N more" (lists that grow are paged). ``whole``: split into as many messages
    as it takes (what is shown once and then marked seen, such as waiting feedback)."""
    locale = await locale_for(interaction)
    text = familia(interaction).templates.render(locale, template, **context)
    extra: dict[str, Any] = {}
    if view is not None:
        extra["view"] = view
    if files:
        extra["files"] = files
    if whole:
        parts = split_text(text) or [text]
    elif split:
        parts = split_at_most(text, SPLIT_MAX)
    else:
        parts = [text]
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        await send(interaction, part, ephemeral=ephemeral, **(extra if last else {}))


def _unwrap(error: Exception) -> Exception:
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        if isinstance(error, app_commands.TransformerError):
            return error
        error = error.original
    return error


def _user_facing(error: Exception) -> FamiliaError | None:
    """The translatable message for an expected error, or None for a bug."""
    if isinstance(error, FamiliaError):
        return error
    if isinstance(error, Denied):
        return error.error
    if isinstance(error, app_commands.TransformerError):
        return UserError("common.bad_option", value=str(error.value))
    if isinstance(error, app_commands.CommandOnCooldown):
        return UserError("common.cooldown", seconds=max(1, round(error.retry_after)))
    if isinstance(error, app_commands.NoPrivateMessage):
        return UserError("common.guild_only")
    if isinstance(error, app_commands.BotMissingPermissions):
        return NotAllowed("common.bot_missing_permissions", permissions=error.missing_permissions)
    if isinstance(error, discord.Forbidden) and error.code in (50013, 50001):
        return NotAllowed("common.bot_missing_permissions", permissions=[])
    if isinstance(error, app_commands.CheckFailure):
        return NotAllowed("common.not_allowed")
    return None


async def handle_error(interaction: discord.Interaction, error: Exception) -> None:
    """The one error handler: a short localised ephemeral reply, never a traceback."""
    error = _unwrap(error)
    expected = _user_facing(error)
    bot = familia(interaction)
    locale = await _safe_locale(interaction, bot)
    if expected is not None:
        outcome = f"refused:{expected.code}"
        text = bot.templates.render_error(locale, expected)
    else:
        code = secrets.token_hex(3).upper()
        outcome = f"error:{code}"
        log.error(
            "unexpected error code=%s guild=%s user=%s command=%s",
            code, interaction.guild_id, interaction.user.id, _name(interaction),
            exc_info=(type(error), error, error.__traceback__),
        )
        text = bot.templates.render_error(locale, FamiliaError("common.unexpected", code=code))
    log_command(interaction, outcome)
    try:
        await send(interaction, text, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not deliver the error reply (%s)", exc)


async def _safe_locale(interaction: discord.Interaction, bot: FamiliaBot) -> str:
    try:
        return await locale_for(interaction)
    except Exception:  # the database itself may be what failed
        return pick_locale(None, interaction.locale.value, bot.settings.default_locale)


def _name(interaction: discord.Interaction) -> str:
    if interaction.command is not None:
        return interaction.command.qualified_name
    data: dict[str, Any] = dict(interaction.data or {})
    return str(data.get("custom_id") or data.get("name") or "?")


def start_timer(interaction: discord.Interaction) -> None:
    interaction.extras.setdefault("t0", time.perf_counter())


def log_command(interaction: discord.Interaction, outcome: str) -> None:
    """One line per command: guild, user id, command, outcome, duration."""
    started = interaction.extras.get("t0")
    elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
    command_log.info(
        "guild=%s user=%s command=%s outcome=%s ms=%.1f",
        interaction.guild_id, interaction.user.id, _name(interaction), outcome, elapsed,
    )


class FamiliaView(discord.ui.View):
    """Base for buttons and selects: errors go through the same handler as commands."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        start_timer(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await handle_error(interaction, error)


class FamiliaModal(discord.ui.Modal):
    """Base for modals, with the same error handling."""

    # discord.py's Modal.on_error drops the ``item`` parameter of BaseView.on_error
    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception
    ) -> None:
        await handle_error(interaction, error)


class PersistentItem:
    """Mixin for a ``discord.ui.DynamicItem`` (a button that outlives restarts): its errors go
    through the one handler (discord.py would only log them) and, with ``managers_only``,
    everyone but program managers is refused. An item whose custom id has a ``guild_id``
    answers in a DM in the member's language of that guild. Subclasses implement :meth:`run`."""

    managers_only = False

    async def callback(self, interaction: discord.Interaction) -> None:
        start_timer(interaction)
        guild_id = getattr(self, "guild_id", None)  # a custom id that names its guild
        if isinstance(guild_id, int):
            about_guild(interaction, guild_id)
        try:
            await self.admit(interaction)
            await self.run(interaction)
        except Exception as exc:
            await handle_error(interaction, exc)
        else:
            log_command(interaction, "ok")

    async def admit(self, interaction: discord.Interaction) -> None:
        """Refuse (raise) before :meth:`run` whoever may not press this item here;
        ``bot.cogkit.buttons.PersistentButton`` re-checks guild, family and permission."""
        if self.managers_only:
            from bot.checks import is_manager  # bot.checks imports this module

            if not await is_manager(interaction):
                raise NotAllowed("common.managers_only")

    async def run(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError


class AckFirst:
    """Acknowledgements go before work. Discord drops an interaction that is not acknowledged
    within 3 s, while the answer may follow later: under a burst (a whole program checking in
    at 21:00) every arriving interaction is deferred first, and the work behind the
    acknowledgements runs in the gaps — at most ``slots`` at once, each step waiting until no
    acknowledgement is in flight (or ``patience`` seconds, so work is never starved)."""

    def __init__(self, slots: int, patience: float = 2.0) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._acking = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self.patience = patience

    async def defer(self, interaction: discord.Interaction, **options: Any) -> None:
        self._acking += 1
        self._quiet.clear()
        try:
            await interaction.response.defer(**options)
        finally:
            self._acking -= 1
            if not self._acking:
                self._quiet.set()

    async def step(self) -> None:
        """Wait for a gap between acknowledgements."""
        if not self._quiet.is_set():
            try:
                await asyncio.wait_for(self._quiet.wait(), self.patience)
            except TimeoutError:
                pass

    @property
    def slots(self) -> asyncio.Semaphore:
        return self._slots

