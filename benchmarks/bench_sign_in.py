"""Sign-in storms (issue 22): a class of 40 at the same second, a school of 600 within one minute.

Usage: ``.venv/bin/python benchmarks/bench_sign_in.py [--database-url URL] [--workers N] [--repeats R]
[--school N] [--port P]`` (default admin URL as in ``bench_test_start.py``: a database ``giga_bench_<random>``
is created, migrated, seeded and dropped).

Every pupil does what a browser does: ``GET /login`` (form + CSRF token), ``POST /login``, ``GET /home``
(the page after sign-in, with the new session's CSRF token); "time to signed-in" runs from the first
request to the home page's last byte.  All requests come from 127.0.0.1, like a school behind one NAT (so
the per-address sign-in gate of ``lms.ops.limits`` applies: one sign-in at a time per worker).  The class
arrives at once; the school's 600 at random moments (fixed seed) spread over 60 s.

Two servers run side by side on ``--port`` and ``--port``+1 (``benchmarks/sign_in_profile_app.py``):
``before`` = the former hashing (RFC 9106 low-memory argon2id, t=3, m=64 MiB, p=4, unbounded), ``after``
= the shipped one (OWASP minimum, t=2, m=19 MiB, p=1, at most one hash per CPU at once); the rounds
alternate between them.  Each round starts from the profile's own stored hashes (so no rehash happens
inside the measurement).  Baseline in the same run: the bare hash — one ``verify`` in this process, and
N verifies on ``workers`` threads (scaled from a sample of 8 per thread; the floor that hashing alone
sets for N sign-ins through the gate).
``--gates 1,2,4`` measures the per-address sign-in gate instead (``GIGA_MAX_CONCURRENT_SIGN_INS_PER_CLIENT``,
one server of the shipped hashing per value, rounds alternating).  ``--probe N`` (default 8 in that mode)
adds another school's teacher on a second address (127.0.0.2): N sign-ins one after another, once on an
idle server and once while the storm runs — what one address's storm still takes from everyone else.
Numbers only, no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
from argon2 import PasswordHasher, profiles
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.factories
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_test_start import DEFAULT_ADMIN_URL, load_average, pct

from tests.factories import fresh_postgres_database

PASSWORD = "bench-password-42"
PROBE_ADDRESS = "127.0.0.2"  # another school's address (Linux answers all of 127.0.0.0/8 on loopback)
CSRF_RE = re.compile(rb'name="csrf_token" value="([^"]+)"')
PROFILES = {
    "before": PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY),
    "after": PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1),
}


def seed(url: str, n_users: int) -> list[str]:
    """``n_users`` active students of one school (hashes are set per round)."""
    from lms.core.db import make_engine
    from lms.roster.models import Org, User

    engine = make_engine(url)
    with engine.begin() as connection:
        school = connection.execute(
            Org.__table__.insert()  # type: ignore[attr-defined]
            .values(sourced_id="bench-school", name="ベンチ中学校", type="school", status="active")
            .returning(Org.__table__.c.id)  # type: ignore[attr-defined]
        ).scalar_one()
        names = [f"pupil{n:04d}" for n in range(n_users)]
        connection.execute(
            User.__table__.insert(),  # type: ignore[attr-defined]
            [
                {
                    "sourced_id": f"bench-{name}",
                    "username": name,
                    "given_name": "ベンチ",
                    "family_name": str(n),
                    "role": "student",
                    "enabled": True,
                    "status": "active",
                    "primary_org_id": school,
                }
                for n, name in enumerate(names)
            ],
        )
    engine.dispose()
    return names


def reset(url: str, stored_hash: str) -> None:
    """Every account back to the profile's hash, no sessions, no throttle state."""
    from lms.core.db import make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text('UPDATE "user" SET password_hash = :h, failed_logins = 0, locked_until = NULL'),
            {"h": stored_hash},
        )
        connection.execute(text("DELETE FROM auth_session"))
        connection.execute(text("DELETE FROM login_throttle"))
    engine.dispose()


@contextmanager
def server(
    url: str, profile: str, port: int, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "sign_in_profile_app:app",
        "--app-dir",
        str(Path(__file__).resolve().parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = {
        **os.environ,
        "GIGA_DATABASE_URL": url,
        "GIGA_ENVIRONMENT": "test",
        "BENCH_SIGN_IN_PROFILE": profile,
        **(extra_env or {}),
    }
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
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
        for _ in range(workers * 3):  # templates and the first connections of every worker
            httpx.get(base + "/login", timeout=30)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


async def _http(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
) -> tuple[int, dict[str, list[str]], bytes]:
    """One HTTP/1.1 request on a kept-alive connection (a tiny client: httpx's CPU would load the server's
    two cores).  Bodies with Content-Length only, as uvicorn sends these pages."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            found.setdefault(name.strip().lower(), []).append(value.strip())
    length = int(found.get("content-length", ["0"])[0])
    data = await reader.readexactly(length) if length else b""
    return int(status_line.split()[1]), found, data


def _cookie(headers: dict[str, list[str]], name: str) -> str | None:
    for value in headers.get("set-cookie", []):
        if value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


async def sign_in(base: str, username: str, source: str = "127.0.0.1") -> tuple[float, str]:
    """One sign-in from ``source``: (seconds to the home page, outcome: "ok" or the failing status)."""
    host, _, port = base.removeprefix("http://").partition(":")
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
    try:
        status, headers, page = await _http(reader, writer, "GET", "/login", {})
        pre = _cookie(headers, "giga_pre")
        match = CSRF_RE.search(page)
        if status != 200 or pre is None or match is None:
            return time.perf_counter() - started, f"login page {status}"
        form = urlencode({"username": username, "password": PASSWORD, "csrf_token": match.group(1).decode()})
        status, headers, _ = await _http(
            reader,
            writer,
            "POST",
            "/login",
            {"Cookie": f"giga_pre={pre}", "Content-Type": "application/x-www-form-urlencoded"},
            form.encode(),
        )
        session = _cookie(headers, "giga_session")
        if status != 303 or session is None:
            return time.perf_counter() - started, f"sign-in {status}"
        status, _, page = await _http(reader, writer, "GET", "/home", {"Cookie": f"giga_session={session}"})
        if status != 200 or CSRF_RE.search(page) is None:
            return time.perf_counter() - started, f"home {status}"
        return time.perf_counter() - started, "ok"
    finally:
        writer.close()


async def probe(base: str, names: list[str], stop: asyncio.Event | None = None) -> list[float]:
    """Seconds of each sign-in of ``names`` one after another from a second address (until ``stop``)."""
    seconds = []
    for name in names:
        if stop is not None and stop.is_set():
            break
        took, outcome = await sign_in(base, name, source=PROBE_ADDRESS)
        seconds.append(took if outcome == "ok" else float("inf"))
    return seconds


async def storm_with_probe(
    base: str, names: list[str], spread_s: float, probe_names: list[str]
) -> tuple[float, list[float], list[str], list[float]]:
    """:func:`storm` while :func:`probe` signs ``probe_names`` in from another address."""
    stop = asyncio.Event()

    async def storm_then_stop() -> tuple[float, list[float], list[str]]:
        try:
            return await storm(base, names, spread_s)
        finally:
            stop.set()

    (wall, ok, failed), probed = await asyncio.gather(storm_then_stop(), probe(base, probe_names, stop))
    return wall, ok, failed, probed


async def storm(base: str, names: list[str], spread_s: float) -> tuple[float, list[float], list[str]]:
    """Every name signs in, at a random moment within ``spread_s`` (0: all at once)."""
    rng = random.Random(22)
    offsets = sorted(rng.uniform(0, spread_s) for _ in names) if spread_s else [0.0] * len(names)

    async def one(name: str, offset: float) -> tuple[float, str]:
        await asyncio.sleep(offset)
        return await sign_in(base, name)

    started = time.perf_counter()
    results = await asyncio.gather(*(one(n, o) for n, o in zip(names, offsets, strict=True)))
    wall = time.perf_counter() - started
    ok = [seconds for seconds, outcome in results if outcome == "ok"]
    failed = [outcome for _, outcome in results if outcome != "ok"]
    return wall, ok, failed


def bare_hash(profile: str, n: int, threads: int) -> tuple[float, float]:
    """(one verify in ms, median of 5; n verifies on ``threads`` threads in s, from at most 8 per thread)."""
    hasher = PROFILES[profile]
    stored = hasher.hash(PASSWORD)
    singles = []
    for _ in range(5):
        started = time.perf_counter()
        hasher.verify(stored, PASSWORD)
        singles.append(time.perf_counter() - started)
    sample = min(n, 8 * threads)  # a school's 600 would cost minutes of CPU here: scale a sample up
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: hasher.verify(stored, PASSWORD), range(sample)))
    return statistics.median(singles) * 1000, (time.perf_counter() - started) * n / sample


def _median_ms(values: list[float]) -> str:
    finite = [v for v in values if v != float("inf")]
    refused = len(values) - len(finite)
    if not finite:
        return "none signed in"
    return f"p50 {statistics.median(finite) * 1000:6.0f} ms, max {max(finite) * 1000:6.0f} ms" + (
        f", {refused} refused" if refused else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("GIGA_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds per profile and size")
    parser.add_argument("--class-size", type=int, default=40)
    parser.add_argument("--school", type=int, default=600)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the school arrives")
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument(
        "--gates", default="", help="comma-separated per-address gate values to compare (e.g. 1,2,4)"
    )
    parser.add_argument("--probe", type=int, default=None, help="sign-ins from a second address per round")
    args = parser.parse_args()
    gates = [int(g) for g in args.gates.split(",") if g.strip()]
    # (label, hashing profile, environment of the server)
    variants: list[tuple[str, str, dict[str, str]]] = (
        [(f"gate {g}", "after", {"GIGA_MAX_CONCURRENT_SIGN_INS_PER_CLIENT": str(g)}) for g in gates]
        if gates
        else [("before", "before", {}), ("after", "after", {})]
    )
    n_probe = args.probe if args.probe is not None else (8 if gates else 0)
    hashes = {name: hasher.hash(PASSWORD) for name, hasher in PROFILES.items()}
    with fresh_postgres_database(args.database_url, "giga_bench") as url:
        crowd = max(args.class_size, args.school)
        names = seed(url, crowd + n_probe)
        probe_names = names[crowd:]
        with ExitStack() as stack:
            bases = {
                label: stack.enter_context(server(url, profile, args.port + i, args.workers, env))
                for i, (label, profile, env) in enumerate(variants)
            }
            profile_of = {label: profile for label, profile, _ in variants}
            print(
                f"uvicorn workers: {args.workers} per variant, PostgreSQL, loopback, one client address; "
                f"CPUs {os.cpu_count()}"
            )
            rows: list[tuple[int, str, float, float]] = []
            for size, spread in ((args.class_size, 0.0), (args.school, args.spread)):
                for repeat in range(args.repeats):
                    labels = [label for label, _, _ in variants]
                    order = labels[repeat % len(labels) :] + labels[: repeat % len(labels)]
                    if repeat % 2:
                        order.reverse()
                    for label in order:
                        profile = profile_of[label]
                        reset(url, hashes[profile])
                        idle = asyncio.run(probe(bases[label], probe_names)) if n_probe else []
                        reset(url, hashes[profile])
                        load = load_average()
                        wall, ok, failed, during = asyncio.run(
                            storm_with_probe(bases[label], names[:size], spread, probe_names)
                        )
                        one_ms, floor = bare_hash(profile, size, args.workers)
                        when = "at once" if not spread else f"within {spread:.0f} s"
                        p50 = statistics.median(ok) if ok else float("nan")
                        p95 = pct(ok, 0.95) if ok else float("nan")
                        rows.append((size, label, p50, p95))
                        print(
                            f"{size:4d} {when:>14}, {label:6}: signed in {len(ok)}/{size} "
                            f"(refused/failed {len(failed)}{': ' + failed[0] if failed else ''}), "
                            f"p50 {p50:6.2f} s, p95 {p95:6.2f} s, all done {wall:6.1f} s; "
                            f"bare hash {one_ms:5.1f} ms (p50 / that {p50 * 1000 / one_ms:5.1f}×), "
                            f"{size} hashes on {args.workers} threads {floor:5.2f} s "
                            f"(all done / that {wall / floor:4.1f}×); load {load}"
                        )
                        if n_probe:
                            print(
                                f"{'':21}other address: idle {_median_ms(idle)}; "
                                f"during the storm {len(during)} tried, {_median_ms(during)}"
                            )
            first = variants[0][0]
            for size in (args.class_size, args.school):
                for quantile, index in (("p50", 2), ("p95", 3)):
                    old = [float(r[index]) for r in rows if r[0] == size and r[1] == first]
                    for label, _, _ in variants[1:]:
                        new = [float(r[index]) for r in rows if r[0] == size and r[1] == label]
                        was, now = statistics.median(old), statistics.median(new)
                        print(
                            f"{size:4d} {quantile}: {first} {was:6.2f} s, {label} {now:6.2f} s, "
                            f"{first}/{label} {was / now:5.1f}×"
                        )


if __name__ == "__main__":
    main()
