"""A root command so the library runs on its own: ``python -m reading_tests irt calibrate …``."""

from __future__ import annotations

import typer

from reading_tests.cli import irt_app, items_app

root_app = typer.Typer(help="reading_tests: item bank, IRT and adaptive testing.", no_args_is_help=True)
root_app.add_typer(irt_app, name="irt")
root_app.add_typer(items_app, name="items")
