"""The emulator refuses what Discord refuses (400 / 50035 "Invalid Form Body", with the faults
nested per field): raw requests check the exact body, discord.py checks that a bot sees the
refusal as Discord's (``HTTPException`` with code 50035 and the field in its text)."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from emulator import limits as lim
from emulator.http import ApiError
from emulator.testing import running_bot
from emulator.world import NONCE_WINDOW


@pytest.fixture
async def http(emu):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emu.token}"}) as session:
        yield session


async def _send(http: aiohttp.ClientSession, method: str, url: str, body: Any
                ) -> tuple[int, dict[str, Any]]:
    async with http.request(method, url, json=body) as response:
        return response.status, (await response.json() if response.status != 204 else {})


def _fault(body: dict[str, Any], path: str) -> str:
    """The first error code at dotted ``path`` of a 50035 body."""
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body", body
    node = body["errors"]
    for part in filter(None, path.split(".")):
        assert part in node, (path, body["errors"])
        node = node[part]
    return node["_errors"][0]["code"]


def _button(n: int | str, **extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": f"b{n}", "custom_id": f"c{n}"} | extra


def _row(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(children)}


def _select(count: int = 2, **extra: Any) -> dict[str, Any]:
    return {"type": 3, "custom_id": "pick",
            "options": [{"label": f"o{i}", "value": f"v{i}"} for i in range(count)]} | extra


def _embed(**extra: Any) -> dict[str, Any]:
    return {"title": "t"} | extra


FIELD = {"name": "n", "value": "v"}

# (what, message payload, path of the fault, code); each limit also passes when just met.
MESSAGE_FAULTS = [
    ("content", {"content": "x" * 2001}, "content", "BASE_TYPE_MAX_LENGTH"),
    ("11 embeds", {"embeds": [_embed()] * 11}, "embeds", "BASE_TYPE_MAX_LENGTH"),
    ("title", {"embeds": [_embed(title="x" * 257)]}, "embeds.0.title", "BASE_TYPE_MAX_LENGTH"),
    ("description", {"embeds": [_embed(description="x" * 4097)]}, "embeds.0.description",
     "BASE_TYPE_MAX_LENGTH"),
    ("26 fields", {"embeds": [_embed(fields=[FIELD] * 26)]}, "embeds.0.fields",
     "BASE_TYPE_MAX_LENGTH"),
    ("field name", {"embeds": [_embed(fields=[FIELD, {"name": "x" * 257, "value": "v"}])]},
     "embeds.0.fields.1.name", "BASE_TYPE_BAD_LENGTH"),
    ("field value", {"embeds": [_embed(fields=[{"name": "n", "value": "x" * 1025}])]},
     "embeds.0.fields.0.value", "BASE_TYPE_BAD_LENGTH"),
    ("empty field value", {"embeds": [_embed(fields=[{"name": "n", "value": ""}])]},
     "embeds.0.fields.0.value", "BASE_TYPE_REQUIRED"),
    ("footer", {"embeds": [_embed(footer={"text": "x" * 2049})]}, "embeds.0.footer.text",
     "BASE_TYPE_MAX_LENGTH"),
    ("author", {"embeds": [_embed(author={"name": "x" * 257})]}, "embeds.0.author.name",
     "BASE_TYPE_MAX_LENGTH"),
    ("6,001 in all embeds", {"embeds": [_embed(title=None, description="x" * 4000),
                                        _embed(title=None, description="x" * 2001)]},
     "embeds", "MAX_EMBED_SIZE_EXCEEDED"),
    ("6 action rows", {"components": [_row(_button(i)) for i in range(6)]}, "components",
     "BASE_TYPE_MAX_LENGTH"),
    ("6 buttons in a row", {"components": [_row(*(_button(i) for i in range(6)))]},
     "components.0.components", "BASE_TYPE_MAX_LENGTH"),
    ("an empty row", {"content": "x", "components": [_row()]}, "components.0.components",
     "BASE_TYPE_MIN_LENGTH"),
    ("button label", {"components": [_row(_button(1, label="x" * 81))]},
     "components.0.components.0.label", "BASE_TYPE_MAX_LENGTH"),
    ("custom_id", {"components": [_row(_button(1, custom_id="x" * 101))]},
     "components.0.components.0.custom_id", "BASE_TYPE_BAD_LENGTH"),
    ("no custom_id", {"components": [_row({"type": 2, "style": 1, "label": "x"})]},
     "components.0.components.0.custom_id", "BASE_TYPE_REQUIRED"),
    ("duplicate custom_id", {"components": [_row(_button(1)), _row(_button(1))]},
     "components.1.components.0.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ("link button with custom_id", {"components": [_row(
        {"type": 2, "style": 5, "label": "x", "url": "https://x.example", "custom_id": "c"})]},
     "components.0.components.0.custom_id", "BUTTON_COMPONENT_LINK_CUSTOM_ID_INVALID"),
    ("26 options", {"components": [_row(_select(26))]}, "components.0.components.0.options",
     "BASE_TYPE_BAD_LENGTH"),
    ("no options", {"components": [_row(_select(0))]}, "components.0.components.0.options",
     "BASE_TYPE_BAD_LENGTH"),
    ("option label", {"components": [_row(_select(options=[{"label": "x" * 101,
                                                              "value": "v"}]))]},
     "components.0.components.0.options.0.label", "BASE_TYPE_BAD_LENGTH"),
    ("option value", {"components": [_row(_select(options=[{"label": "l",
                                                              "value": "x" * 101}]))]},
     "components.0.components.0.options.0.value", "BASE_TYPE_BAD_LENGTH"),
    ("option description", {"components": [_row(_select(options=[
        {"label": "l", "value": "v", "description": "x" * 101}]))]},
     "components.0.components.0.options.0.description", "BASE_TYPE_MAX_LENGTH"),
    ("placeholder", {"components": [_row(_select(placeholder="x" * 151))]},
     "components.0.components.0.placeholder", "BASE_TYPE_MAX_LENGTH"),
    ("max_values", {"components": [_row(_select(max_values=26))]},
     "components.0.components.0.max_values", "NUMBER_TYPE_MAX"),
    ("a select beside a button", {"components": [_row(_select(), _button(1))]},
     "components.0.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    ("a button outside a row", {"components": [_button(1)]}, "components.0.type",
     "UNION_TYPE_CHOICES"),
    ("101 allowed users", {"content": "x", "allowed_mentions": {
        "users": [str(i) for i in range(101)]}}, "allowed_mentions.users",
     "BASE_TYPE_MAX_LENGTH"),
    ("nonce", {"content": "x", "nonce": "x" * 26}, "nonce", "BASE_TYPE_MAX_LENGTH"),
]

AT_THE_LIMIT = [
    {"content": "x" * 2000},
    {"embeds": [_embed(title="x" * 256, description="x" * 4096,
                       fields=[{"name": "x" * 20, "value": "x" * 60}] * 20)]},
    {"embeds": [_embed(title=None, description="x" * 4000), _embed(title=None,
                                                                   description="x" * 2000)]},
    {"embeds": [_embed()] * 10},
    {"components": [_row(*(_button(f"{r}-{i}", label="x" * 80) for i in range(5)))
                    for r in range(5)]},
    {"components": [_row(_select(25, placeholder="x" * 150, max_values=25)),
                    _row(_button(1, custom_id="x" * 100))]},
    {"content": "x", "nonce": "x" * 25, "allowed_mentions": {"users": ["1"] * 100}},
]


@pytest.mark.parametrize(("what", "payload", "path", "code"), MESSAGE_FAULTS,
                         ids=[f[0] for f in MESSAGE_FAULTS])
async def test_message_limits_refused_with_discords_body(emu, http, what, payload, path, code):
    general = emu.channel_by_name(emu.create_guild("G"), "general")
    status, body = await _send(http, "POST", f"{emu.api_url}/channels/{general.id}/messages",
                               payload)
    assert status == 400 and _fault(body, path) == code, (what, body)
    assert emu.messages(general.id) == []


@pytest.mark.parametrize("payload", AT_THE_LIMIT)
async def test_message_at_the_limits_is_accepted(emu, http, payload):
    general = emu.channel_by_name(emu.create_guild("G"), "general")
    status, body = await _send(http, "POST", f"{emu.api_url}/channels/{general.id}/messages",
                               payload)
    assert status == 200, body


async def test_every_fault_of_a_request_is_reported_and_edits_are_checked(emu, http):
    general = emu.channel_by_name(emu.create_guild("G"), "general")
    url = f"{emu.api_url}/channels/{general.id}/messages"
    status, body = await _send(http, "POST", url, {
        "content": "x" * 2001, "embeds": [_embed(title="x" * 257)]})
    assert status == 400 and set(body["errors"]) == {"content", "embeds"}
    assert body["errors"]["content"]["_errors"] == [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
    status, sent = await _send(http, "POST", url, {"content": "ok"})
    status, body = await _send(http, "PATCH", f"{url}/{sent['id']}", {"content": "x" * 2001})
    assert status == 400 and _fault(body, "content") == "BASE_TYPE_MAX_LENGTH"
    assert emu.message(int(sent["id"])).content == "ok"


async def test_discord_py_sees_50035_with_the_field(world):
    emu, bot, guild, _ana = world
    general = bot.get_channel(emu.channel_by_name(guild, "general").id)
    with pytest.raises(discord.HTTPException) as refused:
        await general.send("x" * 2001)
    assert refused.value.status == 400 and refused.value.code == 50035
    assert "In content: Must be 2000 or fewer in length." in str(refused.value)
    view = discord.ui.View()
    view.add_item(discord.ui.Button(label="x" * 81, custom_id="long"))
    with pytest.raises(discord.HTTPException) as refused:
        await general.send("choose", view=view)
    assert "In components.0.components.0.label: Must be 80 or fewer" in str(refused.value)


# -- interaction callbacks: replies, modals, autocomplete --------------------------------------

class LimitBot(commands.Bot):
    """Answers ``/case name`` with the payload the case names; records what Discord refused."""

    def __init__(self) -> None:
        super().__init__(command_prefix="!", intents=discord.Intents(guilds=True),
                         guild_ready_timeout=0.05)
        self.refused: list[str] = []

    async def setup_hook(self) -> None:
        @self.tree.command(description="Send something at or over a limit")
        async def case(interaction: discord.Interaction, name: str) -> None:
            try:
                await CASES[name](interaction)
            except discord.HTTPException as exc:
                self.refused.append(f"{exc.code} {exc.text}")
                await interaction.response.send_message("refused", ephemeral=True)

        @self.tree.command(description="Autocomplete with too many choices")
        async def pick(interaction: discord.Interaction, item: str) -> None:
            await interaction.response.send_message(item)

        @pick.autocomplete("item")
        async def items(interaction: discord.Interaction, current: str):
            count, name, value = (int(x) for x in current.split(","))
            try:
                await interaction.response.autocomplete(
                    [app_commands.Choice(name=str(i % 10) * name, value=str(i % 10) * value)
                     for i in range(count)])
            except discord.HTTPException as exc:
                self.refused.append(f"{exc.code} {exc.text}")
            return []

        await self.tree.sync()


def _modal(title: str = "Ask", custom_id: str = "ask", **field: Any) -> discord.ui.Modal:
    modal = discord.ui.Modal(title=title, custom_id=custom_id)
    modal.add_item(discord.ui.TextInput(**({"label": "Answer", "custom_id": "a"} | field)))
    return modal


async def _reply(interaction: discord.Interaction, **kwargs: Any) -> None:
    await interaction.response.send_message(**kwargs)


async def _followup(interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True)
    try:
        await interaction.followup.send("x" * 2001)
    except discord.HTTPException as exc:
        await interaction.followup.send(f"follow-up refused {exc.code}")


CASES = {
    "reply": lambda it: _reply(it, content="x" * 2001),
    "reply-ok": lambda it: _reply(it, content="x" * 2000),
    "followup": _followup,
    "title": lambda it: it.response.send_modal(_modal(title="x" * 46)),
    "modal-id": lambda it: it.response.send_modal(_modal(custom_id="x" * 101)),
    "label": lambda it: it.response.send_modal(_modal(label="x" * 46)),
    "value": lambda it: it.response.send_modal(_modal(default="x" * 4001)),
    "placeholder": lambda it: it.response.send_modal(_modal(placeholder="x" * 101)),
    "modal-ok": lambda it: it.response.send_modal(_modal(
        title="x" * 45, custom_id="x" * 100, label="x" * 45, default="x" * 4000,
        placeholder="x" * 100, max_length=4000)),
}


@pytest.mark.parametrize(("case", "field"), [
    ("reply", "content"), ("title", "title"), ("modal-id", "custom_id"),
    ("label", "components.0.components.0.label"), ("value", "components.0.components.0.value"),
    ("placeholder", "components.0.components.0.placeholder")])
async def test_interaction_callbacks_refused(emu, case, field):
    guild = emu.create_guild("G")
    async with running_bot(emu, LimitBot()) as bot:
        it = await emu.run_command(guild, emu.owner, "case", {"name": case})
        assert await it.reply_text() == "refused"  # a refused callback leaves it unanswered
        assert len(bot.refused) == 1 and bot.refused[0].startswith("50035 ")
        assert f"In data.{field}: " in bot.refused[0]


async def test_interaction_callbacks_at_the_limits_and_followups(emu):
    guild = emu.create_guild("G")
    async with running_bot(emu, LimitBot()) as bot:
        it = await emu.run_command(guild, emu.owner, "case", {"name": "reply-ok"})
        assert len(await it.reply_text()) == 2000
        it = await emu.run_command(guild, emu.owner, "case", {"name": "modal-ok"})
        modal = await it.wait_modal()
        assert len(modal["title"]) == 45
        it = await emu.run_command(guild, emu.owner, "case", {"name": "followup"})
        assert await it.reply_text() == "follow-up refused 50035"
        assert bot.refused == []


@pytest.mark.parametrize(("typed", "path"), [
    ("26,1,1", "choices"), ("3,101,1", "choices.0.name"), ("3,1,101", "choices.0.value")])
async def test_autocomplete_limits(emu, typed, path):
    guild = emu.create_guild("G")
    async with running_bot(emu, LimitBot()) as bot:
        # refused: discord.py then answers with what the callback returns (nothing)
        assert await emu.autocomplete(guild, emu.owner, "pick", "item", typed) == []
        assert len(bot.refused) == 1 and bot.refused[0].startswith("50035 ")
        assert f"In data.{path}: " in bot.refused[0]
        choices = await emu.autocomplete(guild, emu.owner, "pick", "item", "25,100,100")
        assert len(choices) == 25 and bot.refused[1:] == []


# -- application commands -------------------------------------------------------------------------

def _command(**extra: Any) -> dict[str, Any]:
    return {"name": "echo", "description": "Echo", "type": 1} | extra


def _option(name: str = "text", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": "d", "type": 3} | extra


def _choices(count: int, name: int = 1, value: int = 1) -> list[dict[str, Any]]:
    return [{"name": f"{i}".rjust(name, "n"), "value": f"{i}".rjust(value, "v")}
            for i in range(count)]


COMMAND_FAULTS = [
    ("upper case", [_command(name="Echo")], "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ("space", [_command(name="say hi")], "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ("33 characters", [_command(name="x" * 33)], "0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ("no description", [_command(description="")], "0.description", "BASE_TYPE_REQUIRED"),
    ("description 101", [_command(description="x" * 101)], "0.description",
     "BASE_TYPE_BAD_LENGTH"),
    ("26 options", [_command(options=[_option(f"o{i}") for i in range(26)])], "0.options",
     "BASE_TYPE_MAX_LENGTH"),
    ("option name", [_command(options=[_option("Text")])], "0.options.0.name",
     "APPLICATION_COMMAND_INVALID_NAME"),
    ("option description", [_command(options=[_option(description="x" * 101)])],
     "0.options.0.description", "BASE_TYPE_BAD_LENGTH"),
    ("subcommand option", [_command(options=[{"name": "sub", "description": "s", "type": 1,
                                              "options": [_option(description="")]}])],
     "0.options.0.options.0.description", "BASE_TYPE_REQUIRED"),
    ("26 choices", [_command(options=[_option(choices=_choices(26))])],
     "0.options.0.choices", "BASE_TYPE_MAX_LENGTH"),
    ("choice name", [_command(options=[_option(choices=_choices(1, name=101))])],
     "0.options.0.choices.0.name", "BASE_TYPE_BAD_LENGTH"),
    ("choice value", [_command(options=[_option(choices=_choices(1, value=101))])],
     "0.options.0.choices.0.value", "BASE_TYPE_MAX_LENGTH"),
    ("localised name", [_command(name_localizations={"es-ES": "Hola Mundo"})],
     "0.name_localizations.es-ES", "APPLICATION_COMMAND_INVALID_NAME"),
    ("localised option name", [_command(options=[_option(
        name_localizations={"es-ES": "texto largo"})])],
     "0.options.0.name_localizations.es-ES", "APPLICATION_COMMAND_INVALID_NAME"),
    ("localised description", [_command(description_localizations={"es-ES": "x" * 101})],
     "0.description_localizations.es-ES", "BASE_TYPE_BAD_LENGTH"),
    ("unknown locale", [_command(name_localizations={"es": "eco"})],
     "0.name_localizations.es", "BASE_TYPE_CHOICES"),
    ("4,001 characters", [_command(name="x" * 32, description="x" * 100, options=[
        _option(f"o{i}".ljust(32, "x"), description="x" * 100,
                choices=_choices(25, name=2, value=2)) for i in range(19)])],
     "0", "APPLICATION_COMMAND_TOO_LARGE"),
    ("duplicate names", [_command(), _command()], "1.name",
     "APPLICATION_COMMANDS_DUPLICATE_NAME"),
    ("duplicate options", [_command(options=[_option(), _option()])], "0.options.1.name",
     "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"),
    ("required after optional", [_command(options=[_option("a"), _option("b",
                                                                         required=True)])],
     "0.options.1.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"),
]


@pytest.mark.parametrize(("what", "commands_", "path", "code"), COMMAND_FAULTS,
                         ids=[f[0] for f in COMMAND_FAULTS])
async def test_command_sync_limits(emu, http, what, commands_, path, code):
    url = f"{emu.api_url}/applications/{emu.application_id}/commands"
    status, body = await _send(http, "PUT", url, commands_)
    assert status == 400 and _fault(body, path) == code, (what, body)
    assert emu.commands.get(None) is None  # nothing was registered


async def test_command_sync_accepts_what_discord_accepts(emu, http):
    url = f"{emu.api_url}/applications/{emu.application_id}/commands"
    size = [_command(name="x" * 32, description="x" * 100, options=[
        _option(f"o{i}".ljust(32, "x"), description="x" * 100,
                choices=_choices(25, name=2, value=2)) for i in range(16)])]
    assert lim.command_size(size[0]) == 3844
    accepted = [
        _command(name="über-ñandú_2", name_localizations={"es-ES": "eco", "hi": "नमस्ते"},
                 description_localizations={"es-ES": "x" * 100}),
        {"name": "Report User", "type": 2},  # user commands keep case and spaces
        _command(name="ok", options=[_option("a", required=True), _option("b"),
                                     _option("c", choices=_choices(15, name=100, value=100))]),
    ]
    for payload in (size, accepted):
        status, body = await _send(http, "PUT", url, payload)
        assert status == 200, body


async def test_a_localised_name_that_discord_refuses_fails_tree_sync(emu):
    class Spanish(app_commands.Translator):
        async def translate(self, string, locale, context):
            return "Decir Hola" if locale is discord.Locale.spain_spanish else None

    class Bot(commands.Bot):
        async def setup_hook(self) -> None:
            @self.tree.command(description="Say hello")
            async def hello(interaction: discord.Interaction) -> None:
                pass

            await self.tree.set_translator(Spanish())

    bot = Bot("!", intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
    async with running_bot(emu, bot):
        with pytest.raises(discord.HTTPException) as refused:
            await bot.tree.sync()
    assert refused.value.code == 50035  # discord.py names the command and the field:
    assert "'hello'" in str(refused.value)
    assert "name_localizations.es-ES: Command name is invalid" in str(refused.value)


# -- channels, roles, nonces ----------------------------------------------------------------------

async def test_channel_names_are_normalised_on_create_and_rename(world):
    emu, bot, guild, _ana = world
    cached = bot.get_guild(guild.id)
    created = await cached.create_text_channel("Los Tigres!  del Norte 2.0")
    assert created.name == "los-tigres-del-norte-20"
    assert emu.channel(created.id).name == "los-tigres-del-norte-20"
    await created.edit(name="Las  Águilas, Sí --")
    assert emu.channel(created.id).name == "las-águilas-sí"
    category = await cached.create_category("Familias Grandes")  # categories keep their case
    assert emu.channel(category.id).name == "Familias Grandes"
    for bad in ("x" * 101, "!!!"):
        with pytest.raises(discord.HTTPException) as refused:
            await cached.create_text_channel(bad)
        assert refused.value.code == 50035 and "In name: " in str(refused.value)
    with pytest.raises(discord.HTTPException) as refused:
        await created.edit(name="x" * 101)
    assert refused.value.code == 50035
    with pytest.raises(discord.HTTPException) as refused:
        await created.edit(topic="x" * 1025)
    assert "In topic: Must be 1024 or fewer in length." in str(refused.value)
    assert emu.channel(created.id).name == "las-águilas-sí"


async def test_scene_channels_follow_the_same_rule(emu):
    guild = emu.create_guild("G")
    assert emu.create_channel(guild, "Family Lobos!").name == "family-lobos"


async def test_role_name_length(world):
    _emu, bot, guild, _ana = world
    cached = bot.get_guild(guild.id)
    with pytest.raises(discord.HTTPException) as refused:
        await cached.create_role(name="x" * 101)
    assert refused.value.code == 50035 and "In name: " in str(refused.value)
    role = await cached.create_role(name="x" * 100)
    with pytest.raises(discord.HTTPException):
        await role.edit(name="y" * 101)
    assert guild.roles[role.id].name == "x" * 100


async def test_nonce_deduplicated_per_author(emu, http):
    guild = emu.create_guild("G")
    general = emu.channel_by_name(guild, "general")
    other = emu.create_channel(guild, "other")
    first_url = f"{emu.api_url}/channels/{general.id}/messages"
    status, first = await _send(http, "POST", first_url,
                                {"content": "one", "nonce": "n1", "enforce_nonce": True})
    assert status == 200
    _, again = await _send(http, "POST", f"{emu.api_url}/channels/{other.id}/messages",
                           {"content": "two", "nonce": "n1", "enforce_nonce": True})
    assert again["id"] == first["id"]  # the same author's nonce, even in another channel
    _, loose = await _send(http, "POST", first_url, {"content": "three", "nonce": "n1"})
    assert loose["id"] != first["id"]  # without enforce_nonce Discord does not check
    app, _bot, token = emu.create_application("Other")
    emu.add_bot(guild, app)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {token}"}) as second:
        _, theirs = await _send(second, "POST", first_url,
                                {"content": "four", "nonce": "n1", "enforce_nonce": True})
    assert theirs["id"] not in (first["id"], loose["id"])  # another author
    emu.message(int(loose["id"])).created -= NONCE_WINDOW + 1  # minutes later
    _, later = await _send(http, "POST", first_url,
                           {"content": "five", "nonce": "n1", "enforce_nonce": True})
    assert later["id"] not in (first["id"], loose["id"], theirs["id"])
    assert [m.content for m in emu.messages(general.id)] == ["one", "three", "four", "five"]


async def test_discord_py_send_with_a_nonce_returns_the_first_message(world):
    emu, bot, guild, _ana = world
    general = bot.get_channel(emu.channel_by_name(guild, "general").id)
    first = await general.send("hello", nonce="d1p0")
    second = await general.send("hello", nonce="d1p0")
    assert first.id == second.id and len(emu.messages(general.id)) == 1


def _input(n: int) -> dict[str, Any]:
    return _row({"type": 4, "custom_id": f"i{n}", "label": "L", "style": 1})


@pytest.mark.parametrize(("modal", "path", "code"), [
    ({"title": "T", "custom_id": "m", "components": [_input(i) for i in range(6)]},
     "data.components", "BASE_TYPE_BAD_LENGTH"),
    ({"title": "T", "custom_id": "m", "components": []}, "data.components",
     "BASE_TYPE_BAD_LENGTH"),
    ({"title": "T", "custom_id": "m", "components": [_row(_button(1))]},
     "data.components.0.components.0.type", "UNION_TYPE_CHOICES"),
    ({"title": "T", "custom_id": "m", "components": [_input(1), _input(1)]},
     "data.components.1.components.0.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ({"title": "T", "custom_id": "m", "components": [
        {"type": 18, "label": "x" * 46, "component": {"type": 4, "custom_id": "a", "style": 1}}]},
     "data.components.0.label", "BASE_TYPE_BAD_LENGTH"),
])
def test_modal_shapes(modal, path, code):
    """Shapes discord.py's Modal does not build but Discord refuses (checked directly)."""
    with pytest.raises(ApiError) as refused:
        lim.check_modal(modal)
    assert refused.value.status == 400 and _fault(refused.value.body(), path) == code
    lim.check_modal(modal | {"components": [_input(i) for i in range(5)]})
