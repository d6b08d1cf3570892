"""The server's clock as a dependency, so tests can move time (session timeouts, lock-outs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Returns the current UTC time; `FrozenClock` replaces it in tests through ``dependency_overrides``."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 4, 10, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


_system_clock = Clock()


async def get_clock() -> Clock:
    """FastAPI dependency: the process clock (overridden in tests).

    ``async`` although it awaits nothing: FastAPI runs a sync dependency on its thread pool, and that hop
    costs far more than this function (docs/performance.md)."""
    return _system_clock
