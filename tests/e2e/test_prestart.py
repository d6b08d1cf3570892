"""「授業をはじめる」 end to end: the teacher presses the button in the LMS, the LMS provisions the hub and
starts every student's server over the hub's REST API with its scoped service token, the progress JSON
reaches "all ready"; the servers run the lean command. Real processes on 127.0.0.1, bounded waits, all
stopped after.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import COURSE, ROOT, Stack, running_stack
from tests.e2e.test_hub_sso import CSRF_RE, lms_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform != "linux", reason="local spawner on Linux")]
READY_S = 180


def server_processes(state_dir: Path) -> list[int]:
    homes = str(state_dir / "homes")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            wrapper = Path(f"/proc/{pid}/comm").read_text().strip() in ("bwrap", "sh")  # confined_spawner
            if b"jupyterhub-singleuser" in cmdline and os.readlink(f"/proc/{pid}/cwd").startswith(homes):
                found += [] if wrapper else [int(pid)]
        except OSError:
            continue
    return found


def class_id_of_course(stack: Stack) -> int:
    courses = httpx.get(
        f"{stack.lms_url}/api/v1/notebooks/courses",
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    )
    courses.raise_for_status()
    (course,) = [c for c in courses.json()["courses"] if c["course_id"] == COURSE]
    return int(course["class_id"])


def test_teacher_starts_the_class_from_the_lms(tmp_path: Path) -> None:
    if not (ROOT / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        pytest.fail("configurable-http-proxy missing: run `npm ci` (it is in package.json)")
    with running_stack(tmp_path, students=2, lms_extra_env={"GIGA_HUB_PRESTART_CONCURRENCY": "2"}) as stack:
        page_url = f"{stack.lms_url}/classes/{class_id_of_course(stack)}/notebooks"
        with httpx.Client(follow_redirects=True, timeout=60) as student:
            lms_sign_in(student, stack.lms_url, stack.students[0])
            home = student.get(f"{stack.lms_url}/notebooks")
            csrf = CSRF_RE.search(home.text)
            assert csrf
            refused = student.post(f"{page_url}/prestart", data={"csrf_token": csrf.group(1)})
            assert refused.status_code == 404  # a student never sees the class's page
        with httpx.Client(follow_redirects=True, timeout=60) as teacher:
            lms_sign_in(teacher, stack.lms_url, stack.teachers[0])
            page = teacher.get(page_url)
            assert "授業をはじめる（全員のノートブックを起動）" in page.text
            csrf = CSRF_RE.search(page.text)
            assert csrf
            started = teacher.post(f"{page_url}/prestart", data={"csrf_token": csrf.group(1)})
            assert started.status_code == 200 and 'id="no-start"' not in started.text
            assert "順番に起動しています" in started.text or "起動の処理は終わりました" in started.text
            deadline = time.monotonic() + READY_S
            progress: dict[str, object] = {}
            while time.monotonic() < deadline:
                progress = teacher.get(f"{page_url}/prestart/status").raise_for_status().json()
                if progress["finished"] and progress["pending"] == 0:
                    break
                time.sleep(1)
            log = (tmp_path / "hub.log").read_text(errors="replace")[-3000:]
            assert (progress["ready"], progress["failed"], progress["total"]) == (2, 0, 2), (progress, log)
        with stack.hub_api() as hub:
            for name in stack.students:
                server = hub.get(f"/users/{name}").raise_for_status().json()["servers"][""]
                assert server["ready"] is True
            group = hub.get(f"/groups/nbgrader-{COURSE}").raise_for_status().json()
            assert sorted(group["users"]) == sorted(stack.students)
            teacher_model = hub.get(f"/users/{stack.teachers[0]}").raise_for_status().json()
            # the token cannot even read a teacher's servers (scoped to notebook students); the processes
            # below show that only the two students' servers run
            assert teacher_model.get("servers", {}) == {}
            # the LMS's token may not start a teacher's server (role scoped to notebook students)
            assert hub.post(f"/users/{stack.teachers[0]}/server").status_code in (403, 404)
            pids = server_processes(tmp_path / "hub")
            assert len(pids) == 2
            for pid in pids:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                assert b"--ServerApp.jpserver_extensions=jupyterlab=False" in cmdline
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                pythonpath = next(v for v in environ if v.startswith(b"PYTHONPATH="))
                assert b"lazy_imports" in pythonpath
            for name in stack.students:
                assert hub.delete(f"/users/{name}/server").status_code in (202, 204)
