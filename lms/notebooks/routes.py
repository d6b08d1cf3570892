"""Notebook courses: JSON API (flag a class, courses for provisioning, grades upload) and pages (gradebook,
the student's notebooks). Rows: see `lms.permissions.ROUTE_POLICIES` and `lms.notebooks.service`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from lms.audit.service import record_event
from lms.auth.deps import ApiPrincipal, ClockDep, PageUser, client_ip
from lms.db import SessionDep
from lms.errors import InvalidInput, NotFound
from lms.notebooks import service
from lms.notebooks.render import render
from lms.notebooks.schemas import CourseFlag, GradesUpload
from lms.oauth_provider.routes import OAuthSettingsDep
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.permissions import VisibleClassRoster, api_gate, load_class_roster
from lms.roster.models import SchoolClass

api = APIRouter(prefix="/api/v1", tags=["notebooks"], dependencies=[Depends(api_gate)])
pages = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


@api.post(
    "/classes/{class_id}/notebook-course", summary="Flag a class as a notebook course (row: class results)"
)
def flag_course(
    class_id: int,
    body: CourseFlag,
    request: Request,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
) -> dict[str, Any]:
    class_ = load_class_roster(class_id, request, session)
    course, created = service.flag_course(
        session=session,
        actor=principal.user,
        class_=class_,
        course_id=body.course_id,
        ip=client_ip(request),
        now=clock.now(),
    )
    return {"course_id": course.course_id, "class_id": course.class_id, "created": created}


@api.get("/notebooks/courses", summary="Every notebook course with its members, for the hub (row: admin)")
def list_courses(session: SessionDep) -> dict[str, Any]:
    return {"courses": service.all_courses(session)}


@api.post("/notebooks/{course_id}/grades", summary="Upsert one assignment's grades (row: class results)")
def upload_grades(
    course_id: str,
    body: GradesUpload,
    request: Request,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
) -> dict[str, Any]:
    course, class_ = service.load_course(session=session, viewer=principal.user, course_id=course_id)
    counts = service.upsert_grades(
        session=session,
        actor=principal.user,
        course=course,
        class_=class_,
        assignment=body.assignment,
        grades=[service.GradeIn(**line.model_dump()) for line in body.grades],
        ip=client_ip(request),
        now=clock.now(),
    )
    return {"course_id": course.course_id, "assignment": body.assignment, **counts}


@api.get("/notebooks/{course_id}/grades", summary="The course's gradebook (row: class results; audited)")
def read_grades(
    course_id: str, request: Request, session: SessionDep, principal: ApiPrincipal
) -> dict[str, Any]:
    course, _class = service.load_course(session=session, viewer=principal.user, course_id=course_id)
    book = service.gradebook(session=session, course=course)
    record_event(
        session=session,
        actor_id=principal.user.id,
        action="notebook.gradebook_view",
        target_type="notebook_course",
        target_id=course.course_id,
        ip=client_ip(request),
    )
    return {
        "course_id": course.course_id,
        "assignments": book.assignments,
        "students": [
            {
                "student": student.username,
                "grades": {name: {"score": g.score, "max_score": g.max_score} for name, g in grades.items()},
            }
            for student, grades in book.rows
        ],
    }


@api.get("/notebooks/me", summary="The signed-in student's own notebook grades (row: own data)")
def my_grades(session: SessionDep, principal: ApiPrincipal) -> dict[str, Any]:
    rows = service.student_grades(session=session, student=principal.user)
    return {
        "grades": [
            {
                "course_id": course.course_id,
                "class": class_.title,
                "assignment": grade.assignment_name,
                "score": grade.score,
                "max_score": grade.max_score,
                "feedback_html": grade.feedback_html,
                "graded_at": grade.graded_at.isoformat(),
            }
            for course, class_, grade in rows
        ]
    }


# --- pages ------------------------------------------------------------------------------------------------


def _gradebook_page(
    request: Request,
    session: SessionDep,
    user: Any,
    class_: SchoolClass,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    assert class_.id is not None
    course = service.course_for_class(session, class_.id)
    book = service.gradebook(session=session, course=course) if course is not None else None
    if course is not None:
        record_event(
            session=session,
            actor_id=user.id,
            action="notebook.gradebook_view",
            target_type="notebook_course",
            target_id=course.course_id,
            ip=client_ip(request),
        )
    context = {
        "klass": class_,
        "course": course,
        "book": book,
        "can_manage": service.can_manage(session=session, user=user, class_=class_),
        "error": error,
    }
    return render(request, "notebooks_gradebook.html", context, status_code=status_code)


@pages.get("/classes/{class_id}/notebooks")
def gradebook_page(
    request: Request, session: SessionDep, user: PageUser, class_: VisibleClassRoster
) -> Response:
    return _gradebook_page(request, session, user, class_)


@pages.post("/classes/{class_id}/notebooks")
def flag_course_form(
    request: Request,
    session: SessionDep,
    user: PageUser,
    class_: VisibleClassRoster,
    clock: ClockDep,
    course_id: str = Form(default="", max_length=40),
) -> Response:
    try:
        service.flag_course(
            session=session,
            actor=user,
            class_=class_,
            course_id=course_id.strip(),
            ip=client_ip(request),
            now=clock.now(),
        )
    except InvalidInput as error:
        return _gradebook_page(request, session, user, class_, error=error.message, status_code=400)
    return RedirectResponse(f"/classes/{class_.id}/notebooks", status_code=303)


@pages.get("/notebooks")
def my_notebooks(request: Request, session: SessionDep, user: PageUser, oauth: OAuthSettingsDep) -> Response:
    groups = service.hub_groups(session, user)
    if not groups and user.role != "student":
        raise NotFound("ノートブックを使うクラスがありません。")
    context = {
        "hub_url": oauth.hub_url.rstrip("/") + "/hub/user-redirect/tree",
        "groups": groups,
        "grades": service.student_grades(session=session, student=user) if user.role == "student" else [],
    }
    return render(request, "notebooks_student.html", context)
