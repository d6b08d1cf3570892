"""The lesson cycle in the running city: release, fetch, submit, autograde in the sandbox, grades in the LMS.

As a city does it (docker/README.md): the course is provisioned in the hub container and the hub restarted;
the course's formgrader runs in the grader container (root, for the sandbox), which the teacher reaches
through Caddy and the proxy, signed in by the hub, which signs in through the LMS. Two students' servers are
containers of the student image (DockerSpawner); their submissions are autograded with student code in the
sandbox (a pooled user, bubblewrap) inside the grader container, and 「成績をLMSへ送る」 stores the scores.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import time
from typing import Any
from urllib.parse import urlparse

import httpx
import nbformat

from tests.deploy_stack.stack import (
    HTTPS_PORT,
    HUB_HOST,
    LMS_HOST,
    PROJECT,
    ROOT,
    STUDENT_IMAGE,
    City,
    csrf_from,
    sign_in,
)
from tests.e2e.test_lesson_cycle import fill_in, model_answers, outputs, points_per_answer

LESSON = "01_variables"
# a J3 class: provisioning seeds the course with the 中学生版 (no furigana)
SOURCE = ROOT / "classroom" / "source-chuu" / LESSON / f"{LESSON}.ipynb"
WRONG = {"ans_rectangle": "area = height + width\nperimeter = height * width\n"}
# a cell the student adds: who runs student code at grading time, and that it has the lessons' packages
PROBE = (
    "import os, pwd, pandas\n"
    "print('whoami:', pwd.getpwuid(os.getuid()).pw_name, 'pandas', pandas.__version__)"
)
SERVER_READY_S = 180


class PublicPorts(httpx.HTTPTransport):
    """The hub and the LMS redirect to their public URLs (port 443); the test's Caddy listens on another
    port of 127.0.0.1, so requests to the city's names on 443 go there."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in (LMS_HOST, HUB_HOST) and request.url.port in (None, 443):
            request.url = request.url.copy_with(port=HTTPS_PORT)
        return super().handle_request(request)


def browser(city: City) -> httpx.Client:
    """A browser for both sites (cookies kept per site), following redirects as a browser does."""
    context = ssl.create_default_context(cafile=str(city.root_ca()))
    return httpx.Client(
        transport=PublicPorts(verify=context), follow_redirects=True, timeout=120, verify=context
    )


def lms(path: str) -> str:
    return f"https://{LMS_HOST}:{HTTPS_PORT}{path}"


def hub(path: str) -> str:
    return f"https://{HUB_HOST}:{HTTPS_PORT}{path}"


def signed_in(city: City, username: str) -> httpx.Client:
    """Signed in to the LMS with the password, then to the hub through the LMS (no second password)."""
    client = browser(city)
    client.base_url = httpx.URL(lms(""))
    client.follow_redirects = False
    sign_in(client, username, city.seed["password"])
    client.follow_redirects = True
    page = client.get(hub("/hub/login?next=%2Fhub%2Fhome"))
    visited = [urlparse(str(r.url)).netloc + urlparse(str(r.url)).path for r in page.history]
    assert page.status_code == 200 and urlparse(str(page.url)).path == "/hub/home", (page.url, visited)
    assert any(v.startswith(LMS_HOST) and v.endswith("/oauth/authorize") for v in visited), visited
    return client


def xsrf(client: httpx.Client, prefix: str) -> dict[str, str]:
    token = client.cookies.get("_xsrf", domain=HUB_HOST, path=prefix)
    assert token, f"no _xsrf cookie for {prefix}: {[(c.name, c.path) for c in client.cookies.jar]}"
    return {"X-XSRFToken": token}


def formgrader(client: httpx.Client, course: str, action: str) -> dict[str, Any]:
    prefix = f"/services/{course}/"
    response = client.post(hub(f"{prefix}formgrader/api/{action}"), headers=xsrf(client, prefix))
    assert response.status_code == 200, (action, response.status_code, response.text[:2000])
    body: dict[str, Any] = response.json()
    assert body.get("success"), f"{action} failed:\n{str(body.get('error') or body.get('log'))[-3000:]}"
    return body


def assignment_action(client: httpx.Client, course: str, student: str, action: str) -> dict[str, Any]:
    prefix = f"/user/{student}/"
    response = client.post(
        hub(f"{prefix}assignments/{action}"),
        data={"course_id": course, "assignment_id": LESSON},
        headers=xsrf(client, prefix),
    )
    body: dict[str, Any] = response.raise_for_status().json()
    assert body.get("success"), (action, body)
    return body


def work_and_submit(client: httpx.Client, course: str, student: str, answers: dict[str, str]) -> None:
    """Fetch, write the answers through the contents API (as the notebook editor saves), submit."""
    fetched = assignment_action(client, course, student, "fetch")
    entry = next(a for a in fetched["value"] if a["assignment_id"] == LESSON and a["status"] == "fetched")
    url = hub(f"/user/{student}/api/contents/{entry['notebooks'][0]['path']}")
    nb = nbformat.from_dict(client.get(url, params={"content": "1"}).raise_for_status().json()["content"])
    fill_in(nb, answers)
    saved = client.put(
        url,
        json={"type": "notebook", "format": "json", "content": nb},
        headers=xsrf(client, f"/user/{student}/"),
    )
    assert saved.status_code == 200, saved.text[:1000]
    submitted = assignment_action(client, course, student, "submit")
    assert "submitted" in {a["status"] for a in submitted["value"] if a["assignment_id"] == LESSON}


def wait_for(what: str, check: Any, seconds: float, city: City, logs_of: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"{what} within {seconds:.0f} s:\n{city.compose('logs', '--tail=60', logs_of)}")


def provision_and_restart(city: City, *, restart: bool = True) -> None:
    """docker/README.md's steps: provisioning in the hub container, then `restart hub`."""
    out = city.compose(
        "exec", "-T", "-e", f"GIGA_LMS_API_TOKEN={city.seed['hub_token']}",
        "-e", "GIGA_HUB_API_URL=http://hub:8081/hub/api", "hub", "python", "-m", "hub_config.provision",
    )  # fmt: skip
    assert city.seed["course"] in out, out
    if restart:
        city.compose("restart", "hub")
        city.wait_healthy()


def test_a_lesson_released_submitted_autograded_in_the_sandbox_and_graded_in_the_lms(city: City) -> None:
    course, class_id = city.seed["course"], city.seed["class_id"]
    right, wrong = city.seed["students"][:2]
    answers, points = model_answers(SOURCE), points_per_answer(SOURCE)
    expected = {right: sum(points.values()), wrong: sum(p for c, p in points.items() if c not in WRONG)}
    assert 0 < expected[wrong] < expected[right]
    started = time.monotonic()
    provision_and_restart(city)
    teacher = signed_in(city, city.seed["teacher"])
    students = {name: signed_in(city, name) for name in (right, wrong)}
    city.timings["lesson: provision, hub restart, sign-ins"] = time.monotonic() - started

    # the grader container runs the course's formgrader as root: the autograde sandbox can work there
    started = time.monotonic()
    wait_for(
        "the formgrader answered through the proxy",
        lambda: teacher.get(hub(f"/services/{course}/formgrader")).status_code == 200,
        180, city, "grader",
    )  # fmt: skip
    # the teacher reaches it from the LMS's class page, by the link the LMS makes with the hub's public URL
    links = re.findall(r'href="([^"]*/formgrader)"', teacher.get(lms(f"/classes/{class_id}/notebooks")).text)
    assert links == [f"https://{HUB_HOST}/services/{course}/formgrader"], links
    page = teacher.get(links[0])
    assert page.status_code == 200 and "/formgrader" in str(page.url), page.url
    # the teacher's file browser cannot write the configuration nbgrader runs (as root, here)
    planted = teacher.put(
        hub(f"/services/{course}/api/contents/nbgrader_config.py"),
        json={"type": "file", "format": "text", "content": "import os; os.system('id')"},
        headers=xsrf(teacher, f"/services/{course}/"),
    )
    assert planted.status_code == 403, planted.text[:500]
    for name in students.values():  # their servers start while the teacher releases
        assert name.get(hub("/hub/spawn"), follow_redirects=False).status_code == 302
    formgrader(teacher, course, f"assignment/{LESSON}/assign")
    formgrader(teacher, course, f"assignment/{LESSON}/release")
    released = city.exec("grader", "cat", f"/srv/nbgrader/exchange/{course}/outbound/{LESSON}/{LESSON}.ipynb")
    assert "BEGIN SOLUTION" not in released and "ここにコードを書こう" in released
    city.timings["lesson: formgrader up, generated and released"] = time.monotonic() - started

    started = time.monotonic()
    api = browser(city)
    api.headers["Authorization"] = f"token {city.env['GIGA_HUB_SERVICE_TOKEN']}"
    for name, client in students.items():
        wait_for(
            f"{name}'s server ready",
            lambda name=name: api.get(hub(f"/hub/api/users/{name}")).json()["servers"].get("", {}).get(
                "ready"
            ),
            SERVER_READY_S, city, "hub",
        )  # fmt: skip
        tree = client.get(hub("/hub/user-redirect/tree"))
        assert tree.status_code == 200 and urlparse(str(tree.url)).path == f"/user/{name}/tree", tree.url
    city.timings["lesson: two student containers ready"] = time.monotonic() - started

    started = time.monotonic()
    work_and_submit(students[right], course, right, answers)
    work_and_submit(students[wrong], course, wrong, {**answers, **WRONG, "probe": PROBE})
    formgrader(teacher, course, f"assignment/{LESSON}/collect")
    for name in (right, wrong):
        formgrader(teacher, course, f"submission/{LESSON}/{name}/autograde")
    city.timings["lesson: submitted, collected, autograded"] = time.monotonic() - started
    graded = nbformat.reads(
        city.exec(
            "grader", "cat", f"/srv/jupyterhub/courses/{course}/autograded/{wrong}/{LESSON}/{LESSON}.ipynb"
        ),
        as_version=4,
    )
    shown = outputs(graded)
    assert "whoami: giga-sbx-" in shown and "pandas " in shown, shown[:2000]  # a sandbox user, with pandas
    listing = (
        teacher.get(
            hub(f"/services/{course}/formgrader/api/submissions/{LESSON}"),
            headers=xsrf(teacher, f"/services/{course}/"),
        )
        .raise_for_status()
        .json()
    )
    assert {row["student"]: row["score"] for row in listing} == expected, listing

    # 「成績をLMSへ送る」: the LMS reads the formgrader through the proxy with its service token
    class_page = lms(f"/classes/{class_id}/notebooks")
    pulled = teacher.post(
        f"{class_page}/grades-pull", data={"csrf_token": csrf_from(teacher.get(class_page).text)}
    )
    assert pulled.status_code == 200 and "2 件の得点" in pulled.text, pulled.text[-1500:]
    book = teacher.get(lms(f"/api/v1/notebooks/{course}/grades")).raise_for_status().json()
    in_lms = {row["student"]: (row["grades"].get(LESSON) or {}).get("score") for row in book["students"]}
    assert {s: in_lms.get(s) for s in (right, wrong)} == expected, json.dumps(book, ensure_ascii=False)[:2000]
    mine = students[wrong].get(lms("/api/v1/notebooks/me")).raise_for_status().json()
    assert [(g["assignment"], g["score"]) for g in mine["grades"]] == [(LESSON, expected[wrong])]
    # provisioning again (the hub's user) after root's formgrader wrote the gradebook: still works
    provision_and_restart(city, restart=False)
    for client in [teacher, api, *students.values()]:
        client.close()


def test_the_grader_container_is_the_only_privileged_one_and_students_cannot_reach_it(city: City) -> None:
    grader, hub_container = json.loads(
        city_docker(["inspect", city.container("grader"), city.container("hub")])
    )
    assert set(grader["HostConfig"]["CapAdd"] or []) == {"SYS_ADMIN", "NET_ADMIN"}
    assert not grader["HostConfig"]["Privileged"] and not hub_container["HostConfig"]["CapAdd"]
    assert hub_container["Config"]["User"] == "10002"
    networks = grader["NetworkSettings"]["Networks"]
    assert set(networks) == {f"{PROJECT}_graders"}
    # the hub's own state (cookie secret, database) is not in the grader: only the courses volume is
    assert city.exec("grader", "ls", "-A", "/srv/jupyterhub").split() == ["courses"]
    # a student's container (on giga_students) cannot reach the grader, even by its address
    address = networks[f"{PROJECT}_graders"]["IPAddress"]
    assert address
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(({address!r}, 9100), 5)\n"
        "    print('reached')\n"
        "except OSError as error:\n"  # a timeout or a refusal, never a name lookup: the address is given
        "    print('unreachable', type(error).__name__)"
    )
    probe = city_docker(
        ["run", "--rm", "--network", "giga_students", "--entrypoint", "python", STUDENT_IMAGE, "-c", code]
    )
    assert probe.startswith("unreachable") and "gaierror" not in probe, probe
    # while the hub, on the graders network, reaches it
    reached = city.exec(
        "hub", "python", "-c", f"import socket; socket.create_connection(({address!r}, 9100), 5)"
    )
    assert reached == ""


def city_docker(args: list[str]) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120).stdout
