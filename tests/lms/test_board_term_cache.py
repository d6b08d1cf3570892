"""The incremental board refresh (lms.board.term_cache): a term is rebuilt only when its inputs changed,
and what it stores is exactly what a full rebuild stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from lms.board.models import BoardCell, BoardFigure, BoardTermState
from lms.board.service import refresh_aggregates
from lms.board.settings import get_board_settings
from lms.board.term_cache import refresh_changed_terms
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import SchoolClass
from tests.factories import pk
from tests.lms.test_board_service import build_history

ALL_TERMS = [(2025, 1), (2025, 2), (2025, 3), (2026, 1)]


def snapshot(session: Session) -> list[tuple[Any, ...]]:
    figures = sorted(
        (f.skill, f.school_year, f.term, f.school_id or 0, f.grade, f.n, f.hidden, f.mean, f.sd)
        for f in session.exec(select(BoardFigure))
    )
    cells = sorted(
        (c.skill, c.school_year, c.term, c.school_id, c.class_id, c.grade, c.n, c.sum_eap, c.pv_sum)
        for c in session.exec(select(BoardCell))
    )
    return [*figures, *cells]


def from_scratch(session: Session) -> list[tuple[Any, ...]]:
    """What a full rebuild stores (rolled back afterwards: the incremental state stays as it was)."""
    nested = session.begin_nested()
    refresh_aggregates(session=session)
    rows = snapshot(session)
    nested.rollback()
    return rows


def late_answer(session: Session, when: datetime, class_title: str = "P3 組") -> None:
    """One more pupil's submitted attempt in an existing class of the history, finished at ``when``."""
    klass = session.exec(select(SchoolClass).where(SchoolClass.title == class_title)).first()
    assert klass is not None
    assignment = session.exec(select(Assignment).where(Assignment.class_id == pk(klass))).first()
    assert assignment is not None
    student = session.exec(select(Attempt.student_id).where(Attempt.assignment_id == pk(assignment))).first()
    assert student is not None
    attempt = Attempt(assignment_id=pk(assignment), student_id=student, status="submitted", finished_at=when,
                      attempt_no=2)  # fmt: skip
    session.add(attempt)
    session.flush()
    for skill in ("ALL", "DEP", "INF"):
        session.add(SkillEstimate(student_id=student, attempt_id=pk(attempt), skill=skill, theta=2.5, se=0.3,
                                  scale_score=750, band=5, guessing=False, n_items=12))  # fmt: skip
    session.flush()


def test_first_refresh_builds_every_term_and_the_second_reuses_them(db_session: Session, world: Any) -> None:
    build_history(db_session, world)
    first = refresh_changed_terms(session=db_session)
    assert first.rebuilt == ALL_TERMS and first.reused == [] and first.figures > 0
    assert snapshot(db_session) == from_scratch(db_session)
    states = {(s.school_year, s.term) for s in db_session.exec(select(BoardTermState))}
    assert states == set(ALL_TERMS)
    second = refresh_changed_terms(session=db_session)
    assert second.rebuilt == [] and second.reused == ALL_TERMS and second.figures == 0
    assert "0 terms rebuilt, 4 reused" in second.summary()


def test_a_late_answer_rebuilds_only_its_term(db_session: Session, world: Any) -> None:
    build_history(db_session, world)
    refresh_changed_terms(session=db_session)
    before = snapshot(db_session)
    late_answer(db_session, datetime(2025, 7, 20, 3, 0, tzinfo=UTC))  # still 2025 term 1 (JST)
    report = refresh_changed_terms(session=db_session)
    assert report.rebuilt == [(2025, 1)] and report.reused == [(2025, 2), (2025, 3), (2026, 1)]
    after = snapshot(db_session)
    assert after != before  # the late pupil's estimates are counted
    assert after == from_scratch(db_session)


def test_a_class_corrected_in_the_roster_rebuilds_the_terms_it_has_results_in(
    db_session: Session, world: Any
) -> None:
    build_history(db_session, world)
    refresh_changed_terms(session=db_session)
    klass = db_session.exec(select(SchoolClass).where(SchoolClass.title == "P5 組")).first()
    assert klass is not None
    klass.grades = "P6"  # a typing mistake in the roster, corrected: its pupils were 6th-graders
    db_session.add(klass)
    db_session.flush()
    report = refresh_changed_terms(session=db_session)
    assert report.rebuilt == [(2025, 1), (2025, 2)]
    assert snapshot(db_session) == from_scratch(db_session)
    assert any(f.grade == "P6" for f in db_session.exec(select(BoardFigure)))


def test_another_setting_rebuilds_everything_and_full_forces_it(db_session: Session, world: Any) -> None:
    build_history(db_session, world)
    refresh_changed_terms(session=db_session)
    stricter = get_board_settings().model_copy(update={"min_cell_size": 20})
    report = refresh_changed_terms(session=db_session, settings=stricter)
    assert report.rebuilt == ALL_TERMS
    assert {f.min_cell_size for f in db_session.exec(select(BoardFigure))} == {20}
    assert refresh_changed_terms(session=db_session, settings=stricter).rebuilt == []
    assert refresh_changed_terms(session=db_session, settings=stricter, full=True).rebuilt == ALL_TERMS


def test_a_term_without_results_left_is_removed(db_session: Session, world: Any) -> None:
    build_history(db_session, world)
    refresh_changed_terms(session=db_session)
    last_term = list(
        db_session.exec(select(Attempt).where(col(Attempt.finished_at) >= datetime(2026, 4, 1, tzinfo=UTC)))
    )
    assert last_term
    for attempt in last_term:  # e.g. a test given to the wrong class, its attempts voided
        attempt.status = "reset"
        db_session.add(attempt)
    db_session.flush()
    report = refresh_changed_terms(session=db_session)
    assert report.removed == [(2026, 1)] and report.rebuilt == []
    assert not list(db_session.exec(select(BoardFigure).where(BoardFigure.school_year == 2026)))
    assert not list(db_session.exec(select(BoardTermState).where(BoardTermState.school_year == 2026)))
