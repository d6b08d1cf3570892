"""Single sign-on end to end: a student signs in to the LMS once, opens the hub, comes back signed in, and the
hub knows their course group; provisioning creates users and groups for those who never logged in; the
student's server starts through the hub API. Real processes on 127.0.0.1, bounded waits, everything stopped
afterwards.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.e2e.stack import COURSE, PASSWORD, ROOT, Stack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(sys.platform != "linux", reason="local spawner on Linux")]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
SERVER_READY_S = 120


def lms_sign_in(browser: httpx.Client, lms_url: str, username: str) -> None:
    page = browser.get(f"{lms_url}/login")
    token = CSRF_RE.search(page.text)
    assert token, "no CSRF token on the LMS sign-in page"
    response = browser.post(
        f"{lms_url}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert response.status_code == 200 and urlparse(str(response.url)).path == "/home", response.text[:500]


def open_hub(browser: httpx.Client, hub_url: str) -> list[str]:
    """Follow the hub's sign-in redirects by hand; return the hosts+paths visited."""
    url = f"{hub_url}/hub/login?next=%2Fhub%2Fhome"
    visited = []
    for _ in range(10):
        response = browser.get(url)
        visited.append(f"{response.status_code} {urlparse(url).netloc}{urlparse(url).path}")
        if response.status_code not in (301, 302, 303, 307):
            break
        url = str(response.next_request.url) if response.next_request else response.headers["location"]
    return visited


def student_signs_in_once_and_the_hub_knows_the_course_group(stack: Stack) -> None:
    student = stack.students[0]
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        lms_sign_in(browser, stack.lms_url, student)
        with httpx.Client(follow_redirects=False, timeout=30, cookies=browser.cookies) as hop:
            visited = open_hub(hop, stack.hub_url)
    lms_host, hub_host = urlparse(stack.lms_url).netloc, urlparse(stack.hub_url).netloc
    assert any(f"{lms_host}/oauth/authorize" in v for v in visited), visited
    assert any(f"{hub_host}/hub/oauth_callback" in v for v in visited), visited
    assert visited[-1] == f"200 {hub_host}/hub/home", visited  # no second password prompt anywhere
    with stack.hub_api() as hub:
        user = hub.get(f"/users/{student}").raise_for_status().json()
    assert f"nbgrader-{COURSE}" in user["groups"]
    assert user["admin"] is False


def teacher_gets_the_formgrade_group_never_admin(stack: Stack) -> None:
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        lms_sign_in(browser, stack.lms_url, stack.teachers[0])
        with httpx.Client(follow_redirects=False, timeout=30, cookies=browser.cookies) as hop:
            visited = open_hub(hop, stack.hub_url)
    assert visited[-1].endswith("/hub/home"), visited
    with stack.hub_api() as hub:
        user = hub.get(f"/users/{stack.teachers[0]}").raise_for_status().json()
    assert user["groups"] == [f"formgrade-{COURSE}"] and user["admin"] is False


def a_student_outside_notebook_courses_is_refused_by_the_lms(stack: Stack) -> None:
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        lms_sign_in(browser, stack.lms_url, "e2e-outsider")
        with httpx.Client(follow_redirects=False, timeout=30, cookies=browser.cookies) as hop:
            visited = open_hub(hop, stack.hub_url)
    assert visited[-1].startswith("403 ") and "/oauth/authorize" in visited[-1], visited
    with stack.hub_api() as hub:
        assert hub.get("/users/e2e-outsider").status_code == 404


def provisioning_creates_users_and_groups_idempotently(stack: Stack) -> None:
    from hub_config.provision import provision

    with (
        httpx.Client(base_url=stack.lms_url, headers={"Authorization": f"Bearer {stack.admin_token}"}) as lms,
        stack.hub_api() as hub,
    ):
        first = provision(
            lms=lms, hub=hub, state_dir=stack.tmp / "hub", courses_file=stack.tmp / "courses.json"
        )
        second = provision(
            lms=lms, hub=hub, state_dir=stack.tmp / "hub", courses_file=stack.tmp / "courses.json"
        )
        never_logged_in = stack.students[1]
        assert never_logged_in in first.users_created and f"grader-{COURSE}" in first.users_created
        assert second.users_created == [] and second.members_added == {} and second.groups_created == []
        group = hub.get(f"/groups/nbgrader-{COURSE}").raise_for_status().json()
        assert sorted(group["users"]) == sorted(stack.students)
        teachers = hub.get(f"/groups/formgrade-{COURSE}").raise_for_status().json()
        assert sorted(teachers["users"]) == sorted([*stack.teachers, f"grader-{COURSE}"])
    assert (stack.tmp / "courses.json").read_text() == f'["{COURSE}"]'
    assert (stack.tmp / "hub" / "courses" / COURSE / "nbgrader_config.py").is_file()


def the_students_server_starts_through_the_hub_api(stack: Stack) -> None:
    student = stack.students[0]
    with stack.hub_api() as hub:
        hub.post("/users", json={"usernames": [student]})  # exists already after SSO; 409 otherwise ignored
        started = hub.post(f"/users/{student}/server")
        assert started.status_code in (201, 202), started.text
        deadline = time.monotonic() + SERVER_READY_S
        ready = False
        while time.monotonic() < deadline:
            server = hub.get(f"/users/{student}").raise_for_status().json()["servers"].get("", {})
            if server.get("ready"):
                ready = True
                break
            time.sleep(0.5)
        assert ready, Path(stack.tmp / "hub.log").read_text(errors="replace")[-3000:]
        assert server["url"] == f"/user/{student}/"
        # the LMS's 「ノートブックを開く」 link: straight to Notebook 7 in the student's running server
        with httpx.Client(follow_redirects=True, timeout=60) as browser:
            lms_sign_in(browser, stack.lms_url, student)
            page = browser.get(f"{stack.hub_url}/hub/user-redirect/tree")
        assert page.status_code == 200 and urlparse(str(page.url)).path == f"/user/{student}/tree", page.url
        stopped = hub.delete(f"/users/{student}/server")
        assert stopped.status_code in (202, 204)


def test_sso_provisioning_and_server_start(tmp_path: Path) -> None:
    """One stack for all steps (starting a hub costs tens of seconds; under xdist a module fixture would
    start one per worker)."""
    if not (ROOT / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        pytest.fail("configurable-http-proxy missing: run `npm ci` (it is in package.json)")
    with running_stack(tmp_path, students=2) as stack:
        student_signs_in_once_and_the_hub_knows_the_course_group(stack)
        teacher_gets_the_formgrade_group_never_admin(stack)
        a_student_outside_notebook_courses_is_refused_by_the_lms(stack)
        provisioning_creates_users_and_groups_idempotently(stack)
        the_students_server_starts_through_the_hub_api(stack)
