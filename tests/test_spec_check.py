"""The check against Discord's OpenAPI spec (tests/spec_check.py) finds what it should: the
end-to-end suite relies on it, so a checker that passes everything would hide every defect."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from emulator import Emulator
from emulator import models as m
from emulator.rest import ROUTES
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


def test_query_parameters_must_be_in_the_spec(checker):
    assert checker.check("GET", f"/channels/{CHANNEL}/messages", None, 200, [],
                         query=["limit", "before"]) == []
    assert [(x.part, x.path) for x in checker.check(
        "GET", f"/channels/{CHANNEL}/messages", None, 200, [], query=["count"])] == [
        ("query", "count")]


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
    # a 400 / 50035 body with Discord's string field-error codes
    assert check(checker, "POST", f"/channels/{CHANNEL}/messages", {"content": "x" * 2001},
                 400, {"code": 50035, "message": "Invalid Form Body", "errors": {"content": {
                     "_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                  "message": "Must be 2000 or fewer in length."}]}}}) == []
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


async def test_every_emulator_route_answers_as_the_spec_describes(checker):
    """Each REST route the emulator serves, called as discord.py would (raw HTTP here, so
    that routes Familia does not use yet are covered too), plus its usual refusals, a 429 and
    an injected 5xx: every exchange validates, and no route is left out."""
    found: list[spec_check.Mismatch] = []
    async with Emulator() as emu:
        emu.observers.append(lambda x: found.extend(
            checker.check(x.method, x.path, x.request, x.status, x.response, x.query)))
        guild = emu.create_guild("Spec")
        ana = emu.create_user("ana")
        emu.add_member(guild, ana, dispatch=False)
        role = emu.create_role(guild, "Leaders")
        general = emu.default_channel(guild)
        app, g = emu.app.id, guild.id
        auth = {"Authorization": f"Bot {emu.app.token}"}
        async with aiohttp.ClientSession(emu.api_url + "/") as http:

            async def call(method: str, path: str, body=None, *, form=None, token=True):
                async with http.request(method, path.lstrip("/"), json=body, data=form,
                                        headers=auth if token else {}) as answer:
                    return await answer.json() if answer.status != 204 else None

            for path in ("/users/@me", f"/users/{ana.id}", "/oauth2/applications/@me",
                         "/applications/@me", "/gateway", "/gateway/bot", f"/guilds/{g}",
                         f"/guilds/{g}/channels", f"/guilds/{g}/roles",
                         f"/guilds/{g}/members/{ana.id}", f"/guilds/{g}/members?limit=5",
                         "/channels/1"):
                await call("GET", path)
            command = {"name": "ping", "description": "Ping", "type": 1, "options": [
                {"type": 3, "name": "what", "description": "What", "autocomplete": True}]}
            for where in ("", f"/guilds/{g}"):
                await call("PUT", f"/applications/{app}{where}/commands", [command])
                await call("GET", f"/applications/{app}{where}/commands")

            button = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Next",
                                                 "custom_id": "next", "emoji": {"name": "▶️"}}]}
            posted = await call("POST", f"/channels/{general.id}/messages",
                                {"content": "hi", "components": [button], "nonce": "1",
                                 "enforce_nonce": True})
            await call("POST", f"/channels/{general.id}/messages",
                       {"content": "again", "nonce": "1", "enforce_nonce": True})
            await call("POST", f"/channels/{general.id}/messages",
                       {"content": "re", "message_reference": {"message_id": int(posted["id"])},
                        "allowed_mentions": {"parse": [], "users": [ana.id]}})
            form = aiohttp.FormData()
            form.add_field("payload_json", '{"content": "chart", "attachments": [{"id": 0, '
                                           '"filename": "c.png"}]}')
            form.add_field("files[0]", b"\x89PNG", filename="c.png", content_type="image/png")
            await call("POST", f"/channels/{general.id}/messages", form=form)
            await call("POST", f"/channels/{general.id}/messages", {"content": "x" * 2001})
            await call("GET", f"/channels/{general.id}/messages?limit=10")
            await call("GET", f"/channels/{general.id}/messages/{posted['id']}")
            await call("PATCH", f"/channels/{general.id}/messages/{posted['id']}",
                       {"content": "edited"})
            dm = await call("POST", "/users/@me/channels", {"recipient_id": str(ana.id)})
            await call("POST", f"/channels/{dm['id']}/messages", {"content": "psst"})

            made = await call("POST", f"/guilds/{g}/channels", {
                "name": "fam", "type": 0, "permission_overwrites": [
                    {"id": role.id, "type": 0, "allow": "1024", "deny": "0"}]})
            await call("GET", f"/channels/{made['id']}")
            await call("PATCH", f"/channels/{made['id']}", {"name": "fam-2", "topic": "t"})
            await call("PUT", f"/channels/{made['id']}/permissions/{ana.id}",
                       {"type": 1, "allow": "1024", "deny": "0"})
            await call("DELETE", f"/channels/{made['id']}/permissions/{ana.id}")
            thread = await call("POST", f"/channels/{general.id}/threads",
                                {"name": "help", "type": 12, "invitable": False})
            await call("PUT", f"/channels/{thread['id']}/thread-members/{ana.id}")
            await call("PUT", f"/channels/{thread['id']}/thread-members/@me")
            await call("GET", f"/channels/{thread['id']}/thread-members")
            await call("DELETE", f"/channels/{thread['id']}")  # 403: no Manage Threads
            await call("DELETE", f"/channels/{made['id']}")
            await call("DELETE", f"/channels/{general.id}/messages/{posted['id']}")

            new = await call("POST", f"/guilds/{g}/roles", {"name": "Tier", "permissions": "0",
                                                           "color": 0x3498DB})
            await call("PATCH", f"/guilds/{g}/roles", [{"id": new["id"], "position": 2}])
            await call("PATCH", f"/guilds/{g}/roles/{new['id']}", {"name": "Tier 1"})
            await call("PUT", f"/guilds/{g}/members/{ana.id}/roles/{new['id']}")
            await call("DELETE", f"/guilds/{g}/members/{ana.id}/roles/{new['id']}")
            await call("PATCH", f"/guilds/{g}/members/{ana.id}", {"roles": [str(role.id)]})
            await call("PATCH", f"/guilds/{g}/members/{ana.id}", {"nick": "Ana"})  # 403
            await call("DELETE", f"/guilds/{g}/roles/{new['id']}")

            async def answer(record, body, *, query="?with_response=true"):
                return await call("POST", f"/interactions/{record.id}/{record.token}/callback"
                                  + query, body, token=False)

            defer = await emu.run_command(guild, ana, "ping")
            await answer(defer, {"type": 5, "data": {"flags": 64}})
            hook = f"/webhooks/{app}/{defer.token}"
            await call("POST", hook + "?wait=true", {"content": "done"}, token=False)
            await call("POST", hook + "?wait=true", {"content": "more"}, token=False)
            for method, body in (("GET", None), ("PATCH", {"content": "changed"}),
                                 ("DELETE", None)):
                await call(method, hook + "/messages/@original", body, token=False)
            await answer(defer, {"type": 4, "data": {"content": "twice"}})  # 40060
            await answer(await emu.run_command(guild, ana, "ping"),
                         {"type": 4, "data": {"content": "pong", "components": [button]}})
            await answer(await emu.run_command(guild, ana, "ping"),
                         {"type": 4, "data": {"content": "quiet"}}, query="")
            await answer(await emu.run_command(guild, ana, "ping"), {"type": 9, "data": {
                "custom_id": "m", "title": "Why", "components": [{"type": 1, "components": [
                    {"type": 4, "custom_id": "why", "label": "Why", "style": 2}]}]}})
            message = next(x for x in reversed(emu.messages(general)) if x.custom_ids)
            await answer(await emu.click(ana, message, "next"), {"type": 6})
            await answer(await emu.click(ana, message, "next"),
                         {"type": 7, "data": {"content": "page 2", "components": [button]}})
            typing = asyncio.create_task(emu.autocomplete(guild, ana, "ping", "what", "a"))
            await emu.wait_for(lambda: emu.interactions(ana)[-1].type == 4, what="autocomplete")
            await answer(emu.interactions(ana)[-1],
                         {"type": 8, "data": {"choices": [{"name": "a", "value": "a"}]}})
            await typing

            emu.inject_429(1, route="/users/@me")
            await call("GET", "/users/@me")
            emu.inject_429(1, route="/users/@me", global_=True)
            await call("GET", "/users/@me")
            emu.inject_5xx(1, status=502, route="/users/@me")
            await call("GET", "/users/@me")
        missed = {f"{r.method} {r.template}" for r in ROUTES} - set(emu.stats.by_route)
        statuses = set(emu.stats.statuses)
    assert missed == set(), "add a call for each new emulator route"
    assert statuses == {200, 201, 204, 400, 403, 404, 429, 502}
    mismatches = sorted({x.describe() for x in found})
    assert mismatches == [], "\n".join(mismatches)
