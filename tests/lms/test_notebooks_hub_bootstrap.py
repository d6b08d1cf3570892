"""`make run`'s hub wiring: the demo teacher's class becomes the notebook course; the hub gets the list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from lms.notebooks.hub_bootstrap import main
from lms.notebooks.models import NotebookCourse
from lms.roster.models import Enrollment, Org, SchoolClass, User
from tests.factories import pk


def _demo_teacher(session: Session) -> tuple[int, int]:
    school = Org(sourced_id="hb-school", name="みどり小学校", type="school", identifier="B100000000009")
    session.add(school)
    session.flush()
    last_year = SchoolClass(sourced_id="hb-c0", title="5年1組", grades="P5", school_id=pk(school))
    this_year = SchoolClass(sourced_id="hb-c1", title="6年1組", grades="P6", school_id=pk(school))
    session.add_all([last_year, this_year])
    session.flush()
    teacher = User(username="teacher", role="teacher", given_name="花子", family_name="山田")
    session.add(teacher)
    session.flush()
    for klass in (last_year, this_year):
        session.add(
            Enrollment(
                sourced_id=f"hb-en-{klass.sourced_id}",
                class_id=pk(klass),
                user_id=pk(teacher),
                school_id=pk(school),
                role="teacher",
            )
        )
    session.commit()
    assert last_year.id is not None and this_year.id is not None
    return last_year.id, this_year.id


def test_the_demo_class_becomes_the_course_and_the_hub_gets_the_list(
    db_session: Session, tmp_path: Path, capsys: Any
) -> None:
    _, this_year = _demo_teacher(db_session)
    courses_file = tmp_path / "hub" / "courses.json"
    assert main(["--courses-file", str(courses_file), "--demo-course", "demo-prog"]) == 0
    assert json.loads(courses_file.read_text()) == ["demo-prog"]
    db_session.expire_all()
    (course,) = db_session.exec(select(NotebookCourse)).all()
    assert (course.course_id, course.class_id) == ("demo-prog", this_year)
    # again (every `make run`): nothing new, the same list
    assert main(["--courses-file", str(courses_file), "--demo-course", "other-name"]) == 0
    assert json.loads(courses_file.read_text()) == ["demo-prog"]
    assert "demo-prog" in capsys.readouterr().out


def test_a_bad_course_id_is_refused_with_a_sentence(db_session: Session, tmp_path: Path, capsys: Any) -> None:
    _demo_teacher(db_session)
    assert main(["--courses-file", str(tmp_path / "c.json"), "--demo-course", "Demo Prog!"]) == 2
    assert "コースID" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("demo_course", [None, "demo-prog"])
def test_without_a_demo_teacher_no_course_is_made(
    db_session: Session, tmp_path: Path, demo_course: str | None
) -> None:
    args = ["--courses-file", str(tmp_path / "c.json")] + (
        ["--demo-course", demo_course] if demo_course else []
    )
    assert main(args) == 0
    assert json.loads((tmp_path / "c.json").read_text()) == []


def test_the_demo_formgrader_gets_the_lessons_once(db_session: Session, tmp_path: Path) -> None:
    _demo_teacher(db_session)
    lessons = tmp_path / "lessons"
    (lessons / "01_variables").mkdir(parents=True)
    (lessons / "01_variables" / "01_variables.ipynb").write_text("{}", encoding="utf-8")
    courses_file = tmp_path / "hub" / "courses.json"
    argv = ["--courses-file", str(courses_file), "--demo-course", "demo-prog", "--lessons", str(lessons)]
    assert main(argv) == 0
    course = tmp_path / "hub" / "courses" / "demo-prog"
    assert (course / "source" / "01_variables" / "01_variables.ipynb").read_text() == "{}"
    assert course.stat().st_mode & 0o777 == 0o700  # the grader's private folder
    # the teacher edits the lesson; the next `make run` leaves it alone
    (course / "source" / "01_variables" / "01_variables.ipynb").write_text("edited", encoding="utf-8")
    assert main(argv) == 0
    assert (course / "source" / "01_variables" / "01_variables.ipynb").read_text() == "edited"


def test_lessons_that_are_not_a_folder_are_refused(db_session: Session, tmp_path: Path, capsys: Any) -> None:
    argv = ["--courses-file", str(tmp_path / "c.json"), "--lessons", str(tmp_path / "missing")]
    assert main(argv) == 2
    assert "is not a folder of lessons" in capsys.readouterr().err
