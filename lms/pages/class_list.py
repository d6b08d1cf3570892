"""The home page's class list as people read it: grouped by school year (this year first, past years marked),
grades as 小4 / 中1 instead of the codes P4 / J1."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from lms.core.jst import parse_grade
from lms.roster.models import AcademicSession

STAGE_JA = {"P": "小", "J": "中", "H": "高"}


def grade_label(codes: str | None) -> str:
    """``"P4"`` → ``"小4"``; ``"P5,P6"`` → ``"小5・小6"``; unknown codes are shown as they are."""
    out = []
    for code in (codes or "").split(","):
        code = code.strip()
        if not code:
            continue
        parsed = parse_grade(code)
        out.append(f"{STAGE_JA.get(parsed[0], parsed[0])}{parsed[1]}" if parsed else code)
    return "・".join(out)


def by_school_year(
    session: Session, rows: Sequence[dict[str, Any]]
) -> list[tuple[int | None, list[dict[str, Any]]]]:
    """``[(school_year, rows)]`` newest year first; each row gets ``grade_label`` and ``school_year``."""
    session_ids = {row["class"].academic_session_id for row in rows} - {None}
    years = {
        s.id: s.school_year
        for s in session.exec(select(AcademicSession).where(col(AcademicSession.id).in_(sorted(session_ids))))
    }
    groups: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        year = years.get(row["class"].academic_session_id)
        groups.setdefault(year, []).append({**row, "grade_label": grade_label(row["class"].grades)})
    return sorted(groups.items(), key=lambda kv: -(kv[0] or 0))
