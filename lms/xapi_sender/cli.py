"""``giga xapi``: send the outbox to the learning record store, show its state."""

from __future__ import annotations

from typing import Annotated

import typer

from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for
from lms.core.settings import Settings, XapiSettings

xapi_app = typer.Typer(
    help="xAPI statements: send the outbox to the learning record store.", no_args_is_help=True
)


def _xapi_settings_or_exit(settings: Settings) -> XapiSettings:
    from pydantic import ValidationError

    try:
        return settings.xapi
    except ValidationError as error:
        first = error.errors()[0]
        fail(f"invalid GIGA_XAPI_{str(first['loc'][0]).upper()}: {first['msg']}")


@xapi_app.command("send")
def send(
    once: Annotated[bool, typer.Option("--once", help="send what is waiting now, then exit")] = False,
) -> None:
    """Send waiting statements to GIGA_XAPI_LRS_URL (a worker loop; --once for cron or tests)."""
    from lms.core.outbox_worker import run_send_command
    from lms.xapi_sender.sender import drain, make_client, run_forever

    settings = settings_or_exit()
    xapi = _xapi_settings_or_exit(settings)
    if not xapi.enabled:
        fail("GIGA_XAPI_LRS_URL is not set; set it to the LRS endpoint, e.g. https://lrs.example.jp/xAPI/")
    if not xapi.lrs_url.startswith(("http://", "https://")):
        fail("GIGA_XAPI_LRS_URL must start with http:// or https://")
    require_current_schema(settings)
    engine = engine_for(settings)
    with make_client(xapi) as client:
        run_send_command(
            once=once,
            drain=lambda: drain(engine=engine, settings=xapi, client=client),
            run_forever=lambda stop, on_round: run_forever(
                engine=engine, settings=xapi, client=client, stop=stop, on_round=on_round
            ),
            started=f"sending to {xapi.statements_url} every {xapi.poll_seconds:g} s (Ctrl+C stops)",
        )


@xapi_app.command("status")
def status() -> None:
    """Count sent, ready, waiting (lease or backoff) and parked statements."""
    from lms.core.db import session_scope, utc_now
    from lms.xapi_sender.outbox import outbox_counts

    settings = settings_or_exit()
    xapi = _xapi_settings_or_exit(settings)
    require_current_schema(settings)
    with session_scope(engine_for(settings)) as session:
        counts = outbox_counts(session=session, now=utc_now(), max_tries=xapi.max_tries)
    typer.echo("  ".join(f"{key}: {value}" for key, value in counts.items()))
