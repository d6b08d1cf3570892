"""``giga config``: the settings in force, their check, and the reference (docs/configuration.md)."""

from __future__ import annotations

import os

import typer
from pydantic import ValidationError

from lms.core.cli import fail, settings_or_exit
from lms.core.settings_reference import SECTIONS, effective_values, reference_markdown, unknown_variables

config_app = typer.Typer(help="Settings: show, check, reference.", no_args_is_help=True)


@config_app.command("show")
def show() -> None:
    """Print every variable with the value in force (secrets as (set)/(empty))."""
    settings = settings_or_exit()
    try:
        rows = effective_values(settings)
    except ValidationError as error:
        fail(_first_problem(error))
    for variable, value in rows:
        typer.echo(f"{variable.name}={value}")


@config_app.command("check")
def check() -> None:
    """Validate every section; exit 2 naming the first bad variable or unknown ones under a section prefix."""
    settings = settings_or_exit()
    for section, _cls, _title in SECTIONS:
        if section:
            try:
                getattr(settings, section)
            except ValidationError as error:
                fail(_first_problem(error))
    unknown = unknown_variables(os.environ)
    if unknown:
        fail(f"unknown setting(s), read by nothing: {', '.join(unknown)} (see docs/configuration.md)")
    typer.echo("settings ok")


@config_app.command("reference")
def reference() -> None:
    """Print the reference of all variables as Markdown (docs/configuration.md)."""
    typer.echo(reference_markdown(), nl=False)


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    title = error.title  # the class: its env prefix names the variable
    where = str(first["loc"][0]).upper() if first["loc"] else ""
    prefixes = {cls.__name__: str(cls.model_config.get("env_prefix", "")) for _, cls, _ in SECTIONS}
    name = prefixes.get(title, "GIGA_") + where
    return f"invalid {name}: {str(first['msg']).removeprefix('Value error, ')}"
