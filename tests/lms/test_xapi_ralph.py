"""The outbox sender against a real learning record store: ralph (``ralph-malph`` from PyPI, fs backend).

Ralph pins an older FastAPI than the LMS, so it lives in its own virtual environment: ``make ralph``
(or ``python -m venv var/ralph-venv && var/ralph-venv/bin/pip install 'ralph-malph[backend-fs,cli,lrs]'
requests``).  The test starts ``uvicorn ralph.api:app`` on 127.0.0.1 with a throw-away auth file and data
directory, lets ``giga xapi send --once`` deliver statements built by ``lms.reading.xapi``, reads them
back from the LRS and checks them with the strict profile validator.  Without that environment the test
fails and says how to make it (tests/support.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from lms.core.settings import project_root
from lms.reading.models import XapiOutbox
from lms.xapi_sender.validate import statement_problems
from tests.support import missing

RALPH_PYTHON = Path(os.environ.get("GIGA_TEST_RALPH_PYTHON", project_root() / "var/ralph-venv/bin/python"))
PASSWORD = "lrs-test-password"
# Ralph 5.1's fs backend stores the first write to a target and refuses later ones ("already exists and
# overwrite is not allowed"), so each test writes to its own target and sends what it must store in one
# batch.  Multi-batch sending, retries and backoff are covered with the fake LRS (test_xapi_sender.py).
USERS = {"giga": "main", "giga-iso": "isolation"}
USER = "giga"
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class Ralph:
    url: str

    def statements(self, user: str = USER) -> list[dict[str, Any]]:
        response = httpx.get(
            self.url + "statements?limit=100",
            auth=(user, PASSWORD),
            headers={"X-Experience-API-Version": "1.0.3"},
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["statements"]
        return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    if not RALPH_PYTHON.exists():
        message = f"ralph LRS not installed at {RALPH_PYTHON} (run `make ralph`)"
        missing(message)
    home = tmp_path_factory.mktemp("ralph")
    (home / "data").mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "RALPH_APP_DIR": str(home),
        "RALPH_AUTH_FILE": str(home / "auth.json"),
        "RALPH_RUNSERVER_BACKEND": "fs",
        "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(home / "data"),
    }
    ralph_cli = RALPH_PYTHON.parent / "ralph"
    for user, target in USERS.items():  # one target (a folder of the fs backend) per test, see below
        subprocess.run(
            [str(ralph_cli), "auth", "-u", user, "-p", PASSWORD, "-s", "all", "-t", target,
             "-A", f"giga-{target}", "https://giga.example.jp", "-w"],
            env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    for target in USERS.values():
        (home / "data" / target).mkdir()
    port = _free_port()
    log = (home / "server.log").open("w")
    process = subprocess.Popen(
        [str(RALPH_PYTHON), "-m", "uvicorn", "ralph.api:app", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/__heartbeat__", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("ralph did not start:\n" + (home / "server.log").read_text()[-2000:])
            time.sleep(0.2)
        yield Ralph(f"http://127.0.0.1:{port}/xAPI/")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _statements() -> list[dict[str, Any]]:
    from lms.reading import xapi

    ctx = xapi.XapiContext(home_page="https://giga.example.jp", secret_key="k" * 32)
    common: dict[str, Any] = {"student_id": 7, "attempt_id": 31, "assessment_id": 4, "grade": "P5"}
    out = [xapi.attempted(ctx, title="読解力テスト", at=T0, **common)]
    for position, (item, answer, correct) in enumerate(
        [("ANA-001", ["B"], True), ("INF-002", ["A"], False), ("DEP-003", ["C"], True)], start=1
    ):
        out.append(
            xapi.answered(
                ctx,
                item_id=item,
                option_ids=["A", "B", "C", "D"],
                key=["B"] if item == "ANA-001" else ["C"],
                answer=answer,
                correct=correct,
                position=position,
                difficulty=-0.3,
                response_time_ms=8400,
                at=T0 + timedelta(seconds=10 * position),
                **common,
            )
        )
    out.append(
        xapi.completed(
            ctx,
            title="読解力テスト",
            n_correct=2,
            n_items=3,
            scale_score=512,
            duration_ms=40_000,
            at=T0 + timedelta(seconds=40),
            **common,
        )
    )
    return out


def _enqueue(engine: Engine, statements: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        for statement in statements:
            session.add(XapiOutbox(statement=json.dumps(statement, ensure_ascii=False), created_at=T0))
        session.commit()


def _send(ralph: Ralph, password: str = PASSWORD, user: str = USER) -> Any:
    from typer.testing import CliRunner

    from lms.core.settings import get_settings
    from lms.xapi_sender.cli import xapi_app

    env = {"GIGA_XAPI_LRS_URL": ralph.url, "GIGA_XAPI_LRS_USERNAME": user, "GIGA_XAPI_LRS_PASSWORD": password}
    get_settings.cache_clear()  # each command is a new process, reading the environment afresh
    return CliRunner().invoke(xapi_app, ["send", "--once"], env=env)


def test_statements_reach_ralph_once_and_conform(ralph: Ralph, settings: Any, engine: Engine) -> None:
    before = {s["id"] for s in ralph.statements()}
    statements = _statements()
    for statement in statements:
        assert statement_problems(statement) == [], statement["verb"]["id"]
    _enqueue(engine, statements)

    refused = _send(ralph, password="wrong")
    assert refused.exit_code == 1
    assert "HTTP 401" in refused.output

    with Session(engine) as session:  # the failure backed off; make the rows due again
        session.execute(update(XapiOutbox).values(locked_until=None))
        session.commit()
    result = _send(ralph)
    assert result.exit_code == 0, result.output
    assert "sent 5, failed 0" in result.output

    stored = {s["id"]: s for s in ralph.statements() if s["id"] not in before}
    assert set(stored) == {s["id"] for s in statements}
    for statement in stored.values():
        assert statement_problems(statement) == []
        assert "mbox" not in statement["actor"] and "name" not in statement["actor"]
    answered = [s for s in stored.values() if s["verb"]["id"].endswith("/answered")]
    assert sorted(s["result"]["score"]["raw"] for s in answered) == [0, 1, 1]

    with Session(engine) as session:  # a resend (e.g. the acknowledgement was lost) stores nothing twice
        assert all(row.sent_at is not None for row in session.exec(select(XapiOutbox)))
        session.execute(update(XapiOutbox).values(sent_at=None, locked_until=None))
        session.commit()
    assert _send(ralph).exit_code == 0
    assert len([s for s in ralph.statements() if s["id"] not in before]) == 5


def test_a_statement_ralph_refuses_is_isolated(ralph: Ralph, settings: Any, engine: Engine) -> None:
    good = _statements()[1]
    bad = dict(_statements()[2])
    del bad["actor"]  # ralph answers 422 for the whole batch
    _enqueue(engine, [good, bad])
    result = _send(ralph, user="giga-iso")
    assert result.exit_code == 1
    assert "sent 1, failed 1" in result.output
    assert [s["id"] for s in ralph.statements(user="giga-iso")] == [good["id"]]
    with Session(engine) as session:
        failed = session.exec(select(XapiOutbox).where(col(XapiOutbox.sent_at).is_(None))).one()
    assert (
        failed.tries == 1 and "HTTP 422" in (failed.last_error or "") and "actor" in (failed.last_error or "")
    )
