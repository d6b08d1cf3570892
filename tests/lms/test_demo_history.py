"""The demo city's simulated reading-test history: stored as real rows, coherent with the IRT engine,
deterministic for a seed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from statistics import mean
from typing import Any

from sqlmodel import Session, col, select

from lms.demo.history import DEMO_PREFIX, ITEMS_PER_SKILL, SKILLS, seed_history
from lms.reading.attempts import score_responses
from lms.reading.delivery import item_bank
from lms.reading.models import Assessment, Assignment, Attempt, Response, SkillEstimate
from lms.roster.models import Enrollment, SchoolClass, User

TERMS = [(2025, 1), (2025, 3), (2026, 1)]
TODAY = date(2026, 11, 1)


def add_students(db_session: Session, world: Any, class_key: str, count: int) -> list[User]:
    """``count`` more students in a class of the ``world`` city (names and sourcedIds to look for later)."""
    klass = world.classes[class_key]
    users = []
    for n in range(count):
        user = User(
            username=f"x-{class_key.lower()}-{n}",
            sourced_id=f"sid-{class_key}-{n:03d}",
            role="student",
            family_name=f"佐藤{class_key}",
            given_name=f"生徒{n:02d}号",
            kana_family_name="サトウ",
            kana_given_name="セイト",
            primary_org_id=klass.school_id,
            grades=klass.grades,
            home_class_id=klass.id,
        )
        db_session.add(user)
        users.append(user)
    db_session.flush()
    for n, user in enumerate(users):
        db_session.add(
            Enrollment(
                sourced_id=f"e-x-{class_key}-{n}",
                class_id=klass.id,
                user_id=user.id,
                school_id=klass.school_id,
                role="student",
                shusseki_no=10 + n,
            )
        )
    db_session.commit()
    return users


def overall_scores(db_session: Session) -> dict[tuple[str, str], list[int]]:
    """Overall scale scores per (assessment title, grade of the class it was taken in)."""
    rows = db_session.exec(
        select(Assessment.title, SchoolClass.grades, SkillEstimate.scale_score)
        .join(Assignment, col(Assignment.assessment_id) == col(Assessment.id))
        .join(SchoolClass, col(Assignment.class_id) == col(SchoolClass.id))
        .join(Attempt, col(Attempt.assignment_id) == col(Assignment.id))
        .join(SkillEstimate, col(SkillEstimate.attempt_id) == col(Attempt.id))
        .where(SkillEstimate.skill == "ALL")
    ).all()
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for title, grade, score in rows:
        out[(title, grade or "")].append(score)
    return out


def test_history_is_stored_as_real_rows_over_several_terms(db_session: Session, world: Any) -> None:
    add_students(db_session, world, "A1", 12)
    add_students(db_session, world, "B1", 12)
    report = seed_history(session=db_session, seed=7, terms=TERMS, today=TODAY)
    db_session.commit()
    if report.aggregates:  # the board's aggregates were refreshed from the new history (helper B1's tables)
        from lms.board.models import BoardCell
        from lms.board.release_models import BoardRelease

        assert db_session.exec(select(BoardCell)).first() is not None
        # issue 14: every term with results has a release, so the board's landing page has figures
        released = {(r.school_year, r.term) for r in db_session.exec(select(BoardRelease))}
        assert released == {(2025, 1), (2025, 3), (2026, 1)}
    assessments = db_session.exec(select(Assessment).order_by(col(Assessment.id))).all()
    assert [a.title for a in assessments] == [
        f"{DEMO_PREFIX}読解力テスト 2025年度 1学期",
        f"{DEMO_PREFIX}読解力テスト 2025年度 3学期",
        f"{DEMO_PREFIX}読解力テスト 2026年度 1学期",
    ]
    students = 4 + 24
    assert report.attempts == 3 * students
    k = len(SKILLS) * ITEMS_PER_SKILL
    assert report.responses == report.attempts * k
    assert report.estimates == report.attempts * (len(SKILLS) + 1)
    # last year's tests were taken in read-only classes one grade lower; this year's in the current classes
    past = db_session.exec(select(SchoolClass).where(col(SchoolClass.read_only).is_(True))).all()
    assert sorted((c.grades, c.title, c.school_id) for c in past) == [
        ("P2", "2年1組", world.orgs["A"].id),
        ("P2", "2年2組", world.orgs["A"].id),
        ("P6", "6年1組", world.orgs["A"].id),  # 中1 students were in a 小学校's 6年 last year
    ]
    by_term = overall_scores(db_session)
    assert {grade for (title, grade) in by_term if "2025年度" in title} == {"P2", "P6"}
    assert {grade for (title, grade) in by_term if "2026年度" in title} == {"P3", "J1"}
    # every attempt: submitted, one answer per chosen item, answers consistent with the keys
    bank = item_bank()
    attempt = db_session.exec(select(Attempt).order_by(col(Attempt.id))).first()
    assert attempt is not None and attempt.status == "submitted" and attempt.position == k
    answers = db_session.exec(select(Response).where(Response.attempt_id == attempt.id)).all()
    assert len(answers) == k == len({a.item_id for a in answers})
    for answer in answers:
        assert bank[answer.item_id].is_correct(answer.answer) == answer.correct


def test_history_scores_are_what_the_engine_gives_for_the_stored_answers(
    db_session: Session, world: Any
) -> None:
    add_students(db_session, world, "A1", 3)
    seed_history(session=db_session, seed=11, terms=[(2026, 1)], today=TODAY, refresh=False)
    bank = item_bank()
    attempts = db_session.exec(select(Attempt)).all()
    assert len(attempts) == 7
    for attempt in attempts[:3]:
        answers = db_session.exec(
            select(Response).where(Response.attempt_id == attempt.id).order_by(col(Response.position))
        ).all()
        expected = {
            e["skill"]: e
            for e in score_responses({i.id: i for i in bank}, [(a.item_id, a.correct) for a in answers])
        }
        stored = db_session.exec(select(SkillEstimate).where(SkillEstimate.attempt_id == attempt.id)).all()
        assert {s.skill for s in stored} == set(expected) == {*SKILLS, "ALL"}
        for row in stored:
            assert abs(row.theta - expected[row.skill]["theta"]) < 1e-3
            assert abs(row.se - expected[row.skill]["se"]) < 1e-3
            assert row.scale_score == expected[row.skill]["scale_score"]
            assert row.band == expected[row.skill]["band"]
            assert row.guessing == expected[row.skill]["guessing"]
        overall = next(s for s in stored if s.skill == "ALL")
        assert overall.se < min(s.se for s in stored if s.skill != "ALL")  # more items, more precision


def test_history_grows_with_grade_and_term(db_session: Session, world: Any) -> None:
    add_students(db_session, world, "A1", 15)
    add_students(db_session, world, "B1", 15)
    seed_history(session=db_session, seed=3, terms=TERMS, today=TODAY, refresh=False)
    scores = overall_scores(db_session)
    this_year = f"{DEMO_PREFIX}読解力テスト 2026年度 1学期"
    # four grades apart (小3 vs 中1): far apart on the scale
    assert mean(scores[(this_year, "J1")]) - mean(scores[(this_year, "P3")]) > 80
    # the same cohort grows through last year
    first, third = (f"{DEMO_PREFIX}読解力テスト 2025年度 {t}学期" for t in (1, 3))
    assert mean(scores[(third, "P2")]) > mean(scores[(first, "P2")])
    assert mean(scores[(third, "P6")]) > mean(scores[(first, "P6")])


def test_history_is_deterministic_for_a_seed_and_not_generated_twice(db_session: Session, world: Any) -> None:
    add_students(db_session, world, "A1", 5)

    def snapshot() -> list[tuple[int, str, int, float]]:
        rows = db_session.exec(
            select(SkillEstimate.student_id, SkillEstimate.skill, SkillEstimate.scale_score, SkillEstimate.se)
        ).all()
        return sorted((int(s), str(k), int(v), round(float(e), 6)) for s, k, v, e in rows)

    seed_history(session=db_session, seed=5, terms=[(2026, 1)], today=TODAY, refresh=False)
    first = snapshot()
    db_session.rollback()  # the history only flushes: the caller's transaction decides
    assert snapshot() == []
    seed_history(session=db_session, seed=5, terms=[(2026, 1)], today=TODAY, refresh=False)
    assert snapshot() == first
    again = seed_history(session=db_session, seed=5, terms=[(2026, 1)], today=TODAY, refresh=False)
    assert again.skipped and snapshot() == first
    db_session.rollback()
    seed_history(session=db_session, seed=6, terms=[(2026, 1)], today=TODAY, refresh=False)
    assert snapshot() != first
