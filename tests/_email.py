"""Helpers for the email tests: a real SMTP server (aiosmtpd on 127.0.0.1, a free port; the
``smtp`` fixture in ``tests/conftest.py`` runs one), a sender and a verified address.

``SmtpSink`` keeps every message it accepted; ``fail_next(n, "451 …")`` makes the next ``n``
DATA commands fail with that reply, and ``refuse`` holds addresses answered with 550.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import to_db
from bot.mail.local import LocalSmtpServer
from bot.mail.sender import Sender
from bot.mail.smtp import SmtpConfig


class SmtpSink(LocalSmtpServer):
    """The offline mode's server, with failures on demand."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.failures: list[str] = []
        self.refuse: set[str] = set()

    def fail_next(self, n: int, reply: str = "451 4.3.0 try again later") -> None:
        self.failures.extend([reply] * n)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}> no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.failures:
            return self.failures.pop(0)
        return await super().handle_DATA(server, session, envelope)

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address]


def smtp_config(sink: SmtpSink) -> SmtpConfig:
    return SmtpConfig("127.0.0.1", sink.port, "none", sender="Familia <familia@example.org>",
                      timeout=5)


def make_sender(services, sink: SmtpSink, **options) -> Sender:
    options.setdefault("connections", 2)
    return Sender(services.db, smtp_config(sink), services.clock, **options)


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


async def verified(services, user, address, **prefs):
    """``user`` (in guild 1) has a verified ``address``, verified 30 days ago."""
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, 1, user)
        stamp = to_db(services.clock.now() - timedelta(days=30))
        await tx.execute(
            "INSERT INTO email_addresses (guild_id, user_id, address, verified_at, created_at,"
            " updated_at) VALUES (1, ?, ?, ?, ?, ?)", (user, address, stamp, stamp, stamp))
    if prefs:
        await services.email.set_preferences(1, user, **prefs)
