"""提出期限と延長: the teacher sets a due date (JST) and one child's extension on the notebook page;
the LMS sends them to the course's formgrader and 「成績をLMSへ送る」 brings back nbgrader's lateness next to
the scores.

The formgrader's deadline endpoint is served here by ``hub_config.deadlines`` over a real nbgrader gradebook
(what ``hub_config.formgrader_deadlines`` runs inside the formgrader), so lateness is nbgrader's own
``total_seconds_late`` — never computed by the LMS. tests/hub_config/test_deadlines.py runs nbgrader's
autograde against the same settings."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from hub_config.deadlines import apply_deadline, lateness
from tests.lms.conftest import csrf_of
from tests.lms.test_notebooks_grades_pull import FormgraderHub
from tests.lms.test_notebooks_prestart import TOKEN, audit

SUBMITTED_UTC = {"s-a1": datetime(2026, 12, 10, 8, 15), "s-a1b": datetime(2026, 12, 10, 9, 0)}


class NbgraderHub(FormgraderHub):
    """The fake hub whose course formgrader keeps a real nbgrader gradebook for due dates and lateness."""

    sent: list[dict[str, Any]]

    gradebook_url: str

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")
        if parts[1:2] != ["services"] or parts[3:5] != ["giga", "deadlines"]:
            return super().handle(request)
        from nbgrader.api import Gradebook

        with Gradebook(self.gradebook_url, course_id=parts[2]) as gb:
            if request.method == "PUT":
                body = json.loads(request.content)
                due = datetime.fromisoformat(body["duedate"])
                self.sent.append(body)
                return httpx.Response(200, json=apply_deadline(gb, parts[5], due, body["extensions"]))
            return httpx.Response(200, json=lateness(gb, parts[5]))


@pytest.fixture
def hub(app: Any, tmp_path: Path) -> NbgraderHub:
    from nbgrader.api import Gradebook

    from lms.notebooks import hub_sync
    from lms.notebooks.hub_client import HubClient

    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # nbgrader: alembic
    fake = NbgraderHub()
    fake.sent = []
    fake.gradebook_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    score = {"autograded": True, "submitted": True, "score": 5.0, "max_score": 5.0}
    fake.courses = {"a1-prog": {"01_variables": [{"student": s, **score} for s in SUBMITTED_UTC]}}
    with Gradebook(fake.gradebook_url, course_id="a1-prog") as gb:
        gb.update_or_create_assignment("01_variables")
        for student, moment in SUBMITTED_UTC.items():
            gb.update_or_create_student(student)
            gb.update_or_create_submission("01_variables", student, timestamp=moment)
    factory = lambda: HubClient("http://hub.test/hub/api", TOKEN, transport=httpx.MockTransport(fake.handle))  # noqa: E731
    app.dependency_overrides[hub_sync.get_hub_factory] = lambda: factory
    return fake


def test_due_date_and_extension_reach_nbgrader_and_lateness_comes_back(
    client: Any, world: Any, course: Any, hub: NbgraderHub, sign_in: Any, db_session: Any
) -> None:
    from lms.notebooks.models import NotebookGrade

    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url).text
    assert "提出期限と延長" in page and 'name="extension_hours"' in page
    form = {
        "csrf_token": csrf_of(page),
        "assignment": "01_variables",
        "due": "2026-12-10T17:00",  # JST = 08:00 UTC
        "student": ["s-a1", "s-a1b"],
        "extension_hours": ["", "1.5"],  # 花子 may hand in until 18:30 JST
    }
    saved = client.post(f"{url}/deadline", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("hub=deadline-sent")
    assert hub.sent == [{"duedate": "2026-12-10T08:00:00+00:00", "extensions": {"s-a1b": 90}}]
    shown = client.get(saved.headers["location"]).text
    assert "2026-12-10 17:00" in shown and "s-a1b: 1.5時間" in shown
    assert len(audit(db_session, "notebook.deadline_set")) == 1
    # changing it starts from what is stored (saving replaces the assignment's extensions)
    edit = client.get(f"{url}?edit=01_variables").text
    assert 'id="deadline-editing"' in edit and 'value="2026-12-10T17:00"' in edit
    assert 'value="01_variables"' in edit and 'value="1.5"' in edit
    assert 'id="deadline-editing"' not in client.get(f"{url}?edit=unknown").text

    client.post(f"{url}/grades-pull", data={"csrf_token": csrf_of(shown)})
    db_session.expire_all()
    rows = {g.student_id: g for g in db_session.exec(select(NotebookGrade))}
    ichiro, hanako = rows[world.users["s-a1"].id], rows[world.users["s-a1b"].id]
    assert (ichiro.score, ichiro.seconds_late, ichiro.extension_minutes) == (5.0, 900.0, 0)  # 17:15 JST
    assert (hanako.score, hanako.seconds_late, hanako.extension_minutes) == (5.0, 0.0, 90)  # 18:00 JST
    book = client.get(url).text
    assert "期限後の提出（15分おくれ）" in book and "延長して期限内" in book

    sign_in("s-a1")
    mine = client.get("/notebooks").text
    assert "期限後の提出（15分おくれ）" in mine and "5 / 5" in mine  # flagged, not penalised


def test_bad_deadline_input_is_a_japanese_400(
    client: Any, world: Any, course: Any, hub: NbgraderHub, sign_in: Any
) -> None:
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    token = csrf_of(client.get(url).text)
    base = {"csrf_token": token, "assignment": "01_variables", "due": "2026-12-10T17:00"}
    cases = [
        ({**base, "due": "来週"}, "提出期限は"),
        ({**base, "due": "0001-01-01T00:00"}, "提出期限は"),  # before year 1 in UTC: OverflowError
        ({**base, "due": "9999-12-31T23:59-12:00"}, "提出期限は"),  # after 9999 in UTC
        ({**base, "student": ["s-a1"], "extension_hours": ["abc"]}, "延長は時間の数"),
        ({**base, "student": ["s-b1"], "extension_hours": ["2"]}, "在籍していない"),
        ({**base, "student": ["s-a1"], "extension_hours": ["-1"]}, "0〜60日"),
        ({**base, "assignment": "../x"}, "課題名は"),
    ]
    for data, expected in cases:
        answer = client.post(f"{url}/deadline", data=data)
        assert answer.status_code == 400 and expected in answer.text, data
    assert hub.sent == []


@pytest.mark.parametrize(("who", "status"), [("s-a1", 404), ("t-b1", 404)])
def test_only_the_teacher_sets_deadlines(
    client: Any, world: Any, course: Any, hub: NbgraderHub, sign_in: Any, who: str, status: int
) -> None:
    sign_in("t-a1")
    token = csrf_of(client.get(f"/classes/{world.classes['A1'].id}/notebooks").text)
    sign_in(who)
    answer = client.post(
        f"/classes/{world.classes['A1'].id}/notebooks/deadline",
        data={"csrf_token": token, "assignment": "01_variables", "due": "2026-12-10T17:00"},
    )
    assert answer.status_code in (status, 403) and hub.sent == []
