"""MIME building and SMTP connections (aiosmtplib), with failures sorted into temporary and
permanent ones."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import functools
import hashlib
import json
import re
import ssl
import time
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from urllib.parse import quote

import aiosmtplib


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "none"  # none, starttls, tls
    user: str | None = None
    password: str | None = None
    sender: str = "Familia <familia@localhost>"
    timeout: float = 30.0
    # PEM file of the certificate authorities trusted for the server's certificate (None: the
    # system's). With starttls or tls the certificate and the host name are always checked.
    ca_file: str | None = None

    @classmethod
    def from_settings(cls, settings) -> SmtpConfig:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        ca_file = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        return cls(settings.smtp_host, settings.smtp_port, settings.smtp_security,
                   settings.smtp_user, password, settings.smtp_from, ca_file=ca_file)

    @functools.cached_property
    def envelope_from(self) -> str:
        return parseaddr(self.sender)[1]


# An address as the email service validates it (or ``name@localhost``): aiosmtplib's own
# parsing gives it back as it is, so it can go on MAIL/RCPT unparsed.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def mask(address: str) -> str:
    """``ana.maria@example.org`` → ``a•••@e•••.org``: enough to recognise, not to copy."""
    local, _, domain = address.partition("@")
    name, dot, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{(name or tld)[:1]}•••{dot}{tld if name else ''}"


def message_id(dedupe_key: str) -> str:
    """The same dedupe key always gives the same Message-ID, so a resend is recognisable."""
    return f"<{_digest(dedupe_key)}@familia>"


def _digest(dedupe_key: str) -> str:
    return hashlib.sha256(dedupe_key.encode()).hexdigest()


@functools.lru_cache(maxsize=1)  # one formatting a second, not one a message
def _date(second: int) -> str:
    return formatdate(second, localtime=False)


def _header(value: str) -> str:
    """A header value as ASCII: RFC 2047 encoded-words when it is not."""
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=998).encode()


@functools.lru_cache(maxsize=64)  # the sender: parsing it each time costs 30 µs
def _address(value: str) -> str:
    name, addr = parseaddr(value)
    return formataddr((name, addr), "utf-8") if name else addr


def _qp(text: str) -> bytes:
    # quopri.encodestring's own encoder, called directly.
    return binascii.b2a_qp(text.replace("\r\n", "\n").encode()).replace(b"\n", b"\r\n")


def build_message(row, sender: str) -> bytes:
    """One outbox row as multipart/alternative wire bytes (text first, then HTML — inside a
    multipart/related with its inline images when it has some), built directly: the stdlib's
    EmailMessage costs milliseconds per message."""
    digest = _digest(row["dedupe_key"])
    boundary = "=_familia_" + digest[:24]
    headers = [
        ("From", _address(sender)), ("To", row["recipient"]),
        ("Subject", _header(row["subject"])), ("Date", _date(int(time.time()))),
        ("Message-ID", f"<{digest}@familia>"), ("MIME-Version", "1.0"),
        *((name, _header(value)) for name, value in json.loads(row["headers"]).items()),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode()
    part = ("--{b}\r\nContent-Type: text/{sub}; charset=\"utf-8\"\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    images = json.loads(row["images"]) if "images" in row.keys() and row["images"] else None
    if not images:
        html = part.format(b=boundary, sub="html").encode() + _qp(row["body_html"]) + b"\r\n"
    else:
        related = boundary + "_r"
        html = b"".join([
            f'--{boundary}\r\nContent-Type: multipart/related; boundary="{related}"\r\n\r\n'
            .encode(),
            part.format(b=related, sub="html").encode(), _qp(row["body_html"]), b"\r\n",
            *(f"--{related}\r\nContent-Type: image/png\r\nContent-ID: <{cid}>\r\n"
              f'Content-Disposition: inline; filename="{cid}.png"\r\n'
              "Content-Transfer-Encoding: base64\r\n\r\n".encode()
              + _base64_lines(data) for cid, data in images.items()),
            f"--{related}--\r\n".encode(),
        ])
    body = b"".join([
        part.format(b=boundary, sub="plain").encode(), _qp(row["body_text"]), b"\r\n",
        html,
        f"--{boundary}--\r\n".encode(),
    ])
    files = row["attachments"] if "attachments" in row.keys() else None
    if files:  # multipart/mixed: the text and HTML above, then each file
        head, body = _with_files(head, body, boundary, files)
    return b"".join([head, b"\r\n", body])


def _with_files(head: bytes, body: bytes, boundary: str, files: list[dict[str, Any]]
                ) -> tuple[bytes, bytes]:
    """The message's head and body as multipart/mixed: the alternative part, then the files
    (``filename``, ``content_type``, ``data`` in base64; a name beyond ASCII in the RFC 2231
    form, as the stdlib writes it)."""
    mixed = boundary + "_m"
    alternative = f'Content-Type: multipart/alternative; boundary="{boundary}"'
    head = head.replace(alternative.encode(),
                        f'Content-Type: multipart/mixed; boundary="{mixed}"'.encode())
    parts = [f"--{mixed}\r\n{alternative}\r\n\r\n".encode(), body]
    for f in files:
        name = f["filename"]
        plain = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
        named = (f'filename="{plain}"' if plain == name
                 else f"filename*=UTF-8''{quote(name, safe='')}")
        parts.append(
            f'--{mixed}\r\nContent-Type: {f["content_type"]}; name="{plain}"\r\n'
            f'Content-Disposition: attachment; {named}\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n".encode() + _base64_lines(f["data"]))
    parts.append(f"--{mixed}--\r\n".encode())
    return head, b"".join(parts)


def _base64_lines(data: str) -> bytes:
    """Already base64 text, cut into the 76-character lines mail wants."""
    return b"".join(data[i:i + 76].encode() + b"\r\n" for i in range(0, len(data), 76))


class TemporaryFailure(Exception):
    """Try again later (4xx, connection refused, timeout)."""

    def __init__(self, text: str, unreachable: bool = False) -> None:
        super().__init__(text)
        self.unreachable = unreachable


class PermanentFailure(Exception):
    """The server refused the message for good (5xx). ``mailbox``: the refusal is about the
    recipient's address (refused at RCPT, or a 5.1.x/5.2.x status) — what counts as a
    bounce; a message or policy refusal does not."""

    def __init__(self, text: str, mailbox: bool = False) -> None:
        super().__init__(text)
        self.mailbox = mailbox


class Connection:
    """One reusable SMTP connection; reconnects on demand."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        """A session, over TLS as configured: ``tls`` from the first byte, ``starttls``
        upgraded before anything else is said (a server that does not offer it is refused,
        never used in plain text); the certificate checked against the system's authorities
        or ``ca_file``'s, and the host name against it."""
        c = self.config
        smtp = aiosmtplib.SMTP(
            hostname=c.host, port=c.port, timeout=c.timeout, use_tls=c.security == "tls",
            start_tls=True if c.security == "starttls" else False, validate_certs=True,
            cert_bundle=c.ca_file,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            refused = _certificate_refused(exc)
            if refused is not None:
                raise aiosmtplib.SMTPConnectError(
                    f"the certificate of {c.host}:{c.port} was refused ({refused}); check the "
                    "server's certificate, or set SMTP_CA_FILE to the authority that signed "
                    "it") from exc
            if "STARTTLS" in str(exc) and "not supported" in str(exc):
                raise aiosmtplib.SMTPConnectError(
                    f"{c.host}:{c.port} does not offer STARTTLS (SMTP_SECURITY=starttls): "
                    "nothing is sent in plain text; use SMTP_SECURITY=tls for a port that "
                    "starts with TLS") from exc
            raise
        if c.user and c.password:
            await smtp.login(c.user, c.password)
        return smtp

    async def send(self, recipient: str, data: bytes) -> None:
        """Deliver ``data``; server texts in the raised errors have the address masked."""
        try:
            await self._send(recipient, data)
        except (TemporaryFailure, PermanentFailure) as exc:
            text = str(exc).replace(recipient, mask(recipient))
            if isinstance(exc, PermanentFailure):
                raise PermanentFailure(text, exc.mailbox) from exc.__cause__
            raise TemporaryFailure(text, exc.unreachable) from exc.__cause__

    async def _send(self, recipient: str, data: bytes) -> None:
        if self._smtp is None or not self._smtp.is_connected:
            try:
                self._smtp = await self._connect()
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                self._smtp = None
                raise TemporaryFailure(f"{type(exc).__name__}: {exc}", unreachable=True) from exc
        try:
            await self._transaction(self._smtp, recipient, data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._reset()
            refusal = exc.recipients[0] if exc.recipients else None
            raise _classify(refusal.code if refusal else 550, str(exc), mailbox=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in (421,) or not 400 <= exc.code < 600:
                await self.close()
            else:
                await self._reset()
            raise _classify(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _transaction(self, smtp: aiosmtplib.SMTP, recipient: str, data: bytes) -> None:
        """One message to one recipient: ``sendmail``'s MAIL, RCPT and DATA with its errors
        (a refusal raised, the envelope reset), done directly when the session is greeted,
        the addresses plain and ``data`` already in CRLF lines (:func:`build_message`'s):
        ``sendmail`` parses both addresses twice and rewrites the line endings twice a
        message, and a ``wait_for`` per reply; here one timer is re-armed for each reply.
        About a third of the sender's CPU per message."""
        sender = self.config.envelope_from
        if (smtp.is_ehlo_or_helo_needed or not _PLAIN_ADDRESS.fullmatch(recipient)
                or not _PLAIN_ADDRESS.fullmatch(sender) or not _crlf_lines(data)):
            await smtp.sendmail(sender, [recipient], data)
            return
        # The SIZE sendmail declares: the length in CRLF lines, which data already is.
        options = [b"size=%d" % len(data)] if smtp.supports_extension("size") else []
        loop = asyncio.get_running_loop()
        timeout = self.config.timeout
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                reply = await smtp.execute_command(
                    b"MAIL", b"FROM:<" + sender.encode("ascii") + b">", *options, timeout=None)
                if reply.code != aiosmtplib.SMTPStatus.completed:
                    raise aiosmtplib.SMTPSenderRefused(reply.code, reply.message, sender)
                deadline.reschedule(loop.time() + timeout)
                reply = await smtp.execute_command(
                    b"RCPT", b"TO:<" + recipient.encode("ascii") + b">", timeout=None)
                if reply.code not in (aiosmtplib.SMTPStatus.completed,
                                      aiosmtplib.SMTPStatus.will_forward):
                    raise aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(
                        reply.code, reply.message, recipient)])
                deadline.reschedule(loop.time() + 2 * timeout)  # DATA's two replies
                await smtp.data(data, timeout=None)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await smtp.rset()  # as sendmail does
            raise
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            # What aiosmtplib does when a reply is late: the session is out of step, close it.
            smtp.close()
            raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"
                                                  ) from exc

    async def _reset(self) -> None:
        try:
            if self._smtp is not None and self._smtp.is_connected:
                await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError):
            await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()


def _certificate_refused(error: BaseException) -> str | None:
    """The reason a TLS handshake refused the server's certificate, if that is what
    ``error`` (or an error it was raised from) is."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _crlf_lines(data: bytes) -> bool:
    """Every line break of ``data`` is CRLF, and it ends with one."""
    return data.endswith(b"\r\n") and data.count(b"\r\n") == data.count(b"\n") == data.count(
        b"\r")


def _classify(code: int, text: str, mailbox: bool = False) -> Exception:
    line = f"{code} {text}".strip()[:300]
    if not 500 <= code < 600:
        return TemporaryFailure(line)
    # Enhanced status codes (RFC 3463): 5.1.x addressing, 5.2.x mailbox.
    return PermanentFailure(line, mailbox or text.lstrip().startswith(("5.1.", "5.2.")))
