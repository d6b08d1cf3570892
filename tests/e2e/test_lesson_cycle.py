"""The whole lesson cycle end to end, over HTTP, as the people involved would do it (issue 5's "Done when").

Real processes on 127.0.0.1: the LMS (uvicorn), JupyterHub (test-mode spawner, proxy from node_modules) with
the course's formgrader service, one single-user server per student.

1. The teacher signs in to the LMS, opens the hub (single sign-on through the LMS) and, in the course's
   formgrader (hub service ``<course>``, reached through the hub's proxy with the teacher's cookies and XSRF
   token), generates and releases lesson 01 from ``classroom/source``.
2. Two students sign in to the LMS once; the hub lets them in through the LMS (no second password). In their
   own servers they list, fetch, fill in (contents API) and submit the lesson through nbgrader's
   assignment-list extension: one writes the model answer, the other makes mistakes.
3. The teacher collects and autogrades in the formgrader; the student code runs in the sandbox
   (``hub_config/sandbox.py``, needs root): a cell one student added reports the sandbox account, not the
   grader's.
4. The grader exports with ``nbgrader export`` (the LMS export plugin, from the same global nbgrader
   configuration the formgrader uses: the formgrader has no export button), and the grades are read back from
   the LMS as the teacher (whole class) and as each student (own grade only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import nbformat
import pytest

from hub_config.nbgrader_config import JAPANESE_CODE_STUB
from hub_config.secure_exchange import is_private
from tests.e2e.stack import COURSE, PYTHON, ROOT, Stack, running_stack
from tests.e2e.test_hub_sso import lms_sign_in
from tests.lms.conftest import csrf_of
from tests.support import missing

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform != "linux", reason="local spawner on Linux")]

LESSON = "01_variables"
SOURCE = ROOT / "classroom" / "source" / LESSON / f"{LESSON}.ipynb"
SERVER_READY_S = 120
HUB_CONFIG = ROOT / "hub_config"
# The mistakes of the second student: the first two answers right, the last two wrong.
WRONG = {
    "ans_rectangle": "area = height + width\nperimeter = height * width\n",
    "ans_groups": "groups = people / size\nrest = 0\n",
}
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
PROBE = "import os, pwd\nprint('whoami:', pwd.getpwuid(os.getuid()).pw_name)"


JST = timezone(timedelta(hours=9))


def _lms_db(stack: Stack) -> Any:
    from lms.core.db import make_engine

    return make_engine(f"sqlite:///{stack.tmp / 'lms.core.db'}")


def notebook_class_id(stack: Stack) -> int:
    from sqlmodel import Session, select

    from lms.notebooks.models import NotebookCourse

    with Session(_lms_db(stack)) as session:
        return session.exec(select(NotebookCourse.class_id).where(NotebookCourse.course_id == COURSE)).one()


def hub_sync_detail(stack: Stack) -> dict[str, Any]:
    """What the LMS's last 「名簿をハブに反映」 did (its audit record)."""
    from sqlmodel import Session, col, select

    from lms.audit.models import AuditEvent

    with Session(_lms_db(stack)) as session:
        event = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "notebook.hub_sync")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert event is not None
    detail: dict[str, Any] = (
        json.loads(event.detail) if isinstance(event.detail, str) else dict(event.detail or {})
    )
    return detail


# --- the lesson -----------------------------------------------------------------------------------------


def model_answers(source: Path = SOURCE) -> dict[str, str]:
    """The teacher's solution of each answer cell: its source without the solution markers."""
    nb = nbformat.read(source, as_version=4)
    answers = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in SOLUTION_MARKERS]
            answers[cell.id] = "\n".join(lines)
    return answers


def points_per_answer(source: Path = SOURCE) -> dict[str, float]:
    """Points of each autograded test cell, keyed by the answer cell it checks (``check_x`` ↔ ``ans_x``)."""
    nb = nbformat.read(source, as_version=4)
    return {
        cell.id.replace("check_", "ans_", 1): float(cell.metadata["nbgrader"]["points"])
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    }


def max_points(source: Path = SOURCE) -> float:
    nb = nbformat.read(source, as_version=4)
    return sum(float(c.metadata.get("nbgrader", {}).get("points", 0)) for c in nb.cells)


def lay_out_course(state_dir: Path) -> None:
    """What provisioning leaves in the grader's course folder, plus the lesson the teacher authored."""
    folder = state_dir / "courses" / COURSE
    shutil.copytree(SOURCE.parent, folder / "source" / LESSON)
    (folder / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(folder)!r}\n"
        f"c.CourseDirectory.course_id = {COURSE!r}\n",
        encoding="utf-8",
    )


# --- browsers -------------------------------------------------------------------------------------------


def browser_signed_in(stack: Stack, username: str) -> httpx.Client:
    """A browser signed in to the LMS once, then to the hub through the LMS (no second password)."""
    browser = httpx.Client(follow_redirects=True, timeout=60)
    lms_sign_in(browser, stack.lms_url, username)
    page = browser.get(f"{stack.hub_url}/hub/login?next=%2Fhub%2Fhome")
    visited = [urlparse(str(r.url)).netloc + urlparse(str(r.url)).path for r in page.history]
    assert page.status_code == 200 and urlparse(str(page.url)).path == "/hub/home", (page.url, visited)
    assert f"{urlparse(stack.lms_url).netloc}/oauth/authorize" in visited, visited
    return browser


def xsrf(browser: httpx.Client, prefix: str) -> dict[str, str]:
    """The Jupyter server's XSRF header for cookie-authenticated writes under ``prefix``."""
    token = browser.cookies.get("_xsrf", path=prefix)
    assert token, f"no _xsrf cookie for {prefix}: {[(c.name, c.path) for c in browser.cookies.jar]}"
    return {"X-XSRFToken": token}


def formgrader(browser: httpx.Client, stack: Stack, action: str, **kwargs: Any) -> dict[str, Any]:
    """POST one formgrader API action as the signed-in teacher; nbgrader answers {success, log, ...}."""
    prefix = f"/services/{COURSE}/"
    response = browser.post(
        f"{stack.hub_url}{prefix}formgrader/api/{action}", headers=xsrf(browser, prefix), **kwargs
    )
    assert response.status_code == 200, (action, response.status_code, response.text[:2000])
    body: dict[str, Any] = response.json()
    assert body.get("success"), f"{action} failed:\n{str(body.get('error') or body.get('log'))[-3000:]}"
    return body


def request_servers(stack: Stack, browsers: dict[str, httpx.Client]) -> None:
    """Each student asks the hub for their server (the spawn page); the servers start meanwhile."""
    for browser in browsers.values():
        started = browser.get(f"{stack.hub_url}/hub/spawn", follow_redirects=False)
        assert started.status_code == 302, started.text[:500]


def open_servers(stack: Stack, browsers: dict[str, httpx.Client]) -> None:
    """Wait until every server is ready; each student opens theirs (OAuth with the hub, no prompt)."""
    deadline = time.monotonic() + SERVER_READY_S
    waiting = set(browsers)
    with stack.hub_api() as hub:
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                server = hub.get(f"/users/{name}").raise_for_status().json()["servers"].get("", {})
                if server.get("ready"):
                    waiting.discard(name)
            time.sleep(0.3)
    assert not waiting, (waiting, (stack.tmp / "hub.log").read_text(errors="replace")[-3000:])
    for name, browser in browsers.items():
        page = browser.get(f"{stack.hub_url}/hub/user-redirect/tree")
        assert page.status_code == 200 and urlparse(str(page.url)).path == f"/user/{name}/tree", page.url


def assignments(browser: httpx.Client, stack: Stack, student: str) -> list[dict[str, Any]]:
    response = browser.get(f"{stack.hub_url}/user/{student}/assignments", params={"course_id": COURSE})
    body = response.raise_for_status().json()
    assert body["success"], body
    return [a for a in body["value"] if a["assignment_id"] == LESSON]


def assignment_action(browser: httpx.Client, stack: Stack, student: str, action: str) -> dict[str, Any]:
    prefix = f"/user/{student}/"
    response = browser.post(
        f"{stack.hub_url}{prefix}assignments/{action}",
        data={"course_id": COURSE, "assignment_id": LESSON},
        headers=xsrf(browser, prefix),
    )
    body: dict[str, Any] = response.raise_for_status().json()
    assert body.get("success"), (action, body)
    return body


def fill_in(nb: nbformat.NotebookNode, answers: dict[str, str]) -> None:
    """Write the answers into their cells; ``probe`` becomes a cell of the student's own, second from the top
    (it shows who runs student code at grading time)."""
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    if "probe" in answers:
        probe = nbformat.v4.new_code_cell(answers["probe"])
        probe.id = "student-probe"
        nb.cells.insert(1, probe)


def work_on_the_lesson(browser: httpx.Client, stack: Stack, student: str, answers: dict[str, str]) -> None:
    """Fetch, write the answers through the contents API (as the notebook editor saves), submit."""
    listed = assignments(browser, stack, student)
    assert [a["status"] for a in listed] == ["released"], listed
    fetched = assignment_action(browser, stack, student, "fetch")
    entry = next(a for a in fetched["value"] if a["assignment_id"] == LESSON and a["status"] == "fetched")
    path = entry["notebooks"][0]["path"]
    assert path == f"{COURSE}/{LESSON}/{LESSON}.ipynb", entry
    url = f"{stack.hub_url}/user/{student}/api/contents/{path}"
    model = browser.get(url, params={"content": "1"}).raise_for_status().json()
    nb = nbformat.from_dict(model["content"])
    # the release replaces every solution by the platform's code stub: no answer reaches the students
    cleared = [cell.id for cell in nb.cells if JAPANESE_CODE_STUB in cell.source]
    assert set(answers) - {"probe"} <= set(cleared), (answers.keys(), cleared)
    fill_in(nb, answers)
    saved = browser.put(
        url,
        json={"type": "notebook", "format": "json", "content": nb},
        headers=xsrf(browser, f"/user/{student}/"),
    )
    assert saved.status_code == 200, saved.text[:1000]
    submitted = assignment_action(browser, stack, student, "submit")
    statuses = {a["status"] for a in submitted["value"] if a["assignment_id"] == LESSON}
    assert "submitted" in statuses, submitted


class Clock:
    """Elapsed time per step, printed (``pytest -s``) to see where the minutes go; never asserted."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def step(self, label: str) -> None:
        now = time.monotonic()
        print(f"[lesson cycle] {label}: {now - self.last:.1f} s")
        self.last = now


def outputs(nb: nbformat.NotebookNode) -> str:
    return "\n".join(
        str(o.get("text", "")) + str(o.get("ename", "")) for c in nb.cells for o in c.get("outputs", [])
    )


# --- the test -------------------------------------------------------------------------------------------


def test_release_fetch_submit_sandboxed_autograde_and_grades_in_the_lms(tmp_path: Path) -> None:
    if not (ROOT / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        pytest.fail("configurable-http-proxy missing: run `npm ci` (it is in package.json)")
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        missing("autograding runs student code in the sandbox: needs root and setpriv (CI runs as root)")
    answers = model_answers()
    points = points_per_answer()
    right, wrong = "e2e-s1", "e2e-s2"
    wrong_answers = {**answers, **WRONG, "probe": PROBE}
    expected = {
        right: sum(points.values()),
        wrong: sum(p for cell, p in points.items() if cell not in WRONG),
    }
    assert set(WRONG) < points.keys() == answers.keys()  # the mistakes are in answer cells with tests
    assert 0 < expected[wrong] < expected[right]  # partial credit, so the two outcomes differ
    course_dir = tmp_path / "hub" / "courses" / COURSE

    clock = Clock()
    with running_stack(
        tmp_path, students=2, hub_extra_env={"GIGA_HUB_COURSES": COURSE}, before_hub=lay_out_course
    ) as stack:
        assert sorted(stack.students) == [right, wrong]
        clock.step("LMS and hub started")
        teacher = browser_signed_in(stack, stack.teachers[0])
        students = {name: browser_signed_in(stack, name) for name in stack.students}
        try:
            # the LMS provisions the hub: the grader account and exact group membership
            from hub_config.provision import provision

            with (
                httpx.Client(
                    base_url=stack.lms_url, headers={"Authorization": f"Bearer {stack.admin_token}"}
                ) as lms,
                stack.hub_api() as hub,
            ):
                provision(lms=lms, hub=hub, state_dir=stack.tmp / "hub", courses_file=None)
            clock.step("signed in and provisioned")
            request_servers(stack, students)  # they start while the teacher prepares the lesson

            # 1. the teacher releases the lesson from the formgrader (through the hub, OAuth, no prompt)
            page = teacher.get(f"{stack.hub_url}/services/{COURSE}/formgrader")
            assert page.status_code == 200 and "/formgrader" in str(page.url), (page.url, page.text[:500])
            formgrader(teacher, stack, f"assignment/{LESSON}/assign")
            formgrader(teacher, stack, f"assignment/{LESSON}/release")
            # the LMS names the students in the formgrader (「名簿をハブに反映」, make run's path)
            # and sends a due date an hour ago with a 3-hour extension for one child (to nbgrader's gradebook)
            class_page = f"{stack.lms_url}/classes/{notebook_class_id(stack)}/notebooks"
            synced = teacher.post(
                f"{class_page}/hub-sync", data={"csrf_token": csrf_of(teacher.get(class_page).text)}
            )
            assert synced.status_code == 200 and "名簿を JupyterHub に反映しました" in synced.text
            assert sorted(hub_sync_detail(stack)["formgrader_names"]["named"]) == [right, wrong]
            an_hour_ago = (datetime.now(JST) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
            deadline = teacher.post(
                f"{class_page}/deadline",
                data={
                    "csrf_token": csrf_of(teacher.get(class_page).text),
                    "assignment": LESSON,
                    "due": an_hour_ago,
                    "student": [right, wrong],
                    "extension_hours": ["3", ""],
                },
            )
            assert "採点サービス（formgrader）に送りました" in deadline.text, deadline.text[-1500:]
            outbound = tmp_path / "hub" / "exchange" / COURSE / "outbound" / LESSON / f"{LESSON}.ipynb"
            released = nbformat.read(outbound, as_version=4)
            assert "BEGIN SOLUTION" not in "".join(c.source for c in released.cells)

            clock.step("generated and released")
            open_servers(stack, students)
            clock.step("student servers ready")
            # 2. both students fetch, work and submit in their own servers
            work_on_the_lesson(students[right], stack, right, answers)
            work_on_the_lesson(students[wrong], stack, wrong, wrong_answers)

            inbound = sorted((tmp_path / "hub" / "exchange" / COURSE / "inbound").iterdir())
            assert sorted(path.name.split("+")[0] for path in inbound) == [right, wrong]
            assert all(is_private(path) for path in inbound)  # the platform's submit, not the stock 0777
            clock.step("fetched, answered and submitted")
            # 3. the teacher collects and autogrades (student code in the sandbox)
            formgrader(teacher, stack, f"assignment/{LESSON}/collect")
            for student in (right, wrong):
                formgrader(teacher, stack, f"submission/{LESSON}/{student}/autograde")
            graded = nbformat.read(course_dir / "autograded" / wrong / LESSON / f"{LESSON}.ipynb", 4)
            assert "whoami: giga-sbx-" in outputs(graded), outputs(graded)[:2000]
            listing = (
                teacher.get(
                    f"{stack.hub_url}/services/{COURSE}/formgrader/api/submissions/{LESSON}",
                    headers=xsrf(teacher, f"/services/{COURSE}/"),
                )
                .raise_for_status()
                .json()
            )
            scores = {row["student"]: row["score"] for row in listing}
            assert scores == expected, listing
            names = {row["student"]: (row["last_name"], row["first_name"]) for row in listing}
            assert names == {s: ("山田", s) for s in (right, wrong)}  # the roster's names, not "None, None"

            # 「成績をLMSへ送る」: scores with nbgrader's lateness (late flagged, the extension honoured)
            pulled = teacher.post(
                f"{class_page}/grades-pull", data={"csrf_token": csrf_of(teacher.get(class_page).text)}
            )
            assert pulled.status_code == 200 and "2 件の得点" in pulled.text, pulled.text[-1500:]
            assert pulled.text.count("期限後の提出（") == 1 and pulled.text.count("延長して期限内") == 1

            clock.step("collected and autograded")
            # 4. the grader exports to the LMS (same global nbgrader config as the formgrader)
            export = subprocess.run(
                [str(PYTHON.parent / "nbgrader"), "export"],
                cwd=course_dir,
                env={
                    **os.environ,
                    "PATH": f"{PYTHON.parent}{os.pathsep}{os.environ['PATH']}",
                    "PYTHONPATH": str(ROOT),
                    "JUPYTER_CONFIG_PATH": str(HUB_CONFIG),
                    "GIGA_NBGRADER_EXCHANGE": str(tmp_path / "hub" / "exchange"),
                    "GIGA_LMS_URL": stack.lms_url,
                    "GIGA_LMS_GRADES_TOKEN": stack.admin_token,
                },
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert export.returncode == 0, export.stderr[-3000:]

            clock.step("exported")
            book = teacher.get(f"{stack.lms_url}/api/v1/notebooks/{COURSE}/grades").raise_for_status().json()
            in_lms = {row["student"]: row["grades"].get(LESSON) for row in book["students"]}
            assert in_lms == {s: {"score": expected[s], "max_score": max_points()} for s in (right, wrong)}
            for student, browser in students.items():
                mine = browser.get(f"{stack.lms_url}/api/v1/notebooks/me").raise_for_status().json()
                assert [(g["assignment"], g["score"]) for g in mine["grades"]] == [
                    (LESSON, expected[student])
                ]
                page = browser.get(f"{stack.lms_url}/notebooks")  # the student's 「ノートブック」 page
                assert ("期限後の提出（" in page.text) == (student == wrong)  # kept after the export
                shown = {s: f"{expected[s]:g} / {max_points():g}" for s in (right, wrong)}
                assert shown[student] in page.text and all(
                    text not in page.text for s, text in shown.items() if s != student
                ), page.text[-2000:]
                other = browser.get(f"{stack.lms_url}/api/v1/notebooks/{COURSE}/grades")
                assert other.status_code == 404, other.text[:300]  # the class gradebook is not theirs
        finally:
            for browser in [teacher, *students.values()]:
                browser.close()
