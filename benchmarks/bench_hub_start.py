"""A whole class opening notebooks at once: N single-user servers started from cold through the hub API
(DESIGN §11: 40 servers within 60 s, 0 failures).

Usage: ``.venv/bin/python benchmarks/bench_hub_start.py [--n 40] [--deadline 300]``

Starts a throw-away LMS and a real JupyterHub (test-mode spawner: every server runs as this account; the
configuration is otherwise the production one: Notebook 7, ``http_timeout = start_timeout = 240``) on free
127.0.0.1 ports, creates N hub users, then — as the LMS does when a lesson begins — sends every
``POST /hub/api/users/<u>/server`` at once and polls ``GET /hub/api/users/<u>`` until each is ready or failed.
Prints the time until all are ready, the failures, the spawn-to-ready time distribution, the memory (RSS) per
idle server and the load average. Peer in the same run: one server started alone first (``single``), so the
ratio says how much the whole-class start costs against one. Numbers only, no assertions; bounded by
``--deadline``; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.stack import running_stack


async def start_and_wait(
    api: httpx.AsyncClient, users: list[str], deadline_s: float
) -> dict[str, float | None]:
    """Start every user's server at once; the seconds until each was ready (None = failed or timed out)."""
    t0 = time.monotonic()
    answers = await asyncio.gather(*(api.post(f"/users/{u}/server") for u in users), return_exceptions=True)
    ready: dict[str, float | None] = {}
    pending = set()
    for user, answer in zip(users, answers, strict=True):
        if isinstance(answer, BaseException) or answer.status_code not in (201, 202):
            ready[user] = None
        else:
            pending.add(user)
    while pending and time.monotonic() - t0 < deadline_s:
        listing = (await api.get("/users", params={"state": "active", "limit": 500})).json()
        items = listing["items"] if isinstance(listing, dict) else listing
        by_name = {u["name"]: u for u in items}
        for user in list(pending):
            server = by_name.get(user, {}).get("servers", {}).get("")
            if server and server.get("ready"):
                ready[user] = time.monotonic() - t0
                pending.discard(user)
            elif user not in by_name and time.monotonic() - t0 > 5:
                ready[user] = None  # the spawn failed and the server was removed
                pending.discard(user)
        await asyncio.sleep(0.5)
    for user in pending:
        ready[user] = None
    return ready


def server_rss_mib(state_dir: Path) -> list[float]:
    """RSS of every single-user server whose working directory is under this hub's homes."""
    homes = str(state_dir / "homes")
    sizes = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"jupyterhub-singleuser" not in cmdline or not os.readlink(f"/proc/{pid}/cwd").startswith(
                homes
            ):
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return sizes


async def run(n: int, deadline_s: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp,
        running_stack(Path(tmp), students=1) as stack,
    ):
        users = [f"bench-{i:03d}" for i in range(n + 1)]
        headers = {"Authorization": f"token {stack.service_token}"}
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=stack.hub_url + "/hub/api", headers=headers, timeout=60, limits=limits
        ) as api:
            (await api.post("/users", json={"usernames": users})).raise_for_status()
            single = await start_and_wait(api, users[:1], deadline_s)
            t0 = time.monotonic()
            ready = await start_and_wait(api, users[1:], deadline_s)
            wall = time.monotonic() - t0
            await asyncio.sleep(10)  # let the servers settle to idle before measuring memory
            rss = server_rss_mib(Path(tmp) / "hub")
            await asyncio.gather(*(api.delete(f"/users/{u}/server") for u in users))
        times = sorted(t for t in ready.values() if t is not None)
        return {
            "n": n,
            "single_s": single[users[0]],
            "all_ready_s": wall if len(times) == n else None,
            "ready": len(times),
            "failures": n - len(times),
            "median_s": statistics.median(times) if times else None,
            "p90_s": times[int(0.9 * (len(times) - 1))] if times else None,
            "max_s": times[-1] if times else None,
            "rss_mib_mean": statistics.mean(rss) if rss else None,
            "rss_mib_total": sum(rss),
            "servers_measured": len(rss),
            "load_average": os.getloadavg(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="servers started at once (default 40)")
    parser.add_argument("--deadline", type=float, default=300, help="give up after this many seconds")
    args = parser.parse_args()
    if not 1 <= args.n <= 200:
        parser.error("--n must be between 1 and 200")
    result = asyncio.run(run(args.n, args.deadline))
    single = result["single_s"]
    print(f"servers started at once : {result['n']}")
    print(f"peer: one server alone  : {single:.1f} s" if single else "peer: one server alone  : failed")
    if result["all_ready_s"] is not None:
        ratio = f" ({result['all_ready_s'] / single:.1f}x one server)" if single else ""
        print(f"all ready after         : {result['all_ready_s']:.1f} s{ratio}   (goal: 60 s for 40)")
    print(f"ready / failures        : {result['ready']} / {result['failures']}")
    for key in ("median_s", "p90_s", "max_s"):
        if result[key] is not None:
            print(f"time to ready {key[:-2]:<9} : {result[key]:.1f} s")
    if result["rss_mib_mean"] is not None:
        print(
            f"idle server RSS         : {result['rss_mib_mean']:.0f} MiB mean over "
            f"{result['servers_measured']}"
            f" servers, {result['rss_mib_total'] / 1024:.2f} GiB total"
        )
    print("load average            : {:.1f} {:.1f} {:.1f}".format(*result["load_average"]))


if __name__ == "__main__":
    main()
