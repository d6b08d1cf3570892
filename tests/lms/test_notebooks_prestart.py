"""「授業をはじめる」 and live hub provisioning, against an in-process fake JupyterHub (httpx.MockTransport).

The fake implements the few REST endpoints the LMS uses, enforces the service token and the role scoping
the real hub config gives the LMS (servers only of ``giga-notebook-students`` members), counts how many
spawns are in flight at once, and lets a test make a spawn fail or answer 429.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from tests.lms.conftest import csrf_of

TOKEN = "fake-hub-service-token"
API = "http://hub.test/hub/api"


@dataclass
class FakeHub:
    users: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # name -> server or None
    groups: dict[str, set[str]] = field(default_factory=dict)
    ready_after_polls: int = 2
    fail: set[str] = field(default_factory=set)
    busy_once: set[str] = field(default_factory=set)
    in_flight_max: int = 0
    start_requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def in_flight(self) -> int:
        return sum(1 for s in self.users.values() if s is not None and not s["ready"])

    def user_model(self, name: str) -> dict[str, Any]:
        server = self.users[name]
        if server is not None and not server["ready"]:
            server["polls"] += 1
            if name in self.fail and server["polls"] >= 1:
                self.users[name] = server = None  # the spawn failed: the hub forgets the server
            elif server["polls"] >= self.ready_after_polls:
                server["ready"], server["pending"] = True, None
        servers = {} if server is None else {"": {"ready": server["ready"], "pending": server["pending"]}}
        return {
            "name": name,
            "servers": servers,
            "groups": sorted(g for g, m in self.groups.items() if name in m),
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"token {TOKEN}":
            return httpx.Response(403, json={"message": "bad token"})
        path = request.url.path.removeprefix("/hub/api")
        body = json.loads(request.content) if request.content else {}
        with self.lock:
            return self._route(request.method, path.split("/")[1:], body, request)

    def _route(
        self, method: str, parts: list[str], body: dict[str, Any], request: httpx.Request
    ) -> httpx.Response:
        if parts == ["users"] and method == "POST":
            new = [n for n in body["usernames"] if n not in self.users]
            if not new:
                return httpx.Response(409, json={"message": "all exist"})
            for n in new:
                self.users[n] = None
            return httpx.Response(201, json=[{"name": n} for n in new])
        if parts == ["users"] and method == "GET":
            active = request.url.params.get("state") == "active"
            items = [self.user_model(n) for n, s in self.users.items() if s is not None or not active]
            return httpx.Response(200, json={"items": items, "_pagination": {"next": None}})
        if parts[0] == "users" and len(parts) == 2 and method == "GET":
            return (
                httpx.Response(200, json=self.user_model(parts[1]))
                if parts[1] in self.users
                else httpx.Response(404)
            )
        if parts[0] == "users" and parts[2:] == ["server"] and method == "POST":
            name = parts[1]
            if name not in self.users:
                return httpx.Response(404)
            if name not in self.groups.get("giga-notebook-students", set()):
                return httpx.Response(
                    403, json={"message": "missing scope servers!group=giga-notebook-students"}
                )
            if name in self.busy_once:
                self.busy_once.discard(name)
                return httpx.Response(429, json={"message": "too many users trying to log in"})
            self.start_requests.append(name)
            if self.users[name] is not None and self.users[name]["ready"]:  # type: ignore[index]
                return httpx.Response(400, json={"message": f"{name} is already running"})
            self.users[name] = {"ready": False, "pending": "spawn", "polls": 0}
            self.in_flight_max = max(self.in_flight_max, self.in_flight())
            return httpx.Response(202)
        if parts[0] == "groups" and len(parts) == 2:
            if method == "GET":
                if parts[1] not in self.groups:
                    return httpx.Response(404)
                return httpx.Response(200, json={"name": parts[1], "users": sorted(self.groups[parts[1]])})
            self.groups[parts[1]] = set()
            return httpx.Response(201, json={"name": parts[1], "users": []})
        if parts[0] == "groups" and parts[2:] == ["users"]:
            missing = [u for u in body["users"] if u not in self.users]
            if missing:
                return httpx.Response(400, json={"message": f"no such users {missing}"})
            if method == "POST":
                self.groups[parts[1]] |= set(body["users"])
            else:
                self.groups[parts[1]] -= set(body["users"])
            return httpx.Response(200, json={"name": parts[1], "users": sorted(self.groups[parts[1]])})
        return httpx.Response(404, json={"message": f"fake hub: {method} {parts}"})


def client_factory(hub: FakeHub) -> Callable[[], Any]:
    from lms.notebooks.hub_client import HubClient

    return lambda: HubClient(API, TOKEN, transport=httpx.MockTransport(hub.handle))


@pytest.fixture
def hub(app: Any) -> FakeHub:
    from lms.notebooks import hub_sync
    from lms.notebooks.hub_client import PrestartRegistry, PrestartTiming

    fake = FakeHub()
    app.dependency_overrides[hub_sync.get_hub_factory] = lambda: client_factory(fake)
    app.state.notebook_prestarts = PrestartRegistry(PrestartTiming(poll_interval_s=0.01, ready_timeout_s=30))
    return fake


def audit(db_session: Any, action: str) -> list[Any]:
    from lms.audit.models import AuditEvent

    db_session.expire_all()
    # in the order written (PostgreSQL returns rows in any order without ORDER BY)
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
    return list(db_session.exec(query))


def wait_done(app: Any, course_id: str) -> None:
    job = app.state.notebook_prestarts.get(course_id)
    assert job is not None and job.done.wait(30), "the whole-class start did not finish"


def test_teacher_starts_the_whole_class_and_sees_progress(
    client: Any, app: Any, world: Any, course: Any, hub: FakeHub, sign_in: Any, db_session: Any
) -> None:
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    assert "授業をはじめる（全員のノートブックを起動）" in page.text
    started = client.post(f"{url}/prestart", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == f"{url}/prestart"
    wait_done(app, "a1-prog")
    status = client.get(f"{url}/prestart/status")
    assert status.status_code == 200 and status.headers["content-type"] == "application/json"
    body = status.json()
    assert (body["total"], body["ready"], body["pending"], body["failed"]) == (2, 2, 0, 0)
    assert sorted(s["name"] for s in body["students"]) == ["s-a1", "s-a1b"]
    # provisioning happened first: users (with the grader), exact groups, the umbrella group
    assert hub.groups["nbgrader-a1-prog"] == {"s-a1", "s-a1b"}
    assert hub.groups["formgrade-a1-prog"] == {"t-a1", "grader-a1-prog"}
    assert hub.groups["giga-notebook-students"] == {"s-a1", "s-a1b"}
    assert sorted(hub.start_requests) == ["s-a1", "s-a1b"]  # teachers' and the grader's servers untouched
    progress_page = client.get(f"{url}/prestart")
    assert progress_page.status_code == 200 and "起動済み" in progress_page.text
    assert "prestart/status" in progress_page.text
    (event,) = audit(db_session, "notebook.prestart")
    assert event.actor_id == world.users["t-a1"].id and event.target_id == "a1-prog"


def test_starts_are_bounded_retried_and_failures_reported(hub: FakeHub) -> None:
    from lms.notebooks.hub_client import PrestartJob, PrestartTiming, run_prestart

    names = [f"st-{i:02d}" for i in range(24)]
    for n in names:
        hub.users[n] = None
    hub.groups["giga-notebook-students"] = set(names) - {"st-23"}  # st-23: not a notebook student
    hub.fail = {"st-05"}
    hub.busy_once = {"st-07", "st-08"}
    job = PrestartJob(course_id="c", students=names, concurrency=3)
    run_prestart(client_factory(hub), job, PrestartTiming(poll_interval_s=0.001, ready_timeout_s=30))
    assert job.done.is_set() and job.failure is None
    assert 1 <= hub.in_flight_max <= 3  # never more than `concurrency` servers starting at once
    counts = job.counts()
    assert counts == {"queued": 0, "starting": 0, "ready": 22, "failed": 2}
    assert job.errors["st-05"] == "サーバーの起動に失敗しました。"
    assert "権限" in job.errors["st-23"] or "許可" in job.errors["st-23"]
    assert hub.start_requests.count("st-07") == 1  # the 429 was retried, then accepted once


def test_a_second_start_while_running_does_not_start_twice(hub: FakeHub) -> None:
    from lms.notebooks.hub_client import PrestartJob, PrestartRegistry, PrestartTiming

    hub.users["x1"] = None
    hub.groups["giga-notebook-students"] = {"x1"}
    hub.ready_after_polls = 10**9  # never ready: the first job stays running
    registry = PrestartRegistry(PrestartTiming(poll_interval_s=0.01, ready_timeout_s=0.5))
    first, started = registry.begin(
        PrestartJob(course_id="c", students=["x1"], concurrency=2), client_factory(hub)
    )
    again, started_again = registry.begin(
        PrestartJob(course_id="c", students=["x1"], concurrency=2), client_factory(hub)
    )
    assert started and not started_again and again is first
    assert first.done.wait(30)
    assert first.states["x1"] == "failed" and first.errors["x1"] == "時間内に起動しませんでした。"


@pytest.mark.parametrize(
    ("user", "status"),
    [("sa-a", 403), ("admin", 403), ("t-b1", 404), ("s-a1", 404), ("board", 403)],
)
def test_only_the_class_teacher_may_start_or_watch(
    client: Any, world: Any, course: Any, hub: FakeHub, sign_in: Any, user: str, status: int
) -> None:
    sign_in(user)
    home = client.get("/tokens" if user != "s-a1" else "/notebooks")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    response = client.post(f"{url}/prestart", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert response.status_code == status, response.text
    assert client.get(f"{url}/prestart/status").status_code == status
    assert hub.start_requests == [] and hub.users == {}


def test_prestart_without_csrf_is_refused(
    client: Any, world: Any, course: Any, hub: FakeHub, sign_in: Any
) -> None:
    sign_in("t-a1")
    response = client.post(f"/classes/{world.classes['A1'].id}/notebooks/prestart", data={})
    assert response.status_code == 403
    assert hub.start_requests == []


def test_an_unreachable_hub_gives_a_message_not_a_traceback(
    client: Any, app: Any, world: Any, course: Any, sign_in: Any
) -> None:
    from lms.notebooks import hub_sync
    from lms.notebooks.hub_client import HubClient

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app.dependency_overrides[hub_sync.get_hub_factory] = lambda: (
        lambda: HubClient(API, TOKEN, transport=httpx.MockTransport(refuse))
    )
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    response = client.post(f"{url}/prestart", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 503 and "JupyterHub に接続できません" in response.text
    status = client.get(f"{url}/prestart/status").json()
    assert status["hub_error"] and status["not_started"] == 2


def test_hub_not_configured_tells_the_teacher_whom_to_ask(
    client: Any, world: Any, course: Any, sign_in: Any
) -> None:
    sign_in("t-a1")  # the test settings carry no hub token
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    response = client.post(f"{url}/prestart", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 503 and "ICT担当の方（管理者）に連絡" in response.text
    assert "GIGA_" not in response.text  # no setting names for teachers


def test_roster_changes_reach_the_hub_without_a_restart(
    client: Any, world: Any, course: Any, hub: FakeHub, sign_in: Any, db_session: Any
) -> None:
    from lms.roster.models import Enrollment

    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    first = client.post(f"{url}/hub-sync", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert first.status_code == 303
    assert hub.groups["nbgrader-a1-prog"] == {"s-a1", "s-a1b"}
    leaving = db_session.exec(select(Enrollment).where(Enrollment.user_id == world.users["s-a1b"].id)).one()
    leaving.status = "tobedeleted"
    db_session.add(leaving)
    db_session.commit()
    client.post(f"{url}/hub-sync", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert hub.groups["nbgrader-a1-prog"] == {"s-a1"}
    assert hub.groups["giga-notebook-students"] == {"s-a1"}  # may no longer be started by the LMS
    events = audit(db_session, "notebook.hub_sync")
    assert len(events) == 2
    assert "s-a1b" in json.dumps(events[1].detail) and "removed" in json.dumps(events[1].detail)
    third = client.post(f"{url}/hub-sync", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert third.status_code == 303
    last = audit(db_session, "notebook.hub_sync")[-1].detail
    last = json.loads(last) if isinstance(last, str) else last
    assert last["groups"] == [] and last["users_created"] == []  # idempotent: nothing changed


def test_flagging_a_class_provisions_the_hub_live(
    client: Any, world: Any, hub: FakeHub, sign_in: Any, api_token: Any
) -> None:
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    flagged = client.post(
        url, data={"course_id": "a1-prog", "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert flagged.status_code == 303 and flagged.headers["location"].endswith("?hub=synced")
    assert hub.groups["nbgrader-a1-prog"] == {"s-a1", "s-a1b"}
    assert "名簿を JupyterHub に反映しました" in client.get(flagged.headers["location"]).text
    token = api_token("t-b1", ["hub"])
    answer = client.post(
        f"/api/v1/classes/{world.classes['B1'].id}/notebook-course",
        json={"course_id": "b1-prog"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200 and answer.json()["hub_sync"]["users_created"] == [
        "grader-b1-prog",
        "s-b1",
        "t-b1",
    ]
    assert hub.groups["giga-notebook-students"] == {"s-a1", "s-a1b", "s-b1"}


def test_the_umbrella_group_name_matches_the_hub_role() -> None:
    from hub_config.configurer import NOTEBOOK_STUDENTS_GROUP
    from lms.notebooks.hub_client import STUDENTS_GROUP

    assert STUDENTS_GROUP == NOTEBOOK_STUDENTS_GROUP
