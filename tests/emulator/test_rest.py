"""REST as Discord answers it, checked with a raw HTTP client: auth, errors, headers,
rate limits, validation, uploads and webhooks."""

from __future__ import annotations

import json

import aiohttp
import pytest

from emulator import Emulator
from emulator.models import SEND_MESSAGES, VIEW_CHANNEL, Overwrite


@pytest.fixture
async def http(emu):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {emu.token}"}) as session:
        yield session


async def test_auth_unknown_route_and_content_type(emu, http):
    async with http.get(f"{emu.api_url}/users/@me") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert (await response.json())["id"] == str(emu.bot_user.id)
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{emu.api_url}/users/@me") as response:
            assert response.status == 401
            assert await response.json() == {"message": "401: Unauthorized", "code": 0}
    async with http.get(f"{emu.api_url}/no/such/route") as response:
        assert response.status == 404
        assert await response.json() == {"message": "404: Not Found", "code": 0}
    async with http.get(f"{emu.api_url}/oauth2/applications/@me") as response:
        app = await response.json()
        for key in ("id", "name", "description", "icon", "bot_public", "bot_require_code_grant",
                    "owner", "verify_key", "flags"):
            assert key in app
    assert emu.stats.invalid == 1 and emu.stats.by_route["GET /users/@me"] == 2


async def test_rate_limit_headers_and_429(emu, http):
    guild = emu.create_guild("G")
    general = emu.channel_by_name(guild, "general")
    url = f"{emu.api_url}/channels/{general.id}/messages"
    buckets = set()
    for n in range(5):
        async with http.post(url, json={"content": f"m{n}"}) as response:
            assert response.status == 200
            assert response.headers["X-RateLimit-Limit"] == "5"
            assert response.headers["X-RateLimit-Remaining"] == str(4 - n)
            assert 0 < float(response.headers["X-RateLimit-Reset-After"]) <= 5
            buckets.add(response.headers["X-RateLimit-Bucket"])
    assert len(buckets) == 1
    async with http.post(url, json={"content": "too many"}) as response:
        assert response.status == 429
        assert response.headers["Via"] == "1.1 google"
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["X-RateLimit-Scope"] == "user"
        body = await response.json()
        assert body["global"] is False and 0 < body["retry_after"] <= 5
    other = emu.create_channel(guild, "other")  # another channel: its own window
    async with http.post(f"{emu.api_url}/channels/{other.id}/messages",
                         json={"content": "x"}) as response:
        assert response.status == 200
        assert response.headers["X-RateLimit-Bucket"] in buckets
    assert emu.stats.rate_limited == 1 and emu.stats.invalid == 1


async def test_global_rate_limit():
    async with Emulator(global_rate=10) as emu:
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bot {emu.token}"}) as http:
            statuses = []
            for _ in range(12):
                async with http.get(f"{emu.api_url}/users/@me") as response:
                    statuses.append(response.status)
                    if response.status == 429:
                        body = await response.json()
                        assert body["global"] is True
                        assert response.headers["X-RateLimit-Scope"] == "global"
            assert statuses.count(200) == 10 and statuses.count(429) == 2
            # webhooks do not count against the bot's global limit
            async with http.post(f"{emu.api_url}/webhooks/{emu.application_id}/nope") as r:
                assert r.status == 404 and (await r.json())["code"] == 10015
            assert emu.stats.global_rate_limited == 2


async def test_configurable_route_limits():
    async with Emulator(route_limits={"messages": (2, 1.0)}) as emu:
        guild = emu.create_guild("G")
        general = emu.channel_by_name(guild, "general")
        async with aiohttp.ClientSession(
                headers={"Authorization": f"Bot {emu.token}"}) as http:
            url = f"{emu.api_url}/channels/{general.id}/messages"
            statuses = []
            for _ in range(3):
                async with http.post(url, json={"content": "x"}) as response:
                    statuses.append(response.status)
            assert statuses == [200, 200, 429]


async def test_validation_errors(emu, http):
    guild = emu.create_guild("G")
    url = f"{emu.api_url}/channels/{emu.channel_by_name(guild, 'general').id}/messages"
    async with http.post(url, json={"content": "x" * 2001}) as response:
        assert response.status == 400
        body = await response.json()
        assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
        assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    async with http.post(url, json={"embeds": [{"title": "t"}] * 11}) as response:
        assert (await response.json())["code"] == 50035
    async with http.post(url, json={"embeds": [{"title": "x" * 300}]}) as response:
        errors = (await response.json())["errors"]
        assert "_errors" in errors["embeds"]["0"]["title"]
    async with http.post(url, json={"content": ""}) as response:
        assert response.status == 400 and (await response.json())["code"] == 50006
    async with http.post(url, data=b"{not json", headers={"Content-Type": "application/json"}
                         ) as response:
        assert (await response.json())["code"] == 50109


async def test_permissions_on_private_channel(emu, http):
    guild = emu.create_guild("G")
    secret = emu.create_channel(guild, "secret", overwrites=[
        Overwrite(guild.id, 0, deny=VIEW_CHANNEL)])
    url = f"{emu.api_url}/channels/{secret.id}/messages"
    async with http.post(url, json={"content": "x"}) as response:
        assert response.status == 403 and (await response.json())["code"] == 50001
    emu.set_overwrite(secret, emu.bot_role(guild), allow=VIEW_CHANNEL, deny=SEND_MESSAGES)
    async with http.post(url, json={"content": "x"}) as response:
        assert response.status == 403 and (await response.json())["code"] == 50013
    emu.set_overwrite(secret, emu.bot_user, allow=VIEW_CHANNEL | SEND_MESSAGES)
    async with http.post(url, json={"content": "x"}) as response:
        assert response.status == 200
    async with http.get(f"{emu.api_url}/channels/{secret.id}/messages?limit=1") as response:
        assert [m["content"] for m in await response.json()] == ["x"]


async def test_multipart_upload_and_download(emu, http):
    guild = emu.create_guild("G")
    general = emu.channel_by_name(guild, "general")
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", json.dumps({"content": "see file",
                                               "attachments": [{"id": 0, "filename": "a.txt"}]}))
    form.add_field("files[0]", b"hello", filename="a.txt", content_type="text/plain")
    async with http.post(f"{emu.api_url}/channels/{general.id}/messages", data=form) as response:
        body = await response.json()
    attachment = emu.messages(general)[0].attachments[0]
    assert (attachment.filename, attachment.data, attachment.content_type) == (
        "a.txt", b"hello", "text/plain")
    async with http.get(body["attachments"][0]["url"]) as response:
        assert await response.read() == b"hello"


async def test_roles_hierarchy(emu, http):
    guild = emu.create_guild("G")
    ana = emu.create_user("ana")
    emu.add_member(guild, ana)
    low = emu.create_role(guild, "low", position=5)
    high = emu.create_role(guild, "high", position=150)  # above the bot's role (100)
    base = f"{emu.api_url}/guilds/{guild.id}/members/{ana.id}/roles"
    async with http.put(f"{base}/{low.id}") as response:
        assert response.status == 204
    async with http.put(f"{base}/{high.id}") as response:
        assert response.status == 403 and (await response.json())["code"] == 50013
    async with http.put(f"{base}/{emu.bot_role(guild).id}") as response:
        assert response.status == 400  # managed roles cannot be assigned
    assert [r.name for r in emu.member_roles(guild, ana)] == ["low"]
    async with http.post(f"{emu.api_url}/guilds/{guild.id}/roles", json={"name": "new"}) as r:
        assert r.status == 200 and (await r.json())["name"] == "new"
    async with http.get(f"{emu.api_url}/guilds/{guild.id}/members?limit=2") as response:
        assert len(await response.json()) == 2


async def test_dm_rules(emu, http):
    guild = emu.create_guild("G")
    ana = emu.create_user("ana")
    stranger = emu.create_user("stranger")
    emu.add_member(guild, ana)
    for user, expected in ((ana, 200), (stranger, 403)):
        async with http.post(f"{emu.api_url}/users/@me/channels",
                             json={"recipient_id": str(user.id)}) as response:
            dm = await response.json()
            assert dm["type"] == 1
        async with http.post(f"{emu.api_url}/channels/{dm['id']}/messages",
                             json={"content": "hi"}) as response:
            assert response.status == expected
            if expected == 403:  # no shared guild
                assert (await response.json())["code"] == 50007
    assert [m.content for m in emu.dms(ana)] == ["hi"]


async def test_injected_faults(emu, http):
    emu.inject_5xx(2, status=503)
    for _ in range(2):
        async with http.get(f"{emu.api_url}/users/@me") as response:
            assert response.status == 503
    emu.inject_429(route="/users/@me", duration=0.2, global_=True, retry_after=0.05)
    for _ in range(3):
        async with http.get(f"{emu.api_url}/users/@me") as response:
            assert response.status == 429 and (await response.json())["global"] is True
    async with http.get(f"{emu.api_url}/gateway") as response:
        assert response.status == 200  # other routes unaffected
    assert emu.stats.server_errors == 2 and emu.stats.rate_limited == 3
