"""The outbox and the sender against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import hashlib

from bot.mail import outbox
from bot.mail.sender import Sender
from tests._email import SmtpSink, body, make_sender

ANA = "ana@example.org"


async def queue(services, recipient=ANA, key="k1", kind="exit_survey", locale="en",
                guild=1, user=2):
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, guild, user)
        return await services.email.queue(tx, guild, user, recipient, kind, key, locale)


async def rows(services):
    return [dict(r) for r in await services.db.fetchall("SELECT * FROM email_outbox ORDER BY id")]


async def test_message_is_multipart_with_unsubscribe_headers(services, smtp):
    await queue(services, key="exit_survey:1:2:2026-03-02")
    assert await make_sender(services, smtp).drain() == 1
    [msg] = smtp.to(ANA)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    digest = hashlib.sha256(b"exit_survey:1:2:2026-03-02").hexdigest()
    assert msg["Message-ID"] == f"<{digest}@familia>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https = msg["List-Unsubscribe"]  # only the link: nothing reads a mailto: address
    assert https.startswith("<http://127.0.0.1:8080/unsubscribe?t=") and https.endswith(">")
    assert "Why did you leave?" in body(msg, "plain")
    assert "<p>Why did you leave?" in body(msg, "html")
    assert (await rows(services))[0]["state"] == "sent"


async def test_spanish_email(services, smtp):
    await queue(services, locale="es")
    await make_sender(services, smtp).drain()
    [msg] = smtp.to(ANA)
    assert msg["Subject"] == "Lamentamos que te vayas. ¿Nos cuentas por qué?"
    assert "¿Por qué te fuiste?" in body(msg, "plain")
    assert "¿Por qué te fuiste?" in body(msg, "html")


async def test_dedupe_key_and_restart_send_nothing_twice(services, smtp, settings, clock):
    from bot.db import Database
    from bot.services import Services

    assert await queue(services, key="digest:1:2:digest_leader:2026-W10", kind="exit_survey")
    assert not await queue(services, key="digest:1:2:digest_leader:2026-W10")
    await make_sender(services, smtp).drain()
    # The bot restarts: a new process opens the database file again, queues the same email
    # (a sweep repeated after a crash) and starts its sender: nothing is sent twice.
    db = await Database.open(settings.database_path)
    try:
        again = Services.build(db, settings, clock, renderer=services.email.renderer)
        async with db.transaction() as tx:
            assert not await again.email.queue(tx, 1, 2, ANA, "exit_survey",
                                               "digest:1:2:digest_leader:2026-W10", "en")
        assert await make_sender(again, smtp).drain() == 0
    finally:
        await db.close()
    assert len(smtp.messages) == 1


async def test_crash_mid_send_is_retried_after_the_lease(services, smtp, clock):
    await queue(services)
    from datetime import timedelta

    from bot.leases import Holder
    dead = Holder(services.db, "dead", clock, timedelta(minutes=5))
    claimed = await outbox.claim(dead, 10)
    await dead.stop()
    assert len(claimed) == 1  # the process "dies" here, before sending
    sender = make_sender(services, smtp)
    assert await sender.drain() == 0  # leased: not taken again yet
    clock.advance(minutes=6)
    assert await sender.drain() == 1
    assert len(smtp.messages) == 1 and (await rows(services))[0]["attempts"] == 2


async def test_temporary_failures_back_off_then_deliver(services, smtp, clock):
    await queue(services)
    smtp.fail_next(2)
    sender = make_sender(services, smtp, backoff_base=60)
    await sender.drain()
    [row] = await rows(services)
    assert row["state"] == "queued" and row["attempts"] == 1
    assert row["last_error"].startswith("451")
    assert row["next_attempt_at"] == "2026-03-02T15:01:00+00:00"
    assert await sender.drain() == 0  # not due yet
    clock.advance(seconds=60)
    await sender.drain()
    [row] = await rows(services)
    assert row["next_attempt_at"] == "2026-03-02T15:03:00+00:00"  # 2 minutes: doubled
    clock.advance(seconds=120)
    await sender.drain()
    [row] = await rows(services)
    assert row["state"] == "sent" and row["attempts"] == 3 and len(smtp.messages) == 1


async def test_smtp_down_keeps_mail_queued(services, clock):
    from bot.mail.local import free_port
    from bot.mail.smtp import SmtpConfig

    await queue(services)
    sender = Sender(services.db, SmtpConfig("127.0.0.1", free_port(), timeout=2), clock)
    await sender.drain()
    [row] = await rows(services)
    assert row["state"] == "queued" and "Connect" in row["last_error"]
    status = await services.email.status()
    assert status["counts"] == {"queued": 1}
    assert "Connect" in status["errors"][0]["last_error"]  # what `familia email status` shows
    assert ANA not in str(status)
    # the server comes up on that port: the retry, when due, delivers it
    sink = SmtpSink(port=sender.config.port)
    sink.controller.start()
    try:
        clock.advance(hours=1)
        assert await sender.drain() == 1
        assert [m["To"] for m in sink.messages] == [ANA]
        assert (await services.email.status())["counts"] == {"sent": 1}
    finally:
        sink.controller.stop()


async def test_permanent_failures_fail_and_suppress_the_address(services, smtp):
    smtp.refuse.add(ANA)
    sender = make_sender(services, smtp)
    for n in range(3):
        await queue(services, key=f"k{n}")
        await sender.drain()
    states = [r["state"] for r in await rows(services)]
    assert states == ["failed", "failed", "failed"]
    assert "550" in (await rows(services))[0]["last_error"]
    assert ANA not in (await rows(services))[0]["last_error"]  # masked
    assert not await queue(services, key="k4")  # suppressed: not even queued
    assert (await services.email.status())["suppressed"] == 1
    assert smtp.messages == []


async def test_delivered_mail_is_also_written_as_eml(services, smtp, tmp_path):
    await queue(services)
    await make_sender(services, smtp, outbox_dir=tmp_path / "out").drain()
    [eml] = list((tmp_path / "out").glob("*.eml"))
    assert b"Subject: Sorry to see you go" in eml.read_bytes()


async def test_connections_are_reused(services, smtp):
    sessions = []
    original = smtp.handle_DATA

    async def spy(server, session, envelope):
        sessions.append(id(session))
        return await original(server, session, envelope)

    smtp.handle_DATA = spy
    for n in range(10):
        await queue(services, key=f"k{n}", recipient=f"p{n}@example.org")
    await make_sender(services, smtp, connections=2).drain()
    assert len(smtp.messages) == 10 and len(set(sessions)) == 2


async def test_a_temporary_failure_gives_back_the_next_batch_untried(services, smtp):
    for n in range(5):
        await queue(services, f"u{n}@example.org", key=f"k{n}")
    smtp.fail_next(10)
    sender = make_sender(services, smtp, batch=2, connections=1)
    assert await sender.drain() == 2  # the first batch failed; the next was claimed, then
    states = [(r["state"], r["attempts"]) for r in await rows(services)]  # given back
    assert states.count(("queued", 1)) == 2 and states.count(("queued", 0)) == 3


async def test_rendering_in_a_worker_process_matches_the_bot_process():
    from bot.mail.rendering import POOL_MIN, Renderer
    from bot.templating import Templates

    jobs = [("es" if n % 2 else "en", "verify", {"code": f"{n:06d}", "minutes": 15,
                                                 "unsubscribe_url": None})
            for n in range(POOL_MIN)]
    here = Renderer(Templates())
    pooled = Renderer(Templates(), processes=1)
    try:
        assert await pooled.many(jobs) == await here.many(jobs)
        assert pooled._pool is not None  # really went through the worker
    finally:
        pooled.close()


async def test_a_refused_message_is_failed_but_only_a_refused_address_bounces(services, smtp):
    sender = make_sender(services, smtp)
    for n in range(3):  # the server refuses the message itself (policy, content): no bounce
        smtp.fail_next(1, "554 5.7.1 message rejected as spam")
        await queue(services, key=f"spam{n}")
        await sender.drain()
    assert [r["state"] for r in await rows(services)] == ["failed"] * 3
    assert (await services.email.status())["suppressed"] == 0
    smtp.fail_next(1, "550 5.1.1 mailbox unavailable")  # the address, refused after DATA
    await queue(services, key="gone")
    await sender.drain()
    assert await services.db.fetchval("SELECT bounces FROM email_suppressions") == 1


def test_render_workers_follow_the_cores_keeping_one_for_the_bot():
    from bot.mail.rendering import default_processes

    assert [default_processes(n) for n in (1, 2, 3, 4, 8, 64)] == [1, 1, 2, 3, 4, 4]


async def test_a_greeted_session_sorts_outcomes_as_the_first_message_does(smtp):
    """A session's first message goes through aiosmtplib's ``sendmail`` (it greets the
    server); the next ones by MAIL, RCPT and DATA directly: the same outcomes, the same
    texts, and the session stays usable after a refusal."""
    import asyncio
    import dataclasses

    from bot.mail.smtp import Connection, PermanentFailure, TemporaryFailure
    from tests._email import smtp_config

    data = b"Subject: hello\r\n\r\nhello\r\n"
    config = dataclasses.replace(smtp_config(smtp), timeout=0.5)
    slow = asyncio.Event()
    original = smtp.handle_DATA

    async def handle_data(server, session, envelope):
        if slow.is_set():
            await asyncio.sleep(1)
        return await original(server, session, envelope)

    smtp.handle_DATA = handle_data
    smtp.refuse.add(ANA)

    async def outcome(connection: Connection, case: str):
        slow.clear()
        recipient = ANA if case == "refused address" else "bo@example.org"
        if case == "try later":
            smtp.fail_next(1)
        elif case == "refused message":
            smtp.fail_next(1, "554 5.7.1 message rejected as spam")
        elif case == "no reply":
            slow.set()
        try:
            await connection.send(recipient, data)
        except (PermanentFailure, TemporaryFailure) as exc:
            return type(exc).__name__, str(exc), vars(exc)
        return "sent"

    cases = ["refused address", "try later", "refused message", "no reply", "delivered"]
    first = []
    for case in cases:
        connection = Connection(config)
        first.append(await outcome(connection, case))
        await connection.close()
    greeted = Connection(config)
    await greeted.send("bo@example.org", data)
    try:
        again = [await outcome(greeted, case) for case in cases]
    finally:
        await greeted.close()
    assert again == first
    assert first == [
        ("PermanentFailure", "550 [SMTPRecipientRefused(550, '5.1.1 <a•••@e•••.org> no such"
         " user', 'a•••@e•••.org')]", {"mailbox": True}),
        ("TemporaryFailure", "451 4.3.0 try again later", {"unreachable": False}),
        ("PermanentFailure", "554 5.7.1 message rejected as spam", {"mailbox": False}),
        ("TemporaryFailure", "SMTPReadTimeoutError: Timed out waiting for server response",
         {"unreachable": False}),
        "sent",
    ]


async def test_a_render_batch_the_workers_never_answer_is_rendered_here(caplog):
    """A worker that hangs (stopped here with SIGSTOP) cannot stall a digest sweep: after
    the renderer's timeout the workers are stopped and the batch renders in the bot
    process, the same emails; the next batch starts a fresh pool."""
    import multiprocessing
    import os
    import signal

    from bot.mail.rendering import POOL_MIN, Renderer
    from bot.templating import Templates

    jobs = [("es" if n % 2 else "en", "verify", {"code": f"{n:06d}", "minutes": 15,
                                                 "unsubscribe_url": None})
            for n in range(POOL_MIN)]
    before = set(multiprocessing.active_children())
    pooled = Renderer(Templates(), processes=1, timeout=1.0)
    try:
        await pooled.warm()
        workers = [p for p in multiprocessing.active_children() if p not in before]
        assert workers
        for worker in workers:
            os.kill(worker.pid, signal.SIGSTOP)
        try:
            assert await pooled.many(jobs) == await Renderer(Templates()).many(jobs)
        finally:
            for worker in workers:
                if worker.is_alive():
                    os.kill(worker.pid, signal.SIGCONT)
        assert "gave no answer in 1.0 s" in caplog.text
        for worker in workers:  # stopped for good, not left behind
            worker.join(5)
            assert not worker.is_alive()
        # a fresh pool's first batch includes starting a worker: more than 1 s on a busy
        # machine, which is not what this part is about
        pooled.timeout = 60.0
        assert await pooled.many(jobs) == await Renderer(Templates()).many(jobs)
        assert pooled._pool is not None  # a new pool took over
    finally:
        pooled.close()
