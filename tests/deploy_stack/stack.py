"""The city (docker/compose.yaml) as a test fixture: an env file with fresh secrets, the images of
docker/base/build.sh, Caddy published on 127.0.0.1 only, commands through the compose CLI.

The CLI is `docker compose` (v2) when installed, else Debian's `docker-compose` (1.29): the same file works
with both. Host names are resolved to 127.0.0.1 inside this process only (no /etc/hosts edit).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "compose.yaml"
LOCAL_IMAGES = ROOT / "docker" / "base" / "local-images.env"
LMS_HOST, HUB_HOST = "lms.giga.test", "hub.giga.test"
HTTP_PORT = int(os.environ.get("GIGA_DEPLOY_HTTP_PORT", "8480"))
HTTPS_PORT = int(os.environ.get("GIGA_DEPLOY_HTTPS_PORT", "8443"))
PROJECT = os.environ.get("GIGA_DEPLOY_PROJECT", "gigatest")
STUDENT_IMAGE = "giga/student:0.1.0"


def compose_command() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor `docker-compose` is installed")


def write_env(path: Path, *, local_images: bool = True) -> dict[str, str]:
    values = {
        "COMPOSE_PROJECT_NAME": PROJECT,
        "GIGA_LMS_HOST": LMS_HOST,
        "GIGA_HUB_HOST": HUB_HOST,
        "GIGA_TLS": "internal",
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "GIGA_SECRET_KEY": secrets.token_urlsafe(48),
        "GIGA_OAUTH_HUB_CLIENT_SECRET": secrets.token_urlsafe(32),
        "GIGA_HUB_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "GIGA_GRADER_SECRET": secrets.token_urlsafe(32),
        "CONFIGPROXY_AUTH_TOKEN": secrets.token_urlsafe(32),
        "GIGA_METRICS_TOKEN": secrets.token_urlsafe(32),
        "GIGA_LMS_WORKERS": "2",
        "GIGA_PUBLISH_ADDRESS": "127.0.0.1",
        "GIGA_HTTP_PORT": str(HTTP_PORT),
        "GIGA_HTTPS_PORT": str(HTTPS_PORT),
    }
    if local_images:
        values.update(read_env(LOCAL_IMAGES))
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return values


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def student_containers(*, running_only: bool = True) -> list[str]:
    """DockerSpawner's containers: of the student image itself (the grader image is built on it, so Docker's
    ``ancestor`` filter alone would list the grader container too)."""
    out = subprocess.run(
        ["docker", "ps", *([] if running_only else ["-a"]), "--filter", f"ancestor={STUDENT_IMAGE}",
         "--format", "{{.ID}} {{.Image}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.split()[0] for line in out.splitlines() if line.split()[1:] == [STUDENT_IMAGE]]


@contextlib.contextmanager
def hosts_on_loopback() -> Iterator[None]:
    """*.giga.test → 127.0.0.1 for this process (httpx resolves through socket.getaddrinfo)."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".giga.test"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = fake
    try:
        yield
    finally:
        socket.getaddrinfo = real


@dataclass
class City:
    env_file: Path
    env: dict[str, str]
    tmp: Path
    cli: list[str] = field(default_factory=compose_command)
    timings: dict[str, float] = field(default_factory=dict)
    seed: dict[str, Any] = field(default_factory=dict)  # what seed_city.py made (ids, names, password)
    reading_assignment: int = 0  # the reading test the first test assigned
    student_volumes: list[str] = field(default_factory=list)  # DockerSpawner's homes (not compose's)

    # --- compose
    def compose(self, *args: str, check: bool = True, input: str | None = None, timeout: float = 900) -> str:
        command = [*self.cli, "-f", str(COMPOSE_FILE), "--env-file", str(self.env_file), "-p", PROJECT, *args]
        result = subprocess.run(
            command, capture_output=True, text=True, input=input, timeout=timeout, cwd=ROOT
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def up(self, *services: str) -> float:
        """`up -d`, then wait until every long-running service is running (healthy where it has a check);
        returns the seconds from `up` to healthy."""
        start = time.monotonic()
        self.compose("up", "-d", "--no-build", *services)
        self.wait_healthy()
        return time.monotonic() - start

    def down(self, *, volumes: bool = False) -> None:
        # students' containers first: they hold the giga_students network
        ids = student_containers(running_only=False)
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        # the networks must be gone before the next `up` (the frontend's fixed subnet would overlap)
        for _ in range(5):
            out = self.compose(
                "down", "--remove-orphans", *(["-v"] if volumes else []), check=False, timeout=300
            )
            left = subprocess.run(
                ["docker", "network", "ls", "-q", "--filter", f"name={PROJECT}_"],
                capture_output=True,
                text=True,
            ).stdout.split()
            if not left:
                break
            time.sleep(3)
        else:
            raise RuntimeError(f"compose down left networks {left}:\n{out}")
        if volumes:
            for volume in self.student_volumes:
                subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)

    def container(self, service: str) -> str:
        ids = self.compose("ps", "-q", service).split()
        if not ids:
            raise RuntimeError(f"no container for {service}")
        return ids[0]

    def state(self, service: str) -> dict[str, Any]:
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{json .State}}", self.container(service)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return dict(json.loads(out))

    def wait_healthy(self, deadline_s: float = 600) -> None:
        waiting = ["postgres", "lms", "hub", "grader", "caddy", "proxy", "docker-api", "backup"]
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            pending = []
            for service in waiting:
                try:
                    state = self.state(service)
                except (RuntimeError, subprocess.CalledProcessError):
                    pending.append(service)
                    continue
                health = (state.get("Health") or {}).get("Status")
                if not state.get("Running") or health not in (None, "healthy"):
                    pending.append(service)
            if not pending:
                return
            time.sleep(2)
        logs = self.compose("logs", "--tail=40", check=False)
        raise RuntimeError(f"not healthy within {deadline_s:.0f} s: {pending}\n{logs[-6000:]}")

    def exec(self, service: str, *command: str, input: str | None = None, user: str | None = None) -> str:
        return self.compose("exec", "-T", *(["-u", user] if user else []), service, *command, input=input)

    def psql(self, sql: str) -> str:
        return self.exec(
            "postgres", "psql", "-U", "giga", "-d", "giga", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql
        )

    # --- HTTPS through Caddy
    def root_ca(self) -> Path:
        """Caddy's local CA (GIGA_TLS=internal): the certificate the schools install."""
        target = self.tmp / "caddy-root.crt"
        for _ in range(60):
            result = subprocess.run(
                [
                    "docker",
                    "cp",
                    f"{self.container('caddy')}:/data/caddy/pki/authorities/local/root.crt",
                    str(target),
                ],
                capture_output=True,
            )
            if result.returncode == 0:
                return target
            time.sleep(1)
        raise RuntimeError("Caddy made no local CA")

    def browser(self, host: str = LMS_HOST) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.root_ca()))
        return httpx.Client(base_url=f"https://{host}:{HTTPS_PORT}", verify=context, timeout=60)


CSRF = re.compile(r'(?:name="csrf_token" value|data-csrf)="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise AssertionError("no CSRF token on the page")
    return match.group(1)


def sign_in(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/login")
    assert page.status_code == 200, page.text[:500]
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_from(page.text),
            "next": "/home",
        },
    )
    assert response.status_code == 303, (response.status_code, response.text[:500])
    assert client.get("/home").status_code == 200
