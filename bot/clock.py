"""Time, injectable so tests can travel. Everything stored is UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Real time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to (tests and benchmarks)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class OffsetClock(Clock):
    """Real time moved forward by a manager of the offline demo (the web console's time
    travel): it keeps running, from further on."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> datetime:
        moved = timedelta(**delta)
        if moved <= timedelta(0):
            raise ValueError("time only moves forward")
        self.offset += moved
        return self.now()


def to_db(when: datetime) -> str:
    """ISO-8601 text in UTC, sortable, as stored in every ``*_at`` column."""
    if when.tzinfo is None:
        raise ValueError("naive datetime")
    return when.astimezone(UTC).isoformat(timespec="seconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
