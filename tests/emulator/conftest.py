"""A plain discord.py bot with a few test commands, against the emulator."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from emulator import Emulator
from emulator.testing import start_bot, stop_bot


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


class Ask(discord.ui.Modal, title="Ask"):
    answer = discord.ui.TextInput(label="Answer", custom_id="answer")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"answer={self.answer.value}", ephemeral=True)


class TestBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.members = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.events: list[str] = []

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

        self.add_view(Clicks())
        await tree.sync()

    async def on_member_join(self, member: discord.Member) -> None:
        self.events.append(f"join {member.name}")


@pytest.fixture
async def emu():
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def world(emu):
    guild = emu.create_guild("Test")
    ana = emu.create_user("ana")
    emu.add_member(guild, ana, dispatch=False)
    bot = TestBot()
    task = await start_bot(emu, bot)
    yield emu, bot, guild, ana
    await stop_bot(bot, task)
