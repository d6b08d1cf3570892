"""Releases (issue 14): made from the database, audited, numbered and immutable; the board's API returns
protected figures only, a change of fewer than ten pupils is withheld, and the role matrix holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.board.release_models import BoardRelease
from lms.board.releases import get_release, make_release
from lms.core.errors import InvalidInput
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import SchoolClass, User
from tests.factories import pk
from tests.lms.conftest import csrf_of
from tests.lms.test_board_service import build_history


@pytest.fixture
def history(db_session: Session, world: Any) -> Any:
    h = build_history(db_session, world)
    db_session.commit()
    return h


def _group(row: BoardRelease, school: int | None, grade: str) -> dict[str, Any]:
    return next(g for g in row.figures if g["school"] == school and g["grade"] == grade)


def test_release_is_protected_numbered_and_audited(db_session: Session, world: Any, history: Any) -> None:
    admin = world.users["admin"]
    first = make_release(session=db_session, actor=admin, school_year=2025, term=1)
    db_session.commit()
    assert first.number == 1 and first.audit["leaks"] == 0 and first.audit["lp"] > 0
    c = history.schools["C"].id  # the tiny school: 6 + 12 pupils
    assert _group(first, c, "P3")["hidden"] and _group(first, c, "P3")["skills"] == {}
    for group in first.figures:
        assert group["hidden"] or group["n"] % 5 == 0
    second = make_release(session=db_session, actor=admin, school_year=2025, term=1)
    db_session.commit()
    assert second.number == 2 and second.figures == first.figures  # same data, same figures
    releases = select(AuditEvent).where(AuditEvent.action == "board.release").order_by(col(AuditEvent.id))
    events = list(db_session.exec(releases))  # ordered: PostgreSQL promises no order without ORDER BY
    assert [e.target_id for e in events] == ["1", "2"]
    assert get_release(db_session).number == 2


def test_one_late_pupil_is_withheld(db_session: Session, world: Any, history: Any) -> None:
    admin = world.users["admin"]
    first = make_release(session=db_session, actor=admin, school_year=2025, term=1)
    d = history.schools["D"].id
    # one more pupil of school D's 3rd grade submits after the first release
    klass = db_session.exec(
        select(SchoolClass).where(SchoolClass.school_id == d, SchoolClass.grades == "P3")
    ).one()
    june = [a for a in db_session.exec(select(Assignment).where(Assignment.class_id == klass.id))
            if a.opens_at is not None and (a.opens_at.year, a.opens_at.month) == (2025, 6)]  # fmt: skip
    late = User(
        username="late-1", role="student", family_name="遅", given_name="一", primary_org_id=d, grades="P3"
    )
    db_session.add(late)
    db_session.flush()
    attempt = Attempt(
        assignment_id=pk(june[0]),
        student_id=pk(late),
        status="submitted",
        finished_at=datetime(2025, 6, 20, 3, tzinfo=UTC),
    )
    db_session.add(attempt)
    db_session.flush()
    for skill in ("ALL", "DEP", "INF"):
        db_session.add(
            SkillEstimate(
                student_id=pk(late),
                attempt_id=pk(attempt),
                skill=skill,
                theta=2.5,
                se=0.3,
                scale_score=750,
                band=5,
                guessing=False,
                n_items=12,
            )
        )
    db_session.flush()
    second = make_release(session=db_session, actor=admin, school_year=2025, term=1)
    before, after = _group(first, d, "P3"), _group(second, d, "P3")
    assert after["held"] and after["skills"] == before["skills"]
    city_before, city_after = _group(first, None, "ALL"), _group(second, None, "ALL")
    assert city_after["held"] and city_after["skills"] == city_before["skills"]


def test_bad_requests_are_clear(db_session: Session, world: Any, history: Any) -> None:
    with pytest.raises(InvalidInput, match="結果がまだありません"):
        make_release(session=db_session, actor=None, school_year=2030, term=1)
    with pytest.raises(InvalidInput, match="学期"):
        make_release(session=db_session, actor=None, school_year=2025, term=4)


def test_api_roles_and_no_exact_sizes(
    client: Any, sign_in: Any, db_session: Session, world: Any, history: Any
) -> None:
    make_release(session=db_session, actor=None, school_year=2025, term=1)
    db_session.commit()
    sign_in("board")
    data = client.get("/api/v1/board/releases/latest").json()
    assert data["number"] == 1 and "basis" not in data
    for group in data["groups"]:
        assert group["hidden"] or group["n"] % 5 == 0
    assert client.get("/api/v1/board/releases").json()[0]["number"] == 1
    assert client.get("/api/v1/board/releases/99").status_code == 404
    csrf = {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}
    denied = client.post("/api/v1/board/releases", json={"school_year": 2025, "term": 1}, headers=csrf)
    assert denied.status_code == 403 and "フォーム" not in denied.text  # the role, not the CSRF check
    client.cookies.clear()
    sign_in("sa-a")
    own = client.get("/api/v1/board/releases/1").json()
    assert {g["school"] for g in own["groups"]} == {world.orgs["A"].id}
    for username in ("t-a1", "s-a1"):
        client.cookies.clear()
        sign_in(username)
        assert client.get("/api/v1/board/releases/1").status_code == 403
    client.cookies.clear()
    sign_in("admin")
    csrf = {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}
    made = client.post("/api/v1/board/releases", json={"school_year": 2025, "term": 2}, headers=csrf)
    assert made.status_code == 202, made.text  # queued: lms.board.release_jobs makes it
    assert made.json()["status"] == "queued"
    bad = client.post("/api/v1/board/releases", json={"school_year": 2025, "term": 7}, headers=csrf)
    assert bad.status_code in (400, 422)


def test_cli_release(history: Any, settings: Any) -> None:
    from typer.testing import CliRunner

    from lms.cli import app

    runner = CliRunner()
    made = runner.invoke(app, ["board", "release", "--year", "2025", "--term", "1"])
    assert made.exit_code == 0, made.output
    assert "release 1: 2025 term 1" in made.output and "no leaks" in made.output
    empty = runner.invoke(app, ["board", "release", "--year", "2030", "--term", "1"])
    assert empty.exit_code == 2 and "結果がまだありません" in empty.output
