"""``giga lti-scores``: send the scores waiting for the portals' gradebooks (AGS), show the queue."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from lms.core.cli import require_current_schema, settings_or_exit
from lms.core.db import engine_for

lti_scores_app = typer.Typer(
    help="LTI grades: send finished tests' scores to the portals' gradebooks (AGS).", no_args_is_help=True
)


@lti_scores_app.command("send")
def send(
    once: Annotated[bool, typer.Option("--once", help="send what is waiting now, then exit")] = False,
    poll_seconds: Annotated[
        float, typer.Option("--poll-seconds", min=1.0, help="pause between rounds")
    ] = 10.0,
) -> None:
    """Send queued scores (a worker loop; --once for cron or tests). Exit 1 when a score could not be sent."""
    import httpx

    from lms.lti.score_sender import drain, run_forever

    settings = settings_or_exit()
    require_current_schema(settings)
    engine = engine_for(settings)
    with httpx.Client(timeout=10.0) as client:
        if once:
            report = drain(engine=engine, client=client)
            typer.echo(report.summary())
            for error in report.errors[:5]:
                typer.echo(f"error: {error}", err=True)
            if report.failed:
                raise typer.Exit(code=1)
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        typer.echo(f"sending LTI scores every {poll_seconds:g} s (Ctrl+C stops)")
        run_forever(
            engine=engine,
            client=client,
            stop=stop,
            poll_seconds=poll_seconds,
            on_round=lambda r: typer.echo(r.summary()),
        )


@lti_scores_app.command("status")
def status() -> None:
    """Count sent, ready, waiting (lease or backoff) and parked scores."""
    from lms.core.db import session_scope, utc_now
    from lms.lti.score_sender import score_counts

    settings = settings_or_exit()
    require_current_schema(settings)
    with session_scope(engine_for(settings)) as session:
        counts = score_counts(session=session, now=utc_now())
    typer.echo("  ".join(f"{key}: {value}" for key, value in counts.items()))
