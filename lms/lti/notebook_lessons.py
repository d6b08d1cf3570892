"""Notebook lessons opened by a launch: ``giga_target=/notebooks/<course>/<assignment>`` lands on this page,
which opens the student's notebooks on the JupyterHub.

The hub cannot be shown inside the portal's iframe: JupyterHub 6 answers every page with
``frame-ancestors 'none'`` (the single-user server with ``'self'``), and its sign-in goes through this LMS's
OAuth provider (``/oauth/authorize``), which needs the LMS session in a first-party window. So the page
opens the hub in a **new window**. Inside the iframe the LMS session is a partitioned cookie the new window
does not see: the button then carries a one-time handoff ticket (`lms.lti.handoff`) that signs the same
person in with a normal cookie before going on to the hub. Outside the iframe the button goes to the hub
directly.

Which lesson folder exists on the hub depends on the student having fetched it (nbgrader's 「Assignments」
tab), which the LMS cannot know: the hub opens on the file list, and the page says which lesson to fetch.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from lms.auth.deps import ClockDep, PageUser
from lms.core.db import SessionDep
from lms.core.errors import NotFound
from lms.core.jst import jst_text
from lms.lti import handoff
from lms.lti import tool_messages as msg
from lms.lti.framing import EMBED_COOKIE
from lms.notebooks.deadlines import ASSIGNMENT_RE
from lms.notebooks.models import NotebookCourse, NotebookDeadline
from lms.oauth_provider.routes import OAuthSettingsDep
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.roster.models import Enrollment, SchoolClass, User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)

# Long enough to read the page before pressing the button; single use, and only for the signed-in person.
WINDOW_TICKET_LIFETIME = timedelta(minutes=15)


def lesson_path(course_id: str, assignment: str) -> str:
    """The LMS page of one notebook lesson (what a resource link's ``giga_target`` names)."""
    return f"/notebooks/{course_id}/{assignment}"


def hub_tree_url(hub_url: str) -> str:
    """The student's file list on the hub (Notebook 7), reached through the hub's sign-in."""
    return hub_url.rstrip("/") + "/hub/user-redirect/tree"


def member_course(session: Session, user: User, course_id: str) -> tuple[NotebookCourse, SchoolClass]:
    """The notebook course ``course_id`` when ``user`` is an active member of its class (student or teacher);
    NotFound otherwise (a course one is not in does not exist for them)."""
    course = session.exec(select(NotebookCourse).where(NotebookCourse.course_id == course_id)).first()
    if course is None:
        raise NotFound(msg.NOTEBOOK_LESSON_NOT_FOUND)
    enrolled = session.exec(
        select(Enrollment.id).where(
            Enrollment.class_id == course.class_id,
            Enrollment.user_id == user.id,
            Enrollment.status == "active",
        )
    ).first()
    klass = session.get(SchoolClass, course.class_id)
    if enrolled is None or klass is None:
        raise NotFound(msg.NOTEBOOK_LESSON_NOT_FOUND)
    return course, klass


@router.get("/notebooks/{course_id}/{assignment}")
def lesson_page(
    course_id: str,
    assignment: str,
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    oauth: OAuthSettingsDep,
) -> Response:
    """One lesson: its class, its due date, and the button that opens the hub (a new window in the iframe)."""
    if not ASSIGNMENT_RE.match(assignment) or ".." in assignment:
        raise NotFound(msg.NOTEBOOK_LESSON_NOT_FOUND)
    course, klass = member_course(session, user, course_id)
    deadline = session.exec(
        select(NotebookDeadline).where(
            NotebookDeadline.course_id == course.id, NotebookDeadline.assignment_name == assignment
        )
    ).first()
    embedded = EMBED_COOKIE in request.cookies
    if embedded:
        ticket = handoff.issue(
            session=session,
            user=user,
            target=lesson_path(course.course_id, assignment) + "/open",
            now=clock.now(),
            lifetime=WINDOW_TICKET_LIFETIME,
        )
        open_url = "/lti/handoff?h=" + ticket
    else:
        open_url = hub_tree_url(oauth.hub_url)
    context = {
        "title": msg.NOTEBOOK_LESSON_TITLE.format(assignment=assignment),
        "klass": klass,
        "course_id": course.course_id,
        "assignment": assignment,
        "due": jst_text(deadline.due_at) if deadline is not None else None,
        "open_url": open_url,
        "embedded": embedded,
    }
    return render(request, "lti_notebook_lesson.html", context)


@router.get("/notebooks/{course_id}/{assignment}/open")
def open_on_hub(
    course_id: str, assignment: str, session: SessionDep, user: PageUser, oauth: OAuthSettingsDep
) -> Response:
    """Where the new window's ticket lands (now signed in first-party): on to the hub's sign-in."""
    member_course(session, user, course_id)
    return RedirectResponse(hub_tree_url(oauth.hub_url), status_code=303)
