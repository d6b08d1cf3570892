"""Board dashboard, refresh and open data for a city of 10,000 students over five years (PostgreSQL).

Usage: ``.venv/bin/python benchmarks/bench_board.py [--postgres-url URL] [--students N] [--years Y]
[--runs R]``
(default admin URL ``postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres``). A database
``giga_bench_board_<random>`` is created on that server, migrated, filled, measured and dropped.

Data (generated, not simulated item by item — the estimates are inserted directly with COPY):
28 schools (20 小学校 P1–P6 with two classes per grade, 8 中学校 J1–J3 with four), ``N / 9`` students per
grade, five school years with three tests each (terms 1–3); every student in school gets an attempt per test
with eight skill estimates (seven skills + overall): for the defaults 150,000 attempts and 1.2 M
``skill_estimate`` rows. θ = grade mean (0.35 per grade) + school effect + student ability + skill part,
θ̂ = θ + N(0, SE²) with SE 0.3–0.8, scale score 500 + 100θ̂.

Measured:
- ``refresh_aggregates`` (helper B1: plausible values, cells, suppression, published figures) — once;
- ``dashboard_data`` (the dashboard's server-side data) for typical filters, ``R`` times each after a
  warm-up: the city overview (latest term, all grades), one school × grade × skill over the years, a
  cohort's growth; p50 / p99 per filter — goal p99 < 300 ms;
- ``write_opendata`` (CSV + metadata.json) — goal < 10 s;
- baselines in the same run: a bare ``SELECT count(*) FROM skill_estimate`` and the naive on-the-fly
  aggregate (mean scale score per school × grade × skill for one term straight from the raw rows), i.e.
  what the dashboard would cost without the pre-aggregated tables.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

ADMIN_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"
SKILLS = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH", "ALL")
GRADES = ("P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3")
ELEMENTARY, JUNIOR = 20, 8
JST = timezone(timedelta(hours=9))
TERM_DAY = {1: (6, 15), 2: (11, 10), 3: (2, 10)}


def term_moment(year: int, term: int) -> datetime:
    month, day = TERM_DAY[term]
    return datetime(year + 1 if term == 3 else year, month, day, 10, tzinfo=JST).astimezone(UTC)


def copy_rows(engine: Engine, table: str, columns: list[str], lines: list[str]) -> None:
    """COPY tab-separated lines into ``table`` (the fastest way to load PostgreSQL)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:  # type: ignore[attr-defined]
            for start in range(0, len(lines), 100_000):
                copy.write("\n".join(lines[start : start + 100_000]) + "\n")
        raw.commit()
    finally:
        raw.close()


def generate(engine: Engine, students: int, years: int, seed: int = 1) -> dict[str, Any]:
    """Fill the migrated database; return what the measurements need."""
    rng = np.random.default_rng(seed)
    last_year = 2026
    first_year = last_year - years + 1
    now = datetime.now(UTC).isoformat()
    per_grade = students // 9
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO org (id, sourced_id, status, name, type, identifier, parent_id, created_at, "
                "updated_at) VALUES (1, 'd', 'active', 'ベンチ市教育委員会', 'district', '999999', NULL, "
                ":now, :now)"
            ),
            {"now": now},
        )
        for s in range(ELEMENTARY + JUNIOR):
            kind = "小学校" if s < ELEMENTARY else "中学校"
            code = ("B" if s < ELEMENTARY else "C") + f"{s:012d}"
            c.execute(
                text(
                    "INSERT INTO org (id, sourced_id, status, name, type, identifier, parent_id, created_at, "
                    "updated_at) VALUES (:id, :sid, 'active', :name, 'school', :code, 1, :now, :now)"
                ),
                {"id": 2 + s, "sid": f"s{s}", "name": f"ベンチ第{s + 1}{kind}", "code": code, "now": now},
            )
    school_effect = rng.normal(0, 0.15, ELEMENTARY + JUNIOR)
    # classes: (year, school, grade, section) → id
    class_rows, class_id = [], {}
    for year in range(first_year, last_year + 1):
        for s in range(ELEMENTARY + JUNIOR):
            grades = GRADES[:6] if s < ELEMENTARY else GRADES[6:]
            sections = 2 if s < ELEMENTARY else 4
            for g in grades:
                for k in range(1, sections + 1):
                    cid = len(class_rows) + 1
                    class_id[(year, s, g, k)] = cid
                    class_rows.append(
                        f"{cid}\tc{cid}\tactive\t{int(g[1:])}年{k}組\t{g}\thomeroom\t{2 + s}\t"
                        f"{'f' if year == last_year else 't'}\tf\t{now}\t{now}"
                    )
    copy_rows(engine, "schoolclass",
              ["id", "sourced_id", "status", "title", "grades", "class_type", "school_id", "read_only",
               "special_needs", "created_at", "updated_at"], class_rows)  # fmt: skip
    # students: cohorts by entry year; each has an elementary and a junior high school and a section
    cohorts = list(range(first_year - 8, last_year + 1))
    n_users = len(cohorts) * per_grade
    entry = np.repeat(cohorts, per_grade)
    elem = rng.integers(0, ELEMENTARY, n_users)
    junior = ELEMENTARY + rng.integers(0, JUNIOR, n_users)
    ability = rng.normal(0, 0.75, n_users)
    skill_part = rng.normal(0, 0.35, (n_users, len(SKILLS)))
    skill_part[:, -1] = 0.0
    user_rows = [
        f"{i + 1}\tbench-{i}\tactive\tt\t生徒\tベンチ\tstudent\tf\t0\tf\tf\t{now}\t{now}"
        for i in range(n_users)
    ]
    copy_rows(engine, "user",
              ["id", "username", "status", "enabled", "given_name", "family_name", "role", "totp_enabled",
               "failed_logins", "graduated", "moving_on", "created_at", "updated_at"], user_rows)  # fmt: skip
    # tests: one assessment per year × term; one assignment per class × term
    assessment_rows, assignment_rows, attempt_rows, estimate_rows = [], [], [], []
    assignment_of: dict[tuple[int, int], int] = {}
    attempt_id = 0
    for year in range(first_year, last_year + 1):
        grade_index = year - entry  # 0 = P1
        in_school = (grade_index >= 0) & (grade_index <= 8)
        for term in (1, 2, 3):
            aid = len(assessment_rows) + 1
            moment = term_moment(year, term)
            assessment_rows.append(
                f"{aid}\tベンチ {year}年度 {term}学期\tcat\t[]\t5\t15\t[]\t0\t{moment.isoformat()}"
            )
            for (y, _s, _g, _k), cid in class_id.items():
                if y != year:
                    continue
                gid = len(assignment_rows) + 1
                assignment_of[(cid, term)] = gid
                assignment_rows.append(
                    f"{gid}\t{aid}\t{cid}\tベンチ {year}年度 {term}学期\t{moment.isoformat()}\tclosed\t"
                    f"{moment.isoformat()}"
                )
            finished = (moment + timedelta(minutes=15)).isoformat()
            idx = np.flatnonzero(in_school)
            gi = grade_index[idx]
            school = np.where(gi < 6, elem[idx], junior[idx])
            section = 1 + idx % np.where(gi < 6, 2, 4)
            theta = (-1.4 + 0.35 * gi + 0.12 * (term - 1) + school_effect[school] + ability[idx])[
                :, None
            ] + skill_part[idx]
            se = np.where(np.arange(len(SKILLS)) == len(SKILLS) - 1, 0.3, 0.7)[None, :] + rng.uniform(
                0, 0.1, theta.shape
            )
            theta_hat = theta * 0.9 + rng.normal(0, 1, theta.shape) * se * 0.8
            score = np.round(500 + 100 * theta_hat).astype(int)
            band = np.searchsorted([350, 450, 550, 650], score, side="right") + 1
            guessing = (theta_hat < -1.6) & (rng.random(theta.shape) < 0.5)
            for row, student in enumerate(idx):
                attempt_id += 1
                cid = class_id[(year, int(school[row]), GRADES[gi[row]], int(section[row]))]
                attempt_rows.append(
                    f"{attempt_id}\t{assignment_of[(cid, term)]}\t{student + 1}\t1\tsubmitted\t{{}}\t"
                    f"{finished}\t{len(SKILLS) * 3}"
                )
                for j, skill in enumerate(SKILLS):
                    estimate_rows.append(
                        f"{student + 1}\t{attempt_id}\t{skill}\t{theta_hat[row, j]:.4f}\t{se[row, j]:.4f}\t"
                        f"{score[row, j]}\t{band[row, j]}\t{'t' if guessing[row, j] else 'f'}\t"
                        f"{21 if skill == 'ALL' else 3}\t{finished}"
                    )
    copy_rows(engine, "assessment",
              ["id", "title", "kind", "skills", "min_items", "max_items", "item_ids", "pilot_rate",
               "created_at"],
              assessment_rows)  # fmt: skip
    copy_rows(engine, "assignment",
              ["id", "assessment_id", "class_id", "title", "opens_at", "status", "created_at"],
              assignment_rows)  # fmt: skip
    copy_rows(engine, "attempt",
              ["id", "assignment_id", "student_id", "attempt_no", "status", "cat_state", "finished_at",
               "position"], attempt_rows)  # fmt: skip
    copy_rows(engine, "skill_estimate",
              ["student_id", "attempt_id", "skill", "theta", "se", "scale_score", "band", "guessing",
               "n_items", "created_at"], estimate_rows)  # fmt: skip
    with engine.begin() as c:
        for table in ("org", "schoolclass", "user", "assessment", "assignment", "attempt", "skill_estimate"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                           f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))"))  # fmt: skip
        c.execute(text("ANALYZE"))
    return {
        "users": n_users,
        "classes": len(class_rows),
        "attempts": len(attempt_rows),
        "estimates": len(estimate_rows),
        "last_year": last_year,
        "school_id": 2,
    }


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("GIGA_BENCH_POSTGRES_URL", ADMIN_URL))
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from sqlmodel import Session

    from lms.core.db import make_engine, normalise_url
    from lms.migrations import upgrade

    admin_url = normalise_url(args.postgres_url)
    name = f"giga_bench_board_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    print(f"load average: {os.getloadavg()[0]:.1f} (2 shared cores; compare ratios, not absolute times)")
    try:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        data = generate(engine, args.students, args.years)
        print(
            f"data: {data['users']:,} students over {args.years} years, {data['classes']:,} classes, "
            f"{data['attempts']:,} attempts, {data['estimates']:,} skill estimates "
            f"(generated and COPYed in {time.perf_counter() - started:.1f} s)"
        )
        from lms.board.opendata import write_opendata
        from lms.board.service import Filters, dashboard_data, refresh_aggregates

        with Session(engine) as session:
            started = time.perf_counter()
            report = refresh_aggregates(session=session)
            session.commit()
            refresh_s = time.perf_counter() - started
        print(f"refresh_aggregates: {refresh_s:.1f} s ({report})")

        year, school = data["last_year"], data["school_id"]
        cases: dict[str, Callable[[], Filters]] = {
            "city overview (latest term, all grades, ALL)": lambda: Filters(),
            "one school × P4 × INF, year " + str(year - 1): lambda: Filters(
                school_year=year - 1, term=3, skill="INF", grade="P4", school_id=school
            ),
            "cohort growth (P6 of the last year, all terms)": lambda: Filters(
                school_year=year, term=1, grade="P6", skill="ALL"
            ),
            "school × J2 × DEP, latest term": lambda: Filters(
                grade="J2", skill="DEP", school_id=2 + ELEMENTARY
            ),
        }
        print(f"\ndashboard_data, {args.runs} runs each after a warm-up (ms):")
        print(f"  {'filters':<50} {'p50':>8} {'p99':>8}")
        with Session(engine) as session:
            for label, make in cases.items():
                times = timed(lambda make=make: dashboard_data(session=session, filters=make()), args.runs)
                print(f"  {label:<50} {pct(times, 0.5):8.1f} {pct(times, 0.99):8.1f}")
                session.rollback()
            baseline = timed(
                lambda: session.connection().execute(text("SELECT count(*) FROM skill_estimate")).scalar(),
                max(5, args.runs // 5),
            )
            naive_sql = text(
                "SELECT c.school_id, c.grades, e.skill, avg(e.scale_score), count(*) FROM skill_estimate e "
                "JOIN attempt a ON a.id = e.attempt_id JOIN assignment g ON g.id = a.assignment_id "
                "JOIN schoolclass c ON c.id = g.class_id JOIN assessment s ON s.id = g.assessment_id "
                "WHERE s.title = :title GROUP BY c.school_id, c.grades, e.skill"
            )
            naive = timed(
                lambda: session.connection().execute(naive_sql, {"title": f"ベンチ {year}年度 1学期"}).all(),
                max(5, args.runs // 5),
            )
            print(f"  {'baseline: SELECT count(*) FROM skill_estimate':<50} {pct(baseline, 0.5):8.1f} "
                  f"{pct(baseline, 0.99):8.1f}")  # fmt: skip
            print(f"  {'baseline: naive GROUP BY over raw rows (1 term)':<50} {pct(naive, 0.5):8.1f} "
                  f"{pct(naive, 0.99):8.1f}")  # fmt: skip
            with tempfile.TemporaryDirectory(prefix="giga-bench-opendata-") as tmp:
                started = time.perf_counter()
                exported = write_opendata(session=session, out_dir=Path(tmp))
                export_s = time.perf_counter() - started
                size = sum(p.stat().st_size for p in Path(tmp).iterdir())
            print(f"\nwrite_opendata: {export_s:.2f} s (goal < 10 s), {exported.rows:,} rows, "
                  f"{exported.suppressed:,} suppressed, {size / 1024:.0f} KiB")  # fmt: skip
        engine.dispose()
    finally:
        from lms.core.db import dispose_engine

        dispose_engine(url)
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        print(f"dropped {name}")


if __name__ == "__main__":
    main()
