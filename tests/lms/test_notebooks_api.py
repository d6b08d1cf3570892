"""Notebook courses: flagging, groups from enrolments, the grades API and its denials, gradebook pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from hub_config.settings import RESERVED_SERVICE_NAMES, HubSettingsError, parse_courses
from lms.notebooks.service import RESERVED_COURSE_IDS
from tests.lms.conftest import csrf_of

GRADES: dict[str, Any] = {
    "assignment": "ps1-hensu",
    "grades": [
        {
            "student": "s-a1",
            "score": 7.5,
            "max_score": 10,
            "feedback_html": "<p>よくできました<script>x()</script></p>",
        },
        {"student": "s-a1b", "score": 4, "max_score": 10},
    ],
}


def audit_actions(db_session: Any) -> list[str]:
    from lms.audit.models import AuditEvent

    db_session.expire_all()
    return [e.action for e in db_session.exec(select(AuditEvent))]


def test_teacher_flags_the_class_idempotently_and_audited(
    client: Any, world: Any, api_token: Any, db_session: Any
) -> None:
    token = api_token("t-a1", ["hub"])
    url = f"/api/v1/classes/{world.classes['A1'].id}/notebook-course"
    first = client.post(url, json={"course_id": "a1-prog"}, headers={"Authorization": f"Bearer {token}"})
    assert first.status_code == 200 and first.json()["created"] is True
    again = client.post(url, json={"course_id": "a1-prog"}, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.json()["created"] is False
    other = client.post(url, json={"course_id": "other-slug"}, headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 409
    assert audit_actions(db_session).count("notebook.course_create") == 1


@pytest.mark.parametrize("slug", ["AB", "a_b_c", "x" * 41, "日本語"])
def test_bad_course_ids_are_refused_with_a_message(
    client: Any, world: Any, api_token: Any, slug: str
) -> None:
    token = api_token("t-a1", ["hub"])
    response = client.post(
        f"/api/v1/classes/{world.classes['A1'].id}/notebook-course",
        json={"course_id": slug},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (400, 422)
    if response.status_code == 400:
        assert "コースID" in response.text


@pytest.mark.parametrize("slug", sorted(RESERVED_SERVICE_NAMES))
def test_a_course_id_that_names_one_of_the_hubs_own_services_is_refused(
    client: Any, world: Any, api_token: Any, db_session: Any, slug: str
) -> None:
    """A course is a hub service of its name: ``giga-lms`` would take the LMS's place and role in the hub."""
    assert RESERVED_COURSE_IDS == RESERVED_SERVICE_NAMES  # the LMS refuses what the hub would refuse
    token = api_token("t-a1", ["hub"])
    response = client.post(
        f"/api/v1/classes/{world.classes['A1'].id}/notebook-course",
        json={"course_id": slug},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400 and "JupyterHubの内部で使われている名前" in response.text
    assert "notebook.course_create" not in audit_actions(db_session)
    with pytest.raises(HubSettingsError, match="hub's own services"):
        parse_courses({"GIGA_HUB_COURSES": slug})


@pytest.mark.parametrize(
    ("user", "class_key", "status"), [("t-a1", "A2", 404), ("t-b1", "A1", 404), ("board", "A1", 403)]
)
def test_flagging_another_class_is_denied(
    client: Any, world: Any, api_token: Any, user: str, class_key: str, status: int
) -> None:
    token = api_token(user, ["hub"])
    response = client.post(
        f"/api/v1/classes/{world.classes[class_key].id}/notebook-course",
        json={"course_id": "zz-course"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == status


def test_groups_follow_enrolments(world: Any, course: Any, db_session: Any) -> None:
    from lms.notebooks.service import hub_groups
    from lms.roster.models import Enrollment

    # students also join the umbrella group whose servers the LMS may start (「授業をはじめる」)
    assert hub_groups(db_session, world.users["s-a1"]) == ["giga-notebook-students", "nbgrader-a1-prog"]
    assert hub_groups(db_session, world.users["t-a1"]) == ["formgrade-a1-prog"]
    assert hub_groups(db_session, world.users["s-b1"]) == []
    enrollment = db_session.exec(select(Enrollment).where(Enrollment.user_id == world.users["s-a1"].id)).one()
    enrollment.status = "tobedeleted"
    db_session.add(enrollment)
    db_session.commit()
    assert hub_groups(db_session, world.users["s-a1"]) == []


def test_courses_for_provisioning_need_the_admin(
    client: Any, world: Any, course: Any, api_token: Any
) -> None:
    admin = api_token("admin", ["hub"])
    response = client.get("/api/v1/notebooks/courses", headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 200
    (only,) = response.json()["courses"]
    assert (
        only["course_id"] == "a1-prog"
        and only["students"] == ["s-a1", "s-a1b"]
        and only["teachers"] == ["t-a1"]
        and only["lesson_version"] == "shou"  # 3年1組 (P3): the 小学生版 with furigana
    )
    teacher = api_token("t-a1", ["hub"])
    assert (
        client.get("/api/v1/notebooks/courses", headers={"Authorization": f"Bearer {teacher}"}).status_code
        == 403
    )


def test_grades_upload_is_an_idempotent_audited_upsert(
    client: Any, world: Any, course: Any, api_token: Any, db_session: Any
) -> None:
    from lms.notebooks.models import NotebookGrade

    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    first = client.post("/api/v1/notebooks/a1-prog/grades", json=GRADES, headers=headers)
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["updated"]) == (2, 0)
    changed = {**GRADES, "grades": [{**GRADES["grades"][1], "score": 9}]}
    second = client.post("/api/v1/notebooks/a1-prog/grades", json=changed, headers=headers)
    assert (second.json()["created"], second.json()["updated"]) == (0, 1)
    db_session.expire_all()
    rows = {g.student_id: g for g in db_session.exec(select(NotebookGrade))}
    assert len(rows) == 2
    assert rows[world.users["s-a1b"].id].score == 9
    feedback = rows[world.users["s-a1"].id].feedback_html
    assert feedback == "<p>よくできました</p>"
    assert audit_actions(db_session).count("notebook.grades_write") == 2


@pytest.mark.parametrize(
    ("user", "scopes", "status"),
    [
        ("t-a1", ["results:read"], 403),  # missing grades:write
        ("t-b1", ["grades:write"], 404),  # another school's teacher
        ("board", ["grades:write"], 403),
        ("s-a1", ["grades:write"], 404),  # a student
        ("sa-a", ["grades:write"], 403),  # school admin may read, not write grades
        ("admin", ["grades:write"], 200),
    ],
)
def test_grades_upload_denials(
    client: Any, world: Any, course: Any, api_token: Any, user: str, scopes: list[str], status: int
) -> None:
    headers = {"Authorization": f"Bearer {api_token(user, scopes)}"}
    response = client.post("/api/v1/notebooks/a1-prog/grades", json=GRADES, headers=headers)
    assert response.status_code == status, response.text


def test_grades_for_someone_not_in_the_class_are_refused(
    client: Any, world: Any, course: Any, api_token: Any
) -> None:
    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    body = {"assignment": "ps1", "grades": [{"student": "s-a2", "score": 1, "max_score": 2}]}
    response = client.post("/api/v1/notebooks/a1-prog/grades", json=body, headers=headers)
    assert response.status_code == 400 and "s-a2" in response.text
    over = {"assignment": "ps1", "grades": [{"student": "s-a1", "score": 3, "max_score": 2}]}
    assert client.post("/api/v1/notebooks/a1-prog/grades", json=over, headers=headers).status_code == 400
    unknown = client.post("/api/v1/notebooks/no-such/grades", json=over, headers=headers)
    assert unknown.status_code == 404


def test_student_sees_only_own_grades(
    client: Any, world: Any, course: Any, api_token: Any, sign_in: Any
) -> None:
    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    assert client.post("/api/v1/notebooks/a1-prog/grades", json=GRADES, headers=headers).status_code == 200
    sign_in("s-a1")
    mine = client.get("/api/v1/notebooks/me").json()["grades"]
    assert [(g["assignment"], g["score"]) for g in mine] == [("ps1-hensu", 7.5)]
    page = client.get("/notebooks")
    assert page.status_code == 200
    assert "7.5 / 10" in page.text and "よくできました" in page.text and "4 / 10" not in page.text
    assert "ノートブックを開く" in page.text and "/hub/user-redirect/tree" in page.text
    assert client.get("/api/v1/notebooks/a1-prog/grades").status_code == 404  # the class gradebook
    assert client.get(f"/classes/{world.classes['A1'].id}/notebooks").status_code == 404


def test_teacher_gradebook_page_and_denials(
    client: Any, world: Any, course: Any, api_token: Any, sign_in: Any, db_session: Any
) -> None:
    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    client.post("/api/v1/notebooks/a1-prog/grades", json=GRADES, headers=headers)
    sign_in("t-a1")
    page = client.get(f"/classes/{world.classes['A1'].id}/notebooks")
    assert page.status_code == 200
    assert "ps1-hensu" in page.text and "7.5 / 10" in page.text and "4 / 10" in page.text
    assert "notebook.gradebook_view" in audit_actions(db_session)
    assert client.get(f"/classes/{world.classes['A2'].id}/notebooks").status_code == 404  # not taught
    assert client.get(f"/classes/{world.classes['B1'].id}/notebooks").status_code == 404


def test_board_gets_403_on_gradebooks(client: Any, world: Any, course: Any, sign_in: Any) -> None:
    sign_in("board")
    assert client.get(f"/classes/{world.classes['A1'].id}/notebooks").status_code == 403
    assert client.get("/api/v1/notebooks/a1-prog/grades").status_code == 403


def test_teacher_flags_a_class_from_the_page(client: Any, world: Any, sign_in: Any, db_session: Any) -> None:
    from lms.notebooks.models import NotebookCourse

    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/notebooks"
    page = client.get(url)
    assert "ノートブックのコースにする" in page.text
    bad = client.post(url, data={"course_id": "Bad Slug", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 400 and "コースID" in bad.text
    ok = client.post(
        url, data={"course_id": "a1-prog", "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert ok.status_code == 303
    db_session.expire_all()
    assert db_session.exec(select(NotebookCourse)).one().course_id == "a1-prog"


def test_home_tile_links_to_the_hub_and_shows_own_grades(
    client: Any, world: Any, course: Any, api_token: Any, db_session: Any
) -> None:
    from lms.notebooks.home import home_context
    from lms.pages.render import templates

    headers = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write'])}"}
    assert client.post("/api/v1/notebooks/a1-prog/grades", json=GRADES, headers=headers).status_code == 200
    db_session.expire_all()
    tile = templates.get_template("notebooks_home.html")  # found through the shared page environment
    mine = tile.render(home_context(db_session, world.users["s-a1"]))
    assert "ノートブックを開く" in mine and "/hub/user-redirect/tree" in mine
    assert "7.5 / 10" in mine and "4 / 10" not in mine
    outsider = tile.render(home_context(db_session, world.users["s-b1"]))
    assert "ノートブックを開く" not in outsider and "いまのレッスンはありません" in outsider
