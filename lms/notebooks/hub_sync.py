"""Keeping the hub in line with the LMS, live (no hub restart): users and groups of a notebook course, and the
whole-class start of a lesson.

- ``sync_course``: hub users for the course's students, teachers and grader account; ``nbgrader-<course>`` =
  exactly the active students, ``formgrade-<course>`` = exactly the teachers + grader, and the umbrella group
  ``giga-notebook-students`` = exactly the students of every notebook course (whose servers the LMS may
  start), and the students' names in the course's formgrader.
  Run when a class becomes a notebook course, from 「名簿をハブに反映」, and before every
  「授業をはじめる」, so roster changes reach the hub by the next lesson at the latest (``hub_config.provision
  --every`` covers the time in between). What still needs a hub restart: the formgrader *service* of a
  brand-new course (services and roles are hub configuration in JupyterHub 5/6).
- who may start a class: only a teacher of that class (not school admins nor admins: starting 40 servers is
  a lesson decision).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from sqlmodel import Session, col, select

from lms.core.settings import Settings
from lms.notebooks import service
from lms.notebooks.hub_client import STUDENTS_GROUP, HubClient, HubUnavailable, PrestartJob, PrestartRegistry
from lms.notebooks.models import NotebookCourse
from lms.permissions import taught_class_ids
from lms.roster.models import Enrollment, SchoolClass, User

HubFactory = Callable[[], HubClient]


def hub_factory_from(settings: Settings) -> HubFactory:
    def make() -> HubClient:
        return HubClient(settings.hub_api_url, settings.hub_service_token)

    return make


def get_hub_factory(request: Request) -> HubFactory:
    """Dependency: how to reach the hub (tests override it with an in-process fake hub)."""
    settings: Settings = request.app.state.settings
    return hub_factory_from(settings)


def get_registry(request: Request) -> PrestartRegistry:
    """Dependency: this process's whole-class starts (kept on the app)."""
    registry: PrestartRegistry | None = getattr(request.app.state, "notebook_prestarts", None)
    if registry is None:
        registry = PrestartRegistry()
        request.app.state.notebook_prestarts = registry
    return registry


def can_prestart(*, session: Session, user: User, class_: SchoolClass) -> bool:
    """Only a teacher of the class."""
    return user.role == "teacher" and class_.id in taught_class_ids(session, user)


def all_notebook_students(session: Session) -> set[str]:
    rows = session.exec(
        select(User.username)
        .join(Enrollment, col(Enrollment.user_id) == col(User.id))
        .join(NotebookCourse, col(NotebookCourse.class_id) == col(Enrollment.class_id))
        .where(Enrollment.role == "student", Enrollment.status == "active", User.status == "active")
    ).all()
    return set(rows)


def sync_course(client: HubClient, session: Session, course: NotebookCourse) -> dict[str, Any]:
    """Users and groups of one course on the hub, idempotently; returns what changed."""
    students = {u.username for u in service.course_students(session, course)}
    grader = service.GRADER_ACCOUNT.format(course=course.course_id)
    teachers = {u.username for u in service.course_teachers(session, course)} | {grader}
    created = client.ensure_users(students | teachers)
    groups = [
        client.sync_group(service.STUDENT_GROUP.format(course=course.course_id), students),
        client.sync_group(service.TEACHER_GROUP.format(course=course.course_id), teachers),
        client.sync_group(STUDENTS_GROUP, all_notebook_students(session)),
    ]
    return {
        "course_id": course.course_id,
        "users_created": created,
        "groups": [g for g in groups if g["created"] or g["added"] or g["removed"]],
        "formgrader_names": _name_students(client, session, course),
    }


def _name_students(client: HubClient, session: Session, course: NotebookCourse) -> dict[str, Any]:
    """The roster's names in the formgrader (best effort: its service may still be starting)."""
    people = [service.student_name(u) for u in service.course_students(session, course)]
    try:
        return {"named": client.formgrader_name_students(course.course_id, people)}
    except HubUnavailable as error:
        return {"named": [], "error": error.message}


def new_job(session: Session, course: NotebookCourse, settings: Settings) -> PrestartJob:
    students = [u.username for u in service.course_students(session, course)]
    return PrestartJob(
        course_id=course.course_id, students=students, concurrency=settings.hub_prestart_concurrency
    )


def progress(job: PrestartJob | None, live: Mapping[str, str] | None, students: list[str]) -> dict[str, Any]:
    """What the progress page shows: the job's view corrected by the hub's live one (ready wins)."""
    live = live or {}
    if job is None:
        as_job = {"ready": "ready", "pending": "starting"}
        states = {n: as_job.get(live.get(n, ""), "not_started") for n in students}
        errors: dict[str, str | None] = {}
        finished, failure, started_at = True, None, None
    else:
        summary = job.summary()
        states = {s["name"]: s["state"] for s in summary["students"]}
        errors = {s["name"]: s["error"] for s in summary["students"]}
        for name, state in live.items():
            if state == "ready" and name in states:
                states[name] = "ready"
        finished, failure, started_at = summary["finished"], summary["failure"], summary["started_at"]
    values = list(states.values())
    return {
        "total": len(states),
        "ready": values.count("ready"),
        "pending": values.count("starting") + values.count("queued"),
        "failed": values.count("failed"),
        "not_started": values.count("not_started"),
        "finished": finished,
        "failure": failure,
        "started_at": started_at,
        "students": [{"name": n, "state": s, "error": errors.get(n)} for n, s in states.items()],
    }
