"""Pages of the LTI services: the deep-linking picker (``/lti/deep-link``) and the comparison of a class's
roster with the portal's membership (``/classes/{class_id}/lti/roster``, 「ポータルの名簿と照合」).

Rows of the permission matrix: the picker is CLASS_RESULTS (the teacher of the context's class — it
creates an assignment, as the assign form does; a school admin reads results but does not assign); the
comparison is CLASS_ROSTER (the class's teacher, its school's admin, admin; board 403) and only reports.

Launches reach us through the launch's landing table (`lms.lti.routes.LANDINGS`, the extension point the
core left for this): a deep-linking launch goes to `deep_linking_landing`, which refuses a student's (or
any non-teacher's) launch with a Japanese page before the sign-in; a resource-link launch first records
the context's AGS/NRPS endpoints and the link's line item, then opens what the core's landing chooses.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from lms import authz
from lms.audit.service import record_event
from lms.auth.csrf import verify_csrf
from lms.auth.deps import ClockDep, PageUser, client_ip
from lms.core.db import SessionDep, utc_now
from lms.core.errors import InvalidInput
from lms.lti import ags, deep_link_service, nrps, score_sender, service_urls
from lms.lti import claims as c
from lms.lti import service_messages as msg
from lms.lti.deep_linking import DeepLinkingClaimsError, is_instructor, read_settings
from lms.lti.keys import tool_signing_key
from lms.lti.launch import LaunchRefused, VerifiedLaunch
from lms.lti.models import LtiContext, LtiPlatform
from lms.lti.routes import LANDINGS, LandingFor, tool_origin
from lms.lti.service_models import LtiContextServices
from lms.lti.services_token import (
    SCOPE_NRPS,
    ServiceError,
    TokenEndpoint,
    TokenRefused,
    ToolKey,
    default_cache,
)
from lms.pages.render import render
from lms.permissions import page_gate
from lms.roster.models import SchoolClass, User
from lms.teaching import service as teaching

router = APIRouter(dependencies=[Depends(page_gate)], include_in_schema=False)

STAFF_ROLES = ("teacher", "admin")
HTTP_TIMEOUT_SECONDS = 10.0


# --- the launch's landings ---------------------------------------------------------------------------------


def _refuse(code: str, message: str, launch: VerifiedLaunch, status_code: int = 403) -> LaunchRefused:
    return LaunchRefused(code, message, status_code=status_code, platform=launch.platform)


def _remember(session: Session, launch: VerifiedLaunch, context: LtiContext | None) -> None:
    if context is None or context.id is None:
        return
    now = utc_now()
    ags.remember_services(
        session=session,
        platform=launch.platform,
        lti_context_id=context.id,
        deployment_id=launch.deployment.deployment_id,
        claims=launch.claims,
        now=now,
    )
    ags.remember_line_item(
        session=session,
        platform=launch.platform,
        lti_context_id=context.id,
        class_id=context.school_class_id,
        claims=launch.claims,
        now=now,
    )


def deep_linking_landing(
    session: Session, launch: VerifiedLaunch, user: User, context: LtiContext | None, origin: str
) -> str:
    """A verified ``LtiDeepLinkingRequest``: the picker's path with a fresh ticket, or `LaunchRefused`."""
    if user.role not in STAFF_ROLES or not is_instructor(launch.claims):
        raise _refuse("dl_not_teacher", msg.DL_STUDENT_REFUSED, launch)
    try:
        settings = read_settings(launch.claims)
    except DeepLinkingClaimsError as error:
        raise _refuse("dl_bad_request", msg.DL_BAD_REQUEST.format(detail=error), launch, 400) from error
    if not settings.accepts_resource_link:
        raise _refuse("dl_no_resource_link", msg.DL_NO_RESOURCE_LINK, launch, 400)
    klass = session.get(SchoolClass, context.school_class_id) if context and context.school_class_id else None
    if context is None or klass is None:
        raise _refuse("dl_context_not_linked", msg.DL_CONTEXT_NOT_LINKED, launch, 409)
    if not teaching.can_change(session=session, user=user, class_=klass):
        raise _refuse("dl_not_class_teacher", msg.DL_NOT_TEACHER_OF_CLASS, launch)
    _remember(session, launch, context)
    ticket = deep_link_service.new_ticket(
        session=session,
        user=user,
        context=context,
        deployment_id=launch.deployment.deployment_id,
        settings=settings,
        now=utc_now(),
    )
    return f"/lti/deep-link?t={ticket}"


def with_services(landing: LandingFor) -> LandingFor:
    """The core's resource-link landing, after recording the launch's AGS/NRPS endpoints and line item."""

    def land(
        session: Session, launch: VerifiedLaunch, user: User, context: LtiContext | None, origin: str
    ) -> str:
        _remember(session, launch, context)
        return landing(session, launch, user, context, origin)

    return land


LANDINGS[c.DEEP_LINKING_REQUEST] = deep_linking_landing
LANDINGS[c.RESOURCE_LINK_REQUEST] = with_services(LANDINGS[c.RESOURCE_LINK_REQUEST])


# --- the picker --------------------------------------------------------------------------------------------


@router.get("/lti/deep-link")
def picker(request: Request, session: SessionDep, user: PageUser, clock: ClockDep, t: str = "") -> Response:
    """「教材を選ぶ」: the reading test of the term, a practice set or a notebook lesson, for the portal's
    class."""
    opened = deep_link_service.open_ticket(session=session, secret=t, user=user, now=clock.now())
    context = {
        "title": msg.PICKER_TITLE,
        "ticket": t,
        "summary": deep_link_service.ticket_summary(opened),
        "choices": deep_link_service.all_choices(session=session, klass=opened.klass, now=clock.now()),
        "error": None,
    }
    return render(request, "lti_deep_link_picker.html", context)


@router.post("/lti/deep-link", dependencies=[Depends(verify_csrf)])
def picked(
    request: Request,
    session: SessionDep,
    user: PageUser,
    clock: ClockDep,
    t: Annotated[str, Form()] = "",
    choice: Annotated[str, Form()] = "",
) -> Response:
    """Create the assignment and auto-post the signed reply to the portal."""
    now = clock.now()
    opened = deep_link_service.open_ticket(session=session, secret=t, user=user, now=now)
    try:
        reply = deep_link_service.create_link(
            session=session,
            opened=opened,
            user=user,
            choice_key=choice,
            tool_origin=tool_origin(request),
            now=now,
            ip=client_ip(request),
        )
    except InvalidInput as error:
        session.rollback()
        opened = deep_link_service.open_ticket(session=session, secret=t, user=user, now=now)
        context = {
            "title": msg.PICKER_TITLE,
            "ticket": t,
            "summary": deep_link_service.ticket_summary(opened),
            "choices": deep_link_service.all_choices(session=session, klass=opened.klass, now=now),
            "error": error.message,
        }
        return render(request, "lti_deep_link_picker.html", context, status_code=400)
    return render(request, "lti_deep_link_return.html", {"title": msg.RETURN_TITLE, "reply": reply})


# --- the roster comparison ---------------------------------------------------------------------------------


def _contexts_of(
    session: Session, class_id: int
) -> list[tuple[LtiContext, LtiPlatform, LtiContextServices | None]]:
    rows = session.exec(
        select(LtiContext, LtiPlatform)
        .join(LtiPlatform, LtiPlatform.id == LtiContext.platform_id)  # type: ignore[arg-type]
        .where(LtiContext.school_class_id == class_id)
        .order_by(LtiContext.id)  # type: ignore[arg-type]
    ).all()
    out = []
    for context, platform in rows:
        services = session.exec(
            select(LtiContextServices).where(LtiContextServices.lti_context_id == context.id)
        ).first()
        out.append((context, platform, services))
    return out


def http_client() -> httpx.Client:
    """The client the roster page reads the portal with (a dependency: tests put the harness here)."""
    return httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)


HttpClientDep = Annotated[httpx.Client, Depends(http_client)]


def compare_context(
    *,
    session: Session,
    client: httpx.Client,
    context: LtiContext,
    platform: LtiPlatform,
    services: LtiContextServices | None,
    class_id: int,
) -> dict[str, Any]:
    """One context's comparison for the page: the reconciliation, or the Japanese reason there is none."""
    view: dict[str, Any] = {"context": context, "platform": platform, "result": None, "problem": None}
    if services is None or not services.memberships_url:
        view["problem"] = msg.NRPS_NO_SERVICE
        return view
    if service_urls.accepted(services.memberships_url, platform=platform) is None:
        view["problem"] = msg.NRPS_UNAVAILABLE  # its name leads elsewhere by now (`lms.lti.service_urls`)
        return view
    kid, private_key = tool_signing_key(session)
    key = ToolKey(kid, private_key)
    endpoint = TokenEndpoint(token_url=platform.auth_token_url, client_id=platform.client_id)
    members: list[nrps.Member] | None = None
    for _ in range(2):  # a cached token the service refuses (revoked, expired early): once more, fresh
        try:
            token = default_cache.get(client, endpoint=endpoint, key=key, scopes=[SCOPE_NRPS])
            members = nrps.fetch_members(client, url=services.memberships_url, token=token)
            break
        except TokenRefused:
            default_cache.forget(endpoint)
            view["problem"] = msg.NRPS_TOKEN_REFUSED
        except ServiceError:
            view["problem"] = msg.NRPS_UNAVAILABLE
            return view
    if members is None:
        return view
    view["problem"] = None
    assert platform.id is not None
    view["result"] = nrps.reconcile(
        session=session, platform_id=platform.id, class_id=class_id, members=members
    )
    return view


@router.get("/classes/{class_id}/lti/roster")
def roster_comparison(
    request: Request, session: SessionDep, user: PageUser, client: HttpClientDep, class_id: int
) -> Response:
    """「ポータルの名簿と照合」: differences between the class roster and each linked portal's membership."""
    klass = authz.load_class(session=session, viewer=user, class_id=class_id, audit="lti.roster_compare")
    assert klass.id is not None
    views = [
        compare_context(
            session=session,
            client=client,
            context=ctx,
            platform=platform,
            services=services,
            class_id=klass.id,
        )
        for ctx, platform, services in _contexts_of(session, klass.id)
    ]
    context = {
        "title": msg.ROSTER_TITLE,
        "klass": klass,
        "views": views,
        "no_context": msg.NRPS_NO_CONTEXT,
        "role_labels": msg.ROLE_LABELS,
    }
    return render(request, "lti_roster_compare.html", context)


# --- the administrator's view of the score outbox -----------------------------------------------------------


@router.get("/admin/lti/scores")
def scores_page(request: Request, session: SessionDep, user: PageUser, clock: ClockDep) -> Response:
    """「ポータルへの成績送信」: how many scores are sent, waiting and parked, and why the oldest wait."""
    context = {
        "title": msg.SCORES_TITLE,
        "counts": score_sender.score_counts(session=session, now=clock.now()),
        "rows": score_sender.waiting_rows(session=session),
        "notice": msg.SCORES_RETRIED.format(n=request.query_params["retried"])
        if request.query_params.get("retried", "").isdigit()
        else None,
    }
    return render(request, "lti_scores_admin.html", context)


@router.post("/admin/lti/scores/retry", dependencies=[Depends(verify_csrf)])
def scores_retry(request: Request, session: SessionDep, user: PageUser) -> Response:
    """Send every waiting and parked score again at the worker's next round (audited)."""
    count = score_sender.retry_now(session=session)
    record_event(
        session=session,
        actor_id=user.id,
        action="lti.scores_retry",
        target_type=None,
        target_id=None,
        ip=client_ip(request),
        detail={"scores": count},
    )
    return RedirectResponse(f"/admin/lti/scores?retried={count}", status_code=303)
