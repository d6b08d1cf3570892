"""The school calendar in Japan time: school year boundaries, terms, grade codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lms.core.jst import (
    entry_year,
    jst_text,
    parse_grade,
    school_year_and_term,
    school_year_of,
    term_bounds,
    today_in_japan,
)


def test_school_year_turns_on_the_first_of_april() -> None:
    assert school_year_of(date(2026, 3, 31)) == 2025
    assert school_year_of(date(2026, 4, 1)) == 2026


def test_term_is_taken_in_japan_time() -> None:
    # 15:30 UTC on 31 March is 00:30 on 1 April in Japan: a new school year, term 1.
    assert school_year_and_term(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == (2026, 1)
    assert school_year_and_term(datetime(2026, 3, 31, 14, 30)) == (2025, 3)  # naive means UTC
    assert today_in_japan(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == date(2026, 4, 1)
    assert jst_text(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == "2026-04-01 00:30:00"
    assert jst_text(None) == ""


def test_term_bounds_cover_the_year_without_gaps() -> None:
    bounds = [term_bounds(2026, term) for term in (1, 2, 3)]
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(2))
    assert school_year_and_term(bounds[2][1]) == (2027, 1)
    with pytest.raises(ValueError, match="unknown term"):
        term_bounds(2026, 4)


def test_grade_codes() -> None:
    assert parse_grade("P3") == ("P", 3) and parse_grade("J1") == ("J", 1)
    assert parse_grade("3") is None and parse_grade("X1") is None and parse_grade("P10") is None
    assert entry_year(2026, "P1") == 2026 and entry_year(2026, "J1") == 2020
