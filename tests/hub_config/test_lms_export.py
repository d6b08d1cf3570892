"""The nbgrader → LMS export plugin: what it sends, idempotence, clear errors — against a fake LMS
(httpx.MockTransport) and against the real LMS app served by uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from nbgrader import api as nbgrader_api
from nbgrader.api import Gradebook
from traitlets.config import Config

from hub_config.lms_export import LmsExportError, LmsExportPlugin
from tests.lms import conftest as lms_conftest

# the LMS fixtures (a small school world, API tokens) for the tests against the real app
world = lms_conftest.world
api_token = lms_conftest.api_token
cheap_password_hashing = lms_conftest.cheap_password_hashing

TOKEN = "giga_test_secret_token_value"
COURSE = "a1-prog"


@pytest.fixture(autouse=True)
def no_alembic_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    """nbgrader stamps a new gradebook by running `alembic heads` (seconds); the stamp is unused here."""
    monkeypatch.setattr(nbgrader_api, "get_alembic_version", lambda: "test")


def make_gradebook(root: Path, students: tuple[str, ...] = ("s-a1", "s-a1b")) -> str:
    """Two assignments (01_variables: 10 points, 02_conditions: 5); submissions with known scores."""
    url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(url, course_id=COURSE) as gb:
        for name, cells in (("01_variables", {"q1": 4, "q2": 6}), ("02_conditions", {"q1": 5})):
            gb.add_assignment(name)
            gb.add_notebook(name, name)
            for cell, points in cells.items():
                gb.add_grade_cell(cell, name, name, max_score=points, cell_type="code")
        for student in students:
            gb.add_student(student)
        first, second = students
        gb.add_submission("01_variables", first)
        gb.add_submission("01_variables", second)
        gb.add_submission("02_conditions", first)  # the second student never handed 02 in
        for (assignment, student, cell), score in {
            ("01_variables", first, "q1"): 4,
            ("01_variables", first, "q2"): 3.5,
            ("01_variables", second, "q1"): 0,
            ("01_variables", second, "q2"): 6,
            ("02_conditions", first, "q1"): 5,
        }.items():
            grade = gb.find_grade(cell, assignment, assignment, student)
            grade.auto_score = score
        notebook = gb.find_submission_notebook("01_variables", "01_variables", second)
        notebook.late_submission_penalty = 1.0  # nbgrader keeps penalties per notebook
        gb.db.commit()
    return url


def make_plugin(root: Path, **traits: Any) -> LmsExportPlugin:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = COURSE
    traits.setdefault("token", TOKEN)
    traits.setdefault("lms_url", "http://lms.test")
    traits.setdefault("retries", 1)
    return LmsExportPlugin(config=config, **traits)


class FakeLms:
    """The grades API's contract: bearer token, idempotent upsert keyed by (course, assignment, student)."""

    def __init__(self, fail_first: int = 0, status: int = 200, detail: str = "") -> None:
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.fail_first = fail_first
        self.status = status
        self.detail = detail

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.fail_first:
            return httpx.Response(503, json={"detail": "restarting"})
        if self.status != 200:
            return httpx.Response(self.status, json={"detail": self.detail})
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"detail": "APIトークンが必要です。"})
        course = request.url.path.split("/")[4]
        body = json.loads(request.content)
        created = 0
        for line in body["grades"]:
            key = (course, body["assignment"], line["student"])
            created += key not in self.rows
            self.rows[key] = line
        return httpx.Response(200, json={"created": created, "updated": len(body["grades"]) - created})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def test_posts_each_assignment_with_scores_penalties_and_feedback(tmp_path: Path) -> None:
    url = make_gradebook(tmp_path)
    feedback = tmp_path / "feedback" / "s-a1" / "01_variables"
    feedback.mkdir(parents=True)
    (feedback / "01_variables.html").write_text(
        "<html><head><style>" + "x" * 1000 + "</style></head><body><p>よくできました</p></body></html>",
        encoding="utf-8",
    )
    fake = FakeLms()
    with Gradebook(url) as gb:
        make_plugin(tmp_path, transport=fake.transport).export(gb)

    assert [r.url.path for r in fake.requests] == [f"/api/v1/notebooks/{COURSE}/grades"] * 2
    bodies = [json.loads(r.content) for r in fake.requests]
    assert bodies[0]["assignment"] == "01_variables"
    assert bodies[0]["grades"] == [
        {"student": "s-a1", "score": 7.5, "max_score": 10.0, "feedback_html": "<p>よくできました</p>"},
        {"student": "s-a1b", "score": 5.0, "max_score": 10.0, "feedback_html": None},  # 6 − 1 late penalty
    ]
    assert bodies[1] == {
        "assignment": "02_conditions",
        "grades": [{"student": "s-a1", "score": 5.0, "max_score": 5.0, "feedback_html": None}],
    }


def test_export_is_idempotent(tmp_path: Path) -> None:
    url = make_gradebook(tmp_path)
    fake = FakeLms()
    with Gradebook(url) as gb:
        make_plugin(tmp_path, transport=fake.transport).export(gb)
        first = dict(fake.rows)
        make_plugin(tmp_path, transport=fake.transport).export(gb)
    assert fake.rows == first and len(first) == 3
    assert [r.content for r in fake.requests[:2]] == [r.content for r in fake.requests[2:]]


def test_assignment_and_student_filters(tmp_path: Path) -> None:
    url = make_gradebook(tmp_path)
    fake = FakeLms()
    with Gradebook(url) as gb:
        make_plugin(
            tmp_path, transport=fake.transport, assignment=["01_variables"], student=["s-a1b"]
        ).export(gb)
    assert [json.loads(r.content) for r in fake.requests] == [
        {
            "assignment": "01_variables",
            "grades": [{"student": "s-a1b", "score": 5.0, "max_score": 10.0, "feedback_html": None}],
        }
    ]


def test_settings_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGA_LMS_URL", "http://lms.example:9000")
    monkeypatch.setenv("GIGA_LMS_GRADES_TOKEN", "from-env")
    monkeypatch.setenv("GIGA_NBGRADER_COURSE_ID", "b1-data")
    plugin = LmsExportPlugin(config=Config())
    assert (plugin.lms_url, plugin.token, plugin.course_id) == (
        "http://lms.example:9000",
        "from-env",
        "b1-data",
    )


def test_a_refusal_says_why_and_never_echoes_the_token(tmp_path: Path) -> None:
    url = make_gradebook(tmp_path)
    fake = FakeLms(status=400, detail="このクラスに在籍していない児童生徒が含まれています: s-a1b")
    with Gradebook(url) as gb, pytest.raises(LmsExportError) as error:
        make_plugin(tmp_path, transport=fake.transport).export(gb)
    message = str(error.value)
    assert "HTTP 400" in message and "s-a1b" in message and "01_variables" in message
    assert TOKEN not in message
    assert len(fake.requests) == 1  # a 4xx is not retried


def test_server_errors_are_retried(tmp_path: Path) -> None:
    url = make_gradebook(tmp_path)
    fake = FakeLms(fail_first=1)
    with Gradebook(url) as gb:
        make_plugin(tmp_path, transport=fake.transport).export(gb)
    assert len(fake.requests) == 3 and len(fake.rows) == 3


@pytest.mark.parametrize(
    ("traits", "expected"),
    [({"token": ""}, "GIGA_LMS_GRADES_TOKEN"), ({"course_id": "Bad Course"}, "course slug")],
)
def test_missing_settings_are_reported_before_any_request(
    tmp_path: Path, traits: dict[str, str], expected: str
) -> None:
    url = make_gradebook(tmp_path)
    fake = FakeLms()
    with Gradebook(url) as gb, pytest.raises(LmsExportError, match=expected):
        make_plugin(tmp_path, transport=fake.transport, **traits).export(gb)
    assert fake.requests == []


def test_an_unreachable_lms_is_a_clear_error(tmp_path: Path) -> None:
    url = make_gradebook(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with Gradebook(url) as gb, pytest.raises(LmsExportError, match="Cannot reach the LMS"):
        make_plugin(tmp_path, lms_url=f"http://127.0.0.1:{port}", timeout=2).export(gb)


# ---- against the real LMS ----------------------------------------------------------------------------------


@pytest.fixture
def lms_server(app: Any) -> Iterator[str]:
    """The LMS app (test database) served by uvicorn in a thread on 127.0.0.1."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture
def notebook_course(world: Any, db_session: Any) -> Any:
    from lms.notebooks.models import NotebookCourse

    row = NotebookCourse(class_id=world.classes["A1"].id, course_id=COURSE)
    db_session.add(row)
    db_session.commit()
    return row


def lms_grades(db_session: Any) -> dict[tuple[str, str], tuple[float, float]]:
    from sqlmodel import select

    from lms.notebooks.models import NotebookGrade
    from lms.roster.models import User

    db_session.expire_all()
    rows = db_session.exec(select(NotebookGrade, User).where(NotebookGrade.student_id == User.id)).all()
    return {(g.assignment_name, u.username): (g.score, g.max_score) for g, u in rows}


@pytest.mark.db
def test_export_to_the_real_lms_grades_api(
    tmp_path: Path, lms_server: str, notebook_course: Any, api_token: Any, db_session: Any
) -> None:
    url = make_gradebook(tmp_path)
    token = api_token("t-a1", ["grades:write"])
    with Gradebook(url) as gb:
        make_plugin(tmp_path, lms_url=lms_server, token=token).export(gb)
        expected = {
            ("01_variables", "s-a1"): (7.5, 10.0),
            ("01_variables", "s-a1b"): (5.0, 10.0),
            ("02_conditions", "s-a1"): (5.0, 5.0),
        }
        assert lms_grades(db_session) == expected
        make_plugin(tmp_path, lms_url=lms_server, token=token).export(gb)  # again: nothing new
        assert lms_grades(db_session) == expected


@pytest.mark.db
def test_the_real_lms_refuses_a_token_without_grades_write(
    tmp_path: Path, lms_server: str, notebook_course: Any, api_token: Any, db_session: Any
) -> None:
    url = make_gradebook(tmp_path)
    token = api_token("t-a1", ["hub"])
    with Gradebook(url) as gb, pytest.raises(LmsExportError, match="HTTP 403") as error:
        make_plugin(tmp_path, lms_url=lms_server, token=token).export(gb)
    assert token not in str(error.value)
    assert lms_grades(db_session) == {}


@pytest.mark.db
def test_the_real_lms_refuses_students_outside_the_class(
    tmp_path: Path, lms_server: str, notebook_course: Any, api_token: Any, db_session: Any
) -> None:
    url = make_gradebook(tmp_path, students=("s-a1", "s-b1"))
    token = api_token("t-a1", ["grades:write"])
    with Gradebook(url) as gb, pytest.raises(LmsExportError, match="s-b1"):
        make_plugin(tmp_path, lms_url=lms_server, token=token).export(gb)
    assert lms_grades(db_session) == {}
