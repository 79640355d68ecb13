"""The program the demo server already runs when the scenes start.

All of the demo's data is made here, in :func:`seed`, in two steps: :func:`program` writes a
real program's records with the program builder (:func:`bot.program.build`, size
``program``: 30 families of about ten creators, 90 days of check-ins, tiers, feedback, a
running campaign, people who left), every person an emulator member of the demo server, and
casts the people the scenes act as into it (rosa leads the first family, tomas the second,
ana… ines and joel… leo are their creators); :func:`discord_objects` then gives every
family its private channel and role, as ``/family create`` makes them, and each member the
roles the records give them — directly in the emulator, as an admin would have made them
before Familia came (through REST, under the rate limits, they take 30 s).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.localtime import local_date
from bot.program import SIZES, Program, build
from emulator import Overwrite, User
from emulator.models import READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL

SIZE = "program"
ZONE = "America/Mexico_City"  # the program's zone (scene 1 shows maria setting it)
# The people the scenes act as, by their place in the program: family → (leader, creators).
CAST = {
    0: ("rosa", ("ana", "bruno", "carla", "diego", "elena", "fabio", "gala", "hugo", "ines")),
    1: ("tomas", ("joel", "kira", "leo")),
}
# The builder names people ``<first name><number>``; the cast's first names go to no one else
# (no "carla7" next to carla), so the others' are swapped for these.
OTHERS = {"ana": "andrea", "bruno": "beto", "carla": "camila", "diego": "dario", "elena": "eva",
          "fabio": "felipe", "gala": "gabi", "hugo": "hector", "ines": "irene",
          "joel": "jorge", "kira": "karen", "leo": "lalo", "rosa": "rocio", "tomas": "teo",
          "sofia": "silvia", "lucia": "luna", "maria": "marta"}


@dataclass(frozen=True)
class Seeded:
    program: Program

    def summary(self) -> str:
        made = self.program
        first, second = made.families[0], made.families[1]
        return (f"Familia Demo already runs a program: {len(made.families)} families, "
                f"{len(made.creators)} creators, {len(made.families)} leaders and their "
                f"co-leaders, {SIZES[made.size].days} days of check-ins. The scenes follow rosa, "
                f"who leads {first.name}, and tomas, who leads {second.name}")


async def seed(demo) -> Seeded:
    """Everything the scenes find on the server when they start."""
    seeded = await program(demo)
    await discord_objects(demo)
    return seeded


def _other(name: str) -> str:
    found = re.fullmatch(r"([a-z]+)(\d+)", name)
    if found is None or found.group(1) not in OTHERS:
        return name
    return OTHERS[found.group(1)] + found.group(2)


async def program(demo) -> Seeded:
    """The ``program`` size, everyone a member of the demo server, the cast in it."""
    services, gid = demo.bot.services, demo.guild.id
    maria = demo.people["maria"]
    await services.guilds.set_timezone(gid, maria.id, ZONE)
    users: dict[int, User] = {}

    def person(name: str, locale: str) -> int:
        user = demo.emu.create_user(_other(name), locale=locale)
        users[user.id] = user
        return user.id

    made = await build(services, SIZE, guild_id=gid, manager_id=maria.id, people=person)
    await _cast(demo, made, users)
    for user in users.values():  # named before they join: the bot knows them by their name
        demo.emu.add_member(demo.guild, user)
        demo.people[user.name] = user
    return Seeded(made)


async def _cast(demo, made: Program, users: dict[int, User]) -> None:
    """Give the cast their places: names, and English, the server's zone (as the scenes
    read). ana is someone who has not checked in today (the reminders scene needs one)."""
    services, gid = demo.bot.services, demo.guild.id
    today = local_date(demo.bot.clock.now(), ZONE)
    for index, (leader, creators) in CAST.items():
        family = made.families[index]
        checked = {u for u in family.creator_ids
                   if await services.checkins.day_of(gid, u, today) is not None}
        # who has not checked in today first (ana, then bruno…)
        ids = sorted(family.creator_ids, key=lambda u: u in checked)
        for name, user_id in ((leader, family.leader_id), *zip(creators, ids, strict=False)):
            user = users[user_id]
            user.name, user.locale = name, "en-US"
            await services.members.set_locale(gid, user_id, None)
            await services.members.set_timezone(gid, user_id, None)
            await services.members.remember_discord_locale(gid, user_id, "en-US")


async def discord_objects(demo) -> None:
    """Every family without a channel or role gets them as ``/family create`` makes them
    (a role named after the family; a private channel only it, managers and the bot see),
    and each member holds the roles the records say, given as an admin would have given
    them before Familia came: made directly in the emulator, with the events Discord sends,
    so no role or channel goes through the paced REST calls."""
    services, gid = demo.bot.services, demo.guild.id
    emu, guild = demo.emu, demo.guild
    bot = demo.bot.get_guild(gid)
    settings = await services.guilds.get(gid)
    category = settings.channels.get("family_category")
    manager_role = settings.manager_role_id
    for family in await services.families.list_families(gid):
        role = guild.roles.get(family.role_id or 0)
        if role is None:
            role = emu.create_role(guild, family.name, position=1)  # as REST makes it
            await services.families.attach_discord(gid, family.id, role_id=role.id)
        if guild.channels.get(family.channel_id or 0) is None:
            # the overwrites of bot.cogkit.discord_ops.create_channel
            see = VIEW_CHANNEL | READ_MESSAGE_HISTORY | SEND_MESSAGES
            overwrites = [Overwrite(guild.id, 0, deny=VIEW_CHANNEL),
                          Overwrite(demo.bot.user.id, 1, allow=see),
                          Overwrite(role.id, 0, allow=see)]
            if manager_role and manager_role in guild.roles:
                overwrites.append(Overwrite(manager_role, 0, allow=see))
            channel = emu.create_channel(guild, family.name, parent=category,
                                         overwrites=overwrites)
            await services.families.attach_discord(gid, family.id, channel_id=channel.id)
    expected = await services.families.expected_roles(gid)
    for user_id, role_ids in expected.by_member.items():
        user = emu.users.get(user_id)
        for role_id in role_ids:
            if user is not None and role_id in guild.roles:
                emu.give_role(guild, user, guild.roles[role_id])
    # the bot's cache follows the events; the scenes look channels and roles up by id
    await emu.wait_for(lambda: all(bot.get_channel(c) for c in guild.channels)
                       and all(bot.get_role(r) for r in guild.roles), 10.0,
                       "the family channels and roles in the bot's cache")
