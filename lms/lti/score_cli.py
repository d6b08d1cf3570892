"""``giga lti-scores``: send the scores waiting for the portals' gradebooks (AGS), show the queue."""

from __future__ import annotations

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

    from lms.core.outbox_worker import run_send_command
    from lms.lti.score_sender import drain, run_forever

    settings = settings_or_exit()
    require_current_schema(settings)
    engine = engine_for(settings)
    with httpx.Client(timeout=10.0) as client:
        run_send_command(
            once=once,
            drain=lambda: drain(engine=engine, client=client),
            run_forever=lambda stop, on_round: run_forever(
                engine=engine, client=client, stop=stop, poll_seconds=poll_seconds, on_round=on_round
            ),
            started=f"sending LTI scores every {poll_seconds:g} s (Ctrl+C stops)",
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
