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


def _is_discords(func: object) -> bool:
    """``discord.NotFound(...)``: discord.py's exception of the same name, not Familia's."""
    import ast

    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "discord")


def _raised_error_codes() -> dict[str, str]:
    """Every error code the code base raises: the string literals in the first argument of
    each ``UserError``/``NotAllowed``/``NotFound``/``FamiliaError`` call in bot/ and cogs/
    (a conditional like ``"a.x" if c else "a.y"`` gives both), with where it is raised."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    kinds = {"FamiliaError", "UserError", "NotAllowed", "NotFound"}
    found: dict[str, str] = {}
    for path in sorted([*root.glob("bot/**/*.py"), *root.glob("cogs/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in kinds or _is_discords(node.func):
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            codes = [c.value for c in ast.walk(node.args[0])
                     if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            assert codes, f"{where}: an error code that is not written out cannot be checked"
            for code in codes:
                found.setdefault(code, where)
    return found


def test_every_raised_error_code_has_its_message_in_every_language(templates):
    """No user is left without a reply: each code raised anywhere names a macro of
    ``templates/discord/errors/<area>.j2`` (its Spanish text is checked with every other
    message by the translation test)."""
    codes = _raised_error_codes()
    assert len(codes) > 100  # the scan found the code base's errors
    missing = []
    for locale in ("en", "es"):
        for code, where in sorted(codes.items()):
            area, name = code.split(".", 1)
            module = templates.env(locale).get_template(f"discord/errors/{area}.j2").module
            if getattr(module, name, None) is None:
                missing.append(f"{locale}: {code} (raised at {where})")
    assert not missing, "error codes without a message:\n" + "\n".join(missing)


def test_an_unknown_error_code_gets_the_generic_message(templates, caplog):
    for locale, words in (("en", "Something went wrong"), ("es", "código")):
        text = templates.render_error(locale, UserError("families.no_such_message", x=1))
        assert words in text
    assert "families.no_such_message" in caplog.text  # logged, with the support code


def test_an_error_message_that_cannot_be_written_falls_back_to_the_generic_one(templates):
    """Whatever fails while writing a refusal (here a value no number format takes), the
    person still gets an answer: the generic message with a support code."""

    class Unwritable(float):
        def __format__(self, spec: str) -> str:
            raise ValueError("cannot write this number")

        def __str__(self) -> str:
            raise ValueError("cannot write this number")

    text = templates.render_error("en", UserError(
        "common.out_of_range", field="days", value=Unwritable(1e30), low=1, high=3660))
    assert "Something went wrong" in text


@pytest.mark.parametrize("locale", ["en", "es"])
def test_what_someone_typed_is_repeated_as_a_short_excerpt(templates, locale):
    """A 5,000-character value would make the answer longer than Discord takes (2,000): the
    message repeats its first characters only, the rest of the sentence intact."""
    typed = "Mars/" + "x" * 5000
    text = templates.render_error(locale, UserError(
        "common.unknown_timezone", value=typed, suggestion=None, example="Europe/Madrid"))
    assert len(text) < 300, len(text)
    assert "Mars/xxx" in text and "…" in text and "Europe/Madrid" in text
    short = templates.render_error(locale, UserError("common.bad_option", value="Lobos"))
    assert "Lobos" in short and "…" not in short


def test_an_error_listing_names_keeps_every_name(templates):
    """Lists the code base computes (field names) are not cut as a whole."""
    fields = ["audience", "audience_ids", "enrolment", "metric", "name", "reminders",
              "starts_at", "target_creator", "target_family"]
    text = templates.render_error("en", UserError("campaigns.locked_while_running",
                                                  fields=fields))
    assert ", ".join(fields) in text
