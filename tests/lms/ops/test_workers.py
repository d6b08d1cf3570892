"""Several workers on one database: nothing depends on a process's memory that another process changes.

- login throttling counts failures across two app instances;
- an item promotion made by one process reaches another (a real second process);
- two recalibrations never run at once, and two board refreshes at once do not duplicate figures.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from lms.core.db import utc_now
from tests.lms.conftest import PASSWORD, csrf_of
from tests.lms.ops.seeding import seed


def _login(client: TestClient, username: str, password: str) -> int:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return int(response.status_code)


def test_login_throttling_counts_failures_across_two_workers(settings: Any, world: Any) -> None:
    from lms.main import create_app

    assert settings.login_max_failures == 5
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        for client in (first, second, first, second):
            assert _login(client, "t-a1", "wrong password") == 401  # the form again, with a message
        assert _login(first, "t-a1", PASSWORD) == 303  # 4 failures: not locked yet (and that resets)
        for client in (second, first, second, first, second):
            _login(client, "t-a1", "wrong password")
        assert _login(first, "t-a1", PASSWORD) == 429  # 5 failures spread over both workers
        assert _login(second, "t-a1", PASSWORD) == 429


SECOND_WORKER = """
import sys, time
from lms.reading import delivery as dl
from lms.core.settings import get_settings
from lms.core.db import engine_for
from lms.ops.bank_sync import BankSync

item_id = sys.argv[1]
sync = BankSync(engine_for(get_settings()), 0.2)
sync.start()
print("ready", dl.item_bank()[item_id].status, flush=True)
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    item = dl.item_bank()[item_id]
    if item.status == "operational":
        print("promoted", item.irt.a, item.irt.b, flush=True)
        break
    time.sleep(0.05)
else:
    print("never saw the promotion", flush=True)
sync.stop()
"""


def test_a_promotion_made_by_one_worker_reaches_another_process(
    settings: Any, world: Any, engine: Engine
) -> None:
    from lms.reading.calibration.models import ItemCalibration
    from lms.reading.calibration.service import promote

    item_id = "DEP-001"  # a pilot item of the shipped bank
    worker = subprocess.Popen(
        [sys.executable, "-c", SECOND_WORKER, item_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().split() == ["ready", "pilot"]
        with Session(engine, expire_on_commit=False) as session:
            row = ItemCalibration(
                item_id=item_id,
                model="3pl",
                a=1.4321,
                b=-0.5678,
                c=0.2,
                n=800,
                anchored=True,
                status="candidate",
            )
            session.add(row)
            session.flush()
            # this process is "the first worker"; its own bank is not what the test is about
            promote(session=session, calibration=row, actor=None, now=utc_now(), refresh=False)
            session.commit()
        line = worker.stdout.readline().split()
        assert line == ["promoted", "1.4321", "-0.5678"], line
    finally:
        worker.kill()
        worker.wait(30)


def test_two_recalibrations_never_run_at_once(settings: Any, engine: Engine) -> None:
    from lms.cli import app
    from lms.ops.locks import LockBusy, job_lock

    runner = CliRunner()
    with job_lock(engine, "calibration"):
        with pytest.raises(LockBusy), job_lock(engine, "calibration"):
            pass
        refused = runner.invoke(app, ["irt", "recalibrate"])
        assert refused.exit_code == 2, refused.output
        assert "already running 'calibration'" in refused.output and "Traceback" not in refused.output
    with job_lock(engine, "calibration"):  # given back: the next one gets it
        pass
    done = runner.invoke(app, ["irt", "recalibrate"])
    assert done.exit_code == 0, done.output


@pytest.mark.sqlite_only  # PostgreSQL ends a crashed holder's advisory lock with its connection
def test_a_crashed_holders_lease_runs_out_on_sqlite(settings: Any, engine: Engine) -> None:
    from lms.ops.locks import LockBusy, job_lock
    from lms.ops.models import OpsLock

    with engine.begin() as connection:  # a holder that died two hours into a one-hour lease
        connection.execute(
            OpsLock.__table__.insert().values(  # type: ignore[attr-defined]
                name="calibration", holder="dead", locked_until=utc_now() + timedelta(minutes=5)
            )
        )
    with pytest.raises(LockBusy, match="lease runs until"), job_lock(engine, "calibration"):
        pass
    with engine.begin() as connection:
        connection.execute(update(OpsLock).values(locked_until=utc_now() - timedelta(minutes=1)))
    with job_lock(engine, "calibration"):
        pass


def test_two_board_refreshes_at_once_do_not_duplicate_figures(
    engine: Engine, db_session: Session, world: Any
) -> None:
    from lms.board.models import BoardCell, BoardFigure
    from lms.board.service import refresh_aggregates

    seed(db_session, world)
    db_session.close()
    first = Session(engine, expire_on_commit=False)
    report = refresh_aggregates(session=first)  # holds the refresh lock until it commits
    assert report.cells > 0 and report.figures > 0
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            with Session(engine, expire_on_commit=False) as second:
                refresh_aggregates(session=second)
                second.commit()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=second_worker)
    thread.start()
    time.sleep(0.5)  # let the second refresh reach the lock (without the lock it would insert now)
    first.commit()
    first.close()
    thread.join(60)
    assert not errors, errors
    with Session(engine) as session:
        cells = session.exec(select(func.count()).select_from(BoardCell)).one()
        figures = session.exec(select(func.count()).select_from(BoardFigure)).one()
    assert (cells, figures) == (report.cells, report.figures)


@pytest.mark.db
def test_simultaneous_failures_in_several_workers_are_all_counted(settings: Any, engine: Engine) -> None:
    """Eight workers failing the same new account name at once: one row, no error, the lock-out started and
    the counter saturated (five failures counted, three refused: issue 15's atomic lock-out)."""
    from lms.auth import throttle
    from lms.auth.models import LoginThrottle

    workers, start = 8, threading.Barrier(8)
    errors: list[BaseException] = []

    def fail_once(index: int) -> None:
        try:
            with Session(engine) as session:
                start.wait()
                throttle.register_failure(
                    session=session,
                    settings=settings,
                    username="Race-Name",
                    ip=f"10.0.0.{index}",
                    now=utc_now(),
                )
                session.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=fail_once, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with Session(engine) as session:
        rows = session.exec(select(LoginThrottle).where(LoginThrottle.key == "account:race-name")).all()
    assert len(rows) == 1
    assert rows[0].locked_until is not None
    assert rows[0].failures == settings.login_max_failures + 1
