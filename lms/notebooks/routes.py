"""Notebook courses: JSON API (flag a class, courses for provisioning, grades upload) and pages (gradebook,
the student's notebooks, 「名簿をハブに反映」, 「授業をはじめる」 with its progress page and the small JSON it
polls). Rows: see `lms.permissions.ROUTE_POLICIES`, `lms.notebooks.service` and `lms.notebooks.hub_sync`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from lms import authz
from lms.audit.service import record_event
from lms.auth.deps import ApiPrincipal, ClockDep, PageUser, SettingsDep, client_ip
from lms.authz import VisibleClassRoster
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, InvalidInput, NotFound
from lms.core.jst import jst_text
from lms.notebooks import deadlines, grade_pull, hub_sync, schemas, service
from lms.notebooks import messages as msg
from lms.notebooks.hub_client import HubUnavailable, PrestartRegistry, formgrader_url
from lms.notebooks.lesson_versions import LABELS as LESSON_LABELS
from lms.notebooks.lesson_versions import lesson_version
from lms.notebooks.schemas import CourseFlag, GradesUpload
from lms.oauth_provider.routes import OAuthSettingsDep, get_oauth_settings
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.permissions import api_gate
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
) -> schemas.CourseFlagged:
    class_ = authz.load_class(
        session=session, viewer=principal.user, class_id=class_id, audit="roster.view", ip=client_ip(request)
    )
    course, created = service.flag_course(
        session=session,
        actor=principal.user,
        class_=class_,
        course_id=body.course_id,
        ip=client_ip(request),
        now=clock.now(),
    )
    session.commit()  # the course exists whatever the hub answers
    return schemas.CourseFlagged(
        course_id=course.course_id,
        class_id=course.class_id,
        created=created,
        hub_sync=_try_sync(hub, session, course),
    )


@api.get("/notebooks/courses", summary="Every notebook course with its members, for the hub (row: admin)")
def list_courses(session: SessionDep) -> schemas.CourseList:
    return schemas.CourseList.model_validate({"courses": service.all_courses(session)})


@api.post("/notebooks/{course_id}/grades", summary="Upsert one assignment's grades (row: class results)")
def upload_grades(
    course_id: str,
    body: GradesUpload,
    request: Request,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
) -> schemas.GradesUpserted:
    course, class_ = authz.load_notebook_course(session=session, viewer=principal.user, course_id=course_id)
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
    return schemas.GradesUpserted(course_id=course.course_id, assignment=body.assignment, **counts)


@api.get("/notebooks/{course_id}/grades", summary="The course's gradebook (row: class results; audited)")
def read_grades(
    course_id: str, request: Request, session: SessionDep, principal: ApiPrincipal
) -> schemas.GradebookOut:
    course, _class = authz.load_notebook_course(
        session=session,
        viewer=principal.user,
        course_id=course_id,
        audit="notebook.gradebook_view",
        ip=client_ip(request),
    )
    book = service.gradebook(session=session, course=course)
    return schemas.GradebookOut(
        course_id=course.course_id,
        assignments=book.assignments,
        students=[
            schemas.StudentGrades(
                student=student.username,
                grades={
                    name: schemas.Score(score=g.score, max_score=g.max_score) for name, g in grades.items()
                },
            )
            for student, grades in book.rows
        ],
    )


@api.get("/notebooks/me", summary="The signed-in student's own notebook grades (row: own data)")
def my_grades(session: SessionDep, principal: ApiPrincipal) -> schemas.OwnGrades:
    rows = service.student_grades(session=session, student=principal.user)
    return schemas.OwnGrades(
        grades=[
            schemas.OwnGrade(
                course_id=course.course_id,
                class_title=class_.title,
                assignment=grade.assignment_name,
                score=grade.score,
                max_score=grade.max_score,
                feedback_html=grade.feedback_html,
                graded_at=grade.graded_at.isoformat(),
            )
            for course, class_, grade in rows
        ]
    )


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
    is_teacher = hub_sync.can_prestart(session=session, user=user, class_=class_)
    hub_url = get_oauth_settings().hub_url.rstrip("/")
    listed = deadlines.deadlines(session, course) if course is not None else []
    context = {
        "klass": class_,
        "course": course,
        "book": book,
        "formgrader_url": formgrader_url(hub_url, course.course_id) if course and is_teacher else None,
        "notebooks_url": f"{hub_url}/hub/user-redirect/tree",
        "can_pull_grades": service.can_write_grades(session=session, user=user, class_=class_),
        "pulled": {k: request.query_params.get(k, "0") for k in ("pulled", "manual", "others")}
        if "pulled" in request.query_params
        else None,
        "can_manage": service.can_manage(session=session, user=user, class_=class_),
        "can_prestart": is_teacher,
        "hub_note": request.query_params.get("hub"),
        "deadlines": listed,
        # ?edit=<assignment> fills the form with what is stored: saving replaces an assignment's extensions
        "editing": next((d for d in listed if d.assignment == request.query_params.get("edit")), None),
        "students": service.course_students(session, course) if course is not None else [],
        "lesson_version": LESSON_LABELS[lesson_version(class_.grades)],
        "lateness_label": deadlines.lateness_label,
        "jst_text": jst_text,
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
        raise NotFound(msg.NOT_A_COURSE)
    return course


@pages.post("/classes/{class_id}/notebooks/hub-sync")
def hub_sync_form(
    request: Request, session: SessionDep, user: PageUser, class_: VisibleClassRoster, hub: HubFactoryDep
) -> Response:
    """「名簿をハブに反映」: users and groups of this course on the hub now (audited)."""
    if not service.can_manage(session=session, user=user, class_=class_):
        raise Forbidden(msg.ONLY_MANAGERS_SYNC)
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


@pages.post("/classes/{class_id}/notebooks/grades-pull")
def grades_pull_form(
    request: Request,
    session: SessionDep,
    user: PageUser,
    class_: VisibleClassRoster,
    clock: ClockDep,
    hub: HubFactoryDep,
) -> Response:
    """「成績をLMSへ送る」: the formgrader's autograded scores into the gradebook (audited per assignment)."""
    if not service.can_write_grades(session=session, user=user, class_=class_):
        raise Forbidden(msg.ONLY_TEACHERS_SEND_GRADES)
    course = _course_of(session, class_)
    try:
        with hub() as client:
            due = deadlines.deadlines(session, course)
            for deadline in due:  # nbgrader measures lateness against the LMS's current settings
                client.formgrader_set_deadline(course.course_id, deadline.assignment, deadline.payload())
            fetched = client.formgrader_grades(course.course_id)
            lateness = {name: client.formgrader_lateness(course.course_id, name) for name in fetched}
    except HubUnavailable as error:
        return _gradebook_page(request, session, user, class_, error=error.message, status_code=503)
    summary = grade_pull.store_pulled_grades(
        session=session,
        actor=user,
        course=course,
        class_=class_,
        fetched=fetched,
        ip=client_ip(request),
        now=clock.now(),
        lateness=lateness,
    )
    query = f"pulled={summary.grades}&manual={summary.needs_manual_grade}&others={len(summary.not_enrolled)}"
    return RedirectResponse(f"/classes/{class_.id}/notebooks?{query}", status_code=303)


@pages.post("/classes/{class_id}/notebooks/deadline")
def deadline_form(
    request: Request,
    session: SessionDep,
    user: PageUser,
    class_: VisibleClassRoster,
    clock: ClockDep,
    hub: HubFactoryDep,
    assignment: str = Form(default="", max_length=100),
    due: str = Form(default="", max_length=40),
    student: list[str] = Form(default=[]),
    extension_hours: list[str] = Form(default=[]),
) -> Response:
    """提出期限（JST）と児童生徒ごとの延長: stored, then sent to the formgrader (nbgrader's gradebook)."""
    course = _course_of(session, class_)
    try:
        extensions = {
            name: round(float(hours or 0) * 60) for name, hours in zip(student, extension_hours, strict=True)
        }
    except (ValueError, OverflowError):
        return _gradebook_page(
            request,
            session,
            user,
            class_,
            error=msg.BAD_EXTENSION_HOURS,
            status_code=400,
        )
    try:
        deadline = deadlines.set_deadline(
            session=session,
            actor=user,
            course=course,
            class_=class_,
            assignment=assignment.strip(),
            due_at=deadlines.parse_due_jst(due),
            extensions=extensions,
            ip=client_ip(request),
            now=clock.now(),
        )
    except InvalidInput as error:
        return _gradebook_page(request, session, user, class_, error=error.message, status_code=400)
    session.commit()  # kept in the LMS whatever the hub answers; sent again before each grade pull
    try:
        with hub() as client:
            client.formgrader_set_deadline(course.course_id, deadline.assignment, deadline.payload())
        note = "deadline-sent"
    except HubUnavailable:
        note = "deadline-saved"
    return RedirectResponse(f"/classes/{class_.id}/notebooks?hub={note}", status_code=303)


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
        raise Forbidden(msg.ONLY_TEACHER_PRESTART)
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
    class_ = authz.load_class(session=session, viewer=user, class_id=class_id)
    if not hub_sync.can_prestart(session=session, user=user, class_=class_):
        raise Forbidden(msg.ONLY_TEACHER_PROGRESS)
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
        raise NotFound(msg.NO_NOTEBOOK_CLASS)
    context = {
        "hub_url": oauth.hub_url.rstrip("/") + "/hub/user-redirect/tree",
        "groups": groups,
        "grades": service.student_grades(session=session, student=user) if user.role == "student" else [],
        "lateness_label": deadlines.lateness_label,
    }
    return render(request, "notebooks_student.html", context)
