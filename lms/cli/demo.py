"""``giga demo``: the demo city (みどり市)."""

from __future__ import annotations

from typing import Annotated

import typer

from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for, session_scope
from lms.demo.history import seed_history
from lms.demo.seed import DemoRefused, seed_demo

demo_app = typer.Typer(help="The demo city (みどり市).", no_args_is_help=True)


@demo_app.command("seed")
def demo_seed(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="do nothing when users already exist")] = False,
    seed: Annotated[int, typer.Option(help="random seed for the generated names")] = 2026,
) -> None:
    """Build the demo city (みどり市) as a OneRoster bundle, import it, and set the demo passwords."""

    settings = settings_or_exit()
    require_current_schema(settings)
    try:
        with session_scope(engine_for(settings)) as session:
            result = seed_demo(session=session, settings=settings, if_empty=if_empty, seed=seed)
            if not result.skipped:  # issue 6: a simulated reading-test history for the board's dashboards
                typer.echo(seed_history(session=session, seed=seed).summary())
    except DemoRefused as error:
        fail(str(error))
    typer.echo(result.render())
