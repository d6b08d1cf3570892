"""Durability: SIGKILL the LMS while students submit answers; every acknowledged answer survives once.

A real uvicorn process serves ``lms.main:app`` on a random loopback port against the test database (a
SQLite file, or the PostgreSQL test database with ``GIGA_TEST_DATABASE_URL``).  A bounded load generator
(a few students, threads with httpx, about three seconds) posts answers; the server is killed with SIGKILL
mid-load and restarted; then every acknowledged answer must be in the database once, and retrying the
answers that got no acknowledgement must work idempotently.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from lms.auth.csrf import token_for
from lms.auth.sessions import SESSION_COOKIE, create_session
from lms.reading.models import Response

STUDENTS = 6
LOAD_SECONDS = 3.0
KILL_AFTER = 1.5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "GIGA_DATABASE_URL": database_url, "GIGA_ENVIRONMENT": "test"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "lms.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not start within 60 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def server(database_url: str, settings: Any) -> Iterator[Server]:
    srv = Server(database_url)
    yield srv
    srv.stop()


def _students(db_session: Session, world: Any) -> list[tuple[Any, str]]:
    """Extra students in a J3 class (so the whole bank is eligible), each with a signed-in session."""
    from lms.roster.models import Enrollment, SchoolClass, User

    klass = SchoolClass(sourced_id="class-dur", title="3年1組", grades="J3", school_id=world.orgs["B"].id)
    db_session.add(klass)
    db_session.flush()
    out = []
    now = datetime.now(UTC)
    for n in range(STUDENTS):
        user = User(
            username=f"dur-{n}",
            role="student",
            given_name=f"生徒{n}",
            family_name="耐久",
            primary_org_id=world.orgs["B"].id,
        )
        db_session.add(user)
        db_session.flush()
        db_session.add(
            Enrollment(
                sourced_id=f"e-dur-{n}",
                class_id=klass.id,
                user_id=user.id,
                school_id=klass.school_id,
                role="student",
                shusseki_no=n + 1,
            )
        )
        _row, raw = create_session(
            session=db_session, user=user, stage="full", ip=None, user_agent=None, now=now
        )
        out.append((user, raw))
    db_session.commit()
    world.classes["DUR"] = klass
    return out


def test_acknowledged_answers_survive_sigkill(
    server: Server, world: Any, db_session: Session, settings: Any
) -> None:
    from lms.reading import authoring

    students = _students(db_session, world)
    assessment = authoring.create_assessment(
        session=db_session, title="耐久テスト", skills=(), min_items=60, max_items=60
    )
    now = datetime.now(UTC)
    assignment = authoring.create_assignment(
        session=db_session,
        assessment=assessment,
        class_=world.classes["DUR"],
        now=now,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(hours=1),
    )
    db_session.commit()
    server.start()

    clients = []
    for _user, raw in students:
        client = httpx.Client(
            base_url=server.base,
            timeout=30,
            cookies={SESSION_COOKIE: raw},
            headers={"X-CSRF-Token": token_for(raw, settings)},
        )
        clients.append(client)
    views = [c.post(f"/api/v1/assignments/{assignment.id}/start").json() for c in clients]
    assert all(v["status"] == "in_progress" for v in views)

    acked: dict[str, dict[str, Any]] = {}
    unacked: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + LOAD_SECONDS

    def run(index: int) -> None:
        client, view = clients[index], views[index]
        queue = list(view["items"])
        while queue and time.monotonic() < stop_at:
            item = queue.pop(0)
            body = {
                "client_event_id": str(uuid.uuid4()),
                "item_id": item["item_id"],
                "answer": [item["options"][0]["id"]],
                "response_time_ms": 1500,
            }
            try:
                response = client.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, timeout=5)
            except httpx.TransportError:
                with lock:
                    unacked.append((index, body))
                return  # the device keeps it in its local queue; resent after the restart
            if response.status_code != 200:
                with lock:
                    unacked.append((index, body))
                return
            ack = response.json()
            assert ack["ack"] == body["client_event_id"]
            with lock:
                acked[ack["ack"]] = body
            if ack["finished"]:
                return
            queue = list(ack["items"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(STUDENTS)]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER)
    server.kill()
    for thread in threads:
        thread.join(timeout=30)
    assert acked, "no answer was acknowledged before the kill"

    db_session.expire_all()
    for event_id in acked:
        count = db_session.exec(
            select(func.count()).select_from(Response).where(Response.client_event_id == event_id)
        ).one()
        assert count == 1, f"acknowledged answer {event_id} stored {count} times"

    server.start()
    retried_stored = 0
    for index, body in unacked:
        response = clients[index].post(f"/api/v1/attempts/{views[index]['attempt_id']}/answers", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["ack"] == body["client_event_id"]
        retried_stored += 1
        again = clients[index].post(f"/api/v1/attempts/{views[index]['attempt_id']}/answers", json=body)
        assert again.json()["duplicate"] is True
    db_session.expire_all()
    total = db_session.exec(select(func.count()).select_from(Response)).one()
    assert total == len(acked) + retried_stored
    for client in clients:
        client.close()
    print(f"durability: {len(acked)} acknowledged before SIGKILL, {len(unacked)} in flight, all stored once")
