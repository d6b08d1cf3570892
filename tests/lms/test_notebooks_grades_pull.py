"""「成績をLMSへ送る」 and the notebook links of the class page, against a fake hub whose proxy also serves
the course's formgrader API (the two nbgrader endpoints the LMS reads: assignments and their submissions)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from tests.lms.conftest import csrf_of
from tests.lms.test_notebooks_prestart import TOKEN, FakeHub, audit

SUBMISSIONS = {
    "01-otsuri": [
        {"student": "s-a1", "score": 8.0, "max_score": 10.0, "autograded": True, "submitted": True},
        {
            "student": "s-a1b",
            "score": 10.0,
            "max_score": 10.0,
            "autograded": True,
            "submitted": True,
            "needs_manual_grade": True,
        },
        {"student": "s-b1", "score": 3.0, "max_score": 10.0, "autograded": True, "submitted": True},
    ],
    "02-kurikaeshi": [
        {"student": "s-a1", "score": 0.0, "max_score": 5.0, "autograded": False, "submitted": True},
        {"student": "s-a1b", "score": 5.0, "max_score": 5.0, "autograded": True, "submitted": True},
    ],
}


class FormgraderHub(FakeHub):
    """The fake hub plus ``/services/<course>/formgrader/api/...`` behind its proxy."""

    courses: dict[str, dict[str, list[dict[str, Any]]]]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not path.startswith("/services/"):
            return super().handle(request)
        if request.headers.get("authorization") != f"token {TOKEN}":
            return httpx.Response(403)
        _, _, course, _, _, *rest = path.split("/")
        book = self.courses.get(course)
        if book is None:
            return httpx.Response(404)
        if rest == ["assignments"]:
            return httpx.Response(200, json=[{"name": name, "status": "released"} for name in book])
        if rest[0] == "submissions" and rest[1] in book:
            return httpx.Response(200, json=book[rest[1]])
        return httpx.Response(404)


@pytest.fixture
def hub(app: Any) -> FormgraderHub:
    from lms.notebooks import hub_sync
    from lms.notebooks.hub_client import HubClient

    fake = FormgraderHub()
    fake.courses = {"a1-prog": SUBMISSIONS}
    factory = lambda: HubClient("http://hub.test/hub/api", TOKEN, transport=httpx.MockTransport(fake.handle))  # noqa: E731
    app.dependency_overrides[hub_sync.get_hub_factory] = lambda: factory
    return fake


def _grades(db_session: Any) -> dict[tuple[str, str], tuple[float, float, str | None]]:
    from lms.notebooks.models import NotebookGrade
    from lms.roster.models import User

    db_session.expire_all()
    rows = db_session.exec(
        select(NotebookGrade, User).join(User, col(User.id) == NotebookGrade.student_id)
    ).all()
    return {(u.username, g.assignment_name): (g.score, g.max_score, g.feedback_html) for g, u in rows}


def test_teacher_pulls_autograded_scores_into_the_gradebook(
    client: Any, world: Any, course: Any, hub: FormgraderHub, sign_in: Any, db_session: Any
) -> None:
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    assert "成績をLMSへ送る" in page.text and "nbgrader-" not in page.text and "formgrade-" not in page.text
    assert 'href="http://127.0.0.1:8001/services/a1-prog/formgrader"' in page.text
    sent = client.post(f"{url}/grades-pull", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{url}?pulled=3&manual=1&others=1"
    assert _grades(db_session) == {
        ("s-a1", "01-otsuri"): (8.0, 10.0, None),
        ("s-a1b", "01-otsuri"): (10.0, 10.0, None),
        ("s-a1b", "02-kurikaeshi"): (5.0, 5.0, None),
    }  # s-b1 is not in the class; s-a1's 02 is not autograded yet
    shown = client.get(sent.headers["location"]).text
    assert "3 件の得点" in shown and "手で採点する問題" in shown and "在籍していない 1 人" in shown
    assert "8 / 10" in shown
    assert {json.loads(e.detail)["assignment"] for e in audit(db_session, "notebook.grades_write")} == {
        "01-otsuri",
        "02-kurikaeshi",
    }


def test_pulling_again_keeps_feedback_and_changes_nothing_else(
    client: Any, world: Any, course: Any, hub: FormgraderHub, sign_in: Any, db_session: Any
) -> None:
    from lms.notebooks.models import NotebookGrade

    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    client.post(f"{url}/grades-pull", data={"csrf_token": csrf_of(client.get(url).text)})
    row = db_session.exec(select(NotebookGrade).where(NotebookGrade.assignment_name == "01-otsuri")).first()
    row.feedback_html = "<p>よくできました</p>"
    db_session.add(row)
    db_session.commit()
    before = _grades(db_session)
    client.post(f"{url}/grades-pull", data={"csrf_token": csrf_of(client.get(url).text)})
    assert _grades(db_session) == before


@pytest.mark.parametrize(("who", "status"), [("s-a1", 404), ("sa-a", 403), ("t-b1", 404)])
def test_only_the_class_teacher_or_admin_may_send_grades(
    client: Any,
    world: Any,
    course: Any,
    hub: FormgraderHub,
    sign_in: Any,
    db_session: Any,
    who: str,
    status: int,
) -> None:
    sign_in("t-a1")
    token = csrf_of(client.get(f"/classes/{world.classes['A1'].id}/notebooks").text)
    sign_in(who)
    answer = client.post(
        f"/classes/{world.classes['A1'].id}/notebooks/grades-pull", data={"csrf_token": token}
    )
    assert answer.status_code in (status, 403)
    assert _grades(db_session) == {}


def test_a_course_without_formgrader_gives_a_japanese_503(
    client: Any, world: Any, course: Any, hub: FormgraderHub, sign_in: Any
) -> None:
    hub.courses = {}
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    answer = client.post(f"{url}/grades-pull", data={"csrf_token": csrf_of(client.get(url).text)})
    assert answer.status_code == 503 and "採点サービス（formgrader）が見つかりません" in answer.text


def test_class_page_links_every_classroom_flow(client: Any, world: Any, course: Any, sign_in: Any) -> None:
    class_id = world.classes["A1"].id
    sign_in("t-a1")
    page = client.get(f"/classes/{class_id}").text
    assert f'href="/classes/{class_id}/practice"' in page
    assert f'href="/classes/{class_id}/notebooks"' in page
    assert 'href="http://127.0.0.1:8001/services/a1-prog/formgrader"' in page
    assert 'href="http://127.0.0.1:8001/hub/user-redirect/tree"' in page
    sign_in("sa-a")  # a school admin is not in the course's formgrader group: no dead link
    page = client.get(f"/classes/{class_id}").text
    assert "formgrader" not in page and f'href="/classes/{class_id}/notebooks"' in page


def test_start_page_is_honest_before_any_start(
    client: Any, world: Any, course: Any, hub: FormgraderHub, sign_in: Any
) -> None:
    sign_in("t-a1")
    page = client.get(f"/classes/{world.classes['A1'].id}/notebooks/prestart").text
    assert "全員のノートブックを起動しています" not in page  # nothing was started
    assert "起動の処理は行われていません。" in page and "まだ「授業をはじめる」を押していません" in page
    assert re.search(r'<p id="state"[^>]*hidden', page)
