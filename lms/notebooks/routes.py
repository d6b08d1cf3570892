"""Notebook courses: JSON API (flag a class, courses for provisioning, grades upload) and pages (gradebook,
the student's notebooks, 「名簿をハブに反映」, 「授業をはじめる」 with its progress page and the small JSON it
polls). Rows: see `lms.permissions.ROUTE_POLICIES`, `lms.notebooks.service` and `lms.notebooks.hub_sync`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from lms.audit.service import record_event
from lms.auth.deps import ApiPrincipal, ClockDep, PageUser, SettingsDep, client_ip
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, InvalidInput, NotFound
from lms.notebooks import hub_sync, service
from lms.notebooks.hub_client import HubUnavailable, PrestartRegistry
from lms.notebooks.render import render
from lms.notebooks.schemas import CourseFlag, GradesUpload
from lms.oauth_provider.routes import OAuthSettingsDep
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.permissions import VisibleClassRoster, api_gate, check_class_roster, load_class_roster
from lms.roster.models import SchoolClass, User

api = APIRouter(prefix="/api/v1", tags=["notebooks"], dependencies=[Depends(api_gate)])
pages = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)
HubFactoryDep = Annotated[hub_sync.HubFactory, Depends(hub_sync.get_hub_factory)]
RegistryDep = Annotated[PrestartRegistry, Depends(hub_sync.get_registry)]


def _try_sync(factory: hub_sync.HubFactory, session: SessionDep, course: Any) -> dict[str, Any]:
    """Best effort after flagging: the hub may not be configured or running yet."""
    try:
        with factory() as client:
            return hub_sync.sync_course(client, session, course)
    except HubUnavailable as error:
        return {"error": error.message}


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
    hub: HubFactoryDep,
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
    session.commit()  # the course exists whatever the hub answers
    return {
        "course_id": course.course_id,
        "class_id": course.class_id,
        "created": created,
        "hub_sync": _try_sync(hub, session, course),
    }


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
        "can_prestart": hub_sync.can_prestart(session=session, user=user, class_=class_),
        "hub_note": request.query_params.get("hub"),
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
    hub: HubFactoryDep,
    course_id: str = Form(default="", max_length=40),
) -> Response:
    try:
        course, _created = service.flag_course(
            session=session,
            actor=user,
            class_=class_,
            course_id=course_id.strip(),
            ip=client_ip(request),
            now=clock.now(),
        )
    except InvalidInput as error:
        return _gradebook_page(request, session, user, class_, error=error.message, status_code=400)
    session.commit()
    synced = "error" not in _try_sync(hub, session, course)
    return RedirectResponse(
        f"/classes/{class_.id}/notebooks" + ("?hub=synced" if synced else "?hub=unsynced"), status_code=303
    )


def _course_of(session: SessionDep, class_: SchoolClass) -> Any:
    assert class_.id is not None
    course = service.course_for_class(session, class_.id)
    if course is None:
        raise NotFound("このクラスはまだノートブックのコースになっていません。")
    return course


@pages.post("/classes/{class_id}/notebooks/hub-sync")
def hub_sync_form(
    request: Request, session: SessionDep, user: PageUser, class_: VisibleClassRoster, hub: HubFactoryDep
) -> Response:
    """「名簿をハブに反映」: users and groups of this course on the hub now (audited)."""
    if not service.can_manage(session=session, user=user, class_=class_):
        raise Forbidden("名簿をハブに反映できるのは、クラスの担当の先生・学校管理者・管理者です。")
    course = _course_of(session, class_)
    try:
        with hub() as client:
            result = hub_sync.sync_course(client, session, course)
    except HubUnavailable as error:
        return _gradebook_page(request, session, user, class_, error=error.message, status_code=503)
    record_event(
        session=session,
        actor_id=user.id,
        action="notebook.hub_sync",
        target_type="notebook_course",
        target_id=course.course_id,
        ip=client_ip(request),
        detail=result,
    )
    return RedirectResponse(f"/classes/{class_.id}/notebooks?hub=synced", status_code=303)


@pages.post("/classes/{class_id}/notebooks/prestart")
def prestart_form(
    request: Request,
    session: SessionDep,
    user: PageUser,
    class_: VisibleClassRoster,
    settings: SettingsDep,
    hub: HubFactoryDep,
    registry: RegistryDep,
) -> Response:
    """「授業をはじめる」: bring the roster to the hub, then start every student's server (audited)."""
    if not hub_sync.can_prestart(session=session, user=user, class_=class_):
        raise Forbidden("全員のノートブックを起動できるのは、このクラスの担当の先生だけです。")
    course = _course_of(session, class_)
    try:
        with hub() as client:
            synced = hub_sync.sync_course(client, session, course)
    except HubUnavailable as error:
        return _gradebook_page(request, session, user, class_, error=error.message, status_code=503)
    job, started = registry.begin(hub_sync.new_job(session, course, settings), hub)
    record_event(
        session=session,
        actor_id=user.id,
        action="notebook.prestart",
        target_type="notebook_course",
        target_id=course.course_id,
        ip=client_ip(request),
        detail={
            "students": len(job.students),
            "concurrency": job.concurrency,
            "already_running": not started,
            "users_created": len(synced["users_created"]),
        },
    )
    return RedirectResponse(f"/classes/{class_.id}/notebooks/prestart", status_code=303)


def _prestart_view(session: SessionDep, user: User, class_id: int) -> tuple[SchoolClass, Any]:
    """The class and course for the progress page and its JSON (no audit per poll; the start is audited)."""
    class_ = session.get(SchoolClass, class_id)
    if class_ is None:
        raise NotFound("そのクラスは見つかりません。")
    check_class_roster(session, user, class_)
    if not hub_sync.can_prestart(session=session, user=user, class_=class_):
        raise Forbidden("起動の状況を見られるのは、このクラスの担当の先生だけです。")
    return class_, _course_of(session, class_)


def _progress(
    session: SessionDep, course: Any, hub: hub_sync.HubFactory, registry: PrestartRegistry
) -> dict[str, Any]:
    students = [u.username for u in service.course_students(session, course)]
    job = registry.get(course.course_id)
    try:
        with hub() as client:
            live = client.server_states(students)
        hub_error = None
    except HubUnavailable as error:
        live, hub_error = None, error.message
    return {**hub_sync.progress(job, live, students), "hub_error": hub_error, "course_id": course.course_id}


@pages.get("/classes/{class_id}/notebooks/prestart")
def prestart_page(
    class_id: int,
    request: Request,
    session: SessionDep,
    user: PageUser,
    hub: HubFactoryDep,
    registry: RegistryDep,
) -> Response:
    class_, course = _prestart_view(session, user, class_id)
    context = {"klass": class_, "course": course, "progress": _progress(session, course, hub, registry)}
    return render(request, "notebooks_prestart.html", context)


@pages.get("/classes/{class_id}/notebooks/prestart/status")
def prestart_status(
    class_id: int, session: SessionDep, user: PageUser, hub: HubFactoryDep, registry: RegistryDep
) -> Response:
    """The small JSON the progress page polls: counts of ready / pending / failed, and each student."""
    _class, course = _prestart_view(session, user, class_id)
    return JSONResponse(_progress(session, course, hub, registry), headers={"Cache-Control": "no-store"})


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
