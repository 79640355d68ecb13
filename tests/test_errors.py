"""The error handler's mapping from failures to short localised messages."""

import discord
import pytest
from discord import app_commands

from bot.errors import FamiliaError, NotAllowed, UserError
from bot.interactions import Denied, _unwrap, _user_facing


def test_error_codes_need_an_area():
    with pytest.raises(ValueError):
        UserError("nodot")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UserError("common.unknown_timezone", value="x", suggestion=None, example="E"),
         "common.unknown_timezone"),
        (Denied(NotAllowed("common.managers_only")), "common.managers_only"),
        (app_commands.NoPrivateMessage(), "common.guild_only"),
        (app_commands.CheckFailure(), "common.not_allowed"),
        (app_commands.BotMissingPermissions(["manage_roles"]), "common.bot_missing_permissions"),
    ],
)
def test_expected_errors_map_to_codes(error, code):
    assert _user_facing(error).code == code


def test_bugs_are_not_user_facing():
    assert _user_facing(KeyError("x")) is None
    assert _user_facing(ZeroDivisionError()) is None


def test_invoke_error_is_unwrapped():
    inner = UserError("common.guild_only")
    command = app_commands.Command(name="x", description="x", callback=_noop)
    wrapped = app_commands.CommandInvokeError(command, inner)
    assert _unwrap(wrapped) is inner


async def _noop(interaction: discord.Interaction) -> None:  # pragma: no cover
    return None


@pytest.mark.parametrize("locale", ["en", "es"])
def test_every_common_error_renders(templates, locale):
    cases = [
        UserError("common.unknown_timezone", value="Mars", suggestion="Europe/Paris", example="E"),
        UserError("common.unknown_timezone", value="Mars", suggestion=None, example="E"),
        UserError("common.unknown_language", value="fr", choices=("en", "es")),
        UserError("common.bad_option", value="x"),
        UserError("common.cooldown", seconds=3),
        UserError("common.guild_only"),
        NotAllowed("common.managers_only"),
        NotAllowed("common.program_only"),
        NotAllowed("common.not_allowed"),
        NotAllowed("common.bot_missing_permissions", permissions=["manage_roles"]),
        NotAllowed("common.bot_missing_permissions", permissions=[]),
        FamiliaError("common.unexpected", code="ABC123"),
        UserError("settings.unknown_channel_kind", value="x", choices=("a",)),
        UserError("settings.category_needed"),
        UserError("settings.text_needed"),
    ]
    for error in cases:
        text = templates.render_error(locale, error)
        assert text and "\n\n" not in text and "Traceback" not in text


def test_unexpected_error_message_carries_the_code(templates):
    error = FamiliaError("common.unexpected", code="ABC123")
    assert "ABC123" in templates.render_error("en", error)
    assert "código ABC123" in templates.render_error("es", error)


def test_user_text_cannot_ping_everyone(templates):
    text = templates.render_error("en", UserError("common.bad_option", value="@everyone"))
    assert "@everyone" not in text
