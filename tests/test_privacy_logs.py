"""No address, verification code or unsubscribe token reaches a log line."""

from __future__ import annotations

import io
import logging
from email.message import EmailMessage

import aiosmtplib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.logs import RedactingFilter, setup_logging
from bot.mail.local import LocalSmtpServer
from bot.services.email import _ADDRESS, validate_address


def _accepted(value: str) -> bool:
    try:
        validate_address(value)
    except UserError:
        return False
    return True


# What /email set accepts: strings built from the validator's own pattern, and hypothesis's
# RFC 5322 addresses, each kept only when the validator takes it.
addresses = st.one_of(st.from_regex(_ADDRESS, fullmatch=True), st.emails()).map(
    str.strip).filter(_accepted)

AROUND = ["mail to {} refused", "<{}>", "({})", "\"{}\"", "to {}, then", "{}", "to {}.",
          "rcpt: {}\n", "[{}]"]


def _redact(template: str, value: str) -> str:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, template, (value,), None)
    RedactingFilter([]).filter(record)
    return record.getMessage()


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(addresses, st.sampled_from(AROUND))
def test_every_address_the_validator_accepts_is_masked_whole(address, around):
    text = _redact(around.replace("{}", "%s"), address)
    assert text == around.format("***@***")


@pytest.mark.parametrize("address", ["x{y}@example.org", "a!b#c$d%e&f'g*h+i@x-y.example.org",
                                     "o'neil@example.co.uk", "t/u=v?w^x`y|z~@ex.org"])
def test_addresses_it_missed_before(address):
    validate_address(address)  # /email set takes them
    assert _redact("to %s", address) == "to ***@***"


def test_an_exception_text_is_masked_too():
    try:
        raise ValueError("bounce from x{y}@example.org")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RedactingFilter([]).filter(record)
    assert "x{y}" not in (record.exc_text or "") and "***@***" in (record.exc_text or "")


@pytest.fixture
def debug_log():
    """The bot's logging at LOG_LEVEL=DEBUG, written to a string; undone afterwards."""
    root = logging.getLogger()
    level = root.level
    loggers = {name: logging.getLogger(name).level for name in ("discord", "apscheduler",
                                                                 "mail.log")}
    handler = setup_logging("DEBUG", ["s3cret-key-value"])
    stream = io.StringIO()
    handler.setStream(stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)
    for name, old in loggers.items():
        logging.getLogger(name).setLevel(old)


async def test_offline_smtp_server_logs_no_code_or_token_at_debug(debug_log):
    code, token = "482913", "eyJndWlsZCI6MX0.Zm9vYmFyYmF6cXV4"
    message = EmailMessage()
    message["From"], message["To"] = "familia@localhost", "ana.b{c}@example.org"
    message["Subject"] = f"Your code {code}"
    message.set_content(f"Your code: {code}\nUnsubscribe: http://127.0.0.1/unsubscribe?t={token}")
    with LocalSmtpServer() as server:
        await aiosmtplib.send(message, hostname=server.host, port=server.port)
        assert len(server.received()) == 1
    logging.getLogger("bot.test").debug("debug lines are written")
    written = debug_log.getvalue()
    assert "debug lines are written" in written
    assert code not in written and token not in written
    assert "ana.b" not in written and "example.org" not in written


def test_a_link_token_in_a_logged_url_is_masked():
    url = "https://familia.example/unsubscribe?t=MTox.Zm9vYmFy-_x%3D&r=time"
    assert _redact("GET %s failed", url) == (
        "GET https://familia.example/unsubscribe?t=***&r=time failed")
    assert _redact("%s", "/exit?r=time&amp;t=MTox.abc") == "/exit?r=time&amp;t=***"
