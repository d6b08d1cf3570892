"""Command-line entry points of the reading_tests library (mounted by ``giga``)."""

from __future__ import annotations

import importlib

from reading_tests.cli.apps import irt_app, items_app

# Each module registers its commands on irt_app / items_app when imported.
for _module in ("irt_calibrate", "irt_score", "irt_simulate", "irt_psychometrics", "irt_grm", "items"):
    try:
        importlib.import_module(f"reading_tests.cli.{_module}")
    except ModuleNotFoundError as error:  # pragma: no cover - only while a command module is missing
        if error.name != f"reading_tests.cli.{_module}":
            raise

__all__ = ["irt_app", "items_app"]
