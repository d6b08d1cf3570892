"""Handing out practice to a class, 「この内容でクラス全員に配る」 (issue 22: 3.8 s; budget 0.5 s for 40).

Usage: ``.venv/bin/python benchmarks/bench_practice_hand_out.py [--database-url URL] [--class-size N]
[--rounds R]`` (a database ``giga_bench_<random>`` is created, migrated, seeded and dropped).

Seed: a class of ``--class-size`` pupils, each with a finished test and its skill estimates (so every
pupil gets their own set).  Timed, each including its commit, rounds alternating: ``after`` =
`lms.reading.practice.service.assign_practice` (inputs of the whole class in six queries, the rows in one
statement per table, `hand_out`); ``before`` = the former loop, swapped in here: per pupil the one-child
recommendation, `create_assessment` and `create_assignment` (the attempt through the same
`prepare_attempts`, so ``before`` is, if anything, faster than the code before this change); baseline =
bare ``INSERT … SELECT`` of the same assessment, assignment and attempt rows from the class's enrolments
(three statements, no recommendation, no CAT state, no items).  Between rounds the hand-out's attempts
are marked ``reset`` so every round chooses from the same pool.  Prints median and range per variant,
the ratios and the load average; numbers only, no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.factories
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_test_start import DEFAULT_ADMIN_URL, load_average

from lms.reading import authoring
from lms.reading.delivery import item_bank
from lms.reading.practice import messages as msg
from lms.reading.practice import service
from lms.reading.practice.carry import latest_accommodations
from lms.reading.practice.hand_out import AssignedPractice
from lms.roster.models import User
from reading_tests.items import SKILLS
from tests.factories import add_member

NOW = datetime(2026, 6, 10, 1, 0, tzinfo=UTC)


def seed(session: Session, size: int) -> tuple[Any, User]:
    from lms.reading.models import Assessment, Assignment, Attempt, SkillEstimate
    from lms.roster.models import Org, SchoolClass

    school = Org(sourced_id="bench-school", name="ベンチ小学校", type="school")
    session.add(school)
    session.flush()
    assert school.id is not None
    klass = SchoolClass(sourced_id="bench-class", title="5年1組", grades="P5", school_id=school.id)
    session.add(klass)
    session.flush()
    teacher = add_member(session, klass=klass, username="teacher", role="teacher")
    test = Assessment(title="読解力テスト", kind="cat")
    session.add(test)
    session.flush()
    assert test.id is not None
    given = Assignment(assessment_id=test.id, class_id=klass.id, title="読解力テスト", opens_at=NOW)
    session.add(given)
    session.flush()
    assert given.id is not None
    for n in range(size):
        pupil = add_member(session, klass=klass, username=f"pupil{n}", number=n + 1, enrollment_id=f"e{n}")
        attempt = Attempt(
            assignment_id=given.id,
            student_id=pupil.id,
            status="submitted",
            finished_at=NOW - timedelta(days=1),
        )
        session.add(attempt)
        session.flush()
        for k, skill in enumerate([*SKILLS, "ALL"]):
            theta = ((n * 7 + k * 3) % 11 - 5) / 4
            session.add(
                SkillEstimate(
                    student_id=pupil.id,
                    attempt_id=attempt.id,
                    skill=skill,
                    theta=theta,
                    se=0.4,
                    scale_score=round(500 + 100 * theta),
                    band=3,
                    created_at=NOW - timedelta(days=1),
                )
            )
    session.commit()
    return klass, teacher


def legacy_assign_practice(*, session: Session, actor: User, class_: Any, now: datetime) -> list[Any]:
    """The hand-out before issue 22's third session: everything one pupil at a time."""
    enrolled = authoring.class_student_ids(session, class_.id)
    out = []
    carried = latest_accommodations(session, enrolled)
    for student_id in enrolled:
        student = session.get(User, student_id)
        assert student is not None
        items = [r.item_id for r in service.recommend_for(session=session, student=student, now=now)]
        if not items:
            continue
        assessment = authoring.create_assessment(
            session=session,
            title=msg.practice_title(now.date()),
            kind="practice",
            item_ids=items,
            created_by=actor,
        )
        assignment = authoring.create_assignment(
            session=session,
            assessment=assessment,
            class_=class_,
            now=now,
            student_ids=[student_id],
            accommodations={student_id: carried[student_id]} if student_id in carried else None,
            created_by=actor,
        )
        assert assignment.id is not None
        out.append(AssignedPractice(student_id, assignment.id, items))
    return out


def timed(session: Session, run: Callable[[], list[Any]]) -> tuple[float, int]:
    started = time.perf_counter()
    done = run()
    session.commit()
    elapsed = time.perf_counter() - started
    session.execute(text("UPDATE attempt SET status = 'reset' WHERE status = 'created'"))
    session.commit()
    return elapsed, len(done)


def bare_insert_select(session: Session, class_id: int, round_no: int) -> float:
    """The same assessment, assignment and attempt rows straight from the enrolments, in three statements."""
    title = f"bare-{round_no}"
    started = time.perf_counter()
    where = "class_id = :class_id AND role = 'student' AND status = 'active'"
    session.execute(
        text(
            "INSERT INTO assessment"
            " (title, kind, skills, min_items, max_items, item_ids, pilot_rate, created_at)"
            " SELECT :title || '-' || user_id, 'practice', '[]', 6, 6, '[]', 0, now()"
            f" FROM enrollment WHERE {where}"
        ),
        {"class_id": class_id, "title": title},
    )
    session.execute(
        text(
            "INSERT INTO assignment (assessment_id, class_id, title, opens_at, status, created_at)"
            " SELECT id, :class_id, title, now(), 'open', now() FROM assessment WHERE title LIKE :pattern"
        ),
        {"class_id": class_id, "pattern": f"{title}-%"},
    )
    session.execute(
        text(
            "INSERT INTO attempt"
            " (assignment_id, student_id, attempt_no, status, cat_state, prepared_at, position)"
            " SELECT assignment.id, CAST(split_part(assignment.title, '-', 3) AS INTEGER), 1, 'reset', '{}',"
            " now(), 0 FROM assignment WHERE assignment.title LIKE :pattern"
        ),
        {"pattern": f"{title}-%"},
    )
    session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("GIGA_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from lms.core.db import make_engine

    with service_database(args.database_url) as url:
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            klass, teacher = seed(session, args.class_size)
            item_bank()
            variants: dict[str, Callable[[], list[Any]]] = {
                "before": lambda: legacy_assign_practice(
                    session=session, actor=teacher, class_=klass, now=NOW
                ),
                "after": lambda: service.assign_practice(
                    session=session, actor=teacher, class_=klass, now=NOW
                ),
            }
            timed(session, variants["after"])  # warm-up: bank, designs, statement caches (not counted)
            times: dict[str, list[float]] = {"before": [], "after": [], "INSERT … SELECT": []}
            counts: dict[str, set[int]] = {"before": set(), "after": set()}
            loads = [load_average()]
            for round_no in range(args.rounds):
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                for variant in order:
                    elapsed, n = timed(session, variants[variant])
                    times[variant].append(elapsed)
                    counts[variant].add(n)
                times["INSERT … SELECT"].append(bare_insert_select(session, klass.id, round_no))
            loads.append(load_average())
        engine.dispose()
    base = statistics.median(times["INSERT … SELECT"])
    print(
        f"practice hand-out to a class of {args.class_size} (sets given: before {sorted(counts['before'])}, "
        f"after {sorted(counts['after'])}), PostgreSQL, {args.rounds} rounds alternating"
    )
    for variant, values in times.items():
        mid = statistics.median(values)
        print(
            f"  {variant:>16}: median {mid * 1000:7.1f} ms (range {min(values) * 1000:6.1f}–"
            f"{max(values) * 1000:6.1f}), {mid / base:5.1f}× the bare INSERT … SELECT"
        )
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print(
        f"  before/after {before / after:4.1f}× (budget 500 ms); "
        f"load average at start {loads[0]}, end {loads[1]}"
    )


def service_database(admin_url: str) -> Any:
    from tests.factories import fresh_postgres_database

    return fresh_postgres_database(admin_url, "giga_bench")


if __name__ == "__main__":
    main()
