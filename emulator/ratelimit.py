"""Rate limits as Discord applies them: a global per-bot rate and per-route buckets.

Windows are fixed (reset at a known instant), so the ``X-RateLimit-*`` headers are truthful
and discord.py can wait ahead of time instead of collecting 429s.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field


@dataclass
class Window:
    limit: int
    per: float
    reset_at: float = 0.0
    used: int = 0

    def take(self, now: float) -> tuple[bool, float]:
        """Use one request; returns (allowed, seconds until the window resets)."""
        if now >= self.reset_at:
            self.reset_at = now + self.per
            self.used = 0
        if self.used >= self.limit:
            return False, self.reset_at - now
        self.used += 1
        return True, self.reset_at - now


@dataclass
class RouteRule:
    name: str
    method: str
    pattern: re.Pattern[str]
    limit: int
    per: float


DEFAULT_RULES = [
    RouteRule("messages", "POST", re.compile(r"^/channels/(\d+)/messages$"), 5, 5.0),
    RouteRule("member-roles", "*", re.compile(r"^/guilds/(\d+)/members/\d+/roles/\d+$"), 10, 10.0),
    RouteRule("channels", "POST", re.compile(r"^/guilds/(\d+)/channels$"), 10, 10.0),
    RouteRule("dm-open", "POST", re.compile(r"^/users/@me/channels$"), 10, 1.0),
]


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"


@dataclass
class RateLimiter:
    global_rate: int = 50
    rules: list[RouteRule] = field(default_factory=lambda: list(DEFAULT_RULES))
    default_limit: int = 50
    default_per: float = 1.0
    _global: Window | None = None
    _buckets: dict[str, Window] = field(default_factory=dict)

    def check(self, method: str, path: str, *, counts_global: bool = True) -> Decision:
        now = time.monotonic()
        rule, key = self._route(method, path)
        bucket = self._buckets.get(key)
        if bucket is None:
            limit, per = (rule.limit, rule.per) if rule else (self.default_limit, self.default_per)
            bucket = self._buckets[key] = Window(limit, per)
        if counts_global:
            if self._global is None:
                self._global = Window(self.global_rate, 1.0)
            if now >= self._global.reset_at:
                self._global.reset_at, self._global.used = now + 1.0, 0
            if self._global.used >= self._global.limit:
                wait = self._global.reset_at - now
                return Decision(False, {"X-RateLimit-Global": "true",
                                        "X-RateLimit-Scope": "global"}, wait, True, "global")
        ok, reset_after = bucket.take(now)
        if ok and counts_global:
            assert self._global is not None
            self._global.used += 1
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": (rule.name if rule else "default") + "-" + _hash(key),
        }
        if not ok:
            headers["X-RateLimit-Scope"] = "user"
            return Decision(False, headers, reset_after)
        return Decision(True, headers)

    def _route(self, method: str, path: str) -> tuple[RouteRule | None, str]:
        for rule in self.rules:
            if rule.method in ("*", method):
                match = rule.pattern.match(path)
                if match:
                    return rule, f"{rule.name}:{match.group(1) if match.groups() else ''}"
        # Default: one bucket per method and route shape (ids of major parameters kept).
        shape = re.sub(r"/(\d{5,})", lambda m: "/:id", path)
        major = re.match(r"^/(channels|guilds|webhooks)/(\d+)", path)
        return None, f"{method} {shape} {major.group(2) if major else ''}"


def _hash(key: str) -> str:
    return format(abs(hash(key)) % (1 << 32), "08x")
