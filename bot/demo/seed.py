"""The program the demo server already runs when the scenes start.

All of the demo's data is made here, in :func:`seed`, in two steps: :func:`program` writes the
records (families, creators, weeks of check-ins) through the services, as a real program's
history; :func:`discord_objects` then gives every family that has none its private channel
and role, as ``/family create`` makes them, and each member the roles the records give them,
so whatever wrote the records, the server looks as if each family had been made with
``/family create``. A bigger program replaces :func:`program`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.clock import to_db
from bot.cogkit import discord_ops as dd
from bot.services.families import AGREEMENT_VERSION

FAMILIES = (("Soles", "rosa"), ("Lunas", "tomas"))  # name, leader
CREATORS = ("ana", "bruno", "carla", "diego", "elena", "fabio", "gala", "hugo", "ines",
            "joel", "kira", "leo")
DAYS = 62  # last month has a whole history (for the tier sweep), whatever day the demo runs


@dataclass(frozen=True)
class Seeded:
    families: list[str]
    leaders: list[str]
    creators: int
    days: int

    def summary(self) -> str:
        return (f"Familia Demo already runs a program: {len(self.families)} families "
                f"({', '.join(self.families)}), {self.creators} creators and {self.days} days "
                "of check-ins")


async def seed(demo) -> Seeded:
    """Everything the scenes find on the server when they start."""
    seeded = await program(demo)
    await discord_objects(demo)
    return seeded


async def program(demo) -> Seeded:
    """Two families, twelve creators (a big family of nine and a small one of three) and
    their check-ins and their leaders', with rest days, written as check-ins write them."""
    services, gid = demo.bot.services, demo.guild.id
    maria = demo.people["maria"]
    teams = []
    for name, leader in FAMILIES:
        user = demo.person(leader)
        await services.families.accept_agreement(gid, user.id, AGREEMENT_VERSION)
        teams.append(await services.families.create(gid, maria.id, name, user.id))
    now = demo.bot.clock.now()
    today = now.date()
    streamers = []  # the creators, then the leaders (who stream too)
    for i, name in enumerate(CREATORS):
        user = demo.person(name)
        team = teams[0] if i < 9 else teams[1]
        request = await services.families.request_join(gid, user.id, team.id,
                                                       AGREEMENT_VERSION)
        await services.families.decide(gid, team.leader_user_id, request.id, True)
        streamers.append((user, team))
    streamers += [(demo.person(leader), team)
                  for (_, leader), team in zip(FAMILIES, teams, strict=True)]
    for i, (user, team) in enumerate(streamers):
        for back in range(DAYS):
            day = today - timedelta(days=back)
            if (i + back) % 4 == 0:
                continue  # a rest day
            hours = round(1 + ((i * 7 + back * 3) % 9) / 2, 1)
            made = to_db(min(now, datetime.combine(day, time(20), UTC)))
            async with services.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO checkins (guild_id, user_id, family_id, local_date, timezone,"
                    " hours, diamonds, followers, peak_viewers, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'UTC', ?, ?, ?, 0, ?, ?)",
                    (gid, user.id, team.id, day.isoformat(), hours, int(hours * 310), i + 3,
                     made, made))
                await services.progress.apply(tx, gid, user.id, day, None, {
                    "hours": hours, "diamonds": int(hours * 310), "followers": i + 3})
    async with services.db.transaction() as tx:  # they have been in the program all along
        began = to_db(now - timedelta(days=DAYS))
        await tx.execute("UPDATE families SET created_at = ? WHERE guild_id = ?", (began, gid))
        await tx.execute("UPDATE family_members SET joined_at = ? WHERE guild_id = ?",
                         (began, gid))
    return Seeded([name for name, _ in FAMILIES], [leader for _, leader in FAMILIES],
                  len(CREATORS), DAYS)


async def discord_objects(demo) -> None:
    """Every family without a channel or role gets them as ``/family create`` makes them
    (the same calls, through the emulator), and each member holds the roles the records say,
    given as an admin would have given them before Familia came (quick: no role change goes
    through the paced delivery queue)."""
    services, gid = demo.bot.services, demo.guild.id
    guild = demo.bot.get_guild(gid)
    settings = await services.guilds.get(gid)
    for family in await services.families.list_families(gid):
        role = guild.get_role(family.role_id or 0)
        if role is None:
            role = await dd.create_role(guild, family.name)
            await services.families.attach_discord(gid, family.id, role_id=role.id)
        if guild.get_channel(family.channel_id or 0) is None:
            channel = await dd.create_channel(guild, family.name, role,
                                              settings.channels.get("family_category"),
                                              settings.manager_role_id)
            await services.families.attach_discord(gid, family.id, channel_id=channel.id)
    expected = await services.families.expected_roles(gid)
    for user_id, role_ids in expected.by_member.items():
        user = demo.emu.users.get(user_id)
        for role_id in role_ids:
            if user is not None and role_id in demo.guild.roles:
                demo.emu.give_role(demo.guild, user, demo.guild.roles[role_id])
