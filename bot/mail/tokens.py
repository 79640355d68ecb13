"""Signed per-recipient tokens: ``<payload>.<mac>``, HMAC-SHA256 with SECRET_KEY.

The payload is ``guild:user:scope`` (base64url); the MAC (truncated to 16 bytes) also covers
the token's purpose, so an exit-survey answer link can never unsubscribe anyone and an
unsubscribe link never answers a survey. A token never expires: an old email's link must keep
working (RFC 8058).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

SCOPES = ("digest", "campaigns", "broadcasts", "reminders", "all")
UNSUBSCRIBE, EXIT = "unsubscribe", "exit"
PURPOSES = {UNSUBSCRIBE: SCOPES, EXIT: ("survey",)}
# Discord ids (snowflakes) fit SQLite's signed 64-bit integers; a token naming a bigger (or a
# negative) one is refused like a forged one, before it reaches a query.
ID_MAX = 2**63 - 1


@dataclass(frozen=True)
class Unsubscribe:
    guild_id: int
    user_id: int
    scope: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str, purpose: str = UNSUBSCRIBE) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{payload}".encode(), hashlib.sha256)
    return _b64(digest.digest()[:16])


def sign(secret: str, guild_id: int, user_id: int, scope: str,
         purpose: str = UNSUBSCRIBE) -> str:
    if scope not in PURPOSES[purpose]:
        raise ValueError(f"unknown {purpose} scope {scope!r}")
    payload = _b64(f"{guild_id}:{user_id}:{scope}".encode())
    return f"{payload}.{_mac(secret, payload, purpose)}"


def verify(secret: str, token: str | None, purpose: str = UNSUBSCRIBE) -> Unsubscribe | None:
    """The token's content, or None when it is malformed or was not signed by us for this
    purpose."""
    if not token or token.count(".") != 1 or len(token) > 200:
        return None
    payload, mac = token.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload, purpose).encode()):
        return None
    try:
        guild, user, scope = _unb64(payload).decode().split(":")
        parsed = Unsubscribe(int(guild), int(user), scope)
    except ValueError:
        return None
    if not (0 <= parsed.guild_id <= ID_MAX and 0 <= parsed.user_id <= ID_MAX):
        return None
    return parsed if parsed.scope in PURPOSES[purpose] else None
