"""The grader container's formgraders (hub_config/grader_host.py): the environment JupyterHub would give a
managed service, tokens both sides derive alike, one process per course kept running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from jupyterhub import orm
from jupyterhub.objects import Hub
from jupyterhub.services.service import _MockUser, _ServiceSpawner
from nbgrader.api import Gradebook

from hub_config import grader_host
from hub_config.grader_host import (
    GraderHost,
    external_course_services,
    formgrader_services,
    grader_secret,
    service_environment,
    service_port,
    service_token,
)
from hub_config.settings import HubSettings, HubSettingsError

SECRET = "s" * 40
PUBLIC = "https://hub.city.example.jp"


def jupyterhub_managed_service_env(
    course: str, port: int, token: str, environment: dict[str, str]
) -> dict[str, str]:
    """What JupyterHub itself puts into a managed service's environment (``Service.start`` → its
    ``_ServiceSpawner.get_env``; ``JUPYTERHUB_ACTIVITY_URL`` is dropped for services), with the city's hub."""
    hub = Hub(ip="0.0.0.0", port=8081, base_url="/hub/")
    hub.connect_url = "http://hub:8081"  # hub_connect_url of docker_mode
    prefix = f"/services/{course}/"
    server = orm.Server(ip="grader", port=port, base_url=prefix, proto="http")
    spawner = _ServiceSpawner(
        cmd=["jupyterhub-singleuser"],
        environment={
            **environment,
            "JUPYTERHUB_SERVICE_NAME": course,
            "JUPYTERHUB_SERVICE_URL": f"http://grader:{port}",
            "JUPYTERHUB_SERVICE_PREFIX": prefix,
        },
        api_token=token,
        oauth_client_id=f"service-{course}",
        _service_name=course,
        cwd="/",
        hub=hub,
        user=_MockUser(name="", server=server, host=""),
        public_url=f"{PUBLIC}{prefix}",
        public_hub_url=f"{PUBLIC}/hub/",
    )
    env: dict[str, str] = spawner.get_env()
    env.pop("JUPYTERHUB_ACTIVITY_URL", None)
    return {k: v for k, v in env.items() if k.startswith(("JUPYTERHUB_", "JPY_"))}


def test_the_formgraders_environment_is_what_jupyterhub_gives_a_managed_service(tmp_path: Path) -> None:
    s = HubSettings(mode="docker", state_dir=tmp_path, courses=("a1-prog",))
    token = service_token(SECRET, "a1-prog")
    service = formgrader_services(s)["a1-prog"]  # the hub's own service: its environment, port 9100
    ours = service["environment"] | service_environment(
        "a1-prog", 9100, token=token, hub_api_url="http://hub:8081/hub/api", public_url=PUBLIC
    )
    theirs = jupyterhub_managed_service_env("a1-prog", 9100, token, service["environment"])
    hub_side = {k: v for k, v in ours.items() if k.startswith(("JUPYTERHUB_", "JPY_"))}
    # the one deliberate difference: the formgrader listens on every interface of its container
    assert hub_side.pop("JUPYTERHUB_SERVICE_URL") == "http://0.0.0.0:9100"
    assert theirs.pop("JUPYTERHUB_SERVICE_URL") == "http://grader:9100"
    assert hub_side == theirs
    assert ours["GIGA_NBGRADER_EXCHANGE"] == str(s.exchange_root)  # and the platform's nbgrader settings


def test_tokens_are_per_course_and_derived_alike_on_both_sides() -> None:
    assert service_token(SECRET, "a1-prog") == service_token(SECRET, "a1-prog")
    assert service_token(SECRET, "a1-prog") != service_token(SECRET, "j2-data")
    assert service_token(SECRET, "a1-prog") != service_token("t" * 40, "a1-prog")
    assert SECRET not in service_token(SECRET, "a1-prog")
    services = [
        {"name": "idle-culler", "command": ["culler"]},
        {
            "name": "a1-prog",
            "url": "http://127.0.0.1:9101",
            "command": ["jupyterhub-singleuser"],
            "cwd": "/x",
        },
    ]
    external = external_course_services(services, ("a1-prog",), host="grader", secret=SECRET)
    assert external[0] == services[0]  # other services stay managed by the hub
    assert external[1] == {
        "name": "a1-prog",
        "url": "http://grader:9101",
        "api_token": service_token(SECRET, "a1-prog"),
        "oauth_no_confirm": True,
    }


@pytest.mark.parametrize("value", ["", "short", "x" * 31])
def test_a_short_or_missing_secret_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(HubSettingsError, match="GIGA_GRADER_SECRET must be a random value of at least 32"):
        grader_secret({"GIGA_GRADER_SECRET": value})


def test_one_formgrader_per_course_is_kept_running_on_the_courses_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A course added to courses.json gets its formgrader, and the courses after it in the sorted list move
    to their new ports as the hub will number them; a removed course's stops; one that exits is started
    again after the delay; the sandbox settings are passed on."""
    started: list[tuple[str, int, dict[str, str]]] = []

    def fake_command(service: dict[str, Any]) -> list[str]:
        code = "import os, time; time.sleep(0 if os.environ['JUPYTERHUB_SERVICE_NAME'] == 'x-dies' else 60)"
        return [sys.executable, "-c", code, str(service_port(service))]

    real_popen = subprocess.Popen

    def recording_popen(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        if "cwd" in kwargs:  # a formgrader (nbgrader's own alembic call below has none)
            started.append((kwargs["env"]["JUPYTERHUB_SERVICE_NAME"], int(command[-1]), kwargs["env"]))
        return real_popen(command, **kwargs)

    monkeypatch.setattr(grader_host, "formgrader_command", fake_command)
    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    monkeypatch.setattr(grader_host, "HEARTBEAT", tmp_path / "alive")
    monkeypatch.setattr(grader_host, "RESTART_DELAY_S", 0.5)
    courses = tmp_path / "courses.json"
    courses.write_text(json.dumps(["m-course"]))
    environ = {
        "GIGA_HUB_MODE": "docker",
        "GIGA_HUB_STATE_DIR": str(tmp_path / "state"),
        "GIGA_HUB_COURSES_FILE": str(courses),
        "GIGA_NBGRADER_EXCHANGE": str(tmp_path / "exchange"),
        "GIGA_GRADER_SECRET": SECRET,
        "GIGA_AUTOGRADE_POOL": "7",
    }
    folder = tmp_path / "state" / "courses" / "m-course"
    folder.mkdir(parents=True)
    hub_uid = 12345 if os.geteuid() == 0 else os.geteuid()  # the hub's user provisioned the folder
    os.chown(folder, hub_uid, hub_uid)
    host = GraderHost(environ)
    try:
        host.sync()
        assert [(name, port) for name, port, _ in started] == [("m-course", 9100)]
        env = started[0][2]
        assert env["JUPYTERHUB_API_TOKEN"] == service_token(SECRET, "m-course")
        assert env["GIGA_AUTOGRADE_POOL"] == "7" and env["HOME"] == "/root"
        assert (tmp_path / "alive").exists() and (tmp_path / "exchange").is_dir()
        # the gradebook belongs to the hub's user, who writes the roster's names into it when provisioning;
        # the empty file is a gradebook nbgrader can use
        assert (folder / "gradebook.db").stat().st_uid == hub_uid
        monkeypatch.setenv(
            "PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        )  # alembic
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id="m-course") as gradebook:
            gradebook.add_student("s1", last_name="山田")
            assert [s.id for s in gradebook.students] == ["s1"]
        first = host.processes["m-course"]
        host.sync()
        assert len(started) == 1  # still running: not started twice
        courses.write_text(json.dumps(["m-course", "a-course"]))  # provisioning added a course before it
        host.sync()
        assert [(name, port) for name, port, _ in started[1:]] == [("a-course", 9100), ("m-course", 9101)]
        assert first.poll() is not None  # stopped before its port was given to a-course
        assert host.ports == {"a-course": 9100, "m-course": 9101}
        courses.write_text(json.dumps(["a-course", "x-dies"]))  # m-course removed, a course that dies
        host.sync()
        assert "m-course" not in host.processes and [n for n, _, _ in started[3:]] == ["x-dies"]
        host.processes["x-dies"].wait(10)
        host.sync()  # noticed, restarted only after the delay
        assert len(started) == 4
        time.sleep(0.6)
        host.sync()
        assert [(n, p) for n, p, _ in started[4:]] == [("x-dies", 9101)]
        courses.write_text("5")  # not a list: this round fails with a sentence, the next one works
        with pytest.raises(TypeError):
            host.sync()
    finally:
        host.stop()
    assert all(p.poll() is not None for p in host.processes.values())


def test_the_grader_host_refuses_to_run_without_root_or_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert grader_host.main() == 2
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.delenv("GIGA_GRADER_SECRET", raising=False)
    assert grader_host.main() == 2
