"""Practice: JSON API and the teacher's page.  Rows of the permission matrix: `lms.permissions`.

- ``GET /api/v1/practice/me`` — own data: the signed-in student's recommended practice.
- ``GET /api/v1/students/{user_id}/practice`` — individual: the student, their teachers, school admin,
  admin (another student → 404, board → 403); audited when it is not one's own.
- ``PUT|DELETE /api/v1/students/{user_id}/practice/override`` — individual, staff only: replace the items or
  narrow the skills of a student's recommendation, or go back to the automatic one (audited).
- ``GET /api/v1/classes/{class_id}/practice`` and ``POST …/practice/assign`` — class results: teacher of
  the class, school admin, admin (other classes → 404, board → 403).
- ``GET /classes/{class_id}/practice`` (page) and ``POST /classes/{class_id}/practice/override|assign``
  (forms of that page).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select

from lms import authz
from lms.auth.deps import ApiPrincipal, ClockDep, PageUser, client_ip
from lms.core.db import SessionDep
from lms.core.errors import NotFound
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.permissions import api_gate
from lms.reading.practice import messages as msg
from lms.reading.practice import service
from lms.reading.practice.models import PracticeOverride
from lms.roster.models import Enrollment, SchoolClass, User
from reading_tests.items import SKILLS
from reading_tests.practice import SKILL_NAMES_JA

router = APIRouter(prefix="/api/v1", tags=["practice"], dependencies=[Depends(api_gate)])
pages = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)
REQUEST_KEY = r"^[A-Za-z0-9_-]+$"  # a hand-out's retry key (`hand_out`)


# --- loaders: `lms.authz` (object-level rules + audit) ---------------------------------------------------

PracticeStudent = Annotated[User, Depends(authz.user_dependency("practice.view", students_only=True))]
PracticeClass = Annotated[SchoolClass, Depends(authz.class_dependency("practice.class_view"))]


# --- schemas -----------------------------------------------------------------------------------------------


class RecommendationOut(BaseModel):
    item_id: str
    skill: str
    skill_name: str
    kind: str = Field(description="growth | guessing | review | teacher")
    reason: str = Field(description="one Japanese sentence for the child and the teacher")
    p_correct: float | None = Field(description="expected chance of success at the student's ability")
    source: str = Field(description="auto | teacher")


class OverrideOut(BaseModel):
    id: int
    item_ids: list[str]
    skills: list[str]
    note: str | None
    created_by_id: int | None
    created_at: datetime


class StudentPracticeOut(BaseModel):
    student_id: int
    name: str
    shusseki_no: int | None = None
    recommended: list[RecommendationOut]
    automatic: list[RecommendationOut]
    override: OverrideOut | None


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_ids: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=30
    )
    skills: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=list, max_length=7
    )
    note: str | None = Field(default=None, max_length=255)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    student_ids: list[int] | None = Field(default=None, description="default: every student of the class")
    closes_at: datetime | None = None
    request_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=64,
        pattern=REQUEST_KEY,
        description="the same key again (a retry) returns the first hand-out's result and assigns nothing",
    )


class AssignedOut(BaseModel):
    student_id: int
    assignment_id: int
    item_ids: list[str]


def _recs(items: list[service.Recommendation]) -> list[RecommendationOut]:
    return [RecommendationOut(**r.to_dict()) for r in items]


def _override(row: PracticeOverride | None) -> OverrideOut | None:
    if row is None or row.id is None:
        return None
    return OverrideOut(
        id=row.id,
        item_ids=list(row.item_ids),
        skills=list(row.skills),
        note=row.note,
        created_by_id=row.created_by_id,
        created_at=row.created_at,
    )


def _student_out(session: SessionDep, student: User, now: datetime) -> StudentPracticeOut:
    assert student.id is not None
    override = service.active_override(session, student.id)
    automatic = service.automatic_for(session=session, student=student, now=now)
    recommended = service.recommend_for(session=session, student=student, now=now) if override else automatic
    return StudentPracticeOut(
        student_id=student.id,
        name=student.display_name,
        recommended=_recs(recommended),
        automatic=_recs(automatic),
        override=_override(override),
    )


# --- JSON API ----------------------------------------------------------------------------------------------


@router.get("/practice/me", summary="My recommended practice (row: own data)")
def my_practice(session: SessionDep, principal: ApiPrincipal, clock: ClockDep) -> list[RecommendationOut]:
    return _recs(service.recommend_for(session=session, student=principal.user, now=clock.now()))


@router.get("/students/{user_id}/practice", summary="A student's practice (row: individual)")
def student_practice(student: PracticeStudent, session: SessionDep, clock: ClockDep) -> StudentPracticeOut:
    return _student_out(session, student, clock.now())


@router.put("/students/{user_id}/practice/override", summary="Override a student's practice (individual)")
def put_override(
    body: OverrideIn,
    request: Request,
    student: PracticeStudent,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
) -> StudentPracticeOut:
    service.set_override(
        session=session,
        actor=principal.user,
        student=student,
        item_ids=body.item_ids,
        skills=body.skills,
        note=body.note,
        now=clock.now(),
        ip=client_ip(request),
    )
    return _student_out(session, student, clock.now())


@router.delete("/students/{user_id}/practice/override", summary="Back to the automatic practice (individual)")
def delete_override(
    request: Request, student: PracticeStudent, session: SessionDep, principal: ApiPrincipal, clock: ClockDep
) -> StudentPracticeOut:
    service.clear_override(session=session, actor=principal.user, student=student, ip=client_ip(request))
    return _student_out(session, student, clock.now())


@router.get("/classes/{class_id}/practice", summary="Practice of every student of a class (class results)")
def class_practice(class_: PracticeClass, session: SessionDep, clock: ClockDep) -> list[StudentPracticeOut]:
    rows = service.class_practice(session=session, class_=class_, now=clock.now())
    return [
        StudentPracticeOut(
            student_id=row.student.id or 0,
            name=row.student.display_name,
            shusseki_no=row.shusseki_no,
            recommended=_recs(row.recommended),
            automatic=_recs(row.automatic),
            override=_override(row.override),
        )
        for row in rows
    ]


@router.post(
    "/classes/{class_id}/practice/assign", summary="Assign each student their practice (class results)"
)
def assign(
    body: AssignIn,
    request: Request,
    class_: PracticeClass,
    session: SessionDep,
    principal: ApiPrincipal,
    clock: ClockDep,
) -> list[AssignedOut]:
    done = service.assign_practice(
        session=session,
        actor=principal.user,
        class_=class_,
        now=clock.now(),
        student_ids=body.student_ids,
        closes_at=body.closes_at,
        ip=client_ip(request),
        request_key=body.request_key,
    )
    return [
        AssignedOut(student_id=a.student_id, assignment_id=a.assignment_id, item_ids=a.item_ids) for a in done
    ]


# --- the teacher's page ------------------------------------------------------------------------------------


@pages.get("/classes/{class_id}/practice")
def practice_page(
    request: Request, class_: PracticeClass, session: SessionDep, user: PageUser, clock: ClockDep
) -> Response:
    rows = service.class_practice(session=session, class_=class_, now=clock.now())
    notice = request.query_params.get("done")
    return render(
        request,
        "practice_class.html",
        {
            "klass": class_,
            "rows": rows,
            "skills": [(code, SKILL_NAMES_JA[code]) for code in SKILLS],
            "notice": notice,
            "can_edit": user.role in ("teacher", "school_admin", "admin"),
            "hand_out_key": secrets.token_urlsafe(16),
        },
    )


def _student_of_class(session: SessionDep, class_: SchoolClass, student_id: int) -> User:
    enrolled = session.get(User, student_id)
    in_class = (
        enrolled is not None
        and session.exec(
            select(Enrollment.id).where(
                Enrollment.class_id == class_.id,
                Enrollment.user_id == student_id,
                Enrollment.role == "student",
                Enrollment.status == "active",
            )
        ).first()
        is not None
    )
    if not in_class or enrolled is None:
        raise NotFound(msg.STUDENT_NOT_IN_CLASS)
    return enrolled


@pages.post("/classes/{class_id}/practice/override")
def practice_override_form(
    request: Request,
    class_: PracticeClass,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    student_id: Annotated[int, Form()],
    item_ids: Annotated[str, Form(max_length=600)] = "",
    skills: Annotated[list[str] | None, Form()] = None,
    clear: Annotated[str | None, Form()] = None,
) -> Response:
    student = _student_of_class(session, class_, student_id)
    if clear:
        service.clear_override(session=session, actor=user, student=student, ip=client_ip(request))
    else:
        ids = [part.strip() for part in item_ids.replace("、", ",").split(",") if part.strip()]
        service.set_override(
            session=session,
            actor=user,
            student=student,
            item_ids=ids,
            skills=skills or [],
            now=clock.now(),
            ip=client_ip(request),
        )
    return RedirectResponse(f"/classes/{class_.id}/practice?done=override", status_code=303)


@pages.post("/classes/{class_id}/practice/assign")
def practice_assign_form(
    request: Request,
    class_: PracticeClass,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    hand_out_key: Annotated[str | None, Form(min_length=8, max_length=64, pattern=REQUEST_KEY)] = None,
) -> Response:
    service.assign_practice(
        session=session,
        actor=user,
        class_=class_,
        now=clock.now(),
        ip=client_ip(request),
        request_key=hand_out_key,
    )
    return RedirectResponse(f"/classes/{class_.id}/practice?done=assign", status_code=303)
