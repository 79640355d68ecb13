"""Mail over TLS to a real local SMTP server (aiosmtpd) whose certificate is made on the spot
by a local certificate authority (trustme): STARTTLS and TLS from the first byte, and a
certificate Familia must refuse, with an error that says so."""

from __future__ import annotations

import ssl

import pytest
import trustme
from aiosmtpd.controller import Controller

from bot.mail import outbox
from bot.mail.sender import Sender
from bot.mail.smtp import Connection, SmtpConfig, TemporaryFailure
from tests._email import SmtpSink

ANA = "ana@example.org"
MESSAGE = b"From: f@example.org\r\nTo: ana@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


class TlsSink(SmtpSink):
    """The test server, speaking TLS: ``mode`` starttls (required before MAIL) or tls."""

    def __init__(self, mode: str, context: ssl.SSLContext) -> None:
        super().__init__()
        self.secured: list[bool] = []
        options = ({"tls_context": context, "require_starttls": True} if mode == "starttls"
                   else {"ssl_context": context} if mode == "tls" else {})
        self.controller = Controller(self, hostname=self.host, port=self.port, **options)

    async def handle_DATA(self, server, session, envelope):
        # STARTTLS records it in the session; TLS from the start shows on the transport.
        self.secured.append(session.ssl is not None
                            or server.transport.get_extra_info("ssl_object") is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def serve():
    started: list[TlsSink] = []

    def start(mode: str, context: ssl.SSLContext) -> TlsSink:
        sink = TlsSink(mode, context)
        sink.controller.start()
        started.append(sink)
        return sink

    yield start
    for sink in started:
        sink.controller.stop()


def config(sink: TlsSink, security: str, ca_file: str | None,
           host: str = "127.0.0.1") -> SmtpConfig:
    return SmtpConfig(host, sink.port, security, sender="Familia <familia@example.org>",
                      timeout=5, ca_file=ca_file)


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_mail_goes_over_tls_to_a_server_whose_authority_is_trusted(
        serve, ca, ca_file, security, services, clock):
    sink = serve(security, server_context(ca))
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, 1, 2)
        await services.email.queue(tx, 1, 2, ANA, "exit_survey", "tls:1", "en")
    sender = Sender(services.db, config(sink, security, ca_file), clock, connections=1)
    try:
        assert await sender.drain() == 1
    finally:
        await sender.close()
    assert [m["To"] for m in sink.messages] == [ANA]
    assert sink.secured == [True]  # encrypted on the wire, not only offered
    assert await services.db.fetchval("SELECT state FROM email_outbox") == "sent"


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_a_certificate_from_an_unknown_authority_is_refused_clearly(
        serve, ca, security, services, clock):
    sink = serve(security, server_context(ca))
    connection = Connection(config(sink, security, ca_file=None))  # the system's authorities
    with pytest.raises(TemporaryFailure) as refused:
        await connection.send(ANA, MESSAGE)
    assert sink.messages == []
    text = str(refused.value)
    assert "the certificate of 127.0.0.1:" in text and "was refused" in text
    assert "certificate verify failed" in text or "self" in text or "issuer" in text
    assert "SMTP_CA_FILE" in text and refused.value.unreachable
    # Through the outbox: the mail waits (retried later), the reason readable in its row.
    async with services.db.transaction() as tx:
        await services.members.ensure(tx, 1, 2)
        await services.email.queue(tx, 1, 2, ANA, "exit_survey", "tls:2", "en")
    sender = Sender(services.db, config(sink, security, None), clock, connections=1)
    try:
        await sender.drain()
    finally:
        await sender.close()
    row = await services.db.fetchone("SELECT state, last_error FROM email_outbox")
    assert row["state"] == "queued" and "was refused" in row["last_error"]
    assert (await outbox.status(services.db))["counts"] == {"queued": 1}


async def test_a_certificate_for_another_host_is_refused(serve, ca, ca_file):
    sink = serve("tls", server_context(ca, "mail.example.org"))
    with pytest.raises(TemporaryFailure, match=r"was refused .*(mismatch|match)"):
        await Connection(config(sink, "tls", ca_file)).send(ANA, MESSAGE)
    assert sink.messages == []


async def test_starttls_wanted_but_not_offered_sends_nothing_in_plain_text(serve, ca, ca_file):
    sink = serve("none", server_context(ca))
    with pytest.raises(TemporaryFailure, match="does not offer STARTTLS"):
        await Connection(config(sink, "starttls", ca_file)).send(ANA, MESSAGE)
    assert sink.messages == []
