"""Logging set-up (called from main, never at import) with secrets and emails masked."""

from __future__ import annotations

import logging
import re

# Every character ``/email set`` accepts in an address (``validate_address``: RFC 5322's
# dot-atom local part, a dotted domain), and any other word character: a log line loses a
# bit of text around an address rather than keep a part of one.
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# a signed unsubscribe or exit link's token (bot/mail/tokens.py), wherever a URL is logged
_LINK_TOKEN = re.compile(r"([?&](?:amp;)?t=)[\w.%~-]+")
_TOKEN_LIKE = re.compile(r"\b[\w-]{24,28}\.[\w-]{6}\.[\w-]{27,40}\b")  # Discord token shape


class RedactingFilter(logging.Filter):
    """Replaces secrets, Discord-token-shaped strings and email addresses with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 4]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = _TOKEN_LIKE.sub("***", text)
        text = _LINK_TOKEN.sub(r"\1***", text)
        return _EMAIL.sub("***@***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str, secrets: list[str]) -> logging.Handler:
    """Root logging to stderr at ``level``; returns the handler (tests remove it)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # aiosmtpd (the offline SMTP server) logs each line of a message's DATA at DEBUG and
    # each sender and recipient at INFO: verification codes, unsubscribe and exit links.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return handler
