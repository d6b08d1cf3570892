"""Typer applications for the ``giga irt`` and ``giga items`` command groups.

Command modules register themselves on these apps; ``reading_tests.cli`` imports them all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from reading_tests.errors import InvalidInput

irt_app = typer.Typer(
    help="Item response theory: calibrate, score, simulate adaptive tests.", no_args_is_help=True
)
items_app = typer.Typer(help="The reading-comprehension item bank.", no_args_is_help=True)

P = ParamSpec("P")
R = TypeVar("R")


def exits_2_on_invalid_input(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ``InvalidInput`` into one line on stderr and exit status 2 (DESIGN §5.3)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InvalidInput as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None

    return wrapper
