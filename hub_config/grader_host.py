"""The city's grader container: every course's formgrader, run as root for the autograde sandbox.

The autograde sandbox (``hub_config/sandbox.py``) switches to pooled unix users and puts each kernel in a
bubblewrap container: it needs root and ``CAP_SYS_ADMIN``. In a city the hub runs in an unprivileged
container, so its formgraders could not autograde. Here the formgraders move into a container of their own
(``grader`` in docker/compose.yaml, the student image plus bubblewrap: student code is graded with the
packages it was written with), and the hub knows them as *external* services:

- the hub (``hub_config/docker_mode.py``) lists each course as a service with ``url=http://grader:<port>``
  and an API token derived from ``GIGA_GRADER_SECRET`` (:func:`service_token`), no command;
- this module, the grader container's main process, starts one ``jupyterhub-singleuser`` per course with the
  environment the hub gives a managed service (:func:`service_environment`) and the token derived from the
  same secret, restarts one that exits, and starts the formgrader of a course added to ``courses.json`` by
  provisioning (the hub is restarted for it as before);
- teachers reach it exactly as before (``/services/<course>/formgrader`` through the proxy, signed in by the
  hub); it still serves no kernel and no terminal (``ROOT_FORMGRADER_ARGS``).

Nothing else runs as root: the hub, the proxy and the students' containers stay unprivileged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub_config.configurer import GRADER_ACCOUNT, course_services
from hub_config.settings import HubSettings, HubSettingsError

GRADER_SECRET_VARIABLE = "GIGA_GRADER_SECRET"
HEARTBEAT = Path("/tmp/giga-grader-alive")  # the image's HEALTHCHECK reads its age
POLL_SECONDS = 5.0
RESTART_DELAY_S = 5.0
STOP_SECONDS = 20.0  # compose gives the container 30 s (stop_grace_period)


def grader_secret(environ: Mapping[str, str] | None = None) -> str:
    """``GIGA_GRADER_SECRET``, shared by the hub and the grader container (at least 32 characters)."""
    env = os.environ if environ is None else environ
    secret = env.get(GRADER_SECRET_VARIABLE, "")
    if len(secret) < 32:
        raise HubSettingsError(
            f"{GRADER_SECRET_VARIABLE} must be a random value of at least 32 characters "
            "(the hub and the grader container derive the formgraders' API tokens from it)"
        )
    return secret


def service_token(secret: str, course: str) -> str:
    """The API token of a course's formgrader service: the same on the hub and in the grader container,
    different per course, and not the secret itself. Only the secret is configured; each formgrader's
    environment holds its own token (all of them run as root in one container, so this separates the
    courses' credentials, not their processes)."""
    return hmac.new(secret.encode(), f"formgrader:{course}".encode(), hashlib.sha256).hexdigest()


def service_prefix(course: str) -> str:
    return f"/services/{course}/"


def service_port(service: dict[str, Any]) -> int:
    return int(service["url"].rsplit(":", 1)[1])


def external_course_services(
    services: list[dict[str, Any]], courses: tuple[str, ...], *, host: str, secret: str
) -> list[dict[str, Any]]:
    """The hub's service list with each course's formgrader made external (run by the grader container):
    the same name, port and sign-in, a derived token instead of a command."""
    external = []
    for service in services:
        if service["name"] in courses:
            service = {
                "name": service["name"],
                "url": f"http://{host}:{service_port(service)}",
                "api_token": service_token(secret, service["name"]),
                "oauth_no_confirm": service.get("oauth_no_confirm", True),
            }
        external.append(service)
    return external


def service_environment(
    course: str, port: int, *, token: str, hub_api_url: str, public_url: str
) -> dict[str, str]:
    """What JupyterHub adds to a managed service's own environment (``Spawner.get_env`` for a service,
    JupyterHub 5–6), for a formgrader the grader container runs itself."""
    prefix = service_prefix(course)
    access = json.dumps(["access:services", f"access:services!service={course}"])
    public = public_url.rstrip("/")
    return {
        "JUPYTERHUB_SERVICE_NAME": course,
        "JUPYTERHUB_API_TOKEN": token,
        "JPY_API_TOKEN": token,
        "JUPYTERHUB_CLIENT_ID": f"service-{course}",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED": "0",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": access,
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": access,
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": "[]",
        "JUPYTERHUB_SERVER_NAME": "",
        "JUPYTERHUB_API_URL": hub_api_url,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{port}",  # the hub gives the service's url; listen on all
        "JUPYTERHUB_PUBLIC_URL": f"{public}{prefix}",
        "JUPYTERHUB_PUBLIC_HUB_URL": f"{public}/hub/",
        "HOME": "/root",  # root's, not the teacher-writable course folder (Jupyter reads ~/.jupyter)
        "LANG": "C.UTF-8",
    }


def formgrader_services(s: HubSettings) -> dict[str, dict[str, Any]]:
    """The formgraders exactly as the hub would run them itself (``configurer.course_services``: port,
    command — as root here, so with ``ROOT_FORMGRADER_ARGS`` —, course folder, environment)."""
    return course_services(s)[0]


def formgrader_command(service: dict[str, Any]) -> list[str]:
    """The hub's command for the service, listening on the container network (the proxy is elsewhere)."""
    return [*service["command"], "--ip=0.0.0.0"]


def give_gradebook_to_folder_owner(folder: Path) -> None:
    """Make the course's gradebook, if it does not exist yet, as the course folder's owner (the hub's user,
    which provisions): provisioning writes the roster's names into it, and one that root made here would
    refuse it. An empty file is an empty SQLite database; nbgrader creates its tables in it."""
    gradebook = folder / "gradebook.db"
    if not gradebook.exists():
        gradebook.touch(mode=0o600)
        owner = folder.stat()
        os.chown(gradebook, owner.st_uid, owner.st_gid)


def _stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class GraderHost:
    """Keeps one formgrader process per course of ``courses.json`` running, on the course's port."""

    environ: Mapping[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    exited_at: dict[str, float] = field(default_factory=dict)

    def settings(self) -> HubSettings:
        return HubSettings.from_env(self.environ)  # courses.json is read again each time

    def sync(self) -> None:
        """Make the running formgraders those of ``courses.json``, each on its port: start a new course's;
        stop a removed course's; restart one whose port moved (ports follow the sorted course list, as the
        hub's configuration numbers them, so a course added before it moves it); restart one that exited,
        after a delay. A failure of one course is reported and does not hold up the others."""
        s = self.settings()
        secret = grader_secret(self.environ)
        from hub_config.provision import ensure_exchange

        ensure_exchange(Path(s.exchange_root))
        services = formgrader_services(s)
        wanted = {course: service_port(service) for course, service in services.items()}
        for course, running in list(self.processes.items()):
            if wanted.get(course) != self.ports[course]:
                print(f"grader: stopping the formgrader of {course} (port {self.ports[course]})", flush=True)
                _stop_process(running, timeout=10)
                del self.processes[course], self.ports[course]
        now = time.monotonic()
        for course in wanted:
            process = self.processes.get(course)
            if process is not None and process.poll() is None:
                continue
            if process is not None:
                print(f"grader: the formgrader of {course} exited ({process.returncode})", flush=True)
                self.exited_at[course] = now
                del self.processes[course], self.ports[course]
            if now - self.exited_at.get(course, -RESTART_DELAY_S) < RESTART_DELAY_S:
                continue
            try:
                self.start(s, services[course], secret)
            except OSError as error:
                print(
                    f"grader: cannot start the formgrader of {course}: {error}", file=sys.stderr, flush=True
                )
                self.exited_at[course] = now
        HEARTBEAT.touch()

    def start(self, s: HubSettings, service: dict[str, Any], secret: str) -> None:
        from hub_config.provision import ensure_course

        course, port = service["name"], service_port(service)
        folder = ensure_course(Path(s.state_dir), course, GRADER_ACCOUNT.format(course=course))
        give_gradebook_to_folder_owner(folder)
        env = service["environment"] | service_environment(
            course,
            port,
            token=service_token(secret, course),
            hub_api_url=self.environ.get("GIGA_GRADER_HUB_API_URL", "http://hub:8081/hub/api"),
            public_url=self.environ.get("GIGA_HUB_PUBLIC_URL", "http://127.0.0.1:8001"),
        )
        # the sandbox's settings (pool, limits, timeouts) as the container was given them
        env.update({k: v for k, v in self.environ.items() if k.startswith("GIGA_AUTOGRADE_")})
        self.processes[course] = subprocess.Popen(formgrader_command(service), cwd=folder, env=env)
        self.ports[course] = port
        print(f"grader: started the formgrader of {course} on port {port}", flush=True)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    if os.geteuid() != 0:
        print("grader: must run as root (the autograde sandbox switches to its own users)", file=sys.stderr)
        return 2
    host = GraderHost(os.environ)
    try:
        grader_secret(os.environ)
        host.settings()
    except (HubSettingsError, ValueError, TypeError) as error:
        print(f"grader: {error}", file=sys.stderr)
        return 2
    from hub_config.nbgrader_config import settings_from_env
    from hub_config.sandbox import SandboxError, ensure_sandbox_users

    try:  # once, before any formgrader: their first autogrades would race to create the same users
        ensure_sandbox_users(settings_from_env(os.environ)["sandbox_pool"])
    except (SandboxError, OSError, subprocess.CalledProcessError) as error:
        print(f"grader: {error}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    while not stopping.is_set():
        try:
            host.sync()
        except (
            HubSettingsError,
            OSError,
            ValueError,
            TypeError,
        ) as error:  # courses.json mid-write: next round
            print(f"grader: {error}", file=sys.stderr, flush=True)
        stopping.wait(POLL_SECONDS)
    host.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
