"""小学生版 and 中学生版 of the lessons: a class's grades choose the version its notebook course gets from
`make run` (hub_bootstrap seeds the formgrader's source/), and the class's notebook page names it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from lms.notebooks.hub_bootstrap import main
from lms.notebooks.lesson_versions import LABELS, lesson_version
from lms.notebooks.models import NotebookCourse
from tests.factories import pk
from tests.lms.conftest import World

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("grades", "version"),
    [
        ("J1", "chuu"),
        ("J1,J2", "chuu"),
        (" j3 ", "chuu"),
        ("P4", "shou"),
        ("P6,J1", "shou"),  # 07's 18 小6 + 18 中1: the younger ones need the readings
        ("", "shou"),
        (None, "shou"),
        ("X9", "shou"),  # an unknown code never drops the readings
    ],
)
def test_the_classs_grades_choose_the_version(grades: str | None, version: str) -> None:
    assert lesson_version(grades) == version


def _flag(session: Session, world: World) -> None:
    session.add(NotebookCourse(class_id=pk(world.classes["A1"]), course_id="a1-prog"))  # 小3
    session.add(NotebookCourse(class_id=pk(world.classes["B1"]), course_id="b1-prog"))  # 中1
    session.commit()


def test_make_run_seeds_each_course_with_its_version(
    db_session: Session, world: World, tmp_path: Path
) -> None:
    _flag(db_session, world)
    courses_file = tmp_path / "hub" / "courses.json"
    shou, chuu = ROOT / "classroom" / "source", ROOT / "classroom" / "source-chuu"
    argv = ["--courses-file", str(courses_file), "--lessons", str(shou), "--lessons-chuu", str(chuu)]
    assert main(argv) == 0
    notebook = Path("01_variables") / "01_variables.ipynb"
    a1 = (tmp_path / "hub" / "courses" / "a1-prog" / "source" / notebook).read_text(encoding="utf-8")
    b1 = (tmp_path / "hub" / "courses" / "b1-prog" / "source" / notebook).read_text(encoding="utf-8")
    assert a1 == (shou / notebook).read_text(encoding="utf-8") and "<ruby>" in a1
    assert b1 == (chuu / notebook).read_text(encoding="utf-8") and "<ruby>" not in b1


def test_without_a_chuu_folder_every_course_gets_the_lessons_given(
    db_session: Session, world: World, tmp_path: Path
) -> None:
    _flag(db_session, world)
    lessons = tmp_path / "lessons"
    (lessons / "01_variables").mkdir(parents=True)
    (lessons / "01_variables" / "01_variables.ipynb").write_text("{}", encoding="utf-8")
    assert main(["--courses-file", str(tmp_path / "hub" / "c.json"), "--lessons", str(lessons)]) == 0
    for course in ("a1-prog", "b1-prog"):
        assert (tmp_path / "hub" / "courses" / course / "source" / "01_variables").is_dir()


def test_a_missing_chuu_folder_is_refused(tmp_path: Path, capsys: Any) -> None:
    argv = ["--courses-file", str(tmp_path / "c.json"), "--lessons", str(tmp_path)]
    assert main([*argv, "--lessons-chuu", str(tmp_path / "missing")]) == 2
    assert "--lessons-chuu" in capsys.readouterr().err


def test_the_notebook_page_names_the_version(
    client: Any, world: World, db_session: Session, sign_in: Any
) -> None:
    _flag(db_session, world)
    sign_in("t-a1")
    page = client.get(f"/classes/{pk(world.classes['A1'])}/notebooks").text
    assert 'id="lesson-version"' in page and LABELS["shou"] in page
    sign_in("t-b1")
    page = client.get(f"/classes/{pk(world.classes['B1'])}/notebooks").text
    assert LABELS["chuu"] in page and LABELS["shou"] not in page
