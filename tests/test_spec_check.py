"""The check against Discord's OpenAPI spec (tests/spec_check.py) finds what it should: the
end-to-end suite relies on it, so a checker that passes everything would hide every defect."""

from __future__ import annotations

import pytest

from emulator import models as m
from tests import spec_check
from tests.spec_check import EXCEPTIONS, SpecChecker

CHANNEL = 1_300_000_000_000_000_001
BOT = m.User(1_300_000_000_000_000_002, "Familia", bot=True)


def _message(**changes) -> dict:
    message = m.Message(1_300_000_000_000_000_010, CHANNEL, BOT, content="hi",
                        components=[{"type": 1, "components": [
                            {"type": 2, "style": 1, "label": "Next", "custom_id": "next",
                             "emoji": {"name": "▶️", "id": None}}]}],
                        guild_id=1_300_000_000_000_000_000)
    for key, value in changes.items():
        setattr(message, key, value)
    return message.payload("http://127.0.0.1")


@pytest.fixture(scope="module")
def checker() -> SpecChecker:
    return SpecChecker()


def check(checker: SpecChecker, method: str, path: str, request, status: int, response):
    return [(x.part, x.path) for x in checker.check(method, path, request, status, response)]


def test_a_message_as_the_emulator_returns_it_validates(checker):
    assert check(checker, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}, 200,
                 _message()) == []


def test_a_reply_echoing_snowflakes_as_numbers_does_not(checker):
    reply = _message(reference={"message_id": 5})
    assert reply["message_reference"]["message_id"] == "5"  # the emulator's own: strings
    reply["message_reference"]["message_id"] = 5
    assert check(checker, "GET", f"/channels/{CHANNEL}/messages/1", None, 200, reply) == [
        ("response", "message_reference.message_id")]


def test_missing_fields_and_component_ids_are_found(checker):
    message = _message()
    del message["author"]["flags"]
    del message["components"][0]["components"][0]["id"]
    assert sorted(check(checker, "GET", f"/channels/{CHANNEL}/messages/1", None, 200,
                        message)) == [("response", "author"),
                                      ("response", "components.0.components.0")]


def test_an_interaction_callback_resource_is_checked_by_its_type(checker):
    path = "/interactions/1/token/callback"
    reply = {"interaction": {"id": "1", "type": 2}, "resource": {"type": 4,
                                                                  "message": _message()}}
    defer_with_message = {"interaction": {"id": "1", "type": 2},
                          "resource": {"type": 5, "message": _message()}}
    assert check(checker, "POST", path, {"type": 4, "data": {"content": "hi"}}, 200,
                 reply) == []
    assert check(checker, "POST", path, {"type": 5}, 200, defer_with_message) == [
        ("response", "resource.type")]


def test_routes_methods_and_statuses_must_be_in_the_spec(checker):
    assert check(checker, "GET", "/nowhere", None, 404, None) == [("route", "")]
    assert check(checker, "PUT", f"/channels/{CHANNEL}/messages", {}, 200, None) == [
        ("route", "")]
    assert check(checker, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}, 201,
                 _message()) == [("status", "201")]
    assert check(checker, "DELETE", f"/channels/{CHANNEL}/messages/1", None, 204,
                 {"oops": 1}) == [("response", "")]


def test_request_bodies_are_checked(checker):
    assert check(checker, "POST", f"/channels/{CHANNEL}/messages", {"content": 12}, 200,
                 _message()) == [("request", "content")]
    assert check(checker, "POST", "/users/@me/channels", {"recipient_id": "12"}, 200,
                 m.Channel(7, m.DM, recipient=BOT).payload()) == []


def test_every_listed_exception_applies_and_only_where_written(checker):
    before = checker.figures.excused.copy()
    # 5xx: not in the spec, sent by the emulator's fault injection
    assert check(checker, "GET", "/users/@me", None, 503,
                 {"message": "503: emulated server error", "code": 0}) == []
    # snowflakes as numbers and permissions as strings in requests (discord.py sends both)
    assert check(checker, "POST", "/users/@me/channels", {"recipient_id": 12}, 200,
                 m.Channel(7, m.DM, recipient=BOT).payload()) == []
    assert check(checker, "POST", "/guilds/1/roles", {"name": "x", "permissions": "0"}, 200,
                 m.Role(2, 1, "x").payload()) == []
    # a per-route 429 without "code", as Discord's documentation shows it
    assert check(checker, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}, 429,
                 {"message": "You are being rate limited.", "retry_after": 0.5,
                  "global": False}) == []
    used = checker.figures.excused - before
    assert set(used) == set(EXCEPTIONS)
    # ... but a snowflake as a number in a response, or a 404 without "code", is a mismatch
    assert check(checker, "POST", f"/channels/{CHANNEL}/messages", {"content": "hi"}, 404,
                 {"message": "Unknown Channel"}) == [("response", "")]


def test_the_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(spec_check.MODE_VARIABLE, raising=False)
    assert spec_check.mode() == "strict"
    monkeypatch.setenv(spec_check.MODE_VARIABLE, "report")
    assert spec_check.mode() == "report"
    monkeypatch.setenv(spec_check.MODE_VARIABLE, "loose")
    with pytest.raises(ValueError):
        spec_check.mode()
