"""Assigning a test to a class (issue 22: 「配る」 took 3.8 s; budget 0.5 s).

Usage: ``.venv/bin/python benchmarks/bench_assign.py [--database-url URL] [--class-size N] [--rounds R]``
(default admin URL as in ``bench_test_start.py``: a database ``giga_bench_<random>`` is created, migrated,
seeded and dropped).

Timed, each including its commit, rounds alternating: ``after`` = `lms.reading.authoring.create_assessment`
+ ``create_assignment`` of an adaptive test to a class of ``--class-size`` (every pupil's attempt with its
CAT session and first items, prepared in three statements); ``before`` = the same with the former
preparation (`prepare_attempt` per pupil, two flushes each), swapped in here; baseline = a bare
``INSERT … SELECT`` of the same attempt rows from the class's enrolments (no CAT state, no items).
Prints median and range per variant, the ratios and the load average; and, once, what the first
assignment of a design costs in a fresh process (the item bank's load, the Sympson–Hetter calibration).
Numbers only, no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.factories
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_test_start import DEFAULT_ADMIN_URL, load_average

from lms.reading import authoring
from lms.reading.delivery import item_bank
from tests.factories import add_member, fresh_postgres_database


def seed(session: Session, size: int) -> Any:
    from lms.roster.models import Org, SchoolClass

    school = Org(sourced_id="bench-school", name="ベンチ中学校", type="school")
    session.add(school)
    session.flush()
    assert school.id is not None
    klass = SchoolClass(sourced_id="bench-class", title="3年1組", grades="J3", school_id=school.id)
    session.add(klass)
    session.flush()
    for n in range(size):
        add_member(session, klass=klass, username=f"pupil{n}", number=n + 1, enrollment_id=f"e{n}")
    session.commit()
    return klass


def legacy_prepare_attempts(
    *,
    session: Session,
    assignment: Any,
    student_ids: Sequence[int],
    now: datetime,
    delivery: Any,
    seen: Mapping[int, Sequence[str]],
) -> list[int]:
    """The preparation before issue 22: one `prepare_attempt` (two flushes) per pupil."""
    ids = []
    for student_id in student_ids:
        attempt = authoring.prepare_attempt(
            session=session,
            assignment=assignment,
            student_id=student_id,
            now=now,
            delivery=delivery,
            exclude=seen.get(student_id),
        )
        assert attempt.id is not None
        ids.append(attempt.id)
    session.flush()
    return ids


def assign(session: Session, klass: Any, prepare: Callable[..., list[int]]) -> tuple[float, int]:
    original = authoring.prepare_attempts
    authoring.prepare_attempts = prepare
    try:
        started = time.perf_counter()
        assessment = authoring.create_assessment(session=session, title="ベンチ", min_items=20, max_items=20)
        authoring.create_assignment(
            session=session, assessment=assessment, class_=klass, now=datetime.now(UTC)
        )
        session.commit()
        assert assessment.id is not None
        return time.perf_counter() - started, assessment.id
    finally:
        authoring.prepare_attempts = original


def bare_insert_select(session: Session, klass: Any, assessment_id: int) -> float:
    """The same attempt rows for the class's pupils, straight from the enrolments, for a new assignment
    (its row made before the clock starts)."""
    from lms.reading.models import Assignment

    assignment = Assignment(
        assessment_id=assessment_id, class_id=klass.id, title="ベンチ", opens_at=datetime.now(UTC)
    )
    session.add(assignment)
    session.commit()
    started = time.perf_counter()
    session.execute(
        text(
            "INSERT INTO attempt"
            " (assignment_id, student_id, attempt_no, status, cat_state, prepared_at, position)"
            " SELECT :assignment_id, user_id, 1, 'created', '{}', now(), 0 FROM enrollment"
            " WHERE class_id = :class_id AND role = 'student' AND status = 'active'"
        ),
        {"class_id": klass.id, "assignment_id": assignment.id},
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

    with fresh_postgres_database(args.database_url, "giga_bench") as url:
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            klass = seed(session, args.class_size)
            started = time.perf_counter()
            item_bank()
            bank_s = time.perf_counter() - started
            # The first assignment of a design in a process also calibrates its Sympson–Hetter exposure
            # control by simulation (lms.reading.delivery): measured once, apart from the rounds.
            first_s, assessment_id = assign(session, klass, authoring.prepare_attempts)
            times: dict[str, list[float]] = {"before": [], "after": [], "INSERT … SELECT": []}
            loads = [load_average()]
            for round_no in range(args.rounds):
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                for variant in order:
                    prepare = legacy_prepare_attempts if variant == "before" else authoring.prepare_attempts
                    times[variant].append(assign(session, klass, prepare)[0])
                times["INSERT … SELECT"].append(bare_insert_select(session, klass, assessment_id))
            loads.append(load_average())
        engine.dispose()
    base = statistics.median(times["INSERT … SELECT"])
    print(
        f"assigning an adaptive test to a class of {args.class_size}, PostgreSQL, "
        f"{args.rounds} rounds alternating"
    )
    for variant, values in times.items():
        mid = statistics.median(values)
        print(
            f"  {variant:>16}: median {mid * 1000:7.1f} ms (range {min(values) * 1000:6.1f}–"
            f"{max(values) * 1000:6.1f}), {mid / base:5.1f}× the bare INSERT … SELECT"
        )
    print(
        f"  first assignment of this design in a fresh process: item bank load {bank_s:5.2f} s, then "
        f"{first_s:5.2f} s (exposure-control calibration by simulation + the assignment)"
    )
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    print(
        f"  before/after {before / after:4.1f}× (budget 500 ms); "
        f"load average at start {loads[0]}, end {loads[1]}"
    )


if __name__ == "__main__":
    main()
