"""docs/permissions.md names every row of the route table (a new row is documented where people look)."""

from __future__ import annotations

from pathlib import Path

from lms.permissions import Row

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def test_every_row_of_the_route_table_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [row.name for row in Row if f"| `{row.name}` |" not in text]
    assert missing == []
