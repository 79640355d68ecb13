"""The web server: security headers on every response, tokens that cannot crash it, links of
a deleted member refused, exit answers within their window, and a /healthz that tells."""

from __future__ import annotations

import asyncio
import re
import sqlite3

import aiohttp
import pytest

from bot import health
from bot.delivery.queue import Send
from bot.health import HealthCheck
from bot.mail import tokens
from bot.web import SECURITY_HEADERS, WebServer
from tests._email import body, make_sender

G = 1
ADDRESS = "ana.maria@example.org"


@pytest.fixture
async def web(services, templates):
    state = {"gateway": True, "tasks": set(health.SENDER_TASKS.values())}
    check = HealthCheck(services.db, services.clock, gateway=lambda: state["gateway"],
                        tasks=lambda: state["tasks"], cache_s=0)
    server = WebServer(services.email, templates, "en", health=check)
    port = await server.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}", state
    await server.stop()


async def _verified_survey(services, smtp):
    """Ana (user 2) has a verified address, was in a family and left the server: her survey
    went out; returns its answer link for "Earnings" (path and query)."""
    from bot.services.families import AGREEMENT_VERSION

    family = await services.families.create(G, 99, "Lobos", 10)
    request = await services.families.request_join(G, 2, family.id, AGREEMENT_VERSION)
    await services.families.decide(G, 10, request.id, True)
    await services.email.set_address(G, 2, ADDRESS)
    sender = make_sender(services, smtp)
    await sender.drain()
    code = re.search(r"\b(\d{6})\b", body(smtp.messages[-1], "plain")).group(1)
    await services.email.verify(G, 2, code)
    await services.families.left_server(G, 2)
    await sender.drain()
    [survey] = [m for m in smtp.to(ADDRESS) if "Tell us why" in m["Subject"]]
    return dict(re.findall(r"^  - (.+?): http://[^/]+(/exit\S+)\r?$", body(survey, "plain"),
                           re.M))["Earnings"]


async def test_every_response_has_the_security_headers(services, web, smtp):
    url, _ = web
    await services.email.set_address(G, 2, ADDRESS)
    token = tokens.sign(await services.email.secret(), G, 2, "digest")
    async with aiohttp.ClientSession() as http:
        for method, path, params in [("GET", "/unsubscribe", {"t": token}),
                                     ("GET", "/unsubscribe", {"t": "forged"}),
                                     ("POST", "/exit", {"t": "forged", "r": "time"}),
                                     ("GET", "/healthz", {}), ("GET", "/nothing-here", {}),
                                     ("PUT", "/unsubscribe", {})]:
            async with http.request(method, url + path, params=params) as response:
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers.get(name) == value, (method, path, name)
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]


@pytest.mark.parametrize("guild, user", [(2**63, 2), (G, 2**63), (G, 2**64 + 5), (G, -1)])
async def test_a_token_naming_ids_beyond_64_bits_is_refused_not_a_500(services, web, guild,
                                                                      user):
    url, _ = web
    secret = await services.email.secret()
    unsubscribe = tokens.sign(secret, guild, user, "all")
    survey = tokens.sign(secret, guild, user, "survey", tokens.EXIT)
    async with aiohttp.ClientSession() as http:
        for method, path, params in [("GET", "/unsubscribe", {"t": unsubscribe}),
                                     ("POST", "/unsubscribe", {"t": unsubscribe}),
                                     ("GET", "/exit", {"t": survey, "r": "time"}),
                                     ("POST", "/exit", {"t": survey, "r": "time"})]:
            async with http.request(method, url + path, params=params) as response:
                assert response.status == 400, (method, path)
                assert "This link is not valid" in await response.text()


async def test_links_of_a_deleted_member_are_refused_and_write_nothing(services, web, smtp):
    url, _ = web
    earnings = await _verified_survey(services, smtp)
    unsubscribe = tokens.sign(await services.email.secret(), G, 2, "all")
    await services.privacy.delete(G, 2)
    audit = await services.db.fetchval("SELECT count(*) FROM audit_log")
    async with aiohttp.ClientSession() as http:
        for method, link in [("GET", earnings), ("POST", earnings),
                             ("GET", f"/unsubscribe?t={unsubscribe}"),
                             ("POST", f"/unsubscribe?t={unsubscribe}")]:
            async with http.request(method, url + link) as response:
                assert response.status == 400, (method, link)
    assert await services.db.fetchval("SELECT count(*) FROM audit_log") == audit
    assert await services.privacy.export(G, 2) == {}


async def test_an_exit_answer_can_change_for_30_days_then_is_refused(services, web, smtp,
                                                                     clock):
    url, _ = web
    earnings = await _verified_survey(services, smtp)
    time = earnings.replace("r=earnings", "r=time")
    reason = "SELECT leave_reason FROM family_members WHERE user_id = 2"
    async with aiohttp.ClientSession() as http:
        async with http.post(url + earnings) as done:
            assert done.status == 200
        clock.advance(days=29)
        async with http.post(url + time) as changed:
            assert changed.status == 200
        assert await services.db.fetchval(reason) == "time"
        clock.advance(days=2)
        async with http.post(url + earnings) as late:
            assert late.status == 400
        async with http.get(url + earnings) as late_page:
            assert late_page.status == 400
    assert await services.db.fetchval(reason) == "time"


async def _health(url):
    async with aiohttp.ClientSession() as http, http.get(url + "/healthz") as response:
        return response.status, await response.json()


async def test_healthz_reports_the_real_state(services, web, clock, settings, monkeypatch):
    url, state = web
    status, report = await _health(url)
    assert status == 200 and report["status"] == "ok"
    assert report["gateway"] is True and report["database"] is True
    assert report["senders"] == {"discord": True, "email": True}
    assert report["oldest_queued_s"] == {"discord": None, "email": None}

    state["gateway"] = False  # a gateway drop
    status, report = await _health(url)
    assert status == 503 and report["problems"] == ["gateway not connected"]
    state["gateway"] = True

    state["tasks"] = {"delivery-sender"}  # the email sender died
    status, report = await _health(url)
    assert status == 503 and report["senders"]["email"] is False
    state["tasks"] = set(health.SENDER_TASKS.values())

    async with services.db.transaction() as tx:  # a delivery stuck in the queue
        await services.deliveries.add(tx, G, [Send("test", "k", "dm", 42, {"content": "x"})])
    clock.advance(minutes=9)
    status, report = await _health(url)
    assert status == 200 and report["oldest_queued_s"]["discord"] == 540
    clock.advance(minutes=2)
    status, report = await _health(url)
    assert status == 503 and report["problems"] == [
        "oldest queued discord item waited 660 s (limit 600 s)"]
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE deliveries SET state = 'sent'")

    # another process holds the database's write lock longer than the check waits
    monkeypatch.setattr(health, "DB_TIMEOUT_S", 0.2)
    other = sqlite3.connect(settings.database_path, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, other.rollback)
        status, report = await _health(url)
    finally:
        other.close()
    assert status == 503 and report["database"] is False
    assert report["problems"] == ["database not writable"]
    status, _ = await _health(url)
    assert status == 200


async def test_a_flood_of_healthz_requests_costs_one_check(services):
    check = HealthCheck(services.db, services.clock)
    reports = await asyncio.gather(*(check() for _ in range(50)))
    assert all(r is reports[0] for r in reports) and reports[0].ok
