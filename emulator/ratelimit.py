"""Rate limits as Discord applies them: a global per-bot rate and per-route buckets.

Windows are fixed (they reset at a known instant), so the ``X-RateLimit-*`` headers are
truthful and discord.py can wait ahead of time instead of collecting 429s. Each route rule has
one stable bucket hash (like Discord's ``X-RateLimit-Bucket``); the route's major parameter
(channel, guild or webhook id) splits a bucket into independent windows, as on Discord.

Limits are configurable per emulator: ``RateLimiter(global_rate=50, limits={"messages": (5,
5.0)})`` overrides a rule by name; unknown names add nothing (use ``rules`` for new routes).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field


@dataclass
class Window:
    """A fixed window of ``limit`` requests per ``per`` seconds."""

    limit: int
    per: float
    reset_at: float = 0.0
    used: int = 0

    def roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.reset_at = now + self.per
            self.used = 0

    @property
    def full(self) -> bool:
        return self.used >= self.limit


@dataclass(frozen=True)
class RouteRule:
    """A bucket: requests whose method and path match share ``limit`` per ``per`` seconds."""

    name: str
    method: str  # "*" for any
    pattern: re.Pattern[str]
    limit: int
    per: float

    @property
    def bucket_hash(self) -> str:
        return hashlib.sha1(self.name.encode()).hexdigest()[:16]


def rule(name: str, method: str, pattern: str, limit: int, per: float) -> RouteRule:
    return RouteRule(name, method, re.compile(pattern), limit, per)


# Discord's documented / commonly observed defaults. The first group of a pattern is the
# major parameter that splits the bucket.
DEFAULT_RULES: tuple[RouteRule, ...] = (
    rule("messages", "POST", r"^/channels/(\d+)/messages$", 5, 5.0),
    rule("message-edit", "PATCH", r"^/channels/(\d+)/messages/\d+$", 5, 5.0),
    rule("message-delete", "DELETE", r"^/channels/(\d+)/messages/\d+$", 5, 1.0),
    rule("member-roles", "*", r"^/guilds/(\d+)/members/\d+/roles/\d+$", 10, 10.0),
    rule("member-edit", "PATCH", r"^/guilds/(\d+)/members/\d+$", 10, 10.0),
    rule("channel-create", "POST", r"^/guilds/(\d+)/channels$", 10, 10.0),
    rule("channel-edit", "PATCH", r"^/channels/(\d+)$", 5, 10.0),
    rule("overwrites", "*", r"^/channels/(\d+)/permissions/\d+$", 10, 10.0),
    rule("roles", "*", r"^/guilds/(\d+)/roles(?:/\d+)?$", 10, 10.0),
    rule("dm-open", "POST", r"^/users/@me/channels$", 10, 1.0),
    rule("commands", "*", r"^/applications/(\d+)/(?:guilds/\d+/)?commands$", 10, 20.0),
    rule("webhook", "*", r"^/webhooks/(\d+/[^/]+)(?:/.*)?$", 5, 2.0),
)


@dataclass
class Decision:
    """The limiter's answer for one request: allowed or not, and the headers to send."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"


@dataclass
class RateLimiter:
    """Rate limits for one bot token."""

    global_rate: int = 50
    limits: dict[str, tuple[int, float]] = field(default_factory=dict)
    rules: list[RouteRule] = field(default_factory=lambda: list(DEFAULT_RULES))
    default_limit: int = 50
    default_per: float = 1.0
    _global: Window | None = None
    _buckets: dict[str, Window] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rules = [
            RouteRule(r.name, r.method, r.pattern, *self.limits[r.name]) if r.name in self.limits
            else r for r in self.rules
        ]
        self._global = Window(self.global_rate, 1.0) if self.global_rate else None

    def check(self, method: str, path: str, *, counts_global: bool = True) -> Decision:
        """Use one request on ``method path``; a 429 decision if a limit is exhausted."""
        now = time.monotonic()
        found, key, bucket_hash = self.route(method, path)
        limit, per = (found.limit, found.per) if found else (self.default_limit,
                                                              self.default_per)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Window(limit, per)
        bucket.roll(now)
        if counts_global and self._global is not None:
            self._global.roll(now)
            if self._global.full:
                wait = self._global.reset_at - now
                return Decision(False, {"X-RateLimit-Global": "true",
                                        "X-RateLimit-Scope": "global"}, wait, True, "global")
        reset_after = bucket.reset_at - now
        if bucket.full:
            headers = self._headers(bucket_hash, bucket, reset_after)
            headers["X-RateLimit-Scope"] = "user"
            return Decision(False, headers, reset_after)
        bucket.used += 1
        if counts_global and self._global is not None:
            self._global.used += 1
        return Decision(True, self._headers(bucket_hash, bucket, reset_after))

    @staticmethod
    def _headers(bucket_hash: str, bucket: Window, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }

    def route(self, method: str, path: str) -> tuple[RouteRule | None, str, str]:
        """The rule for a request, the key of its window (rule + major parameter) and the
        bucket hash sent in ``X-RateLimit-Bucket``."""
        for candidate in self.rules:
            if candidate.method in ("*", method):
                match = candidate.pattern.match(path)
                if match:
                    major = match.group(1) if match.groups() else ""
                    return candidate, f"{candidate.name}:{major}", candidate.bucket_hash
        # Default: one window per method, route shape and major parameter.
        shape = f"{method} " + re.sub(r"/\d{5,}", "/:id", path)
        major = re.match(r"^/(?:channels|guilds|webhooks)/(\d+)", path)
        bucket_hash = hashlib.sha1(shape.encode()).hexdigest()[:16]
        return None, f"{shape} {major.group(1) if major else ''}", bucket_hash
