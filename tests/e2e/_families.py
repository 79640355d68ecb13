"""Helpers for the families end-to-end tests: make a family, join it, read what people see."""

from __future__ import annotations

from dataclasses import dataclass

from emulator import Channel, Message, User
from emulator.models import Role


@dataclass
class Made:
    """A family as Discord shows it: its record id, private channel and role."""

    id: int
    name: str
    channel: Channel
    role: Role


async def create(app, name: str, leader: User, **options) -> Made:
    """A manager (the owner) creates a family; returns its channel and role."""
    text = await app.reply(app.owner, "family", {"name": name, "leader": leader, **options},
                           subcommand="create")
    assert "Family created" in text, text
    family = await app.services.families.resolve(app.guild.id, name)
    channel = app.emu.channel(family.channel_id)
    role = app.guild.roles[family.role_id]
    await roles_become(app, leader, has=role)
    return Made(family.id, family.name, channel, role)


def holds(app, user: User, role: Role) -> bool:
    return role in app.emu.member_roles(app.guild, user)


async def roles_become(app, user: User, *, has: Role | None = None,
                       lacks: Role | None = None) -> None:
    """Wait until Discord shows ``user`` with (and without) a role."""
    await app.emu.wait_for(
        lambda: (has is None or holds(app, user, has))
        and (lacks is None or not holds(app, user, lacks)),
        what=f"{user.name}'s roles",
    )


def request_post(app, family: Made, user: User) -> Message:
    """The Approve/Decline post about ``user`` in the family channel."""
    for message in reversed(app.emu.messages(family.channel)):
        if f"<@{user.id}>" in message.content and message.custom_ids:
            return message
    raise AssertionError(f"no request about {user.name} in #{family.channel.name}")


def button(message: Message, prefix: str) -> str:
    found = [c for c in message.custom_ids if c.startswith(prefix)]
    assert found, f"no {prefix!r} button on {message.custom_ids}"
    return found[0]


async def ask_to_join(app, user: User, family: Made, *, locale: str | None = None) -> str:
    """``user`` runs /family join, reads the agreement and clicks to accept and ask."""
    it = await app.run(user, "family", {"family": family.name}, subcommand="join",
                       locale=locale)
    prompt = await it.wait_message()
    assert it.ephemeral
    click = await app.emu.click(user, prompt, button(prompt, "familia:join:"), locale=locale)
    return await click.reply_text()


async def decide(app, leader: User, family: Made, user: User, *, approve: bool = True,
                 reason: str = ""):
    """``leader`` clicks Approve (or Decline, then sends its form with ``reason``) on
    ``user``'s request in the family channel."""
    post = request_post(app, family, user)
    click = await app.emu.click(leader, post, button(
        post, "familia:req:y:" if approve else "familia:req:n:"))
    if not approve:
        click = await app.emu.submit_modal(click, {"reason": reason})
    await click.wait_response()
    return post, click


async def join(app, user: User, family: Made) -> None:
    """``user`` asks to join and the family's leader approves; waits for the role."""
    await ask_to_join(app, user, family)
    leader = app.emu.users[(await app.services.families.get(app.guild.id,
                                                            family.id)).leader_user_id]
    await decide(app, leader, family, user)
    await roles_become(app, user, has=family.role)


async def refused(app, user: User, name: str, options=None, **kwargs) -> str:
    """Run a command that must be refused: the answer is ephemeral; returns its text."""
    it = await app.run(user, name, options, **kwargs)
    text = await it.reply_text()
    assert it.ephemeral, text
    return text


async def membership(app, user: User):
    return await app.services.families.membership_of(app.guild.id, user.id)


def remove_role_by_hand(app, user: User, role: Role) -> None:
    """Someone takes a role away in Discord's UI (the bot only sees the member update)."""
    member = app.guild.members[user.id]
    member.roles.remove(role.id)
    app.emu.member_updated(app.guild, member)
