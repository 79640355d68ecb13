"""A real SMTP server for the email tests (aiosmtpd on 127.0.0.1, a free port) and helpers.

``SmtpSink`` keeps every message it accepted; ``fail_next(n, "451 …")`` makes the next ``n``
DATA commands fail with that reply, and ``refuse`` holds addresses answered with 550.
"""

from __future__ import annotations

import pytest

from bot.mail.local import LocalSmtpServer, free_port  # noqa: F401 (free_port for the tests)
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


@pytest.fixture(name="smtp")
def smtp_server():
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


def smtp_config(sink: SmtpSink) -> SmtpConfig:
    return SmtpConfig("127.0.0.1", sink.port, "none", sender="Familia <familia@example.org>",
                      timeout=5)


def make_sender(services, sink: SmtpSink, **options) -> Sender:
    options.setdefault("connections", 2)
    return Sender(services.db, smtp_config(sink), services.clock, **options)


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()
