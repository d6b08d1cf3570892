"""The ``giga`` command (entry point ``lms.cli:app``): database, demo city, roster, server, and every
domain's commands.

This package only gathers: the shared helpers (one-sentence refusals, settings, schema check) live in
`lms.core.cli` so that the domains' own commands use them without importing this package.
Exit codes: 0 success; 2 refused input or configuration, with one sentence (or, for a refused roster bundle,
one ``file.csv:line: column: message`` line per problem) on stderr.
"""

from __future__ import annotations

import typer

from lms.auth.cli import admin_app, sessions_app
from lms.board.cli import board_app
from lms.board.research import research_export_command
from lms.cli.config import config_app
from lms.cli.db import db_app
from lms.cli.demo import demo_app
from lms.cli.roster import roster_app
from lms.cli.serve import serve
from lms.lti.score_cli import lti_scores_app
from lms.ops.cli import backup_app, restore
from lms.reading.bank_review.cli import apply_reviews_command, reviewers_app
from lms.reading.calibration.cli import recalibrate_command
from lms.xapi_sender.cli import xapi_app
from reading_tests.cli import irt_app, items_app

app = typer.Typer(help="GIGA Learning Platform", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(roster_app, name="roster")
app.add_typer(irt_app, name="irt")
irt_app.command("recalibrate")(recalibrate_command)
app.add_typer(items_app, name="items")
items_app.command("apply-reviews")(apply_reviews_command)
items_app.add_typer(reviewers_app, name="reviewers")
app.add_typer(xapi_app, name="xapi")
app.add_typer(lti_scores_app, name="lti-scores")
app.add_typer(board_app, name="board")
board_app.command("research-export")(research_export_command)
app.add_typer(backup_app, name="backup")
app.command("restore")(restore)
app.add_typer(admin_app, name="admin")
app.add_typer(sessions_app, name="sessions")
app.command("serve")(serve)
app.add_typer(config_app, name="config")

if __name__ == "__main__":  # pragma: no cover
    app()
