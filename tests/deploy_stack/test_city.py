"""The city running on Docker: a reading test through Caddy (TLS, local CA), an LMS container killed under
load, down/up keeping the volumes, and a backup restored into a fresh stack. The tests share one stack and run
in file order; the last one replaces the stack's volumes."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import uuid
from typing import Any

import httpx

from hub_config.configurer import NOTEBOOK_STUDENTS_GROUP
from tests.deploy_stack.stack import HUB_HOST, STUDENT_IMAGE, City, csrf_from, sign_in, student_containers


def _signed_in(city: City, username: str) -> httpx.Client:
    client = city.browser()
    sign_in(client, username, city.seed["password"])
    return client


def _assign(city: City, teacher: httpx.Client, title: str, min_items: int, max_items: int) -> int:
    class_id = city.seed["class_id"]
    form = teacher.get(f"/classes/{class_id}/assignments/new")
    assert form.status_code == 200, form.text[:500]
    response = teacher.post(
        f"/classes/{class_id}/assignments",
        data={
            "csrf_token": csrf_from(form.text),
            "title": title,
            "kind": "cat",
            "min_items": str(min_items),
            "max_items": str(max_items),
            "target": "all",
        },
    )
    assert response.status_code == 303, (response.status_code, response.text[:2000])
    match = re.fullmatch(r"/assignments/(\d+)/live", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def _start(student: httpx.Client, assignment_id: int) -> dict[str, Any]:
    page = student.get(f"/test/{assignment_id}")
    assert page.status_code == 200, page.text[:500]
    student.headers["X-CSRF-Token"] = csrf_from(page.text)
    view = student.post(f"/api/v1/assignments/{assignment_id}/start")
    assert view.status_code == 200, view.text[:500]
    return dict(view.json())


def _answer(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()),
        "item_id": item["item_id"],
        "answer": [item["options"][0]["id"]],
        "response_time_ms": 3000,
    }


def test_a_reading_test_through_caddy(city: City) -> None:
    started = time.monotonic()
    teacher = _signed_in(city, city.seed["teacher"])
    assignment_id = _assign(city, teacher, "配備テスト", 3, 5)
    student = _signed_in(city, city.seed["students"][0])
    view = _start(student, assignment_id)
    items, answered = list(view["items"]), 0
    while True:
        ack = student.post(f"/api/v1/attempts/{view['attempt_id']}/answers", json=_answer(items[0]))
        assert ack.status_code == 200, ack.text[:500]
        answered += 1
        body = ack.json()
        if body["finished"]:
            break
        items = list(body["items"])
        assert answered < 10, "the test did not end within its maximum length"
    assert 3 <= answered <= 5
    results = student.get(f"/api/v1/attempts/{view['attempt_id']}/results")
    assert results.status_code == 200, results.text[:500]

    class_id = city.seed["class_id"]
    report = teacher.get(f"/classes/{class_id}/report.csv", params={"assignment_id": str(assignment_id)})
    assert report.status_code == 200, report.text[:500]
    row = next(line for line in report.text.splitlines() if city.seed["students"][0] in line)
    assert re.search(r",\d", row), row  # a score in the student's row
    page = teacher.get(f"/classes/{class_id}/report", params={"assignment_id": str(assignment_id)})
    assert page.status_code == 200 and "配備テスト" in page.text
    # HSTS and the internal-only /metrics, as the Caddyfile says
    assert "max-age" in page.headers.get("strict-transport-security", "")
    assert teacher.get("/metrics").status_code == 404
    city.timings["reading test (assign, 1 student to the end, report)"] = time.monotonic() - started
    city.reading_assignment = assignment_id


def test_the_hub_starts_a_student_container(city: City) -> None:
    """DockerSpawner through the socket filter: the LMS's service token starts a notebook student's server,
    a container of the student image on giga_students, reached through Caddy and the proxy."""
    student = city.seed["students"][0]
    hub = city.browser(HUB_HOST)
    hub.headers["Authorization"] = f"token {city.env['GIGA_HUB_SERVICE_TOKEN']}"
    assert hub.get("/hub/health").status_code == 200
    assert hub.post(f"/hub/api/users/{student}").status_code in (201, 409)
    group = hub.post(f"/hub/api/groups/{NOTEBOOK_STUDENTS_GROUP}")
    assert group.status_code in (201, 409), group.text
    members = hub.post(f"/hub/api/groups/{NOTEBOOK_STUDENTS_GROUP}/users", json={"users": [student]})
    assert members.status_code == 200, members.text
    started = time.monotonic()
    spawn = hub.post(f"/hub/api/users/{student}/server")
    assert spawn.status_code in (201, 202), spawn.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        server = hub.get(f"/hub/api/users/{student}").json()["servers"].get("", {})
        if server.get("ready"):
            break
        time.sleep(2)
    else:
        raise AssertionError(
            f"the student's server was not ready: {city.compose('logs', '--tail=60', 'hub')}"
        )
    city.timings["DockerSpawner: student server ready"] = time.monotonic() - started
    image = STUDENT_IMAGE
    ids = student_containers()
    assert len(ids) == 1, ids
    out = subprocess.run(["docker", "inspect", ids[0]], capture_output=True, text=True, check=True).stdout
    inspect = json.loads(out)[0]
    assert inspect["Config"]["Image"] == image
    assert set(inspect["NetworkSettings"]["Networks"]) == {"giga_students"}
    assert inspect["HostConfig"]["Memory"] in (10**9, 2**30)  # GIGA_HUB_MEM_LIMIT=1G
    assert inspect["HostConfig"]["CapDrop"] == ["ALL"]
    homes = [
        m["Name"] for m in inspect["Mounts"] if m["Type"] == "volume" and m["Name"].startswith("giga-home-")
    ]
    assert len(homes) == 1, inspect["Mounts"]  # the named home volume that stays when the server stops
    city.student_volumes.extend(homes)
    assert inspect["Config"]["User"] in ("1000", "")  # the image's jovyan, never root
    api = city.browser(HUB_HOST).get(f"/user/{student}/api")
    assert api.status_code == 200 and "version" in api.json(), api.text[:300]
    stop = hub.delete(f"/hub/api/users/{student}/server")
    assert stop.status_code in (202, 204), stop.text


def test_killing_the_lms_container_loses_no_acknowledged_answer(city: City) -> None:
    teacher = _signed_in(city, city.seed["teacher"])
    assignment_id = _assign(city, teacher, "耐久テスト", 40, 40)
    students = [_signed_in(city, name) for name in city.seed["students"]]
    views = [_start(client, assignment_id) for client in students]
    acked: dict[str, tuple[int, dict[str, Any]]] = {}
    unacked: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 20

    def run(index: int) -> None:
        client, view = students[index], views[index]
        items = list(view["items"])
        while items and time.monotonic() < stop_at:
            body = _answer(items[0])
            try:
                response = client.post(
                    f"/api/v1/attempts/{view['attempt_id']}/answers", json=body, timeout=10
                )
            except httpx.TransportError:
                response = None
            if response is None or response.status_code != 200:
                with lock:
                    unacked.append((index, body))
                time.sleep(0.5)  # the device keeps it and retries later
                return
            assert response.json()["ack"] == body["client_event_id"]
            with lock:
                acked[body["client_event_id"]] = (index, body)
            if response.json()["finished"]:
                return
            items = list(response.json()["items"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(students))]
    for thread in threads:
        thread.start()
    time.sleep(3)
    subprocess.run(["docker", "kill", "-s", "KILL", city.container("lms")], check=True, capture_output=True)
    for thread in threads:
        thread.join(timeout=60)
    assert acked, "no answer was acknowledged before the kill"
    started = time.monotonic()
    city.compose("start", "lms")
    city.wait_healthy()
    city.timings["LMS container SIGKILL → healthy again"] = time.monotonic() - started

    ids = ",".join(f"'{event}'" for event in acked)
    stored = city.psql(
        f"SELECT client_event_id, count(*) FROM response WHERE client_event_id IN ({ids}) GROUP BY 1"
    )
    counts = dict(line.split("|") for line in stored.splitlines())
    assert set(counts) == set(acked), f"{len(set(acked) - set(counts))} acknowledged answers lost"
    assert set(counts.values()) == {"1"}
    for index, body in unacked:  # a retry is stored, or found as the duplicate it is
        again = students[index].post(f"/api/v1/attempts/{views[index]['attempt_id']}/answers", json=body)
        assert again.status_code == 200, again.text[:500]
    print(
        f"deploy-stack: {len(acked)} answers acknowledged before SIGKILL, {len(unacked)} retried,"
        " all stored once"
    )


def _fingerprints(city: City) -> dict[str, str]:
    """Every table of the LMS: its row count and an md5 of its rows in a fixed order."""
    tables = city.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).split()
    sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '')"
        f' FROM "{t}" x'
        for t in tables
    )
    return dict(line.split("|", 1) for line in city.psql(sql).splitlines())


def test_down_and_up_keep_every_table(city: City) -> None:
    before = _fingerprints(city)
    city.down()  # `down`, and wait until its networks are gone (the frontend's fixed subnet)
    city.timings["up → healthy (existing volumes)"] = city.up()
    after = _fingerprints(city)
    changed = {t for t in before if before[t] != after.get(t) and t not in {"auth_session", "login_throttle"}}
    assert not changed, changed
    assert int(before["response"].split(":")[0]) > 0
    teacher = _signed_in(city, city.seed["teacher"])
    class_id = city.seed["class_id"]
    report = teacher.get(
        f"/classes/{class_id}/report.csv", params={"assignment_id": str(city.reading_assignment)}
    )
    assert city.seed["students"][0] in report.text


def test_a_backup_restored_into_a_fresh_stack_gives_identical_tables(city: City) -> None:
    started = time.monotonic()
    city.compose("stop", "lms", "hub", "backup")  # nothing writes while the backup is taken
    out = city.compose("run", "--rm", "--no-deps", "backup", "giga", "backup")
    written = re.search(r"backup written: (/backups/\S+)", out)
    assert written, out
    name = written.group(1).rsplit("/", 1)[-1]
    before = _fingerprints(city)
    local = city.tmp / "backup"
    local.mkdir(mode=0o777)
    local.chmod(0o777)  # the LMS image's user (10001) copies the file out
    city.compose(
        "run", "--rm", "--no-deps", "-v", f"{local}:/out", "backup", "cp", f"/backups/{name}", "/out/"
    )
    city.timings["giga backup (in the backup container)"] = time.monotonic() - started

    city.down(volumes=True)
    city.timings["up → healthy (fresh volumes, again)"] = city.up()
    started = time.monotonic()
    city.compose("stop", "lms", "hub", "backup")
    city.compose(
        "run",
        "--rm",
        "--no-deps",
        "-v",
        f"{local}:/restore:ro",
        "backup",
        "giga",
        "restore",
        f"/restore/{name}",
        "--yes",
    )
    after = _fingerprints(city)
    city.timings["giga restore into the fresh stack"] = time.monotonic() - started
    assert after == before
    city.up()  # as the README says after a restore: `up -d` (it starts the hub once the LMS is healthy)
    teacher = _signed_in(city, city.seed["teacher"])
    assert teacher.get("/home").status_code == 200
