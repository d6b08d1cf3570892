"""A whole class opening notebooks at once: N single-user servers started from cold through the hub API, the
way 「授業をはじめる」 does it (DESIGN §11 / issue 5: 40 servers within 60 s, 0 failures).

Usage: ``.venv/bin/python benchmarks/bench_hub_start.py [--n 40] [--concurrency 16 40] [--deadline 300]``

Starts a throw-away LMS and a real JupyterHub (test-mode spawner: every server runs as this account; the
configuration is otherwise the production one: Notebook 7, the lean single-user command, ``http_timeout =
start_timeout = 240``) on free 127.0.0.1 ports. Peer in the same run: one server started alone first. Then,
for each ``--concurrency`` K, N fresh users are started from cold by the LMS's own code
(``lms.notebooks.hub_client.run_prestart``: at most K spawns in flight, each followed until ready or failed);
K = N is "everyone at once" (the stock behaviour: every student clicking at the same minute). Prints per
round the wall time until all were ready, failures, the spawn-to-ready distribution, the RSS per idle server,
and the load average before and after (the machine is shared: read ratios, not absolute seconds). Numbers
only, no assertions; every server is stopped between rounds and every process at the end.

Measured here (2 cores shared with other jobs, load 3-10 before each round; three runs): one server alone
2.6-4.6 s; 40 at once 50.5 / 56.7 / 97.3 s, 0 failures, everyone ready at about the same time; at most 16
at once 66 s (median ready 24 s); at most 8: 87-97 s (median 16-18 s); at most 4: 105 s. The hub notices a
server with exponential back-off (up to 5 s between checks), so a small K leaves the CPU idle between waves:
the LMS default is a whole class at once (40); lower it to give the first students a server sooner. Idle
single-user server: 130 MiB RSS (5.1 GiB for 40).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lms.notebooks.hub_client import (
    STUDENTS_GROUP,
    HubClient,
    PrestartJob,
    PrestartTiming,
    run_prestart,
)
from tests.e2e.stack import Stack, running_stack


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


def stop_all(api: httpx.Client, users: list[str], deadline_s: float = 180) -> None:
    for user in users:
        api.delete(f"/users/{user}/server")
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        listing = api.get("/users", params={"state": "active", "limit": 500}).json()
        items = listing["items"] if isinstance(listing, dict) else listing
        if not {u["name"] for u in items} & set(users):
            return
        time.sleep(1)


def start_round(stack: Stack, users: list[str], concurrency: int, deadline_s: float) -> dict[str, Any]:
    def factory() -> HubClient:
        return HubClient(stack.hub_url + "/hub/api", stack.service_token, timeout=httpx.Timeout(60.0))

    load_before = os.getloadavg()
    job = PrestartJob(course_id="bench", students=users, concurrency=concurrency)
    t0 = time.monotonic()
    run_prestart(factory, job, PrestartTiming(ready_timeout_s=deadline_s, poll_interval_s=0.5))
    wall = time.monotonic() - t0
    times = sorted(job.seconds.values())
    counts = job.counts()
    return {
        "n": len(users),
        "concurrency": concurrency,
        "wall_s": wall,
        "all_ready": counts["ready"] == len(users),
        "ready": counts["ready"],
        "failures": counts["failed"],
        "errors": sorted(set(job.errors.values())),
        "median_s": statistics.median(times) if times else None,
        "max_s": times[-1] if times else None,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


def run(n: int, concurrencies: list[int], deadline_s: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp,
        running_stack(Path(tmp), students=1) as stack,
        httpx.Client(
            base_url=stack.hub_url + "/hub/api",
            headers={"Authorization": f"token {stack.service_token}"},
            timeout=60,
        ) as api,
    ):
        rounds: list[dict[str, Any]] = []
        everyone = ["bench-single"] + [f"bench-k{k}-{i:03d}" for k in concurrencies for i in range(n)]
        api.post("/users", json={"usernames": everyone}).raise_for_status()
        api.post(f"/groups/{STUDENTS_GROUP}")  # 201, or 409 when it exists
        api.post(f"/groups/{STUDENTS_GROUP}/users", json={"users": everyone}).raise_for_status()
        single = start_round(stack, ["bench-single"], 1, deadline_s)
        stop_all(api, ["bench-single"])
        for k in concurrencies:
            users = [f"bench-k{k}-{i:03d}" for i in range(n)]
            result = start_round(stack, users, k, deadline_s)
            time.sleep(10)  # let the servers settle to idle before measuring memory
            rss = server_rss_mib(Path(tmp) / "hub")
            result["rss_mib_mean"] = statistics.mean(rss) if rss else None
            result["rss_mib_total"] = sum(rss)
            result["servers_measured"] = len(rss)
            rounds.append(result)
            stop_all(api, users)
        return {"single": single, "rounds": rounds, "cpus": os.cpu_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="servers per round (default 40)")
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=[40],
        help="spawns in flight at once, one round each (default 40 = the LMS default: a class at once)",
    )
    parser.add_argument("--deadline", type=float, default=300, help="give up on a server after this many s")
    args = parser.parse_args()
    if not 1 <= args.n <= 200 or any(not 1 <= k <= 200 for k in args.concurrency):
        parser.error("--n and --concurrency must be between 1 and 200")
    result = run(args.n, args.concurrency, args.deadline)
    single = result["single"]
    one = single["max_s"]
    print(f"cpus                      : {result['cpus']}")
    print(
        "peer: one server alone    : "
        + (f"{one:.1f} s" if one else "failed")
        + "   (load {:.1f} before)".format(single["load_before"][0])
    )
    for r in result["rounds"]:
        print(f"--- {r['n']} servers from cold, at most {r['concurrency']} starting at once")
        ratio = f" ({r['wall_s'] / one:.1f}x one server)" if one else ""
        verdict = "all ready" if r["all_ready"] else "NOT all ready"
        print(f"  {verdict} after         : {r['wall_s']:.1f} s{ratio}   (goal: 60 s for 40, 0 failures)")
        print(f"  ready / failures        : {r['ready']} / {r['failures']} {r['errors'] or ''}")
        if r["median_s"] is not None:
            print(f"  start-to-ready median   : {r['median_s']:.1f} s, max {r['max_s']:.1f} s")
        if r["rss_mib_mean"] is not None:
            print(
                f"  idle server RSS         : {r['rss_mib_mean']:.0f} MiB mean over {r['servers_measured']}"
                f" servers, {r['rss_mib_total'] / 1024:.2f} GiB total"
            )
        print("  load average before     : {:.1f} {:.1f} {:.1f}".format(*r["load_before"]))
        print("  load average after      : {:.1f} {:.1f} {:.1f}".format(*r["load_after"]))


if __name__ == "__main__":
    main()
