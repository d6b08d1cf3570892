"""Roster import of a generated city (35 schools, ~22,000 users) against the raw load of the same rows.

Usage: ``.venv/bin/python benchmarks/bench_roster_import.py [--database-url ADMIN_URL] [--classes-per-grade N]
[--sizes N,N,…] [--repeats R] [--before DIR]``

Each measurement runs in a fresh child process on a fresh database, so its peak resident memory
(``ru_maxrss``) is its own. Printed per measurement: median and range of the wall time over ``--repeats``
runs, peak RSS, the child's CPU time (on a loaded machine a steadier measure than wall time; on PostgreSQL
it leaves out the server's work), and the ratio to the baseline measured in the same run:

- baseline: the raw load of the same CSV rows into the same tables (``csv`` + one executemany INSERT per
  table on SQLite, ``COPY`` on PostgreSQL; foreign keys looked up in dictionaries; no validation);
- import: ``giga roster import``'s code (validate + apply), all rows created;
- re-import: the same bundle again (all unchanged: the idempotent path);
- import + unused 200 MB entry: the zip carries an extra CSV the import does not use (memory must not grow);
- import, traced: the same import under ``tracemalloc`` (its peak of Python allocations; the time is not
  comparable, tracing slows it);
- ``--sizes 1,2,5``: cities of 1, 2 and 5 classes per grade (~4,400, ~8,900 and ~22,000 users), each with
  the kinds above; the closing lines give the growth of the peaks per added user between the smallest and
  the largest city (the two-pass import keeps only sourcedIds and a few columns per row: see docs/roster.md);
- ``--before DIR``: the same import with the ``lms`` package found in DIR (e.g. ``git archive main lms | tar
  -x -C DIR``), runs alternating with the current code, for a before/after table.

``--database-url`` is a PostgreSQL server URL with rights to create databases (each run gets its own
database, dropped afterwards); without it, SQLite files in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ELEMENTARY = ("P1", "P2", "P3", "P4", "P5", "P6")
JUNIOR = ("J1", "J2", "J3")


# --- the city -----------------------------------------------------------------------------------------------


def generate_city(target: Path, classes_per_grade: int, elementary: int = 24, junior: int = 11) -> int:
    """A OneRoster bundle of ``elementary + junior`` schools (folder); returns the number of users."""
    import lms.demo.generate as generate

    schools = [
        (f"e{n}", f"みどり市立第{n}小学校", f"B2229801{n:04d}0", ELEMENTARY) for n in range(1, elementary + 1)
    ] + [(f"j{n}", f"みどり市立第{n}中学校", f"C2229801{n:04d}0", JUNIOR) for n in range(1, junior + 1)]
    generate.SCHOOLS = tuple(schools)  # type: ignore[assignment]
    generate.CLASSES_PER_GRADE = classes_per_grade
    generate.DEMO_CLASS = ("e1", "P4", 1)
    bundle = generate.generate_demo_bundle(target)
    return len(bundle.rows["users"])


def zip_with_unused_entry(folder: Path, target: Path, unused_mb: int) -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.csv")):
            archive.write(path, path.name)
        if unused_mb:
            with archive.open("extra/unused_export.csv", "w") as entry:
                line = b"sourcedId,note\r\n" + b"x," + b"0" * 1000 + b"\r\n"
                for _ in range(unused_mb * 1024):
                    entry.write(line[:1024])
    return target


# --- databases ----------------------------------------------------------------------------------------------


def new_database(admin_url: str | None, tmp: Path) -> str:
    if admin_url is None:
        return f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"bench_roster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str | None, url: str) -> None:
    if admin_url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


# --- child process: one measurement -------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, url: str, bundle: str) -> None:
    from lms.core.db import make_engine
    from lms.migrations import upgrade

    upgrade(url)
    if kind == "reimport":
        _import(url, Path(bundle))
    started_rss = _peak_rss_mb()
    started_cpu = (
        time.process_time()
    )  # the child's own CPU: less disturbed than wall time by a loaded machine
    started = time.perf_counter()
    traced_mb = 0.0
    if kind == "baseline":
        raw_load(url, Path(bundle))
    elif kind == "traced":
        import tracemalloc

        tracemalloc.start()
        _import(url, Path(bundle))
        traced_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        _import(url, Path(bundle))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    engine = make_engine(url)
    with engine.connect() as connection:
        users = connection.exec_driver_sql('SELECT count(*) FROM "user"').scalar_one()
    engine.dispose()
    import lms

    print(json.dumps({"seconds": elapsed, "peak_mb": _peak_rss_mb(), "start_mb": started_rss, "users": users,
                      "traced_mb": traced_mb, "cpu_seconds": cpu,
                      "code": str(Path(lms.__file__).parent)}))  # fmt: skip


def _import(url: str, bundle: Path) -> None:
    from sqlmodel import Session

    from lms.core.db import make_engine
    from lms.roster.service import import_bundle

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        import_bundle(session=session, path=bundle)
        session.commit()
    engine.dispose()


def raw_load(url: str, bundle: Path) -> None:
    """The floor: the same rows written with no validation, one bulk statement per table."""
    import csv
    from datetime import UTC, date, datetime

    from sqlalchemy import create_engine

    engine = create_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None) if url.startswith("sqlite") else datetime.now(UTC)

    def rows(name: str) -> list[dict[str, str]]:
        if bundle.is_dir():
            text = (bundle / f"{name}.csv").read_bytes().decode("utf-8-sig")
        else:
            with zipfile.ZipFile(bundle) as archive:
                text = archive.read(f"{name}.csv").decode("utf-8-sig")
        return list(csv.DictReader(text.splitlines()))

    def day(value: str) -> date | None:
        return date.fromisoformat(value) if value else None

    plans: list[tuple[str, str, list[str], object]] = [
        ("academicSessions", "academic_session", ["sourced_id", "status", "title", "type", "start_date",
         "end_date", "school_year", "is_current", "created_at", "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", r["title"], r["type"], day(r["startDate"]),
                         day(r["endDate"]), int(r["schoolYear"]), True, now, now)),
        ("orgs", "org", ["sourced_id", "status", "name", "type", "identifier", "created_at", "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", r["name"], r["type"], r["identifier"] or None, now, now)),
        ("courses", "course", ["sourced_id", "status", "title", "course_code", "grades", "org_id",
         "school_year_id", "created_at", "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", r["title"], r["courseCode"], r["grades"],
                         ids["org"][r["orgSourcedId"]],
                         ids["academic_session"][r["schoolYearSourcedId"]], now, now)),
        ("classes", "schoolclass", ["sourced_id", "status", "title", "grades", "class_code", "class_type",
         "school_id", "course_id", "academic_session_id", "special_needs", "read_only", "created_at",
         "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", r["title"], r["grades"], r["classCode"], r["classType"],
                         ids["org"][r["schoolSourcedId"]], ids["course"][r["courseSourcedId"]],
                         ids["academic_session"][r["termSourcedIds"]], False, False, now, now)),
        ("users", "user", ["sourced_id", "status", "enabled", "username", "email", "given_name",
         "family_name", "kana_given_name", "kana_family_name", "user_master_identifier", "role",
         "primary_org_id", "grades", "home_class_id", "totp_enabled", "failed_logins", "graduated",
         "moving_on", "created_at", "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", True, r["username"], r["email"] or None, r["givenName"],
                         r["familyName"], r["metadata.jp.kanaGivenName"], r["metadata.jp.kanaFamilyName"],
                         r["userMasterIdentifier"], "student", ids["org"][r["primaryOrgSourcedId"]],
                         r["grades"] or None, ids["schoolclass"].get(r["metadata.jp.homeClass"]), False, 0,
                         False, False, now, now)),
        ("enrollments", "enrollment", ["sourced_id", "status", "class_id", "user_id", "school_id", "role",
         "primary", "begin_date", "shusseki_no", "created_at", "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", ids["schoolclass"][r["classSourcedId"]],
                         ids["user"][r["userSourcedId"]], ids["org"][r["schoolSourcedId"]], r["role"],
                         r["primary"] == "true", day(r["beginDate"]),
                         int(r["metadata.jp.ShussekiNo"] or 0) or None, now, now)),
        ("roles", "orgrole", ["sourced_id", "status", "user_id", "role_type", "role", "org_id", "created_at",
         "updated_at"],
         lambda r, ids: (r["sourcedId"], "active", ids["user"][r["userSourcedId"]], r["roleType"], r["role"],
                         ids["org"][r["orgSourcedId"]], now, now)),
    ]  # fmt: skip
    ids: dict[str, dict[str, int]] = {}
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        for stem, table, columns, make in plans:
            values = [make(r, ids) for r in rows(stem)]  # type: ignore[operator]
            quoted = ", ".join(f'"{c}"' for c in columns)
            if url.startswith("sqlite"):
                marks = ", ".join("?" for _ in columns)
                raw.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', values)  # type: ignore[union-attr]
            else:
                with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:  # type: ignore[union-attr]
                    for value in values:
                        copy.write_row(value)
            ids[table] = dict(
                (sid, row_id)
                for row_id, sid in connection.exec_driver_sql(f'SELECT id, sourced_id FROM "{table}"')
            )
    engine.dispose()


# --- parent: alternate the runs, print the table -----------------------------------------------------------


def run_child(kind: str, url: str, bundle: Path, pythonpath: str | None) -> dict[str, float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pythonpath, str(ROOT)) if p)
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, url, str(bundle)],
        capture_output=True,
        text=True,
        env=env,
        cwd=pythonpath or ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stderr[-3000:]}")
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (CREATE DATABASE rights)")
    parser.add_argument("--classes-per-grade", type=int, default=5, help="5: ~22,000 users in 35 schools")
    parser.add_argument("--sizes", default=None, help="classes per grade of each city, e.g. 1,2,5")
    parser.add_argument("--elementary", type=int, default=24)
    parser.add_argument("--junior", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unused-mb", type=int, default=200, help="size of the unused zip entry (0: skip)")
    parser.add_argument("--before", default=None, help="folder holding the old lms package, for before/after")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(size) for size in args.sizes.split(",")] if args.sizes else [args.classes_per_grade]
    peaks: dict[str, list[tuple[int, float, float]]] = {}  # code -> (users, RSS MB, traced MB) per city
    for classes_per_grade in sizes:
        for code, size_peaks in measure_city(args, classes_per_grade).items():
            peaks.setdefault(code, []).append(size_peaks)
    if len(sizes) > 1:
        print("growth of the peaks per added user, smallest to largest city (bytes per user):")
        for code, points in peaks.items():
            (users_a, rss_a, traced_a), (users_b, rss_b, traced_b) = points[0], points[-1]
            per_user = 2**20 / (users_b - users_a)
            print(
                f"  {code:8} RSS {(rss_b - rss_a) * per_user:7,.0f}"
                f"   traced {(traced_b - traced_a) * per_user:7,.0f}"
                f"   ({users_a:,} → {users_b:,} users; traced peak {traced_a:.0f} → {traced_b:.0f} MB)"
            )


def measure_city(args: argparse.Namespace, classes_per_grade: int) -> dict[str, tuple[int, float, float]]:
    """Every kind on one city, alternating; prints its table and returns (users, RSS MB, traced MB) of the
    import for the current code and, with --before, the old one."""
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as tmp_name:
        tmp = Path(tmp_name)
        users = generate_city(tmp / "city", classes_per_grade, args.elementary, args.junior)
        plain_zip = zip_with_unused_entry(tmp / "city", tmp / "city.zip", 0)
        big_zip = zip_with_unused_entry(tmp / "city", tmp / "city-unused.zip", args.unused_mb)
        kinds: list[tuple[str, str, Path, str | None]] = [
            ("baseline: raw bulk load (no validation)", "baseline", plain_zip, None),
            ("import (all created)", "import", plain_zip, None),
            ("re-import (all unchanged)", "reimport", plain_zip, None),
            ("import, traced", "traced", plain_zip, None),
        ]
        if args.unused_mb:
            kinds.append((f"import, zip + unused {args.unused_mb} MB entry", "import", big_zip, None))
        if args.before:
            kinds.append(("BEFORE: import (all created)", "import", plain_zip, args.before))
            kinds.append(("BEFORE: import, traced", "traced", plain_zip, args.before))
            if args.unused_mb:
                kinds.append(
                    (f"BEFORE: import, zip + unused {args.unused_mb} MB", "import", big_zip, args.before)
                )
        results: dict[str, list[dict[str, float]]] = {label: [] for label, *_ in kinds}
        load_before = os.getloadavg()[0]
        for _ in range(args.repeats):  # alternate: every kind once per round
            for label, kind, bundle, before in kinds:
                url = new_database(args.database_url, tmp)
                try:
                    results[label].append(run_child(kind, url, bundle, before))
                finally:
                    drop_database(args.database_url, url)
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(f"database: {backend}; city: {args.elementary + args.junior} schools, {users:,} users; "
              f"zip {plain_zip.stat().st_size / 1e6:.1f} MB; load average {load_before:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores; {args.repeats} runs each, "
              "alternating")  # fmt: skip
        floor = statistics.median(r["seconds"] for r in results[kinds[0][0]])
        print(
            f"{'':44} {'median s':>9} {'range s':>15} {'× baseline':>10} {'peak RSS MB':>12}"
            f" {'traced MB':>10} {'CPU s':>6}"
        )
        for label, runs in results.items():
            times = [r["seconds"] for r in runs]
            peaks = [r["peak_mb"] for r in runs]
            traced = statistics.median(r.get("traced_mb", 0.0) for r in runs)
            cpu = statistics.median(r.get("cpu_seconds", 0.0) for r in runs)
            print(
                f"{label:44} {statistics.median(times):9.2f} {min(times):7.2f}–{max(times):<7.2f} "
                f"{statistics.median(times) / floor:10.1f} {statistics.median(peaks):12.0f} "
                + (f"{traced:10.1f}" if traced else f"{'':10}")
                + f" {cpu:6.2f}"
            )
            assert all(r["users"] == runs[0]["users"] for r in runs)
        if args.before:
            pairs = [("import (all created)", "BEFORE: import (all created)")]
            if args.unused_mb:
                pairs.append(
                    (
                        f"import, zip + unused {args.unused_mb} MB entry",
                        f"BEFORE: import, zip + unused {args.unused_mb} MB",
                    )
                )
            for after, before in pairs:
                # per round: the two ran minutes apart under the same load
                ratios = [
                    a["seconds"] / b["seconds"] for a, b in zip(results[after], results[before], strict=True)
                ]
                memory = [
                    a["peak_mb"] / b["peak_mb"] for a, b in zip(results[after], results[before], strict=True)
                ]
                cpu_ratios = [
                    a["cpu_seconds"] / b["cpu_seconds"]
                    for a, b in zip(results[after], results[before], strict=True)
                ]
                print(
                    f"after / before, {after}: time {statistics.median(ratios):.2f} "
                    f"(rounds {min(ratios):.2f}–{max(ratios):.2f}), CPU {statistics.median(cpu_ratios):.2f} "
                    f"(rounds {min(cpu_ratios):.2f}–{max(cpu_ratios):.2f}), "
                    f"peak RSS {statistics.median(memory):.2f}"
                )
        for label, runs in results.items():
            if label.startswith("BEFORE"):
                print(f"{label}: code from {runs[0]['code']}")
        print()

        def point(import_label: str, traced_label: str) -> tuple[int, float, float]:
            rss = statistics.median(r["peak_mb"] for r in results[import_label])
            return users, rss, statistics.median(r["traced_mb"] for r in results[traced_label])

        points = {"current": point("import (all created)", "import, traced")}
        if args.before:
            points["before"] = point("BEFORE: import (all created)", "BEFORE: import, traced")
        return points


if __name__ == "__main__":
    main()
