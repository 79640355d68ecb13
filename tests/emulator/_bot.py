"""A plain discord.py bot with a few test commands, for the emulator's own tests."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands


class Clicks(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Press", custom_id="test:press")
    async def press(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message(f"pressed by {interaction.user.name}",
                                                ephemeral=True)

    @discord.ui.select(custom_id="test:pick", options=[
        discord.SelectOption(label="A", value="a"), discord.SelectOption(label="B", value="b")])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.edit_message(content=f"picked {select.values[0]}")


class Counter(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.count = 0

    @discord.ui.button(label="+1", custom_id="test:inc")
    async def inc(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # type 6: deferred update
        self.count += 1
        await interaction.edit_original_response(content=f"count {self.count}")


class Ask(discord.ui.Modal, title="Ask"):
    answer = discord.ui.TextInput(label="Answer", custom_id="answer")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"answer={self.answer.value}", ephemeral=True)


class TestBot(commands.Bot):
    __test__ = False  # not a test class

    def __init__(self, intents: discord.Intents | None = None,
                 sync_guild: int | None = None) -> None:
        if intents is None:
            intents = discord.Intents.none()
            intents.guilds = True
            intents.members = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.events: list[str] = []
        self.sync_guild = sync_guild

    async def setup_hook(self) -> None:
        tree = self.tree

        @tree.command(description="Echo text")
        @app_commands.describe(text="what to say", times="how often")
        async def echo(interaction: discord.Interaction, text: str, times: int = 1) -> None:
            await interaction.response.send_message(" ".join([text] * times), ephemeral=True)

        @tree.command(description="Slow answer")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("done slowly")

        @tree.command(description="Buttons")
        async def buttons(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("choose", view=Clicks())

        @tree.command(description="Modal")
        async def ask(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(Ask())

        @tree.command(description="Pick a fruit")
        async def fruit(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(name)

        @fruit.autocomplete("name")
        async def fruit_names(interaction: discord.Interaction, current: str):
            return [app_commands.Choice(name=f, value=f)
                    for f in ("apple", "apricot", "banana") if f.startswith(current)]

        @tree.command(description="Who")
        async def who(interaction: discord.Interaction, member: discord.Member) -> None:
            await interaction.response.send_message(f"member {member.name}")

        family = app_commands.Group(name="family", description="Families")
        admin = app_commands.Group(name="admin", description="Admin", parent=family)

        @family.command(name="join", description="Join a family")
        @app_commands.describe(name="family name")
        async def family_join(interaction: discord.Interaction, name: str, size: int,
                              ratio: float, public: bool, leader: discord.Member,
                              where: discord.TextChannel, role: discord.Role) -> None:
            await interaction.response.send_message(
                f"{name}|{size}|{ratio}|{public}|{leader.name}|{where.name}|{role.name}|"
                f"{interaction.locale.value}|{interaction.guild_locale.value}", ephemeral=True)

        @admin.command(name="perms", description="My permissions")
        async def family_admin_perms(interaction: discord.Interaction) -> None:
            perms = interaction.permissions
            await interaction.response.send_message(
                f"manage_roles={perms.manage_roles} admin={perms.administrator}")

        tree.add_command(family)

        @tree.command(description="Edits its answer")
        async def edits(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("first")
            await interaction.edit_original_response(content="second")
            await interaction.followup.send("extra", ephemeral=True)

        @tree.command(description="Counter with a deferred update")
        async def counter(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("count 0", view=Counter())

        @tree.command(description="Too late")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.3)
            try:
                await interaction.response.send_message("late")
            except discord.NotFound as exc:
                self.events.append(f"late {exc.code}")

        @tree.command(description="Twice")
        async def twice(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("once")
            try:
                await interaction.response.send_message("twice")
            except discord.InteractionResponded:
                self.events.append("twice: already responded locally")
            try:
                await interaction.followup.send("twice via webhook")
            except discord.HTTPException as exc:
                self.events.append(f"twice {exc.code}")

        @tree.command(description="Works in DMs")
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
        async def hello(interaction: discord.Interaction) -> None:
            where = "dm" if interaction.guild is None else "guild"
            await interaction.response.send_message(f"hello {interaction.user.name} in {where}")

        @tree.command(description="Localized", name="settings")
        @app_commands.describe(section="what to show")
        async def settings(interaction: discord.Interaction, section: str | None = None) -> None:
            await interaction.response.send_message(f"settings {section}", ephemeral=True)

        self.add_view(Clicks())
        self.add_view(Counter())
        await tree.sync()
        if self.sync_guild is not None:
            tree.copy_global_to(guild=discord.Object(self.sync_guild))
            await tree.sync(guild=discord.Object(self.sync_guild))

    async def on_member_join(self, member: discord.Member) -> None:
        self.events.append(f"join {member.name}")

    async def on_member_remove(self, member: discord.Member) -> None:
        self.events.append(f"leave {member.name}")

    async def on_message(self, message: discord.Message) -> None:
        self.events.append(f"message {message.author.name}: {message.content}")
