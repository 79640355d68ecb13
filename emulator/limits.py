"""What Discord refuses in a request, in one place: the REST routes and the interaction
callbacks call these checks before changing anything.

Every refusal is Discord's ``400 / 50035 Invalid Form Body`` whose ``errors`` nest per field
down to ``_errors: [{code, message}]``, e.g. ``{"embeds": {"0": {"title": {"_errors":
[{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]}}}}``; like
Discord, all the faults of one request are reported together. Numbers come from Discord's
OpenAPI spec of REST v10 and, where the spec is looser than the documentation (message content
4,000 there, a choice's value 6,000 there), from the documentation, which Discord says wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from emulator.http import ApiError

# -- messages -------------------------------------------------------------------------------------
CONTENT = 2000
EMBEDS, EMBED_TOTAL = 10, 6000
EMBED_TEXT = {"title": 256, "description": 4096}
EMBED_FIELDS, FIELD_NAME, FIELD_VALUE = 25, 256, 1024
FOOTER_TEXT, AUTHOR_NAME = 2048, 256
NONCE = 25
MENTION_IDS = 100  # allowed_mentions users / roles
# -- components -----------------------------------------------------------------------------------
ACTION_ROWS, ROW_WIDTH = 5, 5
V2_COMPONENTS, V2_TEXT = 40, 4000  # messages flagged IS_COMPONENTS_V2
CUSTOM_ID, BUTTON_LABEL, BUTTON_URL = 100, 80, 512
SELECT_OPTIONS, SELECT_VALUES, PLACEHOLDER = 25, 25, 150
OPTION_LABEL, OPTION_VALUE, OPTION_DESCRIPTION = 100, 100, 100
MODAL_TITLE, MODAL_ROWS = 45, 5
INPUT_LABEL, INPUT_VALUE, INPUT_PLACEHOLDER, LABEL_DESCRIPTION = 45, 4000, 100, 100
# -- autocomplete and application commands -----------------------------------------------------
CHOICES, CHOICE_NAME, CHOICE_VALUE = 25, 100, 100
COMMAND_NAME, COMMAND_DESCRIPTION, COMMAND_OPTIONS, COMMAND_TOTAL = 32, 100, 25, 4000
# -- guild objects --------------------------------------------------------------------------------
CHANNEL_NAME, ROLE_NAME, TOPIC = 100, 100, 1024

IS_COMPONENTS_V2 = 1 << 15
ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
SELECTS = {3, 5, 6, 7, 8}
LABEL, TEXT_DISPLAY = 18, 10
LINK, PREMIUM = 5, 6
CHAT_INPUT = 1
SUBCOMMAND, GROUP = 1, 2

# Channel types whose names Discord normalises: text, announcement, forum, media.
SLUG_CHANNELS = {0, 5, 15, 16}
_REMOVED = set("!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~")

# Discord's locales (keys of name_localizations / description_localizations).
LOCALES = frozenset((
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko",
))


class FormErrors:
    """Collects faults as Discord nests them; :meth:`check` raises them as one 400 / 50035."""

    def __init__(self, at: str = "") -> None:
        self.tree: dict[str, Any] = {}
        self.at = at  # where the checked object sits in the body ("data" in a callback)

    def add(self, path: str, code: str, message: str) -> None:
        """A fault at ``path`` (dotted: ``embeds.0.title``; ``""`` for the whole object)."""
        node = self.tree
        for part in filter(None, f"{self.at}.{path}".split(".")):
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: str, value: Any, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length(self, path: str, value: Any, low: int, high: int, *, required: bool = True
               ) -> None:
        """``low``–``high`` characters (or items); a missing value is refused if ``required``."""
        if value is None or (required and value == ""):
            if required:
                self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
            return
        if not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def number(self, path: str, value: Any, low: int, high: int) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not int.")
        elif value > high:
            self.add(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")
        elif value < low:
            self.add(path, "NUMBER_TYPE_MIN",
                     f"int value should be greater than or equal to {low}.")

    def check(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- messages -------------------------------------------------------------------------------------

def check_message(payload: dict[str, Any], files: Iterable[object] = (), *, edit: bool = False,
                  at: str = "") -> None:
    """A message create or edit (channel message, interaction reply or update — ``at="data"``
    —, follow-up, webhook edit): content, embeds, components, allowed mentions, nonce; an
    empty new message is 400 / 50006."""
    errors = FormErrors(at)
    content = payload.get("content")
    flags = int(payload.get("flags") or 0)
    errors.max_length("content", _text(content), CONTENT)
    embeds = payload.get("embeds") or []
    _embeds(errors, embeds)
    components = payload.get("components") or []
    _message_components(errors, components, v2=bool(flags & IS_COMPONENTS_V2))
    _allowed_mentions(errors, payload.get("allowed_mentions"))
    nonce = payload.get("nonce")
    if isinstance(nonce, str):
        errors.max_length("nonce", nonce, NONCE)
    elif nonce is not None and not (isinstance(nonce, int) and abs(nonce) < 2**63):
        errors.add("nonce", "BASE_TYPE_INVALID", "Invalid nonce")
    errors.check()
    if not edit and not (content or embeds or list(files) or components
                         or payload.get("sticker_ids") or payload.get("attachments")
                         or payload.get("poll")):
        raise ApiError(400, 50006, "Cannot send an empty message")


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6,000 of a message's embeds."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        total += len(str(fld.get("name") or "")) + len(str(fld.get("value") or ""))
    return total


def _embeds(errors: FormErrors, embeds: list[dict[str, Any]]) -> None:
    errors.max_length("embeds", embeds, EMBEDS)
    for index, embed in enumerate(embeds):
        at = f"embeds.{index}"
        for key, limit in EMBED_TEXT.items():
            errors.max_length(f"{at}.{key}", _text(embed.get(key)), limit)
        errors.max_length(f"{at}.footer.text", _text((embed.get("footer") or {}).get("text")),
                          FOOTER_TEXT)
        errors.max_length(f"{at}.author.name", _text((embed.get("author") or {}).get("name")),
                          AUTHOR_NAME)
        fields = embed.get("fields") or []
        errors.max_length(f"{at}.fields", fields, EMBED_FIELDS)
        for number, fld in enumerate(fields):
            errors.length(f"{at}.fields.{number}.name", _text(fld.get("name")), 1, FIELD_NAME)
            errors.length(f"{at}.fields.{number}.value", _text(fld.get("value")), 1, FIELD_VALUE)
    if sum(embed_size(e) for e in embeds) > EMBED_TOTAL:
        errors.add("embeds", "MAX_EMBED_SIZE_EXCEEDED",
                   f"Embed size exceeds maximum size of {EMBED_TOTAL}")


def _allowed_mentions(errors: FormErrors, allowed: dict[str, Any] | None) -> None:
    if not allowed:
        return
    parse = allowed.get("parse") or []
    for key in ("users", "roles"):
        ids = allowed.get(key)
        errors.max_length(f"allowed_mentions.{key}", ids, MENTION_IDS)
        if ids and key in parse:
            errors.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                       f"parse:[\"{key}\"] and {key}: [ids...] are mutually exclusive.")


# -- components -----------------------------------------------------------------------------------

def _message_components(errors: FormErrors, components: list[dict[str, Any]], *, v2: bool
                        ) -> None:
    seen: set[str] = set()
    if v2:
        if _count(components) > V2_COMPONENTS:
            errors.add("components", "BASE_TYPE_MAX_LENGTH",
                       f"Must be {V2_COMPONENTS} or fewer in length.")
        if sum(len(str(c.get("content") or "")) for c in _walk(components)
               if c.get("type") == TEXT_DISPLAY) > V2_TEXT:
            errors.add("components", "MAX_TEXT_DISPLAY_SIZE_EXCEEDED",
                       f"Text display content exceeds maximum size of {V2_TEXT}")
        for index, component in enumerate(components):
            _any_component(errors, f"components.{index}", component, seen)
        return
    errors.max_length("components", components, ACTION_ROWS)
    for index, row in enumerate(components):
        at = f"components.{index}"
        if row.get("type") != ROW:
            errors.add(f"{at}.type", "UNION_TYPE_CHOICES",
                       "Value of field \"type\" must be one of (1,).")
            continue
        _row(errors, at, row, seen, modal=False)


def _row(errors: FormErrors, at: str, row: dict[str, Any], seen: set[str], *, modal: bool
         ) -> None:
    children = row.get("components") or []
    if not children:
        errors.add(f"{at}.components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        return
    errors.max_length(f"{at}.components", children, ROW_WIDTH)
    wide = [c for c in children if c.get("type") in SELECTS or c.get("type") == TEXT_INPUT]
    if wide and len(children) > 1:
        errors.add(f"{at}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                   "The specified component exceeds the maximum width")
    for number, child in enumerate(children):
        where = f"{at}.components.{number}"
        kind = child.get("type")
        if modal and kind != TEXT_INPUT:
            errors.add(f"{where}.type", "UNION_TYPE_CHOICES",
                       "Value of field \"type\" must be one of (4,).")
        elif not modal and kind not in (BUTTON, *SELECTS):
            errors.add(f"{where}.type", "UNION_TYPE_CHOICES",
                       "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).")
        else:
            _any_component(errors, where, child, seen)


def _any_component(errors: FormErrors, at: str, component: dict[str, Any], seen: set[str]
                   ) -> None:
    kind = component.get("type")
    if kind == ROW:
        _row(errors, at, component, seen, modal=False)
    elif kind == BUTTON:
        _button(errors, at, component, seen)
    elif kind in SELECTS:
        _select(errors, at, component, seen)
    elif kind == TEXT_INPUT:
        _text_input(errors, at, component, seen)
    elif kind == LABEL:
        errors.length(f"{at}.label", _text(component.get("label")), 1, INPUT_LABEL)
        errors.length(f"{at}.description", _text(component.get("description")), 1,
                      LABEL_DESCRIPTION, required=False)
        inner = component.get("component")
        if inner is None:
            errors.add(f"{at}.component", "BASE_TYPE_REQUIRED", "This field is required")
        elif inner.get("type") == TEXT_INPUT:
            _text_input(errors, f"{at}.component", inner, seen, labelled=True)
        else:
            _any_component(errors, f"{at}.component", inner, seen)
    else:  # v2 layout (section, container…): check what they hold
        for key in ("components", "accessory"):
            value = component.get(key)
            if isinstance(value, dict):
                _any_component(errors, f"{at}.{key}", value, seen)
            elif isinstance(value, list):
                for number, child in enumerate(value):
                    _any_component(errors, f"{at}.{key}.{number}", child, seen)


def _custom_id(errors: FormErrors, at: str, component: dict[str, Any], seen: set[str]) -> None:
    custom_id = _text(component.get("custom_id"))
    errors.length(f"{at}.custom_id", custom_id, 1, CUSTOM_ID)
    if custom_id:
        if custom_id in seen:
            errors.add(f"{at}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED",
                       "Component custom id cannot be duplicated")
        seen.add(custom_id)


def _button(errors: FormErrors, at: str, button: dict[str, Any], seen: set[str]) -> None:
    errors.max_length(f"{at}.label", _text(button.get("label")), BUTTON_LABEL)
    style = button.get("style")
    if style == LINK:
        errors.length(f"{at}.url", _text(button.get("url")), 1, BUTTON_URL)
        if button.get("custom_id") is not None:
            errors.add(f"{at}.custom_id", "BUTTON_COMPONENT_LINK_CUSTOM_ID_INVALID",
                       "A link button cannot have a custom id")
    elif style != PREMIUM:
        _custom_id(errors, at, button, seen)


def _select(errors: FormErrors, at: str, select: dict[str, Any], seen: set[str]) -> None:
    _custom_id(errors, at, select, seen)
    errors.max_length(f"{at}.placeholder", _text(select.get("placeholder")), PLACEHOLDER)
    errors.number(f"{at}.min_values", select.get("min_values"), 0, SELECT_VALUES)
    errors.number(f"{at}.max_values", select.get("max_values"), 1, SELECT_VALUES)
    if select.get("type") != STRING_SELECT:
        errors.max_length(f"{at}.default_values", select.get("default_values"), SELECT_VALUES)
        return
    options = select.get("options")
    errors.length(f"{at}.options", options, 1, SELECT_OPTIONS)
    for number, option in enumerate(options or []):
        where = f"{at}.options.{number}"
        errors.length(f"{where}.label", _text(option.get("label")), 1, OPTION_LABEL)
        errors.length(f"{where}.value", _text(option.get("value")), 1, OPTION_VALUE)
        errors.max_length(f"{where}.description", _text(option.get("description")),
                          OPTION_DESCRIPTION)


def _text_input(errors: FormErrors, at: str, field: dict[str, Any], seen: set[str], *,
                labelled: bool = False) -> None:
    _custom_id(errors, at, field, seen)
    if not labelled:  # inside a Label component, the Label carries the label
        errors.length(f"{at}.label", _text(field.get("label")), 1, INPUT_LABEL)
    errors.max_length(f"{at}.value", _text(field.get("value")), INPUT_VALUE)
    errors.max_length(f"{at}.placeholder", _text(field.get("placeholder")), INPUT_PLACEHOLDER)
    errors.number(f"{at}.min_length", field.get("min_length"), 0, INPUT_VALUE)
    errors.number(f"{at}.max_length", field.get("max_length"), 1, INPUT_VALUE)


def _walk(components: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for component in components:
        yield component
        for key in ("components", "accessory", "component"):
            value = component.get(key)
            if isinstance(value, dict):
                yield from _walk([value])
            elif isinstance(value, list):
                yield from _walk(value)


def _count(components: list[dict[str, Any]]) -> int:
    return sum(1 for _ in _walk(components))


# -- interaction callbacks ------------------------------------------------------------------------

def check_modal(data: dict[str, Any], at: str = "data") -> None:
    """A modal (callback type 9): title 1–45, custom_id 1–100, 1–5 rows each holding one text
    input (label 1–45, value ≤ 4,000, placeholder ≤ 100), or Label components."""
    errors = FormErrors(at)
    errors.length("title", _text(data.get("title")), 1, MODAL_TITLE)
    errors.length("custom_id", _text(data.get("custom_id")), 1, CUSTOM_ID)
    components = data.get("components")
    errors.length("components", components, 1, MODAL_ROWS)
    seen: set[str] = set()
    for index, component in enumerate(components or []):
        at = f"components.{index}"
        if component.get("type") == ROW:
            _row(errors, at, component, seen, modal=True)
        elif component.get("type") in (LABEL, TEXT_DISPLAY):
            _any_component(errors, at, component, seen)
        else:
            errors.add(f"{at}.type", "UNION_TYPE_CHOICES",
                       "Value of field \"type\" must be one of (1, 10, 18).")
    errors.check()


def check_autocomplete(data: dict[str, Any], at: str = "data") -> None:
    """Autocomplete results (callback type 8): ≤ 25 choices, name 1–100, string value ≤ 100."""
    errors = FormErrors(at)
    choices = data.get("choices") or []
    errors.max_length("choices", choices, CHOICES)
    for index, choice in enumerate(choices):
        _choice(errors, f"choices.{index}", choice)
    errors.check()


def _choice(errors: FormErrors, at: str, choice: dict[str, Any]) -> None:
    errors.length(f"{at}.name", _text(choice.get("name")), 1, CHOICE_NAME)
    value = choice.get("value")
    if value is None:
        errors.add(f"{at}.value", "BASE_TYPE_REQUIRED", "This field is required")
    elif isinstance(value, str):
        errors.max_length(f"{at}.value", value, CHOICE_VALUE)
    for locale, name in (choice.get("name_localizations") or {}).items():
        _locale(errors, f"{at}.name_localizations", locale)
        errors.length(f"{at}.name_localizations.{locale}", _text(name), 1, CHOICE_NAME)


# -- application commands -------------------------------------------------------------------------

def valid_name(name: str, *, chat_input: bool = True) -> bool:
    """Discord's ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, in lower case where a
    letter has a lower case (chat-input commands and options); other commands: 1–32 of any."""
    if not 1 <= len(name) <= COMMAND_NAME:
        return False
    if not chat_input:
        return True
    for char in name:
        if char.lower() != char:
            return False
        if char in "-_" or unicodedata.category(char)[0] in "LN":
            continue
        script = unicodedata.name(char, "").split(" ", 1)[0]
        if script not in ("DEVANAGARI", "THAI"):
            return False
    return True


def check_commands(commands: list[dict[str, Any]]) -> None:
    """A bulk overwrite (``PUT …/commands``): each command's name, description, options,
    choices, localisations and its total size (≤ 4,000 characters)."""
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add("", "BASE_TYPE_ARRAY", "Must be an array.")
        errors.check()
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        at = str(index)
        kind = int(command.get("type") or CHAT_INPUT)
        chat = kind == CHAT_INPUT
        _named(errors, at, command, chat_input=chat, describe=chat)
        key = (kind, str(command.get("name")))
        if key in seen:
            errors.add(f"{at}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME",
                       "Application command names must be unique")
        seen.add(key)
        if chat:
            _options(errors, f"{at}.options", command.get("options") or [])
        if command_size(command) > COMMAND_TOTAL:
            errors.add(at, "APPLICATION_COMMAND_TOO_LARGE",
                       f"Command exceeds maximum size ({COMMAND_TOTAL})")
    errors.check()


def _named(errors: FormErrors, at: str, item: dict[str, Any], *, chat_input: bool,
           describe: bool) -> None:
    name = _text(item.get("name"))
    if name is None:
        errors.add(f"{at}.name", "BASE_TYPE_REQUIRED", "This field is required")
    elif not valid_name(name, chat_input=chat_input):
        errors.add(f"{at}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    for locale, value in (item.get("name_localizations") or {}).items():
        _locale(errors, f"{at}.name_localizations", locale)
        if not valid_name(str(value or ""), chat_input=chat_input):
            errors.add(f"{at}.name_localizations.{locale}", "APPLICATION_COMMAND_INVALID_NAME",
                       "Command name is invalid")
    if describe:
        errors.length(f"{at}.description", _text(item.get("description")), 1,
                      COMMAND_DESCRIPTION)
        for locale, value in (item.get("description_localizations") or {}).items():
            _locale(errors, f"{at}.description_localizations", locale)
            errors.length(f"{at}.description_localizations.{locale}", _text(value), 1,
                          COMMAND_DESCRIPTION)


def _options(errors: FormErrors, at: str, options: list[dict[str, Any]]) -> None:
    errors.max_length(at, options, COMMAND_OPTIONS)
    names: set[str] = set()
    optional_seen = False
    for index, option in enumerate(options):
        where = f"{at}.{index}"
        _named(errors, where, option, chat_input=True, describe=True)
        name = str(option.get("name"))
        if name in names:
            errors.add(f"{where}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                       "Option names must be unique")
        names.add(name)
        kind = option.get("type")
        if kind in (SUBCOMMAND, GROUP):
            _options(errors, f"{where}.options", option.get("options") or [])
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(f"{where}.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                           "Required options must be placed before non-required options")
        else:
            optional_seen = True
        choices = option.get("choices") or []
        errors.max_length(f"{where}.choices", choices, CHOICES)
        for number, choice in enumerate(choices):
            _choice(errors, f"{where}.choices.{number}", choice)


def _locale(errors: FormErrors, at: str, locale: str) -> None:
    if locale not in LOCALES:
        errors.add(f"{at}.{locale}", "BASE_TYPE_CHOICES",
                   f"Value must be one of {sorted(LOCALES)}.")


def _longest(item: dict[str, Any], key: str) -> int:
    values = [str(item.get(key) or "")]
    values += [str(v or "") for v in (item.get(f"{key}_localizations") or {}).values()]
    return max(len(v) for v in values)


def command_size(item: dict[str, Any]) -> int:
    """Characters of names, descriptions and choice values, the command's and its options'
    (the longest localisation of each field counts), as Discord sums them for the 4,000."""
    total = _longest(item, "name") + _longest(item, "description")
    for choice in item.get("choices") or []:
        total += _longest(choice, "name") + len(str(choice.get("value") or ""))
    return total + sum(command_size(option) for option in item.get("options") or [])


# -- channels and roles ---------------------------------------------------------------------------

def channel_name(name: Any, kind: int = 0, *, field: str = "name") -> str:
    """The name Discord stores for a new or renamed channel: 1–100 characters; for text-like
    channels (text, announcement, forum, media) lower case, runs of spaces turned into one
    ``-``, punctuation other than ``-`` and ``_`` removed, dashes not doubled nor at the ends.
    Voice channels, stages, categories and threads keep the name as given."""
    errors = FormErrors()
    text = _text(name)
    errors.length(field, text, 1, CHANNEL_NAME)
    errors.check()
    assert text is not None
    if kind not in SLUG_CHANNELS:
        return text
    slug = normalise_channel_name(text)
    if not slug:
        errors.add(field, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {CHANNEL_NAME} in "
                                                  "length.")
        errors.check()
    return slug


def normalise_channel_name(name: str) -> str:
    """Discord's text-channel form of ``name`` (see :func:`channel_name`)."""
    slug = "-".join(name.lower().split())
    slug = "".join(c for c in slug if c not in _REMOVED)
    return re.sub("-{2,}", "-", slug).strip("-")


def check_channel(data: dict[str, Any], kind: int) -> None:
    """Fields of a channel create or edit other than its name (which :func:`channel_name`
    normalises): the topic (≤ 1,024; forums and media channels 4,096); for voice and stage
    channels the bitrate (8,000–96,000 in a guild without boosts; stages at most 64,000) and
    the user limit (voice 0–99, stages 0–10,000)."""
    errors = FormErrors()
    errors.max_length("topic", _text(data.get("topic")), 4096 if kind in (15, 16) else TOPIC)
    if kind in (2, 13):
        errors.number("bitrate", data.get("bitrate"), 8000, 96000 if kind == 2 else 64000)
        errors.number("user_limit", data.get("user_limit"), 0, 99 if kind == 2 else 10000)
    errors.check()


def check_role(data: dict[str, Any]) -> None:
    """A role create or edit: the name, when given, 1–100 characters."""
    errors = FormErrors()
    if data.get("name") is not None:
        errors.length("name", _text(data["name"]), 1, ROLE_NAME)
    errors.check()
