"""Pages of the QR sign-in cards. Rows of the permission matrix: `lms.permissions`.

- ``GET /classes/{class_id}/cards`` — class roster row, narrowed by `service.check_may_manage` to the class's
  teachers and its school's administrators: who has a card, issue / reissue / revoke.
- ``POST /classes/{class_id}/cards/issue`` — new cards for the chosen children; answers with the A4 print page
  (the codes exist only in this answer).
- ``POST /classes/{class_id}/cards/revoke`` — one child's card, or every card of the class (``all``).
- ``GET|POST /login/card`` — public: the child's scanner page (camera + typed code) and its sign-in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from lms import authz
from lms.auth import service as auth_service
from lms.auth.cards import messages as msg
from lms.auth.cards import service
from lms.auth.cards.names import name_ruby_html
from lms.auth.deps import ClockDep, PageUser, SessionStateDep, SettingsDep, client_ip
from lms.core.db import SessionDep
from lms.core.errors import InvalidInput
from lms.ops.security_headers import PERMISSIONS_POLICY
from lms.pages.auth_routes import record_sign_in, start_session
from lms.pages.class_list import grade_label
from lms.pages.deps import PAGE_DEPENDENCIES, safe_next
from lms.pages.render import render
from lms.roster.models import Org, SchoolClass

router = APIRouter(dependencies=PAGE_DEPENDENCIES, include_in_schema=False)

CardClass = Annotated[SchoolClass, Depends(authz.class_dependency("cards.view"))]

#: the scanner page may use this origin's camera; every other page keeps the camera off
SCANNER_PERMISSIONS_POLICY = PERMISSIONS_POLICY.replace("camera=()", "camera=(self)")


@router.get("/classes/{class_id}/cards")
def cards_page(
    request: Request, class_: CardClass, session: SessionDep, user: PageUser, clock: ClockDep
) -> Response:
    service.check_may_manage(session, user, class_)
    lines = service.class_cards(session=session, class_=class_)
    done = request.query_params.get("done", "")
    return render(
        request,
        "cards_class.html",
        {
            "klass": class_,
            "lines": lines,
            "notice": msg.DONE_NOTICES.get(done),
            "with_card": sum(1 for line in lines if line.card is not None),
            "listed_at": clock.now().isoformat(),
        },
    )


def _qr_svg(payload: str) -> Markup:
    svg: str = segno.make(payload, error="m").svg_inline(scale=4, border=2, title="ログイン用QRコード")
    return Markup(svg)


def _listed_at(value: str) -> datetime:
    """When the teacher's list was shown (the form carries it): cards issued after that are not replaced."""
    try:
        listed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(msg.LIST_TOO_OLD) from None
    return listed if listed.tzinfo is not None else listed.replace(tzinfo=UTC)


@router.post("/classes/{class_id}/cards/issue")
def issue_cards(
    request: Request,
    class_: CardClass,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    settings: SettingsDep,
    student_id: Annotated[list[int] | None, Form()] = None,
    listed_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    issued = service.issue_cards(
        session=session,
        actor=user,
        class_=class_,
        student_ids=student_id or [],
        listed_at=_listed_at(listed_at),
        now=clock.now(),
        ip=client_ip(request),
        settings=settings,
    )
    school = session.get(Org, class_.school_id)
    cards = [
        {
            "card": card,
            "name_html": name_ruby_html(card.user),
            "qr_svg": _qr_svg(card.qr_payload),
        }
        for card in issued
    ]
    return render(
        request,
        "cards_print.html",
        {"klass": class_, "school": school, "grade_label": grade_label(class_.grades), "cards": cards},
    )


@router.post("/classes/{class_id}/cards/revoke")
def revoke_cards(
    request: Request,
    class_: CardClass,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    student_id: Annotated[list[int] | None, Form()] = None,
    all: Annotated[str | None, Form()] = None,
) -> Response:
    service.revoke_cards(
        session=session,
        actor=user,
        class_=class_,
        student_ids=None if all else (student_id or []),
        now=clock.now(),
        ip=client_ip(request),
    )
    done = "revoked-all" if all else "revoked"
    return RedirectResponse(f"/classes/{class_.id}/cards?done={done}", status_code=303)


# --- the child's side -------------------------------------------------------------------------------------


def _scanner(
    request: Request, next_path: str | None, *, error: str | None = None, status_code: int = 200
) -> Response:
    response = render(
        request, "login_card.html", {"next": safe_next(next_path), "error": error}, status_code=status_code
    )
    response.headers["permissions-policy"] = SCANNER_PERMISSIONS_POLICY
    return response


@router.get("/login/card")
def scanner_page(request: Request, loaded: SessionStateDep, next: str | None = None) -> Response:
    if loaded is not None and loaded.row.stage == "full":
        return RedirectResponse(safe_next(next), status_code=303)
    return _scanner(request, next)


@router.post("/login/card")
def card_sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    loaded: SessionStateDep,
    code: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form()] = "/home",
) -> Response:
    if not code.strip():
        return _scanner(request, next, error=msg.CARD_EMPTY, status_code=400)
    now = clock.now()
    result = service.card_sign_in(
        session=session, settings=settings, raw_code=code, ip=client_ip(request), now=now
    )
    if result.outcome == "locked":
        message = msg.CARD_LOCKED.format(minutes=result.retry_after_minutes)
        return _scanner(request, next, error=message, status_code=429)
    if result.outcome != "ok" or result.user is None:
        return _scanner(request, next, error=msg.CARD_INVALID, status_code=401)
    user = result.user
    if auth_service.next_stage(user, settings) != "full":  # only students hold cards; a guard all the same
        return _scanner(request, next, error=msg.CARD_INVALID, status_code=401)
    record_sign_in(session, user, ip=client_ip(request), method="qr_card")
    return start_session(
        request,
        session=session,
        settings=settings,
        user=user,
        stage="full",
        now=now,
        target=safe_next(next),
        old=loaded,
    )
