"""`make run`'s hub wiring on the LMS side: the demo's notebook course and the hub's course list.

JupyterHub reads its formgrader services (one per notebook course) when it starts, so ``make run`` calls this
before it starts the hub::

    python -m lms.notebooks.hub_bootstrap --courses-file var/hub/courses.json [--demo-course demo-prog] \
        [--lessons classroom/source [--lessons-chuu classroom/source-chuu]]

- With ``--demo-course`` and no notebook course yet, the demo teacher's class (``teacher``, with the demo
  ``student``) becomes that notebook course, so a newcomer can release lesson 01 right away;
- writes every notebook course id to ``--courses-file`` (JSON list, what ``GIGA_HUB_COURSES_FILE`` names);
- with ``--lessons``, every notebook course's formgrader gets the platform's lessons as its ``source/``
  folder the first time (``<courses-file folder>/courses/<course>/source``, where the hub starts the course's
  formgrader): without them a newcomer's formgrader lists nothing to release. ``--lessons`` is the 小学生版
  (``classroom/source``), ``--lessons-chuu`` the 中学生版 (``classroom/source-chuu``) that a class of
  中学生 only gets (``lms/notebooks/lesson_versions.py``). An existing ``source/`` is never touched (the
  teacher's own edits stay). A course a teacher makes later gets its lessons, like its formgrader, at the
  next ``make run``.

Users and groups then reach the hub live over its REST API (「名簿をハブに反映」, and before each
「授業をはじめる」). Exit codes: 0 done, 2 with a sentence on stderr (no database, bad course id).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from lms.core.db import engine_for
from lms.core.errors import DomainError
from lms.core.settings import ConfigError, get_settings
from lms.notebooks.lesson_versions import LABELS, LessonVersion, lesson_version
from lms.notebooks.models import NotebookCourse
from lms.notebooks.service import check_course_id
from lms.roster.models import Enrollment, SchoolClass, User

DEMO_TEACHER = "teacher"


def demo_class_id(session: Session) -> int | None:
    """The newest class the demo teacher teaches (the demo seeds this school year's and last year's)."""
    rows = session.exec(
        select(Enrollment.class_id)
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(User.username == DEMO_TEACHER, Enrollment.role == "teacher")
        .order_by(col(Enrollment.class_id).desc())
    ).all()
    return rows[0] if rows else None


def bootstrap(session: Session, demo_course: str | None) -> list[str]:
    """Flag the demo course when there is no notebook course yet; return every course id."""
    existing = session.exec(select(NotebookCourse.course_id)).all()
    if demo_course and not existing:
        class_id = demo_class_id(session)
        if class_id is not None:
            session.add(NotebookCourse(class_id=class_id, course_id=check_course_id(demo_course)))
            session.commit()
    return sorted(session.exec(select(NotebookCourse.course_id)).all())


def course_versions(session: Session) -> dict[str, LessonVersion]:
    """Every notebook course's lesson version, from its class's grades."""
    rows = session.exec(
        select(NotebookCourse.course_id, SchoolClass.grades).join(
            SchoolClass, col(SchoolClass.id) == col(NotebookCourse.class_id)
        )
    ).all()
    return {course_id: lesson_version(grades) for course_id, grades in rows}


def seed_lessons(state_dir: Path, course_id: str, lessons: Path) -> bool:
    """Copy ``lessons`` (one folder per lesson) into the course's ``source/`` unless it exists; True if
    copied. The course folder is private to its grader (0700), as ``hub_config.provision.ensure_course``
    keeps it."""
    folder = state_dir / "courses" / course_id
    if (folder / "source").exists():
        return False
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = folder / "source.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.copytree(lessons, temporary, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    os.replace(temporary, folder / "source")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="make run: the demo notebook course and the hub's course list"
    )
    parser.add_argument("--courses-file", type=Path, required=True)
    parser.add_argument("--demo-course", default=None)
    parser.add_argument("--lessons", type=Path, default=None, help="the courses' lessons (小学生版)")
    parser.add_argument("--lessons-chuu", type=Path, default=None, help="the 中学生版 (default: --lessons)")
    args = parser.parse_args(argv)
    for option, folder in (("--lessons", args.lessons), ("--lessons-chuu", args.lessons_chuu)):
        if folder is not None and not folder.is_dir():
            print(f"error: {option} {folder} is not a folder of lessons", file=sys.stderr)
            return 2
    try:
        with Session(engine_for(get_settings())) as session:
            courses = bootstrap(session, args.demo_course)
            versions = course_versions(session)
    except (ConfigError, SQLAlchemyError) as error:
        print(f"error: cannot read the notebook courses ({type(error).__name__}): {error}", file=sys.stderr)
        return 2
    except DomainError as error:  # check_course_id's sentence
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.courses_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.courses_file.with_suffix(".tmp")
    temporary.write_text(json.dumps(courses), encoding="utf-8")
    os.replace(temporary, args.courses_file)
    print(f"notebook courses for the hub: {', '.join(courses) or '(none)'}")
    if args.lessons is None:
        return 0
    folders: dict[LessonVersion, Path] = {"shou": args.lessons, "chuu": args.lessons_chuu or args.lessons}
    for course_id in courses:
        version = versions.get(course_id, "shou")
        if seed_lessons(args.courses_file.parent, course_id, folders[version]):
            lessons = ", ".join(sorted(os.listdir(folders[version])))
            print(f"lessons for {course_id}'s formgrader ({LABELS[version]}): {lessons}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
