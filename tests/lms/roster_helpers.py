"""Helpers for roster tests: copy the fixture bundle and edit its CSV files the way a spreadsheet would."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "oneroster_basic"


def copy_bundle(target: Path) -> Path:
    shutil.copytree(FIXTURE, target)
    return target


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline=""))
    return list(reader.fieldnames or []), list(reader)


def write_rows(
    path: Path, header: list[str], rows: list[dict[str, str]], *, encoding: str = "utf-8-sig"
) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def edit(bundle: Path, name: str, change: Callable[[list[str], list[dict[str, str]]], None]) -> None:
    """Apply ``change(header, rows)`` in place to ``bundle/name``."""
    header, rows = read_rows(bundle / name)
    change(header, rows)
    write_rows(bundle / name, header, rows)


def set_value(bundle: Path, name: str, sourced_id: str, column: str, value: str) -> None:
    def change(_header: list[str], rows: list[dict[str, str]]) -> None:
        for row in rows:
            if row["sourcedId"] == sourced_id:
                row[column] = value
                return
        raise AssertionError(f"{sourced_id} not in {name}")

    edit(bundle, name, change)


def set_manifest(bundle: Path, **modes: str) -> None:
    def change(_header: list[str], rows: list[dict[str, str]]) -> None:
        for row in rows:
            key = row["propertyName"].removeprefix("file.")
            if key in modes:
                row["value"] = modes[key]

    edit(bundle, "manifest.csv", change)
