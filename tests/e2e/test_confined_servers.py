"""`make run`'s default hub mode, started as root: no student kernel and no formgrader runs code as root.

The hub runs with the environment ``hub_config/run_hub.sh`` gives it (its default ``GIGA_HUB_MODE``) and the
real ``jupyterhub_config.py``. A student's server is started over the hub's REST API as the LMS does; code
then runs in its kernel through the Jupyter websocket protocol, exactly what a student's notebook cell does.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from hub_config.configurer import NOTEBOOK_STUDENTS_GROUP
from hub_config.formgrader_kernels import REFUSAL
from tests.e2e.stack import COURSE, ROOT, Stack, running_stack
from tests.e2e.test_lesson_cycle import browser_signed_in, xsrf
from tests.factories import found

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform != "linux", reason="local spawner on Linux")]
READY_S = 120
MAKE_RUN_MODE = found(r"GIGA_HUB_MODE:-(\w+)", (ROOT / "hub_config" / "run_hub.sh").read_text())

PROBE = r"""
import json, os, pwd
home = os.environ["HOME"]
result = {"uid": os.getuid(), "euid": os.geteuid(), "name": pwd.getpwuid(os.getuid()).pw_name}
def attempt(label, action):
    try:
        result[label] = action()
    except OSError as error:
        result[label] = "blocked: " + type(error).__name__
attempt("homes", lambda: sorted(os.listdir(os.path.dirname(home))))
attempt("other_home", lambda: sorted(os.listdir(os.path.join(os.path.dirname(home), OTHER))))
attempt("lms_db", lambda: open(LMS_DB, "rb").read(16).decode("latin-1"))
attempt("hub_secret", lambda: open(HUB_SECRET, "rb").read(8).hex())
attempt("checkout", lambda: sorted(os.listdir(CHECKOUT)))
attempt("passwd", lambda: [entry.pw_name for entry in pwd.getpwall()])
attempt("processes", lambda: [p for p in os.listdir("/proc") if p.isdigit()])
attempt("write_tmp", lambda: open("/tmp/x", "w").write("x"))
print("PROBE" + json.dumps(result))
"""


def _start_server(hub: httpx.Client, name: str) -> None:
    hub.post(f"/users/{name}")  # 201, or 409 when it exists
    hub.post(f"/groups/{NOTEBOOK_STUDENTS_GROUP}").status_code  # noqa: B018 - may exist
    hub.post(f"/groups/{NOTEBOOK_STUDENTS_GROUP}/users", json={"users": [name]}).raise_for_status()
    assert hub.post(f"/users/{name}/server").status_code in (201, 202)
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if hub.get(f"/users/{name}").raise_for_status().json()["servers"].get("", {}).get("ready"):
            return
        time.sleep(1)
    raise AssertionError(f"{name}'s server was not ready within {READY_S} s")


def _token(state_dir: Path, name: str) -> str:
    """A token of ``name`` (its own scopes), made the way an operator does: ``jupyterhub token`` on the hub's
    database (the LMS's service token may not mint tokens)."""
    # the hub's own settings: the command re-applies the roles of its configuration to the database
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIGA_HUB_STATE_DIR": str(state_dir),
           "GIGA_HUB_MODE": MAKE_RUN_MODE,
           "GIGA_HUB_COURSES_FILE": str(state_dir / "courses.json")}  # fmt: skip
    made = subprocess.run(
        [str(Path(sys.executable).parent / "jupyterhub"), "token", name, "-f",
         str(ROOT / "hub_config" / "jupyterhub_config.py")],
        cwd=state_dir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-2000:]
    return made.stdout.strip().splitlines()[-1]


async def _execute(base: str, token: str, code: str) -> str:
    """Run ``code`` in a new kernel of the server at ``base`` and return what it printed."""
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as client:
        kernel = (
            (await client.post(f"{base}/api/kernels", json={"name": "python3"})).raise_for_status().json()
        )
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
    socket = await websocket_connect(HTTPRequest(ws_url, headers=headers))
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "t", "session": uuid.uuid4().hex,
              "version": "5.3", "date": ""}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}  # fmt: skip
    socket.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                     "content": content, "channel": "shell", "buffers": []}))  # fmt: skip
    printed = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(socket.read_message(), timeout=60)
        if raw is None:
            break
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "stream":
            printed.append(message["content"]["text"])
        elif kind == "error":
            printed.append("\n".join(message["content"]["traceback"]))
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            break
    socket.close()
    return "".join(printed)


def _server_pids(state_dir: Path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            # a person's server (the formgrader runs in its course folder)
            if b"jupyterhub-singleuser" in cmdline and os.readlink(f"/proc/{pid}/cwd").startswith(
                str(state_dir / "homes")
            ):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_make_run_hub_never_gives_a_student_or_teacher_root(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test is about `make run` started as root (CI runs as root)")
    if not (ROOT / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        pytest.fail("configurable-http-proxy missing: run `npm ci` (it is in package.json)")

    def course_folder(state: Path) -> None:
        from hub_config.provision import course_folder as make_course_folder

        make_course_folder(state, COURSE, f"grader-{COURSE}")
        (state / "courses.json").write_text(json.dumps([COURSE]))

    hub_env = {
        "GIGA_HUB_MODE": MAKE_RUN_MODE,
        "GIGA_HUB_COURSES_FILE": str(tmp_path / "hub" / "courses.json"),
    }
    with running_stack(tmp_path, students=2, hub_extra_env=hub_env, before_hub=course_folder) as stack:
        try:
            _check_student_kernels(stack, tmp_path)
            _check_formgrader(stack)
        except (AssertionError, httpx.HTTPError) as error:
            log = (tmp_path / "hub.log").read_text(errors="replace")[-5000:]
            raise AssertionError(f"{error}\n--- hub.log ---\n{log}") from error


def _check_student_kernels(stack: Stack, tmp_path: Path) -> None:
    first, second = stack.students
    state = tmp_path / "hub"
    with stack.hub_api() as hub:
        for name in (first, second):
            _start_server(hub, name)
    token = _token(state, first)
    code = (
        f"OTHER = {second!r}\nLMS_DB = {str(tmp_path / 'lms.db')!r}\n"
        f"HUB_SECRET = {str(state / 'jupyterhub_cookie_secret')!r}\nCHECKOUT = {str(ROOT)!r}\n" + PROBE
    )
    translation = httpx.get(
        f"{stack.hub_url}/user/{first}/lab/api/settings/@jupyterlab/translation-extension:plugin",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert (
        translation.json()["schema"]["properties"]["locale"]["default"] == "ja_JP"
    )  # Notebook 7 in Japanese
    printed = asyncio.run(_execute(f"{stack.hub_url}/user/{first}", token, code))
    assert "PROBE" in printed, printed
    probe = json.loads(printed.split("PROBE", 1)[1].strip().splitlines()[0])
    assert probe["uid"] != 0 and probe["euid"] != 0 and probe["name"] != "root", probe
    assert probe["homes"] == [first] or str(probe["homes"]).startswith("blocked"), probe
    for secret in ("other_home", "lms_db", "hub_secret"):
        assert str(probe[secret]).startswith("blocked"), (secret, probe)
    assert probe["checkout"] == ["hub_config"] or str(probe["checkout"]).startswith("blocked"), probe
    assert probe["passwd"] == ["root", first], probe
    assert len(probe["processes"]) < 10, probe  # its own pid namespace: the server and its kernel
    assert not Path("/tmp/x").exists() or Path("/tmp/x").stat().st_uid != probe["uid"]
    pids = _server_pids(state)
    assert len(pids) >= 2
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()  # type: ignore[union-attr]
        command = Path(f"/proc/{pid}/comm").read_text().strip()
        if command == "bwrap":
            continue  # the container's launcher and its pid-1 (they only wait)
        assert "0" not in uids, f"{command} ({pid}) runs with uid 0: {status}"


def _check_formgrader(stack: Stack) -> None:
    """The teacher, signed in through the LMS like in class, opens the formgrader: no terminal, no kernel."""
    prefix = f"{stack.hub_url}/services/{COURSE}/"
    teacher = browser_signed_in(stack, stack.teachers[0])
    try:
        from hub_config.provision import provision  # the grader account and the exact groups, as the LMS does

        lms_headers = {"Authorization": f"Bearer {stack.admin_token}"}
        with httpx.Client(base_url=stack.lms_url, headers=lms_headers) as lms, stack.hub_api() as hub:
            provision(lms=lms, hub=hub, state_dir=stack.tmp / "hub", courses_file=None)
        page = teacher.get(f"{prefix}formgrader")
        assert page.status_code == 200 and "/formgrader" in str(page.url), (page.url, page.text[:500])
        headers = xsrf(teacher, f"/services/{COURSE}/")
        assert teacher.post(f"{prefix}api/terminals", headers=headers).status_code == 404
        refused = teacher.post(f"{prefix}api/kernels", headers=headers, json={"name": "python3"})
        assert refused.status_code == 403, refused.text[:500]
        assert REFUSAL in refused.json()["message"]
        assert teacher.get(f"{prefix}api/kernels").json() == []
    finally:
        teacher.close()
