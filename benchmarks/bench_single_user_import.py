"""What one student's notebook server costs to start: the exact command and environment the hub's spawner runs
(``hub_config.configurer.configure_spawner``), its time to the first answer and its CPU time, with the stock
``jupyterhub-singleuser`` (every installed extension on) as the peer measured in the same run.

Usage: ``.venv/bin/python benchmarks/bench_single_user_import.py [--rounds 3] [--top 12]``

Each start runs against a stand-in hub (a tiny HTTP server answering the version check and activity posts, so
no JupyterHub is needed) on free 127.0.0.1 ports and is timed from ``Popen`` until ``GET /user/<name>/api``
answers 200 (what the hub polls before it calls a server ready). CPU is the server's own user+system time at
that moment (``/proc``): on a school server a class of 40 starting at once shares the cores, so the CPU
seconds per start bound how soon all 40 can be ready (40 × CPU / cores). Variants, alternated round by round:

- ``stock``: ``jupyterhub-singleuser`` without options (JupyterLab, LSP, terminals, formgrader, course list);
- ``production``: the spawner's command and environment (lean, Japanese, lazy ``rfc3987_syntax``);
- ``image-before``: the production command as the student image ran it before issue 22's fourth session: no
  bytecode (the image deleted ``__pycache__`` and uid 1000 cannot write the venv, so every start compiled
  every module) and no lazy ``rfc3987_syntax`` on ``PYTHONPATH``;
- ``no-shim`` (on request): ``production`` without the lazy ``rfc3987_syntax``, to price that part alone.

Then one ``-X importtime`` run of ``production``: modules, import seconds and the packages that cost most
(self time), and which first-level imports pull them in. Numbers only, no assertions; every server is
stopped. The machine is shared: read the ratios (each round's variants run back to back), not the seconds.

Measured here (3 rounds, load 6.5, 2 cores), median CPU per start: stock 2.42 s, production 1.15 s (0.48x),
without the lazy import 2.22 s, the student image as built before 4.63 s (4.0x production); to the first 200:
4.97 / 2.39 / 3.60 / 8.06 s.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from traitlets.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub_config.configurer import LAZY_IMPORTS_DIR, configure_spawner
from hub_config.settings import HubSettings

USER = "bench-student"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeHubHandler(BaseHTTPRequestHandler):
    """Answers the single-user server's calls to its hub: the version check and the activity posts."""

    def _ok(self) -> None:
        body = b"{}"
        self.send_response(200)
        self.send_header("X-JupyterHub-Version", "6.1.1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._ok()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._ok()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def fake_hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeHubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    finally:
        server.shutdown()


def hub_environment(api_url: str, port: int, home: Path) -> dict[str, str]:
    """What JupyterHub's spawner adds for every server (``Spawner.get_env``)."""
    prefix = f"/user/{USER}/"
    return {
        "HOME": str(home),
        "JUPYTERHUB_API_TOKEN": "bench-token",
        "JUPYTERHUB_API_URL": api_url,
        "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{USER}",
        "JUPYTERHUB_USER": USER,
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}{prefix}",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_ACTIVITY_URL": f"{api_url}/users/{USER}/activity",
    }


def production_command(tmp: Path) -> tuple[list[str], dict[str, str]]:
    """The spawner's command and environment, from the production configurer (test mode as a plain user)."""
    c = Config()
    settings = HubSettings(
        mode="test", state_dir=tmp / "state", exchange_root=tmp / "exchange", is_root=False
    )
    configure_spawner(c, settings)
    return [*c.Spawner.cmd, *c.Spawner.args], dict(c.Spawner.environment)


def variant(name: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    cmd, env = production_command(tmp)
    base = {"PATH": env["PATH"], "LANG": os.environ.get("LANG", "C.UTF-8")}
    if name == "stock":
        return [cmd[0]], base
    if name == "production":
        return cmd, {**base, **env}
    no_shim = os.pathsep.join(p for p in env["PYTHONPATH"].split(os.pathsep) if Path(p) != LAZY_IMPORTS_DIR)
    if name == "no-shim":
        return cmd, {**base, **env, "PYTHONPATH": no_shim}
    if name == "image-before":
        empty_cache = tmp / "empty-pycache"  # read from here only: nothing there, so every module compiles
        empty_cache.mkdir(exist_ok=True)
        return cmd, {
            **base,
            **env,
            "PYTHONPATH": no_shim,
            "PYTHONPYCACHEPREFIX": str(empty_cache),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    raise ValueError(name)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def start_once(
    cmd: list[str], env: dict[str, str], api_url: str, tmp: Path, python_flags: tuple[str, ...] = ()
) -> tuple[float, float, str]:
    """Seconds to the first 200, CPU seconds by then, and the server's stderr."""
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="home-", dir=tmp))
    argv = [sys.executable, *python_flags, *cmd, f"--port={port}", "--ip=127.0.0.1"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    full_env = {**env, **hub_environment(api_url, port, home)}
    log = tmp / f"server-{port}.log"
    url = f"http://127.0.0.1:{port}/user/{USER}/api"
    with open(log, "wb") as err:
        t0 = time.monotonic()
        process = subprocess.Popen(
            argv, env=full_env, cwd=home, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
        )
        try:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited {process.returncode}: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() - t0 > 120:
                    raise RuntimeError(f"no answer in 120 s: {log.read_text()[-2000:]}")
                time.sleep(0.02)
            wall = time.monotonic() - t0
            cpu = cpu_seconds(process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return wall, cpu, log.read_text(errors="replace")


IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_profile(stderr: str, top: int) -> None:
    rows = []
    for line in stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if m:
            rows.append((int(m[1]), int(m[2]), (len(m[3]) - 1) // 2, m[4]))
    total = sum(cumulative for _, cumulative, depth, _ in rows if depth == 0)
    print(f"  modules imported        : {len(rows)}, {total / 1e6:.2f} s of imports (self times summed)")
    by_package: Counter[str] = Counter()
    for self_us, _, _, name in rows:
        by_package[name.split(".")[0]] += self_us
    print(
        "  packages by self time   : "
        + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in by_package.most_common(top))
    )
    # importtime prints a module after its imports: read backwards to know who pulled what in
    chains: dict[str, float] = {}
    path: list[str] = []
    for _, cumulative, depth, name in reversed(rows):
        path = [*path[:depth], name]
        if depth <= 2 and cumulative > 0.05 * total:
            chains[" > ".join(path)] = cumulative / 1e6
    print("  heaviest import chains  :")
    for chain, seconds in sorted(chains.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {seconds:5.2f} s  {chain}")
    for line in stderr.splitlines():
        if "took" in line and "to import" in line:
            print("  " + line.split("] ", 1)[-1])


def spread(values: list[float]) -> str:
    median = statistics.median(values)
    return f"{median:5.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="starts per variant, alternated (default 3)")
    parser.add_argument("--top", type=int, default=12, help="rows of the import profile (default 12)")
    parser.add_argument(
        "--variants", nargs="+", default=["stock", "production", "image-before"], help="which to start"
    )
    args = parser.parse_args()
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    wall: dict[str, list[float]] = {v: [] for v in args.variants}
    cpu: dict[str, list[float]] = {v: [] for v in args.variants}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-su-") as name, fake_hub() as api_url:
        tmp = Path(name)
        commands = {v: variant(v, tmp) for v in args.variants}
        for _ in range(args.rounds):
            for v in args.variants:
                seconds, cpu_s, _ = start_once(*commands[v], api_url, tmp)
                wall[v].append(seconds)
                cpu[v].append(cpu_s)
        _, _, profile = start_once(*variant("production", tmp), api_url, tmp, ("-X", "importtime"))
    cores = os.cpu_count() or 1
    print(f"cpus {cores}; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    production_cmd = variant("production", Path(tempfile.gettempdir()))[0]
    print("production command: " + " ".join([Path(production_cmd[0]).name, *production_cmd[1:]]))
    base = "stock" if "stock" in wall else args.variants[0]
    for v in args.variants:
        ratio = statistics.median(cpu[v]) / statistics.median(cpu[base])
        print(
            f"{v:13s} first 200: {spread(wall[v])} s   CPU: {spread(cpu[v])} s  ({ratio:.2f}x {base}'s CPU;"
            f" 40 at once on {cores} cores >= {40 * statistics.median(cpu[v]) / cores:.0f} s)"
        )
    print("import profile of production (-X importtime, one start):")
    import_profile(profile, args.top)


if __name__ == "__main__":
    main()
