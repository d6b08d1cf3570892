"""Time to import the demo city's OneRoster bundle, and to re-import it unchanged (idempotent path).

Usage: ``.venv/bin/python benchmarks/bench_roster_import.py [--database-url URL] [--scale N]``
Default: a fresh SQLite file in a temporary folder. ``--scale`` imports N copies of the city's students
(the bundle generator runs with more classes per grade) to see how the import grows toward a real city.
Peer for comparison: writing the same rows with plain ``csv`` parsing only (the floor: no validation, no DB).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, func, select

import lms.demo.generate as generate
from lms.core.db import make_engine
from lms.migrations import upgrade
from lms.roster.models import User
from lms.roster.oneroster import decode, parse_bundle
from lms.roster.service import import_bundle


def timed_import(url: str, bundle: Path) -> tuple[float, int]:
    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        report = import_bundle(session=session, path=bundle)
        session.commit()
        users = session.exec(select(func.count()).select_from(User)).one()
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert report is not None
    return elapsed, users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (it is migrated and filled)")
    parser.add_argument("--scale", type=int, default=1, help="classes per grade = 2 × scale")
    args = parser.parse_args()
    generate.CLASSES_PER_GRADE = 2 * args.scale
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        started = time.perf_counter()
        bundle = generate.generate_demo_bundle(Path(tmp) / "bundle")
        generated = time.perf_counter() - started
        rows = sum(len(r) for r in bundle.rows.values())

        started = time.perf_counter()
        for path in bundle.path.glob("*.csv"):
            list(csv.reader((decode(path.read_bytes()) or "").splitlines()))
        csv_floor = time.perf_counter() - started
        started = time.perf_counter()
        parse_bundle(bundle.path)
        validate = time.perf_counter() - started

        first, users = timed_import(url, bundle.path)
        second, users_again = timed_import(url, bundle.path)
        assert users == users_again, "re-import must not duplicate"
        print(f"database: {url.split('@')[-1]}")
        print(f"bundle: {rows} rows ({users} users), generated in {generated:.2f} s")
        print(f"csv read only (floor):       {csv_floor * 1000:8.1f} ms")
        print(
            f"parse + validate:            {validate * 1000:8.1f} ms  ({validate / csv_floor:.1f}× the floor)"
        )
        print(f"first import (all created):  {first * 1000:8.1f} ms  ({rows / first:,.0f} rows/s)")
        print(f"re-import (all unchanged):   {second * 1000:8.1f} ms  ({rows / second:,.0f} rows/s)")


if __name__ == "__main__":
    main()
