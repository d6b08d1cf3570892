"""Home page per role and the class roster page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from lms.api.queries import class_roster, school_names, student_counts
from lms.audit.service import record_event
from lms.auth.deps import ClockDep, PageUser, client_ip
from lms.authz import VisibleClassRoster
from lms.core.db import SessionDep
from lms.notebooks.home import home_context
from lms.pages.class_links import class_links
from lms.pages.class_list import by_school_year
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.permissions import school_ids, school_summaries, visible_classes_query
from lms.reading.bank_review.returns import sent_back_for
from lms.reading.bank_review.service import reviewer_grant
from lms.reading.runner.queries import student_assignments
from lms.roster.models import Org, SchoolClass, User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


def _class_rows(session: SessionDep, user: User) -> list[dict[str, object]]:
    classes = list(session.exec(visible_classes_query(session, user).where(SchoolClass.status == "active")))
    counts = student_counts(session=session, class_ids=[c.id for c in classes if c.id is not None])
    names = school_names(session=session, ids={c.school_id for c in classes})
    return [
        {"class": c, "students": counts.get(c.id or 0, 0), "school": names.get(c.school_id, "")}
        for c in classes
    ]


@router.get("/home")
def home(request: Request, session: SessionDep, user: PageUser, clock: ClockDep) -> Response:
    context: dict[str, object] = {}
    school = session.get(Org, user.primary_org_id) if user.primary_org_id else None
    context["school"] = school
    if user.role == "student":
        home_class = session.get(SchoolClass, user.home_class_id) if user.home_class_id else None
        context["home_class"] = home_class
        context["tests"] = student_assignments(session, student=user, now=clock.now())
        context.update(home_context(session, user))  # the student's notebook lessons and grades
        return render(request, "home_student.html", context)
    if user.role in ("teacher", "school_admin"):
        context["classes"] = _class_rows(session, user)
        context["class_years"] = by_school_year(session, _class_rows(session, user))
    if user.role == "school_admin":
        schools = school_ids(session, user)
        staff = session.exec(
            select(User)
            .where(col(User.primary_org_id).in_(schools or {-1}), User.role != "student")
            .order_by(col(User.role), col(User.kana_family_name), col(User.username))
        ).all()
        context["staff"] = staff
        record_event(
            session=session,
            actor_id=user.id,
            action="school.accounts_view",
            target_type="org",
            target_id=",".join(str(s) for s in sorted(schools)),
            ip=client_ip(request),
        )
    if user.role in ("board", "admin", "school_admin"):
        context["schools"] = school_summaries(session, user)
    context["can_review_items"] = reviewer_grant(session, user) is not None
    context["sent_back"] = sent_back_for(session, user)  # items this person wrote or reviewed, sent back
    return render(request, "home_staff.html", context)


@router.get("/classes/{class_id}")
def class_page(request: Request, session: SessionDep, user: PageUser, class_: VisibleClassRoster) -> Response:
    lines = class_roster(session=session, class_=class_)
    school = session.get(Org, class_.school_id)
    return render(
        request,
        "class.html",
        {
            "klass": class_,
            "school": school,
            "teachers": [line for line in lines if line.role == "teacher"],
            "students": [line for line in lines if line.role == "student"],
            **class_links(session, user, class_),
        },
    )
