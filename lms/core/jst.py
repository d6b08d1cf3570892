"""Japan time and the school calendar: one JST, the school year (April–March), terms and grade codes.

Grade codes are OneRoster's as used in the city: P1–P6 (小1–小6), J1–J3 (中1–中3), H1–H3 (高1–高3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

JST = timezone(timedelta(hours=9))
GRADES: tuple[str, ...] = ("P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3")
GRADE_LABELS: dict[str, str] = {
    "P1": "小1", "P2": "小2", "P3": "小3", "P4": "小4", "P5": "小5", "P6": "小6",
    "J1": "中1", "J2": "中2", "J3": "中3",
}  # fmt: skip
#: the last year of each school stage (P: primary, J: junior high, H: senior high)
LAST_YEAR_OF_STAGE = {"P": 6, "J": 3, "H": 3}


def jst_text(value: Any) -> str:
    """A UTC timestamp as Japan time text (the schools' clock); empty for ``None``."""
    if value is None:
        return ""
    return str(value.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S"))


def today_in_japan(now: datetime) -> date:
    return now.astimezone(JST).date()


def school_year_of(day: date) -> int:
    """The Japanese school year of a calendar day: April to March (2025 = April 2025 – March 2026)."""
    return day.year if day.month >= 4 else day.year - 1


def school_year_and_term(moment: datetime) -> tuple[int, int]:
    """The Japanese school year (April–March) and term (1: Apr–Aug, 2: Sep–Dec, 3: Jan–Mar) in JST."""
    local = moment.astimezone(JST) if moment.tzinfo else moment.replace(tzinfo=UTC).astimezone(JST)
    term = 1 if 4 <= local.month <= 8 else 2 if local.month >= 9 else 3
    return school_year_of(local.date()), term


def term_bounds(school_year: int, term: int) -> tuple[datetime, datetime]:
    """``[start, end)`` of a term as aware datetimes (JST midnights)."""
    starts = {1: (school_year, 4), 2: (school_year, 9), 3: (school_year + 1, 1)}
    ends = {1: (school_year, 9), 2: (school_year + 1, 1), 3: (school_year + 1, 4)}
    if term not in starts:
        raise ValueError(f"unknown term {term} (use 1, 2 or 3)")
    (y0, m0), (y1, m1) = starts[term], ends[term]
    return datetime(y0, m0, 1, tzinfo=JST), datetime(y1, m1, 1, tzinfo=JST)


def parse_grade(code: str) -> tuple[str, int] | None:
    """``("P", 3)`` for "P3": the stage letter and the year within it; ``None`` for anything else."""
    if len(code) != 2 or code[0] not in LAST_YEAR_OF_STAGE or not code[1].isdigit():
        return None
    return code[0], int(code[1])


def grade_number(grade: str) -> int:
    """1 for P1 … 6 for P6, 7 for J1 … 9 for J3 (the years since entering primary school, plus one)."""
    if grade not in GRADES:
        raise ValueError(f"unknown grade code '{grade}' (use P1–P6, J1–J3)")
    return GRADES.index(grade) + 1


def entry_year(school_year: int, grade: str) -> int:
    """The school year a student in ``grade`` during ``school_year`` entered 小1: the cohort's key."""
    return school_year - grade_number(grade) + 1
