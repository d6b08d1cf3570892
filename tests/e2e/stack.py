"""Start a throw-away LMS (uvicorn, migrated temp SQLite) and a real JupyterHub (test-mode spawner), both on
127.0.0.1 with free ports; used by the end-to-end test and by benchmarks/bench_hub_start.py.

Every process gets its own session (process group) and is killed with its group on exit, so no single-user
server or proxy outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)
PASSWORD = "e2e-password-42"
COURSE = "e2e-prog"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    lms_url: str
    hub_url: str
    service_token: str
    admin_token: str
    students: list[str]
    teachers: list[str]
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def hub_api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.hub_url + "/hub/api",
            headers={"Authorization": f"token {self.service_token}"},
            timeout=30,
        )


def seed_lms(database_url: str, students: int) -> tuple[list[str], list[str], str]:
    """A migrated database: one school, a notebook class (a teacher, ``students`` students), an outsider
    class (one student), an admin with an API token of scope ``hub``."""
    from sqlmodel import Session

    from lms.auth.models import ApiToken
    from lms.auth.passwords import hash_password
    from lms.auth.tokens import new_api_secret, sha256_hex
    from lms.core.db import make_engine
    from lms.migrations import upgrade
    from lms.notebooks.models import NotebookCourse
    from lms.roster.models import Enrollment, Org, SchoolClass, User

    upgrade(database_url)
    engine = make_engine(database_url)
    password_hash = hash_password(PASSWORD)
    with Session(engine) as session:
        school = Org(sourced_id="e2e-school", name="みどり中学校", type="school", identifier="C100000000001")
        session.add(school)
        session.flush()
        assert school.id is not None
        nb_class = SchoolClass(sourced_id="e2e-c1", title="1年1組", grades="J1", school_id=school.id)
        other = SchoolClass(sourced_id="e2e-c2", title="1年2組", grades="J1", school_id=school.id)
        session.add_all([nb_class, other])
        session.flush()
        people = [("e2e-t1", "teacher", nb_class)] + [
            (f"e2e-s{i}", "student", nb_class) for i in range(1, students + 1)
        ]
        people.append(("e2e-outsider", "student", other))
        for number, (username, role, klass) in enumerate(people):
            user = User(
                username=username,
                role=role,
                given_name=username,
                family_name="山田",
                kana_given_name="テスト",
                kana_family_name="ヤマダ",
                password_hash=password_hash,
                primary_org_id=school.id,
            )
            session.add(user)
            session.flush()
            session.add(
                Enrollment(
                    sourced_id=f"en-{username}",
                    class_id=klass.id,
                    user_id=user.id,
                    school_id=school.id,
                    role=role,
                    shusseki_no=number if role == "student" else None,
                )
            )
        admin = User(username="e2e-admin", role="admin", given_name="管理", family_name="山田")
        session.add(admin)
        session.flush()
        secret = new_api_secret()
        session.add(
            ApiToken(
                user_id=admin.id,
                name="hub provisioning",
                token_hash=sha256_hex(secret),
                prefix=secret[:12],
                scopes="hub grades:write",
            )
        )
        assert nb_class.id is not None
        session.add(NotebookCourse(class_id=nb_class.id, course_id=COURSE))
        session.commit()
    engine.dispose()
    return [p[0] for p in people if p[1] == "student" and p[0] != "e2e-outsider"], ["e2e-t1"], secret


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(
        f"{url} did not answer within {deadline_s:.0f} s:\n{log.read_text(errors='replace')[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace_s)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the group: proxy and single-user servers too
    process.wait(timeout=10)


@contextmanager
def running_stack(
    tmp: Path,
    *,
    students: int = 2,
    hub_extra_env: dict[str, str] | None = None,
    lms_extra_env: dict[str, str] | None = None,
    before_hub: Callable[[Path], None] | None = None,
) -> Iterator[Stack]:
    """LMS + hub, ready; everything is stopped (process groups killed) when the block ends.

    ``before_hub`` gets the hub's state folder before the hub starts (e.g. to lay out course folders: the hub
    starts each course's formgrader service in its folder)."""
    database_url = f"sqlite:///{tmp / 'lms.core.db'}"
    student_names, teachers, admin_token = seed_lms(database_url, students)
    lms_port, hub_port, hub_internal, proxy_api = free_port(), free_port(), free_port(), free_port()
    lms_url, hub_url = f"http://127.0.0.1:{lms_port}", f"http://127.0.0.1:{hub_port}"
    client_secret, service_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    common = {**os.environ, "PYTHONPATH": str(ROOT), "GIGA_OAUTH_HUB_CLIENT_SECRET": client_secret}
    lms_env = {
        **common,
        "GIGA_DATABASE_URL": database_url,
        "GIGA_ENVIRONMENT": "development",
        "GIGA_OAUTH_HUB_REDIRECT_URI": f"{hub_url}/hub/oauth_callback",
        "GIGA_OAUTH_HUB_URL": hub_url,
        # the LMS provisions the hub and pre-starts servers over the hub's REST API with the service token
        "GIGA_HUB_API_URL": f"{hub_url}/hub/api",
        "GIGA_HUB_SERVICE_TOKEN": service_token,
        **(lms_extra_env or {}),
    }
    hub_env = {
        **common,
        "GIGA_HUB_MODE": "test",
        "GIGA_HUB_BIND_URL": hub_url,
        "GIGA_HUB_HUB_PORT": str(hub_internal),
        "GIGA_HUB_PROXY_API_PORT": str(proxy_api),
        "GIGA_HUB_LMS_URL": lms_url,
        "GIGA_HUB_SERVICE_TOKEN": service_token,
        "GIGA_HUB_STATE_DIR": str(tmp / "hub"),
        "GIGA_HUB_FORMGRADER_BASE_PORT": str(free_port()),
        **(hub_extra_env or {}),
    }
    stack = Stack(lms_url, hub_url, service_token, admin_token, student_names, teachers, tmp)
    lms_log, hub_log = tmp / "lms.log", tmp / "hub.log"
    try:
        with lms_log.open("wb") as out:
            stack.processes.append(
                subprocess.Popen(
                    [
                        str(PYTHON),
                        "-m",
                        "uvicorn",
                        "lms.main:app",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(lms_port),
                    ],
                    cwd=ROOT,
                    env=lms_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait(f"{lms_url}/healthz", stack.processes[-1], lms_log, 60)
        (tmp / "hub").mkdir(exist_ok=True)
        if before_hub is not None:
            before_hub(tmp / "hub")
        with hub_log.open("wb") as out:
            stack.processes.append(
                subprocess.Popen(
                    [
                        str(PYTHON.parent / "jupyterhub"),
                        "-f",
                        str(ROOT / "hub_config" / "jupyterhub_config.py"),
                    ],
                    cwd=tmp / "hub",
                    env=hub_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait(f"{hub_url}/hub/api/", stack.processes[-1], hub_log, 90)
        yield stack
    finally:
        for process in reversed(stack.processes):
            _stop(process, grace_s=20)
        _kill_leftovers(tmp / "hub")


def _kill_leftovers(state_dir: Path) -> None:
    """The hub starts the proxy and the single-user servers in sessions of their own: if the hub could not
    clean up (killed during shutdown), stop them by the proxy's pid file and by their working directory."""
    pids: set[int] = set()
    pid_file = state_dir / "jupyterhub-proxy.pid"
    if pid_file.is_file() and pid_file.read_text().strip().isdigit():
        pids.add(int(pid_file.read_text().strip()))
    homes = str(state_dir / "homes")
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{entry}/cwd").startswith(homes):
                pids.add(int(entry))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
