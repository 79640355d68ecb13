"""Addresses, codes, preferences, tokens and the unsubscribe web endpoint."""

from __future__ import annotations

import re

import aiohttp
import pytest

from bot.errors import UserError
from bot.mail import tokens
from bot.web import WebServer
from tests._email import body, make_sender

ANA = "ana.maria@example.org"


async def code_from(smtp_sink) -> str:
    msg = smtp_sink.messages[-1]
    return re.search(r"\b(\d{6})\b", body(msg, "plain")).group(1)


@pytest.mark.parametrize("bad", ["ana", "ana@", "@example.org", "ana@example", "a b@c.org",
                                 "ana@@example.org", "ana..b@example.org"])
async def test_invalid_address_is_refused_and_nothing_stored(services, bad):
    with pytest.raises(UserError) as err:
        await services.email.set_address(1, 2, bad)
    assert err.value.code == "email.invalid_address"
    assert await services.email.get(1, 2) is None
    assert await services.db.fetchval("SELECT count(*) FROM email_outbox") == 0


async def test_code_arrives_and_verifies(services, smtp):
    found = await services.email.set_address(1, 2, ANA)
    assert found.masked == "a•••@e•••.org" and not found.verified
    await make_sender(services, smtp).drain()
    code = await code_from(smtp)
    stored = await services.db.fetchval("SELECT code_hash FROM email_addresses")
    assert code not in stored  # hashed
    verified = await services.email.verify(1, 2, code)
    assert verified.verified


async def test_wrong_codes_count_down_then_lock(services, smtp):
    await services.email.set_address(1, 2, ANA)
    await make_sender(services, smtp).drain()
    code = await code_from(smtp)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(UserError) as err:
            await services.email.verify(1, 2, wrong)
        assert err.value.code == "email.wrong_code" and err.value.params["left"] == left
    with pytest.raises(UserError) as err:
        await services.email.verify(1, 2, code)  # even the right one: too many tries
    assert err.value.code == "email.too_many_tries"


async def test_code_expires_after_15_minutes(services, smtp, clock):
    await services.email.set_address(1, 2, ANA)
    await make_sender(services, smtp).drain()
    code = await code_from(smtp)
    clock.advance(minutes=15)
    with pytest.raises(UserError) as err:
        await services.email.verify(1, 2, code)
    assert err.value.code == "email.code_expired"


async def test_preferences_and_remove(services):
    with pytest.raises(UserError):
        await services.email.set_preferences(1, 2, weekly_digest=False)
    await services.email.set_address(1, 2, ANA)
    found = await services.email.set_preferences(1, 2, weekly_digest=False, digest_day=4,
                                                 locale="es")
    assert (found.weekly_digest, found.digest_day, found.locale) == (False, 4, "es")
    await services.email.remove(1, 2)
    assert await services.email.get(1, 2) is None


def test_tokens_reject_tampering():
    token = tokens.sign("s3cret", 1, 2, "digest")
    assert tokens.verify("s3cret", token) == tokens.Unsubscribe(1, 2, "digest")
    mac = token.split(".")[1]
    forged = tokens.sign("other", 1, 3, "all").split(".")[0]
    assert tokens.verify("s3cret", f"{forged}.{mac}") is None
    assert tokens.verify("s3cret", token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert tokens.verify("wrong", token) is None
    assert tokens.verify("s3cret", "") is None


async def test_generated_secret_is_persisted(services, settings, db, clock):
    from bot.services import Services

    first = await services.email.secret()
    again = await Services.build(db, settings, clock).email.secret()
    assert first == again and len(first) >= 32


@pytest.fixture
async def web(services, templates):
    server = WebServer(services.email, templates, "en")
    port = await server.start("127.0.0.1", 0)
    yield f"http://127.0.0.1:{port}"
    await server.stop()


async def test_unsubscribe_flow_over_http(services, web, smtp):
    await services.email.set_address(1, 2, ANA)
    await services.email.set_preferences(1, 2, weekly_digest=True, locale="es")
    token = tokens.sign(await services.email.secret(), 1, 2, "digest")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{web}/unsubscribe", params={"t": token}) as page:
            html = await page.text()
            assert page.status == 200 and "Darme de baja" in html and 'method="post"' in html
        assert (await services.email.get(1, 2)).weekly_digest is True  # GET changes nothing
        async with http.post(f"{web}/unsubscribe", params={"t": token},
                             data={"List-Unsubscribe": "One-Click"}) as done:
            assert done.status == 200 and "Te diste de baja" in await done.text()
        assert (await services.email.get(1, 2)).weekly_digest is False
        async with http.get(f"{web}/unsubscribe", params={"t": token[:-2] + "xx"}) as bad:
            assert bad.status == 400 and "This link is not valid" in await bad.text()
        async with http.post(f"{web}/unsubscribe", params={"t": "nope"}) as bad:
            assert bad.status == 400
        async with http.get(f"{web}/healthz") as health:
            assert health.status == 200 and (await health.json())["status"] == "ok"


async def test_exit_survey_when_leaving_answered_with_one_click(services, web, smtp):
    from bot.services.families import AGREEMENT_VERSION

    family = await services.families.create(1, 99, "Lobos", 10)
    request = await services.families.request_join(1, 2, family.id, AGREEMENT_VERSION)
    await services.families.decide(1, 10, request.id, True)
    await services.families.left_server(1, 3)  # no address: no survey, nothing breaks
    await services.email.set_address(1, 2, ANA)
    await make_sender(services, smtp).drain()
    await services.email.verify(1, 2, await code_from(smtp))
    await services.families.left_server(1, 2)
    await services.families.left_server(1, 2)  # the event twice: one survey
    await make_sender(services, smtp).drain()
    [survey] = [m for m in smtp.to(ANA) if "Tell us why" in m["Subject"]]
    links = dict(re.findall(r"^  - (.+?): http://[^/]+(/exit\S+)\r?$", body(survey, "plain"),
                            re.M))
    assert set(links) >= {"Earnings", "Not enough support", "Not enough time"}
    earnings = web + links["Earnings"]  # PUBLIC_BASE_URL's path on this test server
    async with aiohttp.ClientSession() as http:
        async with http.get(earnings) as page:  # a link scanner's GET records nothing
            assert page.status == 200 and 'method="post"' in await page.text()
        assert await reason_of(services, 2) == "left_server"
        async with http.post(earnings) as done:
            assert done.status == 200 and "Your answer is recorded" in await done.text()
        async with http.post(earnings.replace("r=earnings", "r=bribes")) as bad:
            assert bad.status == 400
        # an exit link cannot unsubscribe, an unsubscribe token cannot answer a survey
        token = re.search(r"t=([^&]+)", earnings).group(1)
        async with http.post(f"{web}/unsubscribe", params={"t": token}) as bad:
            assert bad.status == 400
        unsubscribe = tokens.sign(await services.email.secret(), 1, 2, "all")
        async with http.post(f"{web}/exit", params={"t": unsubscribe, "r": "time"}) as bad:
            assert bad.status == 400
    assert await reason_of(services, 2) == "earnings"
    stats = await services.kpis.family_stats(1, None, *_today(services))
    assert stats.reasons == {"earnings": 1}  # the attrition KPI counts the answer


async def test_no_exit_survey_for_who_wants_no_email(services, smtp):
    await services.email.set_address(1, 2, ANA)
    await make_sender(services, smtp).drain()
    await services.email.verify(1, 2, await code_from(smtp))
    await services.email.set_preferences(1, 2, weekly_digest=False, campaigns=False,
                                         broadcasts=False)
    await services.families.left_server(1, 2)
    assert await services.db.fetchval(
        "SELECT count(*) FROM email_outbox WHERE kind = 'exit_survey'") == 0


async def reason_of(services, user_id):
    return await services.db.fetchval(
        "SELECT leave_reason FROM family_members WHERE user_id = ?", (user_id,))


def _today(services):
    from datetime import timedelta

    now = services.clock.now()
    return now - timedelta(days=1), now + timedelta(days=1)

async def test_codes_are_limited_per_member_and_per_address(services, clock):
    for _ in range(3):
        await services.email.set_address(1, 2, ANA)
    with pytest.raises(UserError) as err:
        await services.email.set_address(1, 2, "other@example.org")  # per member
    assert err.value.code == "email.too_many_codes"
    with pytest.raises(UserError):
        await services.email.set_address(1, 3, ANA)  # per address, from another member
    assert await services.db.fetchval(
        "SELECT count(*) FROM email_outbox WHERE kind = 'verify'") == 3
    clock.advance(minutes=61)
    await services.email.set_address(1, 3, ANA)  # an hour later: fine again
