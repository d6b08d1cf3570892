"""A whole class opening notebooks at once: N single-user servers started from cold through the hub API, the
way 「授業をはじめる」 does it (DESIGN §11 / issue 5: 40 servers within 60 s, 0 failures).

Usage: ``.venv/bin/python benchmarks/bench_hub_start.py [--n 40] [--concurrency 16 40] [--deadline 300]
[--poll 1] [--tokens stretched random]``

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
single-user server: 130 MiB RSS (5.1 GiB for 40). Issue 22's fourth session (the LMS polling every 1 s, as
in production; ``--tokens`` alternated): 40 at once 33.2-43.4 s in four rounds at load 4-12, 0 failures, the
hub's own CPU 2.9-3.6 s whichever way it checks the LMS's token (docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
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


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (the hub: one Python thread serves every request)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def start_round(
    stack: Stack, token: str, users: list[str], concurrency: int, timing: PrestartTiming
) -> dict[str, Any]:
    def factory() -> HubClient:
        return HubClient(stack.hub_url + "/hub/api", token, timeout=httpx.Timeout(60.0))

    load_before = os.getloadavg()
    hub_cpu_before = process_cpu_s(stack.processes[-1].pid)
    job = PrestartJob(course_id="bench", students=users, concurrency=concurrency)
    t0 = time.monotonic()
    run_prestart(factory, job, timing)
    wall = time.monotonic() - t0
    hub_cpu = process_cpu_s(stack.processes[-1].pid) - hub_cpu_before
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
        "hub_cpu_s": hub_cpu,
    }


def run(n: int, concurrencies: list[int], timing: PrestartTiming, token: str) -> dict[str, Any]:
    """One stack (LMS + hub) whose LMS drives the hub with ``token``: a random one (one hash round per
    request) or a short one that the hub stretches with 16,384 rounds, as every token before issue 22."""
    token_env = {"GIGA_HUB_SERVICE_TOKEN": token}
    with (
        tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp,
        running_stack(Path(tmp), students=1, hub_extra_env=token_env, lms_extra_env=token_env) as stack,
        httpx.Client(
            base_url=stack.hub_url + "/hub/api", headers={"Authorization": f"token {token}"}, timeout=60
        ) as api,
    ):
        rounds: list[dict[str, Any]] = []
        everyone = ["bench-single"] + [f"bench-k{k}-{i:03d}" for k in concurrencies for i in range(n)]
        api.post("/users", json={"usernames": everyone}).raise_for_status()
        api.post(f"/groups/{STUDENTS_GROUP}")  # 201, or 409 when it exists
        api.post(f"/groups/{STUDENTS_GROUP}/users", json={"users": everyone}).raise_for_status()
        single = start_round(stack, token, ["bench-single"], 1, timing)
        stop_all(api, ["bench-single"])
        for k in concurrencies:
            users = [f"bench-k{k}-{i:03d}" for i in range(n)]
            result = start_round(stack, token, users, k, timing)
            time.sleep(10)  # let the servers settle to idle before measuring memory
            rss = server_rss_mib(Path(tmp) / "hub")
            # per server, not per process: a confined server (make run as root) is bwrap + sh + python
            result["rss_mib_mean"] = sum(rss) / len(users) if rss else None
            result["rss_mib_total"] = sum(rss)
            result["servers_measured"] = len(rss)
            rounds.append(result)
            stop_all(api, users)
        return {"single": single, "rounds": rounds, "cpus": os.cpu_count()}


TOKENS = {
    # what `make run` and the deployment notes generate: the hub checks it with one hash round
    "random": lambda: secrets.token_hex(32),
    # too short to count as random (hub_config.configurer.is_generated_token): 16,384 rounds per request,
    # what the hub did with every configured token before issue 22's fourth session
    "stretched": lambda: secrets.token_hex(12),
}


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
    parser.add_argument(
        "--poll",
        type=float,
        default=PrestartTiming().poll_interval_s,
        help="seconds between the LMS's checks of each starting server (default: the LMS's own)",
    )
    parser.add_argument(
        "--tokens",
        nargs="+",
        choices=sorted(TOKENS),
        default=["random"],
        help="one stack per entry, in this order: the LMS's service token random (one hash round) or"
        " stretched (16,384 rounds per request, the hub before issue 22); e.g. --tokens stretched random",
    )
    args = parser.parse_args()
    if not 1 <= args.n <= 200 or any(not 1 <= k <= 200 for k in args.concurrency):
        parser.error("--n and --concurrency must be between 1 and 200")
    if not 0.1 <= args.poll <= 10:
        parser.error("--poll must be between 0.1 and 10 seconds")
    timing = PrestartTiming(ready_timeout_s=args.deadline, poll_interval_s=args.poll)
    print(f"cpus                      : {os.cpu_count()}; the LMS polls each server every {args.poll:g} s")
    for kind in args.tokens:
        print(f"=== service token: {kind}")
        report(run(args.n, args.concurrency, timing, TOKENS[kind]()))


def report(result: dict[str, Any]) -> None:
    single = result["single"]
    one = single["max_s"]
    print(
        "peer: one server alone    : "
        + (f"{one:.1f} s" if one else "failed")
        + "   (load {:.1f} before)".format(single["load_before"][0])
    )
    for r in result["rounds"]:
        print(f"--- {r['n']} servers from cold, at most {r['concurrency']} starting at once")
        ratio = f" ({r['wall_s'] / one:.1f}x one server)" if one else ""
        verdict = "all ready" if r["all_ready"] else "NOT all ready"
        print(f"  {verdict} after         : {r['wall_s']:.1f} s{ratio}   (goal: 45 s for 40, 0 failures)")
        print(f"  ready / failures        : {r['ready']} / {r['failures']} {r['errors'] or ''}")
        if r["median_s"] is not None:
            print(f"  start-to-ready median   : {r['median_s']:.1f} s, max {r['max_s']:.1f} s")
        print(f"  hub process CPU         : {r['hub_cpu_s']:.1f} s")
        if r["rss_mib_mean"] is not None:
            print(
                f"  idle server RSS         : {r['rss_mib_mean']:.0f} MiB per server ({r['servers_measured']}"
                f" processes), {r['rss_mib_total'] / 1024:.2f} GiB total"
            )
        print("  load average before     : {:.1f} {:.1f} {:.1f}".format(*r["load_before"]))
        print("  load average after      : {:.1f} {:.1f} {:.1f}".format(*r["load_after"]))


if __name__ == "__main__":
    main()
