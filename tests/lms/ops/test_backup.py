"""`giga backup` / `giga restore`: a round trip loses nothing (SQLite and, with GIGA_TEST_DATABASE_URL,
PostgreSQL), a backup taken while the server writes is consistent, and restore refuses what it must.

The comparison is independent of the code under test: every table is reflected from the database and read
in primary-key order; its row count and a SHA-256 of its rows must be identical after the restore.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session
from typer.testing import CliRunner

from lms.cli import app as giga
from lms.core.settings import get_settings
from tests.lms.ops.seeding import seed
from tests.support import missing

runner = CliRunner()


def fingerprints(engine: Engine) -> dict[str, tuple[int, str]]:
    """(row count, sha256 of the rows in primary-key order) of every table."""
    metadata = MetaData()
    metadata.reflect(engine)
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as connection:
        for name, table in sorted(metadata.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            digest = hashlib.sha256()
            count = 0
            for row in connection.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
                count += 1
            out[name] = (count, digest.hexdigest())
    return out


def change_everything(session: Session, world: Any, attempt_ids: dict[str, int]) -> None:
    """What a bad day does after the backup: edits, deletions, new rows."""
    from lms.audit.service import record_event
    from lms.reading.models import Response
    from lms.roster.models import User

    user = session.get(User, world.users["s-a1"].id)
    assert user is not None
    user.given_name = "書き換え"
    session.add(user)
    session.execute(text("DELETE FROM response WHERE attempt_id = :a"), {"a": attempt_ids["s-a1"]})
    session.add(
        Response(
            attempt_id=attempt_ids["s-a1b"],
            item_id="INF-009",
            position=9,
            answer=["a"],
            correct=True,
            client_event_id="ev-after-the-backup",
        )
    )
    record_event(session=session, actor_id=None, action="after.backup", target_type="test")
    session.commit()


def _invoke(args: list[str], backup_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GIGA_BACKUP_DIR", str(backup_dir))
    get_settings.cache_clear()
    try:
        return runner.invoke(giga, args)
    finally:
        get_settings.cache_clear()


def _need_pg_tools(database_url: str) -> None:
    if database_url.startswith("postgresql") and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        missing("pg_dump/pg_restore are not installed (apt install postgresql-client)")


def test_round_trip_restores_every_table_exactly(
    engine: Engine, db_session: Session, world: Any, database_url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _need_pg_tools(database_url)
    attempt_ids = seed(db_session, world)
    db_session.close()
    before = fingerprints(engine)
    assert before["response"][0] == 6 and before["audit_event"][0] >= 2 and before["user"][0] == 9

    made = _invoke(["backup"], tmp_path / "backups", monkeypatch)
    assert made.exit_code == 0, made.output
    backups = sorted((tmp_path / "backups").iterdir())
    assert len(backups) == 1 and backups[0].name.startswith("giga-")

    with Session(engine, expire_on_commit=False) as session:
        change_everything(session, world, attempt_ids)
    changed = fingerprints(engine)
    for table in ("user", "response", "audit_event"):
        assert changed[table] != before[table], table

    restored = _invoke(["restore", str(backups[0]), "--yes"], tmp_path / "backups", monkeypatch)
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output and "pre-restore" in restored.output
    after = fingerprints(engine)
    assert after == before
    # the pre-restore safety copy holds the changed data
    safety = [p for p in (tmp_path / "backups").iterdir() if "pre-restore" in p.name]
    assert len(safety) == 1


@pytest.mark.sqlite_only
def test_restore_refuses_without_confirmation_and_a_newer_schema(
    settings: Any, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _invoke(["backup", "--output", str(tmp_path / "b")], tmp_path / "unused", monkeypatch)
    assert made.exit_code == 0, made.output
    backup = next((tmp_path / "b").iterdir())

    unconfirmed = _invoke(["restore", str(backup)], tmp_path / "unused", monkeypatch)
    assert unconfirmed.exit_code == 2 and "--yes" in unconfirmed.output

    future = tmp_path / "future.sqlite3"
    shutil.copyfile(backup, future)
    with sqlite3.connect(future) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    refused = _invoke(["restore", str(future), "--yes"], tmp_path / "unused", monkeypatch)
    assert refused.exit_code == 2
    assert "0999_from_the_future" in refused.output and "newer" in refused.output
    assert "Traceback" not in refused.output

    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a backup")
    refused = _invoke(["restore", str(garbage), "--yes"], tmp_path / "unused", monkeypatch)
    assert refused.exit_code == 2 and "neither" in refused.output


def test_restoring_an_older_backup_migrates_it_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lms.migrations import current_revisions, head_revisions, upgrade
    from lms.ops.backup import create_backup, restore_backup

    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(old_url, "0006_support")
    backup = create_backup(old_url, backup_dir=tmp_path / "b")
    target_url = f"sqlite:///{tmp_path / 'current.db'}"
    upgrade(target_url)
    report = restore_backup(target_url, backup)
    from lms.core.db import engine_for_url

    assert report.backup_revisions == {"0006_support"}
    assert current_revisions(engine_for_url(target_url)) == head_revisions()
    assert "notebook_grade" in fingerprints(engine_for_url(target_url))  # created by the later migration


def test_keep_and_prune_delete_only_the_oldest_backups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms.ops.backup import backup_name, list_backups, prune_backups

    folder = tmp_path / "b"
    folder.mkdir()
    start = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)
    names = [backup_name("sqlite", start + timedelta(days=d)) for d in (3, 0, 2, 1)]
    for name in names:
        (folder / name).write_bytes(b"x")
    (folder / "README.txt").write_text("not a backup")
    assert [p.name for p in list_backups(folder)] == sorted(names)
    deleted = prune_backups(folder, 2)
    assert sorted(p.name for p in deleted) == sorted(names)[:2]
    assert {p.name for p in folder.iterdir()} == set(sorted(names)[2:]) | {"README.txt"}
    result = _invoke(["backup", "prune", "--keep", "0", "--dir", str(folder)], folder, monkeypatch)
    assert result.exit_code == 0 and {p.name for p in folder.iterdir()} == {"README.txt"}


@pytest.mark.sqlite_only
def test_a_backup_taken_while_the_server_writes_is_consistent(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A writer commits batches of 40 audit events; every backup holds whole batches only and passes
    SQLite's integrity check, and the writer kept committing while the backups were taken."""
    from lms.ops.backup import create_backup

    batch, stop, committed = 40, threading.Event(), [0]
    first_commit = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with engine.begin() as connection:
                for k in range(batch):
                    connection.execute(
                        text(
                            "INSERT INTO audit_event (at, action, target_type, target_id, detail) "
                            "VALUES (:at, 'load.write', 'batch', :b, :d)"
                        ),
                        {"at": datetime.now(UTC).replace(tzinfo=None), "b": str(n), "d": f'{{"k": {k}}}'},
                    )
            committed[0] = n
            first_commit.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert first_commit.wait(30)
        backups = [create_backup(database_url, backup_dir=tmp_path / "b", label=f"run-{i}") for i in "abc"]
    finally:
        stop.set()
        thread.join(30)
    seen = []
    for path in backups:
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            sizes = connection.execute(
                "SELECT target_id, count(*) FROM audit_event WHERE action = 'load.write' GROUP BY target_id"
            ).fetchall()
        assert sizes and all(count == batch for _batch, count in sizes), sizes
        seen.append(len(sizes))
    assert committed[0] > seen[0] >= 1  # the writer went on committing after the first backup was taken


@pytest.mark.postgresql_only
def test_backup_of_postgresql_needs_a_new_enough_pg_dump(
    settings: Any, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing pg_dump, or one older than the server, is one sentence and exit 2 (a fake pg_dump 9)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "pg_dump"
    script.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    script.chmod(0o755)
    monkeypatch.setenv("GIGA_PG_BIN_DIR", str(fake))
    old = _invoke(["backup"], tmp_path / "b", monkeypatch)
    assert old.exit_code == 2 and "version 9" in old.output and "GIGA_PG_BIN_DIR" in old.output
    monkeypatch.setenv("GIGA_PG_BIN_DIR", str(tmp_path / "nowhere"))
    absent = _invoke(["backup"], tmp_path / "b", monkeypatch)
    assert absent.exit_code == 2 and "not found" in absent.output
    assert not list(tmp_path.glob("b/giga-*"))  # no half-written file left behind


def test_libpq_target_keeps_the_password_off_the_command_line() -> None:
    from lms.ops.backup import libpq_target

    dbname, env = libpq_target("postgresql+psycopg://giga:s3cr%40t@db.example.jp:5433/giga?sslmode=require")
    assert "s3cr" not in dbname and env["PGPASSWORD"] == "s3cr@t"
    assert make_url(dbname).host == "db.example.jp" and "sslmode=require" in dbname
