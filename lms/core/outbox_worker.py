"""The worker loop and ``send`` command shared by the outbox senders (``giga xapi send``, ``giga lti-scores
send``): drain what is sendable, report, sleep, until a signal stops it; or one drain for cron (``--once``).

Below the domains (lms/core), so each sender's module and command use it without importing each other.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

import typer

MAX_ERRORS_SHOWN = 5


class RoundReport(Protocol):
    """What a sender's drain reports (both senders' ``SendReport``)."""

    claimed: int
    failed: int
    errors: list[str]

    def summary(self) -> str: ...


Report = TypeVar("Report", bound=RoundReport)


def loop(
    drain: Callable[[], Report],
    *,
    stop: threading.Event,
    poll_seconds: float,
    on_round: Callable[[Report], None] | None = None,
) -> None:
    """Drain, tell ``on_round`` when anything was claimed, wait ``poll_seconds``; until ``stop`` is set."""
    while not stop.is_set():
        report = drain()
        if on_round is not None and report.claimed:
            on_round(report)
        stop.wait(poll_seconds)


def run_send_command(
    *,
    once: bool,
    drain: Callable[[], Report],
    run_forever: Callable[[threading.Event, Callable[[Report], None]], None],
    started: str,
) -> None:
    """``send``: with ``once``, one drain, its summary and first errors, exit 1 when a row failed; otherwise
    ``started`` and ``run_forever`` until SIGTERM or SIGINT, echoing each round's summary."""
    if once:
        report = drain()
        typer.echo(report.summary())
        for error in report.errors[:MAX_ERRORS_SHOWN]:
            typer.echo(f"error: {error}", err=True)
        if report.failed:
            raise typer.Exit(code=1)
        return
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        typer.echo(started)
        run_forever(stop, lambda report: typer.echo(report.summary()))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
