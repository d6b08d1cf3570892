"""``python -m hub_config.provision``: idempotent, exact groups (roster removals reach the hub), the umbrella
group of notebook students, and the ``--every`` loop. Against an in-process fake LMS and fake hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from hub_config import provision as prov
from tests.lms.test_notebooks_prestart import API, TOKEN, FakeHub


def lms_client(courses: list[dict[str, Any]]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/notebooks/courses"
        return httpx.Response(200, json={"courses": courses})

    return httpx.Client(base_url="http://lms.test", transport=httpx.MockTransport(handle))


def hub_client(hub: FakeHub) -> httpx.Client:
    return httpx.Client(
        base_url=API, headers={"Authorization": f"token {TOKEN}"}, transport=httpx.MockTransport(hub.handle)
    )


def course(course_id: str, students: list[str]) -> dict[str, Any]:
    return {"course_id": course_id, "students": students, "teachers": ["t1"], "grader": f"grader-{course_id}"}


def test_provisioning_is_idempotent_and_follows_roster_removals(tmp_path: Path) -> None:
    hub = FakeHub()
    courses = [course("a1-prog", ["s1", "s2"]), course("b1-data", ["s3"])]
    with hub_client(hub) as api:
        first = prov.provision(lms=lms_client(courses), hub=api, state_dir=tmp_path, courses_file=None)
        again = prov.provision(lms=lms_client(courses), hub=api, state_dir=tmp_path, courses_file=None)
        assert "grader-a1-prog" in first.users_created and again.users_created == []
        assert again.members_added == {} and again.members_removed == {} and again.groups_created == []
        assert hub.groups["giga-notebook-students"] == {"s1", "s2", "s3"}
        courses[0]["students"] = ["s1"]  # s2 left the class in the LMS
        third = prov.provision(lms=lms_client(courses), hub=api, state_dir=tmp_path, courses_file=None)
    assert third.members_removed == {"nbgrader-a1-prog": ["s2"], "giga-notebook-students": ["s2"]}
    assert hub.groups["nbgrader-a1-prog"] == {"s1"} and hub.groups["formgrade-a1-prog"] == {
        "t1",
        "grader-a1-prog",
    }


def test_every_loops_and_bad_arguments_exit_2(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    assert prov.main({}, argv=["--every", "1"]) == 2
    assert "at least 5" in capsys.readouterr().err
    assert prov.main({}, argv=["--often"]) == 2
    assert prov.main({}, argv=[]) == 2  # no tokens: one sentence, no traceback
    assert "GIGA_LMS_API_TOKEN" in capsys.readouterr().err
    runs: list[bool] = []

    def run_once(env: object, keep_going: bool) -> int:
        runs.append(keep_going)
        return 1

    monkeypatch.setattr(prov, "_run_once", run_once)
    slept: list[float] = []
    assert prov.main({}, argv=["--every", "60"], sleep=slept.append, rounds=3) == 1
    assert runs == [True, True, True] and slept == [60.0, 60.0]  # an unreachable hub does not stop the loop


def test_each_course_gets_its_lesson_version_once(tmp_path: Path) -> None:
    """A city's hub: the course list names each class's version; a course without source/ gets it."""
    import sys

    classroom = Path(__file__).resolve().parents[2] / "classroom"
    sys.path.insert(0, str(classroom))
    from build_sources import VERSIONS

    assert VERSIONS == prov.LESSON_FOLDERS  # the folders classroom/build_sources.py writes
    courses = [
        {**course("e1-prog", ["s1"]), "lesson_version": "shou"},
        {**course("j1-prog", ["s2"]), "lesson_version": "chuu"},
    ]
    state = tmp_path / "state"
    with hub_client(FakeHub()) as api:
        report = prov.provision(
            lms=lms_client(courses), hub=api, state_dir=state, courses_file=None, lessons_dir=classroom
        )
        assert report.lessons_seeded == {"e1-prog": "shou", "j1-prog": "chuu"}
        notebook = Path("01_variables") / "01_variables.ipynb"
        for course_id, folder in (("e1-prog", "source"), ("j1-prog", "source-chuu")):
            seeded = state / "courses" / course_id / "source" / notebook
            assert seeded.read_bytes() == (classroom / folder / notebook).read_bytes()
        # the teacher's edits stay: never copied again
        (state / "courses" / "j1-prog" / "source" / notebook).write_text("edited", encoding="utf-8")
        again = prov.provision(
            lms=lms_client(courses), hub=api, state_dir=state, courses_file=None, lessons_dir=classroom
        )
    assert again.lessons_seeded == {}
    assert (state / "courses" / "j1-prog" / "source" / notebook).read_text(encoding="utf-8") == "edited"


def test_a_lessons_dir_without_lessons_is_refused(tmp_path: Path, capsys: Any) -> None:
    env = {"GIGA_LMS_API_TOKEN": "t", "GIGA_HUB_SERVICE_TOKEN": "s", "GIGA_HUB_LESSONS_DIR": str(tmp_path)}
    assert prov.main(env, argv=[]) == 2
    assert "GIGA_HUB_LESSONS_DIR" in capsys.readouterr().err
