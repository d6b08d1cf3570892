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
    from lms.db import engine_for_url

    engine = engine_for_url(os.environ["BENCH_DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bare_answer (client_event_id, item_id, answer) VALUES (:e, :i, :a)"),
            {"e": body.client_event_id, "i": body.item_id, "a": ",".join(body.answer)},
        )
    return {"ack": body.client_event_id}


async def students_answer(
    base: str, sessions: list[tuple[str, dict[str, Any]]], k: int, connections: int
) -> tuple[float, list[float], int]:
    pool = RawPool(base, connections)
    latencies: list[float] = []
    errors = 0

    async def student(raw: str, view: dict[str, Any]) -> None:
        nonlocal errors
        headers = {"Cookie": f"giga_session={raw}", "X-CSRF-Token": csrf(raw)}
        # Like the runner page: keep the payloads received so far, tell the server which unanswered ones
        # this device holds (``known``), and take the queue's ids from each ack.
        held = {item["item_id"]: item for item in view["items"]}
        queue = [item["item_id"] for item in view["items"]]
        answered: set[str] = set()
        for _ in range(k):
            if not queue:
                return
            item = held[queue[0]]
            answered.add(item["item_id"])
            body = {
                "client_event_id": str(uuid.uuid4()),
                "item_id": item["item_id"],
                "answer": [item["options"][0]["id"]],
                "response_time_ms": 3000,
                "known": [i for i in held if i not in answered],
            }
            started = time.perf_counter()
            status, ack = await pool.request(
                "POST", f"/api/v1/attempts/{view['attempt_id']}/answers", headers, body
            )
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1
                return
            held.update((i["item_id"], i) for i in ack["items"])
            queue = ack.get("queue") or [i["item_id"] for i in ack["items"]]  # older servers: items only

    started = time.perf_counter()
    await asyncio.gather(*(student(raw, view) for raw, view in sessions))
    wall = time.perf_counter() - started
    await pool.close()
    return wall, latencies, errors


async def bare_answers(
    base: str, total: int, concurrency: int, connections: int
) -> tuple[float, list[float]]:
    pool = RawPool(base, connections)
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
    await pool.close()
    if errors:
        print(f"  bare endpoint errors: {len(errors)} (statuses {sorted(set(errors))})")
    return wall, latencies


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


def report(label: str, count: int, wall: float, latencies: list[float], cpu_ms: float) -> float:
    rate = count / wall
    print(
        f"{label:36s} {count:5d} in {wall:6.2f} s = {rate:7.1f}/s, "
        f"p50 {statistics.median(latencies) * 1000:6.1f} ms, "
        f"p99 {pct(latencies, 0.99) * 1000:7.1f} ms, server CPU {cpu_ms:5.1f} ms/request"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("GIGA_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--answers", type=int, default=10, help="answers per student")
    parser.add_argument(
        "--app", default="lms.main:app", help="the LMS ASGI app (e.g. a variant without some middleware)"
    )
    parser.add_argument("--app-dir", default=None, help="directory to import --app from")
    args = parser.parse_args()
    connections = UPSTREAM_CONNECTIONS_PER_WORKER * args.workers
    load_before = load_average()
    with bench_database(args.database_url) as url:
        assignment_id, raws = seed_school(url, STUDENTS, max_items=args.answers + 2)
        from lms.db import make_engine

        engine = make_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE bare_answer (id serial PRIMARY KEY, "
                "client_event_id varchar(64) UNIQUE NOT NULL, "
                "item_id varchar(32) NOT NULL, answer text NOT NULL, created_at timestamptz DEFAULT now())"
            )
        engine.dispose()
        print(
            f"{STUDENTS} concurrent students, {args.answers} answers each, "
            f"uvicorn --workers {args.workers} ({server_stack()}), "
            f"≤ {connections} connections (proxy upstream pool), PostgreSQL on loopback, 2 shared cores"
        )
        with uvicorn(args.app, url, args.workers, app_dir=args.app_dir) as base:
            warm_up(base, args.workers)
            views = asyncio.run(start_all(base, assignment_id, raws, connections))
            cpu_before = server_cpu_seconds(base)
            wall, latencies, errors = asyncio.run(
                students_answer(base, list(zip(raws, views, strict=True)), args.answers, connections)
            )
            lms_cpu = (server_cpu_seconds(base) - cpu_before) / len(latencies) * 1000
            lms_rate = report("LMS POST /attempts/{id}/answers", len(latencies), wall, latencies, lms_cpu)
            if errors:
                print(f"  errors: {errors}")
        with uvicorn("bench_answers:bare_app", url, args.workers, app_dir=str(Path(__file__).parent)) as base:
            httpx.post(
                base + "/answers", json={"client_event_id": "warm-up", "item_id": "x", "answer": ["A"]}
            )
            cpu_before = server_cpu_seconds(base)
            bare_wall, bare_lat = asyncio.run(
                bare_answers(base, STUDENTS * args.answers, STUDENTS, connections)
            )
            bare_cpu = (server_cpu_seconds(base) - cpu_before) / len(bare_lat) * 1000
            bare_rate = report(
                "bare FastAPI endpoint, one INSERT", len(bare_lat), bare_wall, bare_lat, bare_cpu
            )
        print(
            f"ratio LMS / bare: {lms_rate / bare_rate:.0%} by throughput, "
            f"{bare_cpu / lms_cpu:.0%} by server CPU per request (goal ≥ 50 %); "
            "goal ≥ 1,000 answers/s, p99 < 200 ms"
        )
        print(f"load average before / after: {load_before} / {load_average()}")


if __name__ == "__main__":
    main()
