"""A late answer in a closed term of a 5-year city: incremental refresh + release vs from-scratch aggregation.

Usage: ``.venv/bin/python benchmarks/bench_board_release.py [--postgres-url URL] [--students N] [--years Y]
[--rounds R]`` (defaults: 14,000 students, 5 years, 1 round).  A database ``giga_bench_board_<random>`` is
created on the server, migrated, filled by ``bench_board.generate`` (COPY; 28 schools, three tests a year,
eight skill estimates per attempt), measured and dropped.

Per round, in this order (so that every measurement sees the same data size):
- baseline: ``refresh_aggregates`` over every term — the from-scratch aggregation ``giga board refresh`` did;
- one pupil's late answer (an attempt with eight estimates) in a closed term two years back;
- incremental: ``refresh_changed_terms`` (fingerprints of every term, that one term rebuilt, the others
  reused), then ``make_release`` of that term (microdata, protection, the disclosure audit of all its tables);
- the incremental refresh once more with nothing changed (the fingerprints alone).
Prints seconds, the ratio to the baseline and the load average.  Numbers only, no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_board import ADMIN_URL, SKILLS, generate, term_moment


def late_answer(engine: object, year: int, term: int) -> None:
    """One more submitted attempt (eight estimates) in a class's assignment of ``year``/``term``."""
    moment = term_moment(year, term)
    finished = (moment + timedelta(days=3)).isoformat()
    with engine.begin() as c:  # type: ignore[attr-defined]
        assignment, student = c.execute(
            text(
                "SELECT a.assignment_id, a.student_id FROM attempt a WHERE a.finished_at >= :start "
                "AND a.finished_at < :end ORDER BY a.id LIMIT 1"
            ),
            {
                "start": term_moment(year, term) - timedelta(days=1),
                "end": term_moment(year, term) + timedelta(1),
            },
        ).one()
        attempt = c.execute(
            text(
                "INSERT INTO attempt (assignment_id, student_id, attempt_no, status, cat_state, finished_at, "
                "position) VALUES (:g, :s, (SELECT max(attempt_no) + 1 FROM attempt WHERE assignment_id = :g "
                "AND student_id = :s), 'submitted', '{}', :f, 24) RETURNING id"
            ),
            {"g": assignment, "s": student, "f": finished},
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO skill_estimate (student_id, attempt_id, skill, theta, se, scale_score, band, "
                "guessing, n_items, created_at) VALUES (:s, :a, :k, 0.5, 0.4, 550, 3, false, 3, :f)"
            ),
            [{"s": student, "a": attempt, "k": skill, "f": finished} for skill in SKILLS],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("GIGA_BENCH_POSTGRES_URL", ADMIN_URL))
    parser.add_argument("--students", type=int, default=14_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    from sqlmodel import Session

    from lms.board.releases import make_release
    from lms.board.service import refresh_aggregates
    from lms.board.term_cache import refresh_changed_terms
    from lms.core.db import dispose_engine, make_engine, normalise_url
    from lms.migrations import upgrade

    admin_url = normalise_url(args.postgres_url)
    name = f"giga_bench_board_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        data = generate(engine, args.students, args.years)
        print(
            f"data: {data['users']:,} students over {args.years} years, {data['classes']:,} classes, "
            f"{data['attempts']:,} attempts, {data['estimates']:,} skill estimates "
            f"(COPYed in {time.perf_counter() - started:.1f} s); 2 shared cores, compare within a round"
        )
        year = data["last_year"] - 2
        with Session(engine) as session:  # the fingerprints of the first state (as after the last refresh)
            refresh_changed_terms(session=session)
            session.commit()
        rows: list[tuple[float, float, float, float]] = []
        for round_no in range(args.rounds):
            term = 1 + round_no % 3
            load = f"{os.getloadavg()[0]:.1f}"
            with Session(engine) as session:
                started = time.perf_counter()
                full = refresh_aggregates(session=session)
                session.commit()
                scratch = time.perf_counter() - started
            late_answer(engine, year, term)
            with Session(engine) as session:
                started = time.perf_counter()
                report = refresh_changed_terms(session=session)
                session.commit()
                incremental = time.perf_counter() - started
            with Session(engine) as session:
                started = time.perf_counter()
                release = make_release(session=session, actor=None, school_year=year, term=term)
                session.commit()
                released = time.perf_counter() - started
                number, audit_s, pupils = release.number, release.audit["seconds"], release.pupils_rounded
            with Session(engine) as session:
                started = time.perf_counter()
                unchanged = refresh_changed_terms(session=session)
                session.commit()
                nothing = time.perf_counter() - started
            rows.append((scratch, incremental, released, nothing))
            print(
                f"round {round_no + 1} (late answer in {year}/{term}, load {load}): "
                f"from scratch {scratch:6.1f} s ({full.tables} tables, {full.estimates:,} estimates); "
                f"incremental {incremental:5.2f} s ({report.summary()}); release no. {number} "
                f"{released:5.2f} s (audit {audit_s} s, {pupils:,} pupils); "
                f"refresh + release {incremental + released:5.2f} s = "
                f"{(incremental + released) / scratch:5.3f} of from scratch; "
                f"nothing changed {nothing:4.2f} s "
                f"({len(unchanged.reused)} terms reused)"
            )
        if len(rows) > 1:
            med = [statistics.median(r[i] for r in rows) for i in range(4)]
            print(
                f"median of {len(rows)} rounds: from scratch {med[0]:.1f} s, "
                f"incremental refresh {med[1]:.2f} s, "
                f"release {med[2]:.2f} s, refresh + release / from scratch {(med[1] + med[2]) / med[0]:.3f}"
            )
        engine.dispose()
    finally:
        dispose_engine(url)
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        print(f"dropped {name}")


if __name__ == "__main__":
    main()
