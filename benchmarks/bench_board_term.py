"""One term's board rebuild (what the incremental refresh does after a late answer): before vs after issue
22's vectorisation, alternating in one run, with the bare read of the term's rows as the floor.

Usage: ``.venv/bin/python benchmarks/bench_board_term.py [--postgres-url URL] [--students N] [--years Y]
[--rounds R] [--before REV]`` (defaults: 14,000 students, 5 years, 3 rounds; ``--before`` the commit whose
`lms/board/service.py` and `lms/board/aggregates.py` are the former code, default 5917519).  A database
``giga_bench_board_<random>`` is created, filled by ``bench_board.generate`` (COPY), measured and dropped.

Per round, the order alternating: ``before`` = the former ``refresh_aggregates(period=…)`` (loaded from
``--before`` with git, its own aggregates module: group-by-group conditioning, ORM bulk inserts);
``after`` = today's; each rebuilds a closed term two years back and commits.  Baseline: a bare ``SELECT``
of the same term's estimate rows (joined as the rebuild reads them, fetched, no work).  Prints seconds per
round and this process's CPU seconds (the steadier figure on shared cores), medians, ratios and the load
average.  Numbers only, no assertions.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_board import ADMIN_URL, generate

ROOT = Path(__file__).resolve().parent.parent


def module_at(rev: str, path: str, name: str, folder: Path) -> ModuleType:
    """``path`` as it was at ``rev``, imported under ``name``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True, check=True
    ).stdout
    file = folder / f"{name}.py"
    file.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def former_service(rev: str, folder: Path) -> ModuleType:
    """The former service module, wired to the former aggregates module (names it imported by value)."""
    aggregates = module_at(rev, "lms/board/aggregates.py", "board_aggregates_before", folder)
    service = module_at(rev, "lms/board/service.py", "board_service_before", folder)
    for name in ("cell_sums", "condition_on_group", "plausible_values", "standard_normal_draws", "merge"):
        if hasattr(service, name) and hasattr(aggregates, name):
            setattr(service, name, getattr(aggregates, name))
    return service


def bare_read(engine: Any, year: int, term: int) -> float:
    from lms.core.jst import term_bounds

    start, end = term_bounds(year, term)
    started = time.perf_counter()
    with engine.connect() as c:
        c.execute(
            text(
                "SELECT e.student_id, e.skill, e.theta, e.se, e.guessing, a.finished_at, k.id, k.school_id,"
                " k.grades FROM skill_estimate e JOIN attempt a ON a.id = e.attempt_id"
                " JOIN assignment g ON g.id = a.assignment_id JOIN schoolclass k ON k.id = g.class_id"
                " WHERE a.status = 'submitted' AND a.finished_at >= :start AND a.finished_at < :end"
                " ORDER BY a.finished_at, e.id"
            ),
            {"start": start, "end": end},
        ).fetchall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("GIGA_BENCH_POSTGRES_URL", ADMIN_URL))
    parser.add_argument("--students", type=int, default=14_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default="5917519")
    args = parser.parse_args()

    from sqlmodel import Session

    from lms.board import service as after_service
    from lms.core.db import make_engine, normalise_url
    from lms.migrations import upgrade

    admin_url = normalise_url(args.postgres_url)
    name = f"giga_bench_board_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            before_service = former_service(args.before, Path(folder))
            upgrade(url)
            engine = make_engine(url)
            data = generate(engine, args.students, args.years)
            year = data["last_year"] - min(2, args.years - 1)
            print(
                f"data: {data['users']:,} students over {args.years} years, {data['estimates']:,} skill "
                f"estimates; one term ({year}, term 1..3 by round) rebuilt; 2 shared cores"
            )
            variants = {"before": before_service, "after": after_service}
            with Session(engine) as session:  # warm-up (bank, caches, the term's pages in PostgreSQL)
                after_service.refresh_aggregates(session=session, period=(year, 1))
                session.commit()
            times: dict[str, list[float]] = {"before": [], "after": [], "bare read": []}
            cpus: dict[str, list[float]] = {"before": [], "after": []}  # this process (PostgreSQL apart)
            loads = [os.getloadavg()[0]]
            for round_no in range(args.rounds):
                period = (year, 1 + round_no % 3)
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                line = []
                for variant in order:
                    with Session(engine) as session:
                        started, cpu = time.perf_counter(), time.process_time()
                        report = variants[variant].refresh_aggregates(session=session, period=period)
                        session.commit()
                        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                    times[variant].append(elapsed)
                    cpus[variant].append(cpu)
                    line.append(f"{variant} {elapsed:6.2f} s (CPU {cpu:5.2f} s)")
                times["bare read"].append(bare_read(engine, *period))
                print(
                    f"round {round_no + 1} {period} (load {os.getloadavg()[0]:.1f}): {', '.join(line)}, "
                    f"bare read {times['bare read'][-1]:5.2f} s; {report.summary()}"
                )
            loads.append(os.getloadavg()[0])
            engine.dispose()
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    base = statistics.median(times["bare read"])
    for variant, values in times.items():
        mid = statistics.median(values)
        print(
            f"  {variant:>9}: median {mid:6.2f} s (range {min(values):5.2f}–{max(values):5.2f}), "
            f"{mid / base:5.1f}× the bare read"
        )
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    cpu_before, cpu_after = statistics.median(cpus["before"]), statistics.median(cpus["after"])
    print(
        f"  before/after {before / after:4.1f}× wall, {cpu_before / cpu_after:4.1f}× CPU of this process "
        f"(medians {cpu_before:.2f} / {cpu_after:.2f} s); "
        f"load average (1 min) at start {loads[0]:.1f}, end {loads[1]:.1f}"
    )


if __name__ == "__main__":
    main()
