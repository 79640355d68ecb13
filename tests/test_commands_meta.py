"""Every cog's commands: unique names, descriptions everywhere, Spanish localisations."""

import re

import discord
from discord import app_commands

from bot.app import REQUIRED_PERMISSIONS
from bot.runner import offline_tree

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


def _walk(commands, prefix=""):
    for command in commands:
        yield prefix + command.name, command
        if isinstance(command, app_commands.Group):
            yield from _walk(command.commands, prefix + command.name + " ")


async def test_command_tree_is_well_formed():
    async with offline_tree() as tree:
        top = tree.get_commands()
        assert len({c.name for c in top}) == len(top)
        payloads = [await c.get_translated_payload(tree, tree.translator) for c in top]
        seen = set()
        for path, command in _walk(top):
            assert path not in seen
            seen.add(path)
            assert NAME.match(command.name), path
            assert command.description and len(command.description) <= 100, path
            if isinstance(command, app_commands.Command):
                for param in command.parameters:
                    assert NAME.match(param.name), f"{path} {param.name}"
                    assert param.description and param.description != "…", f"{path} {param.name}"
    for payload in payloads:
        assert payload["name_localizations"].get("es-ES"), payload["name"]
        assert payload["description_localizations"].get("es-419"), payload["name"]
        assert payload["dm_permission"] is False, payload["name"]


def test_readme_invite_url_grants_what_the_bot_needs():
    readme = open("README.md", encoding="utf-8").read()
    assert f"permissions={REQUIRED_PERMISSIONS.value}" in readme
    assert isinstance(REQUIRED_PERMISSIONS, discord.Permissions)
