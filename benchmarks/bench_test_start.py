"""A class of 40 and a school of 600 pressing 「はじめる」 at the same second (DESIGN §11: ≤ 2 s and ≤ 30 s).

Usage: ``.venv/bin/python benchmarks/bench_test_start.py [--database-url URL] [--workers N]``
(default admin URL ``postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres``: a database
``giga_bench_<random>`` is created, migrated, seeded and dropped).  The attempts are prepared when the
assignment is created (as in production), then every student's ``POST /api/v1/assignments/{id}/start`` is
sent at once from one httpx.AsyncClient against uvicorn on 127.0.0.1 (``--workers``, default 2: a city
deployment runs several workers behind a reverse proxy).  Prints the time until all have started and the
per-request latency; peer in the same run: ``GET /healthz`` (one ``SELECT 1``) fired the same way.
Numbers only, no assertions.

The requests go through at most 24 connections per worker, as through a reverse proxy's upstream pool:
with more simultaneous requests than a worker's database pool (``lms.core.db``: 24 + 26 overflow) its
40-thread pool starves (sessions hold connections while handlers wait for a thread) and requests time out.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url
from sqlmodel import Session

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database, dropped afterwards."""
    from lms.core.db import dispose_engine, make_engine
    from lms.migrations import upgrade

    name = f"giga_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def seed_school(url: str, n_students: int, *, max_items: int = 20, tag: str = "") -> tuple[int, list[str]]:
    """One J3 class of ``n_students`` with signed-in sessions and a prepared CAT assignment."""
    from lms.auth.sessions import create_session
    from lms.core.db import make_engine
    from lms.reading import authoring
    from lms.roster.models import Enrollment, Org, SchoolClass, User

    engine = make_engine(url)
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        school = Org(sourced_id=f"bench-school{tag}", name="ベンチ中学校", type="school")
        session.add(school)
        session.flush()
        klass = SchoolClass(sourced_id=f"bench-class{tag}", title="3年", grades="J3", school_id=school.id)
        session.add(klass)
        session.flush()
        raws = []
        for n in range(n_students):
            user = User(username=f"bench{tag}-{n}", role="student", primary_org_id=school.id)
            session.add(user)
            session.flush()
            session.add(
                Enrollment(
                    sourced_id=f"bench{tag}-e{n}",
                    class_id=klass.id,
                    user_id=user.id,
                    school_id=school.id,
                    role="student",
                    shusseki_no=n + 1,
                )
            )
            _row, raw = create_session(
                session=session, user=user, stage="full", ip=None, user_agent=None, now=now
            )
            raws.append(raw)
        assessment = authoring.create_assessment(
            session=session, title="ベンチ", min_items=max_items, max_items=max_items
        )
        assignment = authoring.create_assignment(
            session=session,
            assessment=assessment,
            class_=klass,
            now=now,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=2),
        )
        session.commit()
        assert assignment.id is not None
        assignment_id = assignment.id
    engine.dispose()
    return assignment_id, raws


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SERVER_PIDS: dict[str, int] = {}


def server_cpu_seconds(base: str) -> float:
    """CPU time (user + system) used so far by the uvicorn process serving ``base`` and its workers.

    Unlike wall-clock rates this barely depends on what else the machine runs, so CPU-ms per request is
    the steadier comparison between the LMS and the bare peer on a shared machine (Linux /proc only)."""
    root = SERVER_PIDS[base]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root in (pid, ppid):
            total += int(fields[11]) + int(fields[12])
    return total / tick


@contextmanager
def uvicorn(app: str, url: str, workers: int, app_dir: str | None = None) -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        # Like a proxy's upstream keep-alive: idle client connections survive between benchmark rounds.
        "--timeout-keep-alive",
        "60",
    ]
    if app_dir:
        command += ["--app-dir", app_dir]
    env = {**os.environ, "GIGA_DATABASE_URL": url, "GIGA_ENVIRONMENT": "test", "BENCH_DATABASE_URL": url}
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = process.pid
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def csrf(raw: str) -> str:
    from lms.auth.csrf import token_for
    from lms.core.settings import load_settings

    return token_for(raw, load_settings())


# The reverse proxy in front of the workers keeps a bounded upstream pool; more simultaneous requests than
# a worker's database pool (24 + 26 overflow in lms.core.db) starve its thread pool (module docstring).
UPSTREAM_CONNECTIONS_PER_WORKER = 24


class RawPool:
    """A minimal HTTP/1.1 keep-alive client over ``size`` sockets (like a reverse proxy's upstream pool).

    httpx costs several milliseconds of CPU per request on this class of machine, which on 2 shared cores
    is CPU taken from the server under test; this client formats and parses by hand (JSON bodies with
    Content-Length, as FastAPI sends them) so that the load generator stays a small share of the machine.
    """

    def __init__(self, base: str, size: int) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port, self.size = host, int(port), size
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.waiting: deque[asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = deque()
        self.opened = 0

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle:
            return self.idle.pop()
        if self.opened < self.size:
            self.opened += 1
            return await asyncio.open_connection(self.host, self.port)
        # First come, first served: a released connection goes to the longest waiter (an asyncio.Queue
        # lets the releasing task take it straight back, which starves the others and inflates p99).
        waiter = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        return await waiter

    def _release(self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        if self.waiting:
            self.waiting.popleft().set_result(connection)
        else:
            self.idle.append(connection)

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """Send one request; return (status, decoded JSON body or None)."""
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        reader, writer = await self._connection()
        writer.write(head + payload)
        status_line, _, header_block = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        length = 0
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        data = await reader.readexactly(length) if length else b""
        self._release((reader, writer))
        status = int(status_line.split()[1])
        return status, json.loads(data) if data.startswith((b"{", b"[")) else None

    async def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


async def fire(
    base: str, requests: list[tuple[str, str, dict[str, str], Any]], connections: int = 48
) -> tuple[float, list[float], int]:
    """Send every request at once (through ``connections`` sockets, like a proxy's upstream pool);
    return (wall time, latencies including queueing, number of non-2xx)."""
    pool = RawPool(base, connections)

    async def one(method: str, path: str, headers: dict[str, str], body: Any) -> tuple[float, int]:
        started = time.perf_counter()
        status, _ = await pool.request(method, path, headers, body)
        return time.perf_counter() - started, status

    started = time.perf_counter()
    results = await asyncio.gather(*(one(*r) for r in requests))
    wall = time.perf_counter() - started
    await pool.close()
    return wall, [r[0] for r in results], sum(1 for r in results if not 200 <= r[1] < 300)


def server_stack() -> str:
    """Which event loop and HTTP parser uvicorn picks ("auto": uvloop and httptools when installed,
    i.e. with the ``uvicorn[standard]`` extras)."""
    fast = importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
    return "uvloop + httptools" if fast else "asyncio + h11"


def load_average() -> str:
    """The 1/5/15-minute load averages (other work on the machine skews every number: print them)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def warm_up(base: str, workers: int) -> None:
    """Load the item bank in every worker (a real server does it at its first request of the day)."""
    for _ in range(workers * 4):
        httpx.get(base + "/api/v1/attempts/0", timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("GIGA_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with bench_database(args.database_url) as url:
        plan = []
        for size in (40, 600):
            started = time.perf_counter()
            assignment_id, raws = seed_school(url, size, tag=f"-{size}")
            plan.append((size, assignment_id, raws, time.perf_counter() - started))
        with uvicorn("lms.main:app", url, args.workers) as base:
            warm_up(base, args.workers)
            print(
                f"uvicorn workers: {args.workers} ({server_stack()}), PostgreSQL, loopback, "
                f"load average {load_average()}"
            )
            for size, assignment_id, raws, prep in plan:
                requests = [
                    (
                        "POST",
                        f"/api/v1/assignments/{assignment_id}/start",
                        {"Cookie": f"giga_session={raw}", "X-CSRF-Token": csrf(raw)},
                        None,
                    )
                    for raw in raws
                ]
                connections = UPSTREAM_CONNECTIONS_PER_WORKER * args.workers
                wall, latencies, errors = asyncio.run(fire(base, requests, connections))
                peer = [("GET", "/healthz", {}, None)] * size
                peer_wall, _peer_lat, _ = asyncio.run(fire(base, peer, connections))
                print(
                    f"{size:4d} simultaneous starts: all started in {wall:6.2f} s "
                    f"(budget {'2' if size == 40 else '30'} s), "
                    f"p50 {statistics.median(latencies) * 1000:6.0f} ms, "
                    f"p99 {pct(latencies, 0.99) * 1000:6.0f} ms, errors {errors}; "
                    f"peer {size} × GET /healthz {peer_wall:5.2f} s (ratio {wall / peer_wall:4.1f}×); "
                    f"preparing the {size} attempts at assignment time took {prep:5.1f} s"
                )


if __name__ == "__main__":
    main()
