"""Server time of the teacher's class report for a class of 40 with a year of data (goal: p99 < 300 ms).

Usage: ``.venv/bin/python benchmarks/bench_class_report.py [--postgres-url URL] [--runs N]``
Without ``--postgres-url`` only SQLite (a temporary file) is measured; with it (an admin URL such as
``postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres``) a database ``giga_bench_<random>`` is
created, measured and dropped as well.

Data: a school with 10 classes of 40 students; each class took 6 tests in the year (5 adaptive, 1 fixed
form of 12 items), each student answering 15 items per test and getting 8 estimates (7 skills + overall):
per class 240 attempts, 1,920 estimates and 3,600 responses; 10× that in the database.
Measured, each ``--runs`` times after a warm-up, through the whole app (routing, sign-in session,
permission check, audit row, rendering, commit) with an in-process HTTP client:
- the report page (HTML), the JSON report, the CSV export (latest result per skill over the year), and the
  page for the fixed form (with item analysis);
- the service call alone (`lms.teaching.service.class_report`);
- the baseline: the bare SQL query that fetches the class's estimates (what any report must at least do).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

CLASSES, STUDENTS, TESTS, ITEMS_PER_TEST = 10, 40, 6, 15
SKILLS = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH", "ALL")
PASSWORD = "bench-password-123"


def seed(url: str) -> dict[str, Any]:
    """Fill a migrated database; return the ids of the measured class and its fixed-form assignment."""
    from lms.auth.passwords import hash_password
    from lms.core.db import make_engine
    from lms.reading.models import Assessment, Assignment, Attempt, Response, SkillEstimate
    from lms.roster.models import Enrollment, Org, SchoolClass, User
    from reading_tests.scoring import BANDS

    rng = random.Random(7)
    engine = make_engine(url)
    year_start = datetime(2025, 4, 10, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        school = Org(
            sourced_id="bench-school", name="ベンチ小学校", type="school", identifier="B000000000001"
        )
        session.add(school)
        session.flush()
        assert school.id is not None
        teacher = User(
            username="bench-teacher",
            role="teacher",
            family_name="先生",
            given_name="一",
            primary_org_id=school.id,
            password_hash=hash_password(PASSWORD),
        )
        session.add(teacher)
        fixed = Assessment(
            title="固定フォーム", kind="fixed", item_ids=[f"DEP-{k:03d}" for k in range(1, 13)]
        )
        cat = Assessment(title="適応型", kind="cat", max_items=ITEMS_PER_TEST)
        session.add_all([fixed, cat])
        session.flush()
        first_class: int | None = None
        fixed_assignment: int | None = None
        for c in range(CLASSES):
            klass = SchoolClass(
                sourced_id=f"bench-class-{c}", title=f"5年{c + 1}組", grades="P5", school_id=school.id
            )
            session.add(klass)
            session.flush()
            assert klass.id is not None
            first_class = first_class or klass.id
            if c == 0:
                session.add(
                    Enrollment(
                        sourced_id="bench-e-teacher",
                        class_id=klass.id,
                        user_id=teacher.id,
                        school_id=school.id,
                        role="teacher",
                    )
                )
            students = [
                User(
                    username=f"bench-s-{c}-{k}",
                    role="student",
                    family_name="生徒",
                    given_name=f"{k + 1}",
                    kana_family_name="セイト",
                    kana_given_name="テスト",
                    primary_org_id=school.id,
                    grades="P5",
                )
                for k in range(STUDENTS)
            ]
            session.add_all(students)
            session.flush()
            for k, student in enumerate(students):
                session.add(
                    Enrollment(
                        sourced_id=f"bench-e-{c}-{k}",
                        class_id=klass.id,
                        user_id=student.id,
                        school_id=school.id,
                        role="student",
                        shusseki_no=k + 1,
                    )
                )
            for t in range(TESTS):
                when = year_start + timedelta(days=55 * t)
                assessment = fixed if t == TESTS - 1 else cat
                assignment = Assignment(
                    assessment_id=assessment.id,
                    class_id=klass.id,
                    title=f"第{t + 1}回",
                    opens_at=when,
                    status="closed",
                )
                session.add(assignment)
                session.flush()
                if c == 0 and assessment is fixed:
                    fixed_assignment = assignment.id
                attempts = [
                    Attempt(
                        assignment_id=assignment.id, student_id=s.id, status="submitted", finished_at=when
                    )
                    for s in students
                ]
                session.add_all(attempts)
                session.flush()
                rows: list[Any] = []
                for attempt in attempts:
                    ability = rng.gauss(0, 1)
                    items = assessment.item_ids or [
                        f"{SKILLS[j % 7]}-{rng.randint(1, 20):03d}" for j in range(40)
                    ]
                    for position, item_id in enumerate(dict.fromkeys(items)):
                        if position >= ITEMS_PER_TEST:
                            break
                        correct = rng.random() < 0.6
                        rows.append(
                            Response(
                                attempt_id=attempt.id,
                                item_id=item_id,
                                position=position,
                                answer=[rng.choice("ABCD")],
                                correct=correct,
                                client_event_id=uuid.uuid4().hex,
                                created_at=when,
                            )
                        )
                    for skill in SKILLS:
                        theta = ability + rng.gauss(0, 0.4)
                        score = round(500 + 100 * theta)
                        level = next(b.level for b in BANDS if b.lower <= score < b.upper)
                        rows.append(
                            SkillEstimate(
                                student_id=attempt.student_id,
                                attempt_id=attempt.id,
                                skill=skill,
                                theta=theta,
                                se=0.4,
                                scale_score=score,
                                band=level,
                                guessing=rng.random() < 0.05,
                                n_items=3,
                                created_at=when,
                            )
                        )
                session.add_all(rows)
            session.flush()
        session.commit()
    engine.dispose()
    return {"class_id": first_class, "fixed_assignment": fixed_assignment}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def measure(url: str, label: str, runs: int) -> None:
    from fastapi.testclient import TestClient

    from lms.core.db import make_engine
    from lms.core.settings import load_settings
    from lms.main import create_app
    from lms.migrations import upgrade
    from lms.roster.models import SchoolClass
    from lms.teaching import service

    upgrade(url)
    started = time.perf_counter()
    ids = seed(url)
    seeded = time.perf_counter() - started
    class_id, fixed_id = ids["class_id"], ids["fixed_assignment"]
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")  # planner statistics, as a live database has them
        connection.commit()
        counts = {
            t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("attempt", "skill_estimate", "response")
        }
    print(f"\n== {label}: seeded in {seeded:.1f} s — {counts}")
    settings = load_settings(database_url=url, environment="test")
    app = create_app(settings)
    results: list[tuple[str, float, float]] = []
    bare_sql = text(
        "SELECT e.student_id, e.skill, e.scale_score, e.band, e.guessing, e.se, e.n_items, e.created_at "
        "FROM skill_estimate e JOIN attempt a ON a.id = e.attempt_id "
        "JOIN assignment g ON g.id = a.assignment_id "
        "WHERE g.class_id = :c AND a.status <> 'reset'"
    )

    def bare() -> None:
        with engine.connect() as connection:
            connection.execute(bare_sql, {"c": class_id}).all()

    results.append(("baseline: bare estimates query", *timed(bare, runs)))

    def call_service() -> None:
        with Session(engine, expire_on_commit=False) as session:
            klass = session.get(SchoolClass, class_id)
            assert klass is not None
            service.class_report(session=session, class_=klass)

    results.append(("service.class_report (no HTTP)", *timed(call_service, runs)))
    with TestClient(app) as client:
        login = client.get("/login")
        token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/login",
            data={"username": "bench-teacher", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        for name, path in (
            ("GET report page (HTML)", f"/classes/{class_id}/report"),
            ("GET report JSON", f"/api/v1/classes/{class_id}/report"),
            ("GET report CSV", f"/classes/{class_id}/report.csv"),
            ("GET fixed-form page + item analysis", f"/classes/{class_id}/report?assignment_id={fixed_id}"),
        ):

            def get(path: str = path) -> None:
                response = client.get(path)
                assert response.status_code == 200, response.text[:300]

            results.append((name, *timed(get, runs)))
    engine.dispose()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"(machine load average during the run: {load} on {os.cpu_count()} cores)")
    base = results[0][1]
    print(f"{'what':44} {'p50 ms':>8} {'p99 ms':>8} {'p50/baseline':>13}")
    for name, p50, p99 in results:
        verdict = (
            "" if name.startswith(("baseline", "service")) else ("  ok (<300 ms)" if p99 < 300 else "  SLOW")
        )
        print(f"{name:44} {p50:8.1f} {p99:8.1f} {p50 / base:12.1f}x{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres-url", default=None, help="admin URL of a PostgreSQL server (optional)")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    from argon2 import PasswordHasher

    from lms.auth import passwords
    from lms.core.db import dispose_engine, make_engine, normalise_url

    passwords.set_hasher_for_tests(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", args.runs)
    if args.postgres_url:
        admin_url = normalise_url(args.postgres_url)
        name = f"giga_bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            measure(url, "PostgreSQL", args.runs)
        finally:
            dispose_engine(url)
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
