"""The program agreement's Accept button, for every DM that asks for it: a leader a manager
appointed (cogs/families.py) and a creator the roster import placed (cogs/creators.py)."""

from __future__ import annotations

import discord

from bot.cogkit.buttons import PersistentButton, known_member
from bot.errors import NotAllowed
from bot.interactions import familia, reply


class AgreeButton(PersistentButton, custom_id="familia:agree:{guild_id}:{version}"):
    """The clicker accepts the agreement for themselves (in a DM: a member of that guild)."""

    style = discord.ButtonStyle.success
    in_dm = True  # the DMs that ask for it
    guild_id: int
    version: int

    async def authorize(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None and not await known_member(interaction, self.guild_id):
            raise NotAllowed("common.not_allowed")

    async def run(self, interaction: discord.Interaction) -> None:
        services = familia(interaction).services
        await services.families.accept_agreement(self.guild_id, interaction.user.id, self.version)
        accepted = await services.families.agreement_of(self.guild_id, interaction.user.id)
        await reply(interaction, "discord/families/agreement.md.j2", accepted=accepted,
                    current=self.version, just_accepted=True)
