"""The admin page that appoints and dismisses 「問題の確認者」 (item reviewers), row ``REVIEWER_APPOINTMENT``:
admin for every staff account, a school admin for their own school's teachers (`appointments`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from lms.auth.deps import PageUser, client_ip
from lms.core.db import SessionDep
from lms.core.errors import InvalidInput
from lms.pages.deps import PAGE_DEPENDENCIES
from lms.pages.render import render
from lms.reading.bank_review import appointments
from lms.reading.bank_review.service import reviewer_grant
from lms.roster.models import User

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)


def _page(
    request: Request,
    session: SessionDep,
    user: User,
    *,
    search: str = "",
    page: int = 1,
    done: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    context = {
        "listing": appointments.candidates(session, user, search=search, page=page),
        "search": search,
        "can_review": reviewer_grant(session, user) is not None,  # a link the viewer may follow
        "done": done,
        "error": error,
    }
    return render(request, "bank_review_appointments.html", context, status_code=status)


@router.get("/admin/reviewers")
def appointments_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    done: str = "",
    q: Annotated[str, Query(max_length=100)] = "",  # a name; every word adds LIKE terms to the query
    page: int = 1,
) -> Response:
    appointments.require_appointer(user)
    return _page(request, session, user, search=q, page=page, done=done)


@router.post("/admin/reviewers")
def appoint(
    request: Request,
    session: SessionDep,
    user: PageUser,
    username: Annotated[str, Form()],
    action: Annotated[str, Form()] = "grant",
    q: Annotated[str, Form(max_length=100)] = "",  # the search and page the form was on: kept after it
    page: Annotated[int, Form()] = 1,
) -> Response:
    appointments.require_appointer(user)
    try:
        if action == "revoke":
            target = appointments.dismiss(session, actor=user, username=username, ip=client_ip(request))
        else:
            target = appointments.appoint(session, actor=user, username=username, ip=client_ip(request))
    except InvalidInput as error:
        session.rollback()
        return _page(request, session, user, search=q, page=page, error=error.message, status=400)
    verb = "revoked" if action == "revoke" else "granted"
    back = urlencode({"done": f"{verb}:{target.username}", "q": q, "page": page})
    return RedirectResponse(f"/admin/reviewers?{back}", status_code=303)
