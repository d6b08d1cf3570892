"""The notebook API's JSON: declared response models, the same keys the hub and the pages' scripts read."""

from __future__ import annotations

from typing import Any

from tests.lms.test_notebooks_api import GRADES


def test_grades_gradebook_and_own_grades_keep_their_keys(
    client: Any, world: Any, course: Any, api_token: Any, sign_in: Any
) -> None:
    teacher = {"Authorization": f"Bearer {api_token('t-a1', ['grades:write', 'results:read'])}"}
    upserted = client.post("/api/v1/notebooks/a1-prog/grades", json=GRADES, headers=teacher).json()
    assert upserted == {"course_id": "a1-prog", "assignment": "ps1-hensu", "created": 2, "updated": 0}
    book = client.get("/api/v1/notebooks/a1-prog/grades", headers=teacher).json()
    assert book["assignments"] == ["ps1-hensu"]
    assert {"student": "s-a1", "grades": {"ps1-hensu": {"score": 7.5, "max_score": 10.0}}} in book["students"]
    sign_in("s-a1")
    [mine] = client.get("/api/v1/notebooks/me").json()["grades"]
    keys = {"course_id", "class", "assignment", "score", "max_score", "feedback_html", "graded_at"}
    assert set(mine) == keys
    assert mine["class"] == "3年1組" and "<script>" not in (mine["feedback_html"] or "")


def test_course_list_for_the_hub(client: Any, world: Any, course: Any, api_token: Any) -> None:
    admin = {"Authorization": f"Bearer {api_token('admin', ['hub'])}"}
    [listed] = client.get("/api/v1/notebooks/courses", headers=admin).json()["courses"]
    assert listed == {
        "course_id": "a1-prog",
        "class_id": world.classes["A1"].id,
        "students": ["s-a1", "s-a1b"],
        "teachers": ["t-a1"],
        "grader": "grader-a1-prog",
        "lesson_version": "shou",
        "student_names": [
            {
                "username": name,
                "family_name": "山田",
                "given_name": given,
                "kana_family_name": "ヤマダ",
                "kana_given_name": "テスト",
            }
            for name, given in (("s-a1", "一郎"), ("s-a1b", "花子"))
        ],
    }


def test_the_schema_names_every_notebook_response(app: Any) -> None:
    paths = app.openapi()["paths"]
    for path, method in [
        ("/api/v1/classes/{class_id}/notebook-course", "post"),
        ("/api/v1/notebooks/courses", "get"),
        ("/api/v1/notebooks/{course_id}/grades", "post"),
        ("/api/v1/notebooks/{course_id}/grades", "get"),
        ("/api/v1/notebooks/me", "get"),
    ]:
        schema = paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (path, method, schema)
