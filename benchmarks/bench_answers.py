"""Answer submission under load: throughput and p50/p99 at 200 concurrent students (DESIGN §11).

Usage: ``.venv/bin/python benchmarks/bench_answers.py [--database-url URL] [--workers N] [--answers K]``
200 simulated students (signed in, test started) each post ``K`` answers (default 10) one after the other
— the full path: session cookie + CSRF, attempt row lock, idempotency check, scoring, θ̂ update, re-planned
prefetch queue, response + attempt_item + xAPI outbox rows, commit before the ack.  Peer in the same run: a
bare FastAPI endpoint inserting one row into PostgreSQL (same workers, same client, same connection
budget).  Goal: ≥ 1,000 answers/s, p99 < 200 ms, ≥ 50 % of the bare baseline.  Numbers only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_test_start import (  # type: ignore[import-not-found]
    DEFAULT_ADMIN_URL,
    UPSTREAM_CONNECTIONS_PER_WORKER,
    RawPool,
    bench_database,
    csrf,
    load_average,
    pct,
    seed_school,
    server_cpu_seconds,
    server_stack,
    uvicorn,
    warm_up,
)
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

STUDENTS = 200
WARM_UP_ANSWERS = 2  # per student, before the measured rounds
PACED_ANSWERS = 3  # per student, in the paced round
# A worker keeps about as many database connections as requests it serves at once (lms.core.db pool sizing).
DB_CONNECTIONS_PER_WORKER = UPSTREAM_CONNECTIONS_PER_WORKER + 1

# --- the bare peer: one INSERT per request ------------------------------------------------------------------
bare_app = FastAPI()


class BareBody(BaseModel):
    client_event_id: str
    item_id: str
    answer: list[str]


@bare_app.get("/healthz")
def bare_health() -> dict[str, str]:
    return {"status": "ok"}


@bare_app.post("/answers")
def bare_insert(body: BareBody) -> dict[str, Any]:
    from lms.core.db import engine_for_url

    engine = engine_for_url(os.environ["BENCH_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bare_answer (client_event_id, item_id, answer) VALUES (:e, :i, :a)"),
            {"e": body.client_event_id, "i": body.item_id, "a": ",".join(body.answer)},
        )
    return {"ack": body.client_event_id}


class Student:
    """One simulated student: like the runner page, it keeps the payloads received so far, tells the server
    which unanswered ones this device holds (``known``), and takes the queue's ids from each ack."""

    def __init__(self, raw: str, view: dict[str, Any]) -> None:
        self.headers = {"Cookie": f"giga_session={raw}", "X-CSRF-Token": csrf(raw)}
        self.path = f"/api/v1/attempts/{view['attempt_id']}/answers"
        self.held = {item["item_id"]: item for item in view["items"]}
        self.queue = [item["item_id"] for item in view["items"]]
        self.answered: set[str] = set()
        self.failed = False

    async def answer(self, pool: RawPool, latencies: list[float]) -> bool:
        """Post the next answer; False when there is nothing left to answer or the server refused."""
        if self.failed or not self.queue:
            return False
        item = self.held[self.queue[0]]
        self.answered.add(item["item_id"])
        body = {
            "client_event_id": str(uuid.uuid4()),
            "item_id": item["item_id"],
            "answer": [item["options"][0]["id"]],
            "response_time_ms": 3000,
            "known": [i for i in self.held if i not in self.answered],
        }
        started = time.perf_counter()
        status, ack = await pool.request("POST", self.path, self.headers, body)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            self.failed = True
            return False
        self.held.update((i["item_id"], i) for i in ack["items"])
        self.queue = ack.get("queue") or [i["item_id"] for i in ack["items"]]  # older servers: items only
        return True


async def lms_round(pool: RawPool, students: list[Student], k: int) -> tuple[float, list[float]]:
    """Every student posts ``k`` answers one after the other, all students at once."""
    latencies: list[float] = []

    async def one(student: Student) -> None:
        for _ in range(k):
            if not await student.answer(pool, latencies):
                return

    started = time.perf_counter()
    await asyncio.gather(*(one(student) for student in students))
    return time.perf_counter() - started, latencies


async def bare_round(pool: RawPool, total: int, concurrency: int) -> tuple[float, list[float]]:
    """``total`` inserts from ``concurrency`` clients, each one after the other."""
    latencies: list[float] = []
    errors: list[int] = []

    async def student(n: int) -> None:
        for _ in range(n):
            body = {"client_event_id": str(uuid.uuid4()), "item_id": "DEP-001", "answer": ["A"]}
            started = time.perf_counter()
            status, _ = await pool.request("POST", "/answers", None, body)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors.append(status)

    started = time.perf_counter()
    await asyncio.gather(*(student(total // concurrency) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    if errors:
        print(f"  bare endpoint errors: {len(errors)} (statuses {sorted(set(errors))})")
    return wall, latencies


async def paced_round(
    pool: RawPool, students: list[Student] | None, count: int, rate: float
) -> tuple[float, list[float]]:
    """Open loop at ``rate`` requests/s in total: 200 clients (``students``, or bare inserts when None)
    each send ``count`` requests, one every ``200 / rate`` seconds, their starts spread over one interval
    — a class at work rather than clients that resend the moment they are answered.  A request that is
    still waiting when its next one is due delays that one (a student answers one item at a time)."""
    latencies: list[float] = []
    clients = len(students) if students is not None else STUDENTS
    interval = clients / rate
    loop = asyncio.get_running_loop()

    async def client(index: int) -> None:
        due = loop.time() + index * interval / clients
        for _ in range(count):
            await asyncio.sleep(max(0.0, due - loop.time()))
            if students is not None:
                if not await students[index].answer(pool, latencies):
                    return
            else:
                body = {"client_event_id": str(uuid.uuid4()), "item_id": "DEP-001", "answer": ["A"]}
                started = time.perf_counter()
                await pool.request("POST", "/answers", None, body)
                latencies.append(time.perf_counter() - started)
            due += interval

    started = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(clients)))
    return time.perf_counter() - started, latencies


async def start_all(base: str, assignment_id: int, raws: list[str], connections: int) -> list[dict[str, Any]]:
    pool = RawPool(base, connections)
    replies = await asyncio.gather(
        *(
            pool.request(
                "POST",
                f"/api/v1/assignments/{assignment_id}/start",
                {"Cookie": f"giga_session={raw}", "X-CSRF-Token": csrf(raw)},
            )
            for raw in raws
        )
    )
    await pool.close()
    return [body for _status, body in replies]


async def alternate(
    lms_base: str,
    bare_base: str,
    students: list[Student],
    rounds: int,
    per_round: int,
    connections: int,
    paced_rate: float,
) -> tuple[Tally, Tally]:
    """Rounds alternate between the two servers (both running, one loaded at a time), so a change in the
    machine's speed during the run (neighbours on the shared cores) hits both alike.  Each side keeps its
    client connections across rounds, like a proxy's upstream pool.  Then, with ``paced_rate``, one paced
    (open-loop) round on each side: the latency at a given load rather than at saturation."""
    lms_pool, bare_pool = RawPool(lms_base, connections), RawPool(bare_base, connections)
    # Not measured: every connection of both sides opened and used (psycopg prepares a statement on a
    # connection's fifth use), as on a server that has been up since the morning.
    await lms_round(lms_pool, students, WARM_UP_ANSWERS)
    await bare_round(bare_pool, WARM_UP_ANSWERS * len(students), STUDENTS)
    lms, bare = Tally(), Tally()
    for _ in range(rounds):
        cpu_before = server_cpu_seconds(lms_base)
        wall, latencies = await lms_round(lms_pool, students, per_round)
        lms.add(wall, latencies, server_cpu_seconds(lms_base) - cpu_before)
        cpu_before = server_cpu_seconds(bare_base)
        wall, latencies = await bare_round(bare_pool, len(latencies), STUDENTS)
        bare.add(wall, latencies, server_cpu_seconds(bare_base) - cpu_before)
    if paced_rate:
        for label, base, pool, who in (
            ("LMS", lms_base, lms_pool, students),
            ("bare", bare_base, bare_pool, None),
        ):
            cpu_before = server_cpu_seconds(base)
            wall, latencies = await paced_round(pool, who, PACED_ANSWERS, paced_rate)
            paced = Tally()
            paced.add(wall, latencies, server_cpu_seconds(base) - cpu_before)
            paced.report(f"paced at {paced_rate:.0f}/s offered: {label}")
    await lms_pool.close()
    await bare_pool.close()
    return lms, bare


class Tally:
    """Requests, wall time, latencies and server CPU of one side, summed over the rounds."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.latencies: list[float] = []
        self.rates: list[float] = []

    def add(self, wall: float, latencies: list[float], cpu: float) -> None:
        self.wall += wall
        self.cpu += cpu
        self.latencies += latencies
        self.rates.append(len(latencies) / wall)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1000

    def report(self, label: str) -> None:
        print(
            f"{label:36s} {len(self.latencies):5d} in {self.wall:6.2f} s = {self.rate:7.1f}/s, "
            f"p50 {statistics.median(self.latencies) * 1000:6.1f} ms, "
            f"p99 {pct(self.latencies, 0.99) * 1000:7.1f} ms, server CPU {self.cpu_ms:5.1f} ms/request"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("GIGA_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--answers", type=int, default=10, help="answers per student")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the answers are sent in this many rounds, each followed by as many bare inserts",
    )
    parser.add_argument(
        "--app", default="lms.main:app", help="the LMS ASGI app (e.g. a variant without some middleware)"
    )
    parser.add_argument("--app-dir", default=None, help="directory to import --app from")
    parser.add_argument(
        "--paced",
        type=float,
        default=100.0,
        help="then answers/s offered in an open-loop round (0: none); 100/s is each of the 200 students "
        "answering every 2 s, several times a class's real pace",
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.answers % args.rounds:
        parser.error("--answers must be a multiple of --rounds")
    per_round = args.answers // args.rounds
    connections = UPSTREAM_CONNECTIONS_PER_WORKER * args.workers
    load_before = load_average()
    with bench_database(args.database_url) as url:
        assignment_id, raws = seed_school(
            url, STUDENTS, max_items=args.answers + WARM_UP_ANSWERS + PACED_ANSWERS + 2
        )
        from lms.core.db import make_engine

        engine = make_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE bare_answer (id serial PRIMARY KEY, "
                "client_event_id varchar(64) UNIQUE NOT NULL, "
                "item_id varchar(32) NOT NULL, answer text NOT NULL, created_at timestamptz DEFAULT now())"
            )
            needed = 2 * args.workers * DB_CONNECTIONS_PER_WORKER + 10
            allowed = int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
        engine.dispose()
        if allowed < needed:
            raise SystemExit(
                f"PostgreSQL allows {allowed} connections; both servers' pools stay open during the run "
                f"(≈ {needed} needed): ALTER SYSTEM SET max_connections = {needed} and restart PostgreSQL"
            )
        print(
            f"{STUDENTS} concurrent students, {args.answers} answers each in {args.rounds} rounds, "
            f"uvicorn --workers {args.workers} ({server_stack()}), "
            f"≤ {connections} connections (proxy upstream pool), PostgreSQL on loopback, 2 shared cores"
        )
        bare_dir = str(Path(__file__).parent)
        with (
            uvicorn(args.app, url, args.workers, app_dir=args.app_dir) as lms_base,
            uvicorn("bench_answers:bare_app", url, args.workers, app_dir=bare_dir) as bare_base,
        ):
            warm_up(lms_base, args.workers)
            httpx.post(
                bare_base + "/answers",
                json={"client_event_id": "warm-up", "item_id": "x", "answer": ["A"]},
            )
            views = asyncio.run(start_all(lms_base, assignment_id, raws, connections))
            students = [Student(raw, view) for raw, view in zip(raws, views, strict=True)]
            lms, bare = asyncio.run(
                alternate(lms_base, bare_base, students, args.rounds, per_round, connections, args.paced)
            )
        lms.report("LMS POST /attempts/{id}/answers")
        failed = sum(student.failed for student in students)
        if failed:
            print(f"  students whose answer was refused: {failed}")
        bare.report("bare FastAPI endpoint, one INSERT")
        pairs = list(zip(lms.rates, bare.rates, strict=True))
        print("per round, answers/s LMS / bare: " + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in pairs))
        print(
            f"ratio LMS / bare: {lms.rate / bare.rate:.0%} by throughput "
            f"(rounds: {', '.join(f'{a / b:.0%}' for a, b in pairs)}), "
            f"{bare.cpu_ms / lms.cpu_ms:.0%} by server CPU per request (goal ≥ 50 %); "
            "goal ≥ 1,000 answers/s, p99 < 200 ms"
        )
        print(f"load average before / after: {load_before} / {load_average()}")


if __name__ == "__main__":
    main()
