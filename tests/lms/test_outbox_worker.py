"""The loop and ``send`` command both outbox senders share (``giga xapi send``, ``giga lti-scores send``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import typer

from lms.core import outbox_worker


@dataclass
class Report:
    claimed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"claimed {self.claimed}, failed {self.failed}"


def test_the_loop_reports_rounds_that_claimed_something_until_stopped() -> None:
    stop = threading.Event()
    rounds = iter([Report(claimed=2), Report(), Report(claimed=1, failed=1)])
    seen: list[Report] = []

    def drain() -> Report:
        report = next(rounds)
        if report.failed:
            stop.set()  # the third round ends the loop
        return report

    outbox_worker.loop(drain, stop=stop, poll_seconds=0.0, on_round=seen.append)
    assert [r.claimed for r in seen] == [2, 1]


def test_once_prints_the_summary_and_exits_1_when_a_row_failed(capsys: pytest.CaptureFixture[str]) -> None:
    errors = [f"e{i}" for i in range(7)]

    def never(stop: threading.Event, on_round: Callable[[Report], None]) -> None:
        raise AssertionError("--once never loops")

    with pytest.raises(typer.Exit) as exited:
        outbox_worker.run_send_command(
            once=True, drain=lambda: Report(claimed=7, failed=7, errors=errors), run_forever=never, started=""
        )
    assert exited.value.exit_code == 1
    out, err = capsys.readouterr()
    assert out == "claimed 7, failed 7\n"
    assert err.splitlines() == [f"error: e{i}" for i in range(5)]  # the first five only
    outbox_worker.run_send_command(once=True, drain=lambda: Report(claimed=1), run_forever=never, started="")
    assert capsys.readouterr().out == "claimed 1, failed 0\n"


def test_the_loop_mode_announces_itself_and_echoes_each_round(capsys: pytest.CaptureFixture[str]) -> None:
    def run_forever(stop: threading.Event, on_round: Callable[[Report], None]) -> None:
        on_round(Report(claimed=3))
        assert not stop.is_set()

    outbox_worker.run_send_command(
        once=False, drain=Report, run_forever=run_forever, started="sending every 10 s (Ctrl+C stops)"
    )
    assert capsys.readouterr().out == "sending every 10 s (Ctrl+C stops)\nclaimed 3, failed 0\n"


def test_a_signal_stops_the_loop_and_the_handlers_are_put_back() -> None:
    import os
    import signal

    before = signal.getsignal(signal.SIGTERM)

    def run_forever(stop: threading.Event, on_round: Callable[[Report], None]) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5.0)

    outbox_worker.run_send_command(once=False, drain=Report, run_forever=run_forever, started="")
    assert signal.getsignal(signal.SIGTERM) is before
