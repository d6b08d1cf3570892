"""THE permission policy (DESIGN §3), in one place.

Rows of the matrix:

- student: own data only; another student's data → 404.
- teacher: read/write for classes where they hold an active *teacher* enrollment; other classes → 404.
- school_admin: every class and account of their school(s); another school's class → 404.
- board: aggregates only; any individual (a roster, a child's record) → 403.
- admin: operations (imports, audit log, tokens) and, audited, everything else.

Every route of the app is listed in `ROUTE_POLICIES` with the row it serves. Two gates (`page_gate`,
`api_gate`), installed as dependencies of the page and API routers, look the route up and apply the
role-level rule (fail closed: an unlisted route answers 403). Object-level rules (which class, which child)
are the ``check_*`` predicates below; `lms.authz` is the one service that loads an object for a route,
applies them and writes the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request
from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from lms import permission_messages as msg
from lms.auth.deps import (
    ClockDep,
    LoginRequired,
    SessionStateDep,
    SettingsDep,
    api_principal,
    pending_step,
    remember_page_user,
)
from lms.core.db import SessionDep
from lms.core.errors import Forbidden, NotFound
from lms.roster.models import Enrollment, Org, OrgRole, SchoolClass, User


class Row(StrEnum):
    """The row of DESIGN §3 a route serves."""

    PUBLIC = "public: no sign-in (sign-in pages, health, API schema, static files)"
    SIGN_IN_STEP = "sign-in step: a session between password and second factor"
    OWN = "own data: any signed-in user, only their own account"
    CLASS_LIST = "class list: each role sees its own slice (student: own classes; teacher: taught classes)"
    CLASS_ROSTER = (
        "class roster: teacher of the class, school admin of its school, admin (audited); board 403"
    )
    INDIVIDUAL = "individual: self; teacher → own students; school admin → own school; admin; board 403"
    SCHOOL_SUMMARY = "school summary: counts only (board, admin: all schools; school admin: own school)"
    ADMIN = "admin: system administrator operations (audited)"
    CLASS_RESULTS = (
        "class results: teacher of the class, school admin of its school, admin (audited); board 403"
    )
    STUDENT_TEST = "student test: the student an assignment is given to (another student 404; staff 403)"
    ITEM_BANK = "item bank: teachers, school admins, admins (promotions audited); student 404; board 403"
    ITEM_REVIEW = (
        "item review: holders of the item-reviewer capability of their district (teacher, school admin, "
        "board staff; checked in lms.reading.bank_review); sent-back notices: the item's author and its "
        "reviewers (others 404); student 404; others 403"
    )
    REVIEWER_APPOINTMENT = (
        "reviewer appointment: admin (any staff account) and school admin (own school's teachers, another "
        "school's 404; checked in lms.reading.bank_review.appointments); teacher, board 403; student 404"
    )
    BOARD_AGGREGATES = (
        "board aggregates: suppressed figures only; board and admin all schools, school admin own school "
        "(another 404); teachers and students 403"
    )
    SUPPORT = (
        "support view: a board user with an active, time-limited grant for the school, or admin; every use "
        "audited; student 404; others 403"
    )


@dataclass(frozen=True)
class RoutePolicy:
    row: Row
    scope: str | None = None  # the API-token scope a bearer token needs
    session_only: bool = False  # API tokens may not call it at all


P = RoutePolicy
ROUTE_POLICIES: dict[tuple[str, str], RoutePolicy] = {
    # operations and framework routes
    ("GET", "/healthz"): P(Row.PUBLIC),
    # no sign-in, but only from loopback or with GIGA_METRICS_TOKEN (lms/ops/metrics.py)
    ("GET", "/metrics"): P(Row.PUBLIC),
    ("GET", "/openapi.json"): P(Row.PUBLIC),
    ("GET", "/docs"): P(Row.PUBLIC),
    ("GET", "/docs/oauth2-redirect"): P(Row.PUBLIC),
    ("GET", "/redoc"): P(Row.PUBLIC),
    ("GET", "/static"): P(Row.PUBLIC),
    # pages: sign-in
    ("GET", "/"): P(Row.PUBLIC),
    ("GET", "/login"): P(Row.PUBLIC),
    ("POST", "/login"): P(Row.PUBLIC),
    ("GET", "/login/oidc"): P(Row.PUBLIC),
    ("GET", "/login/oidc/callback"): P(Row.PUBLIC),
    ("GET", "/login/card"): P(Row.PUBLIC),
    ("POST", "/login/card"): P(Row.PUBLIC),
    ("GET", "/login/mfa"): P(Row.SIGN_IN_STEP),
    ("POST", "/login/mfa"): P(Row.SIGN_IN_STEP),
    ("GET", "/mfa/enroll"): P(Row.SIGN_IN_STEP),
    ("POST", "/mfa/enroll"): P(Row.SIGN_IN_STEP),
    ("POST", "/logout"): P(Row.SIGN_IN_STEP),
    # pages: signed in
    ("GET", "/home"): P(Row.OWN),
    ("GET", "/classes/{class_id}"): P(Row.CLASS_ROSTER),
    # QR sign-in cards: narrowed to the class's teachers and school admins (lms/auth/cards/service.py)
    ("GET", "/classes/{class_id}/cards"): P(Row.CLASS_ROSTER),
    ("POST", "/classes/{class_id}/cards/issue"): P(Row.CLASS_ROSTER),
    ("POST", "/classes/{class_id}/cards/revoke"): P(Row.CLASS_ROSTER),
    ("GET", "/tokens"): P(Row.OWN),
    ("POST", "/tokens"): P(Row.OWN),
    ("POST", "/tokens/{token_id}/revoke"): P(Row.OWN),
    ("GET", "/admin/roster"): P(Row.ADMIN),
    ("POST", "/admin/roster"): P(Row.ADMIN),
    ("GET", "/admin/roster/export"): P(Row.ADMIN),
    ("GET", "/admin/audit"): P(Row.ADMIN),
    # pages: the student's test runner and results (lms/reading/runner)
    ("GET", "/test/{assignment_id}"): P(Row.STUDENT_TEST),
    ("GET", "/results/{attempt_id}"): P(Row.INDIVIDUAL),
    # pages: the teacher side of reading tests (lms/teaching)
    ("GET", "/classes/{class_id}/assignments"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/assignments/new"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/assignments"): P(Row.CLASS_RESULTS),
    ("GET", "/assignments/{assignment_id}/live"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/report"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/report/print"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/report.csv"): P(Row.CLASS_RESULTS),
    # pages: practice (lms/reading/practice)
    ("GET", "/classes/{class_id}/practice"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/practice/override"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/practice/assign"): P(Row.CLASS_RESULTS),
    # LTI services (issue 23, lms/lti/service_routes.py): the portal's deep-linking picker creates an
    # assignment for the context's class (its teacher, checked per ticket); the membership comparison reads
    ("GET", "/lti/deep-link"): P(Row.CLASS_RESULTS),
    ("POST", "/lti/deep-link"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/lti/roster"): P(Row.CLASS_ROSTER),
    ("GET", "/admin/lti/scores"): P(Row.ADMIN),  # the score outbox: counts, errors, send again (audited)
    ("POST", "/admin/lti/scores/retry"): P(Row.ADMIN),
    # JSON API: online calibration (lms/assessments_calibration)
    ("GET", "/api/v1/calibrations"): P(Row.ITEM_BANK, session_only=True),
    ("POST", "/api/v1/calibrations/{calibration_id}/promote"): P(Row.ITEM_BANK, session_only=True),
    # pages: the reviewer's checklist of draft items (issue 17; lms/reading/bank_review)
    ("GET", "/bank/review"): P(Row.ITEM_REVIEW),
    ("GET", "/bank/returned"): P(Row.ITEM_REVIEW),  # sent-back notices: author and reviewers of the item
    ("GET", "/bank/returned/{item_id}"): P(Row.ITEM_REVIEW),
    ("GET", "/admin/reviewers"): P(Row.REVIEWER_APPOINTMENT),
    ("POST", "/admin/reviewers"): P(Row.REVIEWER_APPOINTMENT),
    ("GET", "/bank/review/{item_id}"): P(Row.ITEM_REVIEW),
    ("POST", "/bank/review/{item_id}"): P(Row.ITEM_REVIEW),
    # JSON API: practice (lms/reading/practice)
    ("GET", "/api/v1/practice/me"): P(Row.OWN),
    ("GET", "/api/v1/students/{user_id}/practice"): P(Row.INDIVIDUAL, scope="results:read"),
    ("PUT", "/api/v1/students/{user_id}/practice/override"): P(Row.INDIVIDUAL, session_only=True),
    ("DELETE", "/api/v1/students/{user_id}/practice/override"): P(Row.INDIVIDUAL, session_only=True),
    ("GET", "/api/v1/classes/{class_id}/practice"): P(Row.CLASS_RESULTS, scope="results:read"),
    ("POST", "/api/v1/classes/{class_id}/practice/assign"): P(Row.CLASS_RESULTS, session_only=True),
    # JSON API
    ("GET", "/api/v1/me"): P(Row.OWN),
    ("POST", "/api/v1/classes/{class_id}/assignments"): P(Row.CLASS_RESULTS, session_only=True),
    ("GET", "/api/v1/assignments/{assignment_id}/live"): P(Row.CLASS_RESULTS, scope="results:read"),
    ("POST", "/api/v1/assignments/{assignment_id}/close"): P(Row.CLASS_RESULTS, session_only=True),
    ("POST", "/api/v1/attempts/{attempt_id}/reset"): P(Row.CLASS_RESULTS, session_only=True),
    ("POST", "/api/v1/attempts/{attempt_id}/resume"): P(Row.CLASS_RESULTS, session_only=True),
    ("GET", "/api/v1/classes/{class_id}/report"): P(Row.CLASS_RESULTS, scope="results:read"),
    ("GET", "/api/v1/classes"): P(Row.CLASS_LIST, scope="roster:read"),
    ("GET", "/api/v1/classes/{class_id}"): P(Row.CLASS_ROSTER, scope="roster:read"),
    ("GET", "/api/v1/users/{user_id}"): P(Row.INDIVIDUAL, scope="roster:read"),
    ("GET", "/api/v1/schools"): P(Row.SCHOOL_SUMMARY, scope="roster:read"),
    ("POST", "/api/v1/roster/import"): P(Row.ADMIN, scope="roster:write"),
    ("GET", "/api/v1/audit"): P(Row.ADMIN, scope="audit:read"),
    ("GET", "/api/v1/tokens"): P(Row.OWN, session_only=True),
    ("POST", "/api/v1/tokens"): P(Row.OWN, session_only=True),
    ("DELETE", "/api/v1/tokens/{token_id}"): P(Row.OWN, session_only=True),
    # reading tests: the student's test runner (H1; lms/reading/routes.py)
    ("POST", "/api/v1/assignments/{assignment_id}/start"): P(Row.OWN, session_only=True),
    ("GET", "/api/v1/attempts/{attempt_id}"): P(Row.OWN, session_only=True),
    ("POST", "/api/v1/attempts/{attempt_id}/answers"): P(Row.OWN, session_only=True),
    ("POST", "/api/v1/attempts/{attempt_id}/finish"): P(Row.OWN, session_only=True),
    ("POST", "/api/v1/attempts/{attempt_id}/heartbeat"): P(Row.OWN, session_only=True),
    ("GET", "/api/v1/attempts/{attempt_id}/feedback/{item_id}"): P(Row.OWN, session_only=True),
    ("GET", "/api/v1/attempts/{attempt_id}/results"): P(Row.INDIVIDUAL, scope="results:read"),
    # board dashboards and open data (B1; lms/board/pages.py, lms/board/routes.py): aggregates only
    ("GET", "/board"): P(Row.BOARD_AGGREGATES),
    ("GET", "/board/print"): P(Row.BOARD_AGGREGATES),
    ("GET", "/board.csv"): P(Row.BOARD_AGGREGATES),
    ("POST", "/board/opendata"): P(Row.BOARD_AGGREGATES),
    ("POST", "/board/refresh"): P(Row.BOARD_AGGREGATES),
    ("POST", "/board/reference-values"): P(Row.BOARD_AGGREGATES),
    ("GET", "/api/v1/board/dashboard"): P(Row.BOARD_AGGREGATES, scope="results:read"),
    ("POST", "/api/v1/board/refresh"): P(Row.BOARD_AGGREGATES, session_only=True),
    ("GET", "/api/v1/board/releases"): P(Row.BOARD_AGGREGATES, scope="results:read"),  # issue 14: releases
    ("GET", "/api/v1/board/releases/latest"): P(Row.BOARD_AGGREGATES, scope="results:read"),
    ("GET", "/api/v1/board/releases/{number}"): P(Row.BOARD_AGGREGATES, scope="results:read"),
    ("GET", "/api/v1/board/releases/jobs/{job_id}"): P(Row.BOARD_AGGREGATES, scope="results:read"),
    ("GET", "/board/ebpm"): P(Row.BOARD_AGGREGATES),  # issue 14: from releases only (board and admin)
    ("POST", "/api/v1/board/releases"): P(Row.ADMIN, session_only=True),
    ("POST", "/board/releases"): P(Row.ADMIN),
    # support view and research export (B2; lms/board/support_routes.py)
    ("POST", "/api/v1/support/grants"): P(Row.ADMIN, session_only=True),
    ("GET", "/api/v1/support/grants"): P(Row.ADMIN, scope="audit:read"),
    ("POST", "/api/v1/support/grants/{grant_id}/revoke"): P(Row.ADMIN, session_only=True),
    ("GET", "/api/v1/support/schools/{school_id}/classes"): P(Row.SUPPORT, session_only=True),
    ("GET", "/api/v1/support/classes/{class_id}/report"): P(Row.SUPPORT, session_only=True),
    ("GET", "/admin/support"): P(Row.ADMIN),
    ("POST", "/admin/support"): P(Row.ADMIN),
    ("POST", "/admin/support/{grant_id}/revoke"): P(Row.ADMIN),
    ("GET", "/support"): P(Row.SUPPORT),
    ("GET", "/support/schools/{school_id}"): P(Row.SUPPORT),
    ("GET", "/support/classes/{class_id}/report"): P(Row.SUPPORT),
    ("GET", "/admin/research-export"): P(Row.ADMIN),
    ("POST", "/admin/research-export"): P(Row.ADMIN),
    # the LMS as OAuth2 provider for JupyterHub (J1; lms/oauth_provider): each endpoint authenticates itself
    ("GET", "/oauth/authorize"): P(Row.PUBLIC),
    ("POST", "/api/v1/oauth/token"): P(Row.PUBLIC),
    ("GET", "/api/v1/oauth/userinfo"): P(Row.PUBLIC),
    # LTI 1.3 tool (issue 23, lms/lti): the platform's signed id_token authenticates the launch
    ("GET", "/lti/jwks.json"): P(Row.PUBLIC),
    ("GET", "/lti/login"): P(Row.PUBLIC),
    ("POST", "/lti/login"): P(Row.PUBLIC),
    ("POST", "/lti/launch"): P(Row.PUBLIC),
    ("GET", "/lti/landing"): P(Row.PUBLIC),  # a one-time ticket; redirects only to its own user's page
    ("GET", "/lti/handoff"): P(Row.PUBLIC),
    ("GET", "/lti/signed-out"): P(Row.PUBLIC),  # a one-time, two-minute ticket issued by a verified launch
    # registering a platform lets it sign roster users in: the admin's, like a roster import
    ("GET", "/admin/lti"): P(Row.ADMIN),
    ("POST", "/admin/lti"): P(Row.ADMIN),
    ("POST", "/admin/lti/{platform_id}/deployments"): P(Row.ADMIN),
    ("POST", "/admin/lti/{platform_id}/settings"): P(Row.ADMIN),  # district, sub as roster id (audited)
    ("POST", "/admin/lti/contexts/{context_id}"): P(Row.ADMIN),
    ("POST", "/admin/lti/key/rotate"): P(Row.ADMIN),
    # LTI Dynamic Registration: opened by the portal, confirmed by a signed-in admin (lms/lti/dynamic_*)
    ("GET", "/lti/register"): P(Row.ADMIN),
    ("POST", "/lti/register"): P(Row.ADMIN),
    # a teacher names the class of a portal course (their own classes only: lms/lti/contexts.py)
    ("GET", "/lti/contexts/{context_id}/link"): P(Row.CLASS_LIST),
    ("POST", "/lti/contexts/{context_id}/link"): P(Row.CLASS_LIST),
    # notebook courses and grades (J1; lms/notebooks)
    ("POST", "/api/v1/classes/{class_id}/notebook-course"): P(Row.CLASS_RESULTS, scope="hub"),
    ("GET", "/api/v1/notebooks/courses"): P(Row.ADMIN, scope="hub"),
    ("POST", "/api/v1/notebooks/{course_id}/grades"): P(Row.CLASS_RESULTS, scope="grades:write"),
    ("GET", "/api/v1/notebooks/{course_id}/grades"): P(Row.CLASS_RESULTS, scope="results:read"),
    ("GET", "/api/v1/notebooks/me"): P(Row.OWN),
    ("GET", "/classes/{class_id}/notebooks"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/notebooks"): P(Row.CLASS_RESULTS),
    # whole-class start and live hub provisioning (start/progress: the class's teacher only, in the service)
    ("POST", "/classes/{class_id}/notebooks/hub-sync"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/notebooks/grades-pull"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/notebooks/deadline"): P(Row.CLASS_RESULTS),
    ("POST", "/classes/{class_id}/notebooks/prestart"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/notebooks/prestart"): P(Row.CLASS_RESULTS),
    ("GET", "/classes/{class_id}/notebooks/prestart/status"): P(Row.CLASS_RESULTS),
    ("GET", "/notebooks"): P(Row.OWN),
    # a notebook lesson opened by an LTI launch: members of its class only (lms/lti/notebook_lessons.py)
    ("GET", "/notebooks/{course_id}/{assignment}"): P(Row.CLASS_LIST),
    ("GET", "/notebooks/{course_id}/{assignment}/open"): P(Row.CLASS_LIST),
}


def iter_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every (method, path) an app serves, walking included routers; mounts count as GET."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from iter_routes(original.routes, prefix + route.include_context.prefix)
            continue
        path = prefix + getattr(route, "path", "")
        methods = getattr(route, "methods", None) or {"GET"}
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            yield method, path


def policy_for(request: Request) -> RoutePolicy:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    policy = ROUTE_POLICIES.get((request.method, path or ""))
    if policy is None and request.method == "HEAD":
        policy = ROUTE_POLICIES.get(("GET", path or ""))
    if policy is None:  # fail closed: a route nobody classified serves nobody
        raise Forbidden(msg.ROUTE_NOT_CLASSIFIED)
    return policy


# --- role-level rules ----------------------------------------------------------------------------------


def check_row(row: Row, user: User) -> None:
    """Role-level rule of a row; object-level rules follow in the loaders."""
    check_role(row, user.role)


def check_role(row: Row, role: str) -> None:
    """`check_row` for a role."""
    if row in (Row.PUBLIC, Row.SIGN_IN_STEP, Row.OWN, Row.CLASS_LIST, Row.INDIVIDUAL):
        return
    if row in (Row.CLASS_ROSTER, Row.CLASS_RESULTS):
        if role == "board":
            raise Forbidden(msg.BOARD_INDIVIDUAL_MESSAGE)
        if role not in ("teacher", "school_admin", "admin"):
            raise NotFound()
        return
    if row is Row.SCHOOL_SUMMARY:
        if role == "student":
            raise NotFound()
        if role not in ("board", "school_admin", "admin"):
            raise Forbidden(msg.SCHOOL_AGGREGATES_ROLES)
        return
    if row is Row.ITEM_BANK:
        if role == "board":
            raise Forbidden(msg.BOARD_CANNOT_EDIT_BANK)
        if role not in ("teacher", "school_admin", "admin"):
            raise NotFound()
        return
    if row is Row.ITEM_REVIEW:  # the capability itself: lms.reading.bank_review.service.require_reviewer
        if role == "student":
            raise NotFound()
        return
    if row is Row.REVIEWER_APPOINTMENT:  # whose: lms.reading.bank_review.appointments
        if role == "student":
            raise NotFound()
        if role not in ("admin", "school_admin"):
            raise Forbidden(msg.REVIEWER_APPOINTMENT_ROLES)
        return
    if row is Row.STUDENT_TEST:
        if role != "student":
            raise Forbidden(msg.STUDENTS_ONLY_TEST)
        return
    if row is Row.SUPPORT:  # the per-school grant is checked in lms.board.support
        if role == "student":
            raise NotFound()
        if role not in ("board", "admin"):
            raise Forbidden(msg.SUPPORT_VIEW_GRANTED_BOARD_ONLY)
        return
    if row is Row.BOARD_AGGREGATES:  # which school: lms.board.service.dashboard_data
        if role not in ("board", "school_admin", "admin"):
            raise Forbidden(msg.BOARD_AGGREGATES_ROLES)
        return
    if row is Row.ADMIN:
        if role != "admin":
            raise Forbidden(msg.ADMIN_ONLY)
        return
    raise Forbidden()  # pragma: no cover - every row is handled above


def page_gate(request: Request, loaded: SessionStateDep) -> None:
    """Dependency of the pages router: the route's row, applied to the signed-in user."""
    policy = policy_for(request)
    if policy.row in (Row.PUBLIC, Row.SIGN_IN_STEP):
        return
    if loaded is None or loaded.row.stage != "full":
        raise LoginRequired(pending_step(loaded))
    remember_page_user(request, loaded.user)
    check_row(policy.row, loaded.user)


def api_gate(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep, loaded: SessionStateDep
) -> None:
    """Dependency of the API router: row, token scope and session-only rules."""
    policy = policy_for(request)
    if policy.row is Row.PUBLIC:
        return
    principal = api_principal(request, session, settings, clock, loaded)
    if principal.token is not None:
        if policy.session_only:
            raise Forbidden(msg.BROWSER_ONLY)
        if policy.scope is not None and not principal.has_scope(policy.scope):
            raise Forbidden(msg.TOKEN_LACKS_SCOPE.format(scope=policy.scope))
    check_row(policy.row, principal.user)


def check_session_gate(request: Request, role: str) -> None:
    """`api_gate` for a browser session already checked with `check_browser_session` (no API token): the
    route's row rule for ``role``.  For a handler that resolves its caller itself (the answer route)."""
    policy = policy_for(request)
    if policy.row is not Row.PUBLIC:
        check_role(policy.row, role)


# --- object-level rules --------------------------------------------------------------------------------


def school_ids(session: Session, user: User) -> set[int]:
    """The schools a user belongs to: primary org plus active roles.csv rows."""
    ids = {user.primary_org_id} if user.primary_org_id is not None else set()
    if user.id is not None:
        rows = session.exec(
            select(OrgRole.org_id).where(OrgRole.user_id == user.id, OrgRole.status == "active")
        )
        ids.update(rows)
    return ids


def taught_class_ids(session: Session, user: User) -> set[int]:
    """Classes where ``user`` holds an active teacher enrollment."""
    return set(
        session.exec(
            select(Enrollment.class_id).where(
                Enrollment.user_id == user.id, Enrollment.role == "teacher", Enrollment.status == "active"
            )
        )
    )


def _own_class_ids(session: Session, user: User) -> set[int]:
    return set(
        session.exec(
            select(Enrollment.class_id).where(Enrollment.user_id == user.id, Enrollment.status == "active")
        )
    )


def visible_classes_query(session: Session, user: User) -> SelectOfScalar[SchoolClass]:
    """The classes a user may list (titles and counts; rosters need `check_class_roster`)."""
    query = select(SchoolClass).order_by(
        col(SchoolClass.school_id), col(SchoolClass.grades), col(SchoolClass.title)
    )
    if user.role in ("admin", "board"):
        return query
    if user.role == "school_admin":
        return query.where(col(SchoolClass.school_id).in_(school_ids(session, user) or {-1}))
    if user.role == "teacher":
        return query.where(col(SchoolClass.id).in_(taught_class_ids(session, user) or {-1}))
    return query.where(col(SchoolClass.id).in_(_own_class_ids(session, user) or {-1}))


def check_class_roster(session: Session, user: User, class_: SchoolClass) -> None:
    """May ``user`` read the roster (names, 出席番号) of ``class_``? Raise NotFound/Forbidden otherwise."""
    if user.role == "admin":
        return
    if user.role == "board":
        raise Forbidden(msg.BOARD_INDIVIDUAL_MESSAGE)
    if user.role == "school_admin" and class_.school_id in school_ids(session, user):
        return
    if user.role == "teacher" and class_.id in taught_class_ids(session, user):
        return
    raise NotFound(msg.CLASS_NOT_FOUND)


def check_view_user(session: Session, viewer: User, target: User) -> None:
    """May ``viewer`` see ``target``'s record? Raise NotFound (out of scope) or Forbidden (board)."""
    if viewer.id == target.id or viewer.role == "admin":
        return
    if viewer.role == "board":
        raise Forbidden(msg.BOARD_INDIVIDUAL_MESSAGE)
    if viewer.role == "school_admin":
        schools = school_ids(session, viewer)
        if target.primary_org_id in schools:
            return
        enrolled_here = session.exec(
            select(Enrollment.id).where(
                Enrollment.user_id == target.id, col(Enrollment.school_id).in_(schools or {-1})
            )
        ).first()
        if enrolled_here is not None:
            return
    if viewer.role == "teacher":
        taught = taught_class_ids(session, viewer)
        student_there = session.exec(
            select(Enrollment.id).where(
                Enrollment.user_id == target.id,
                Enrollment.role == "student",
                Enrollment.status == "active",
                col(Enrollment.class_id).in_(taught or {-1}),
            )
        ).first()
        if student_there is not None:
            return
    raise NotFound(msg.USER_NOT_FOUND)


def check_view_school(session: Session, user: User, school: Org) -> None:
    """Counts of one school: board and admin for all; school admin for their own."""
    if user.role in ("admin", "board"):
        return
    if user.role == "school_admin" and school.id in school_ids(session, user):
        return
    raise NotFound(msg.SCHOOL_NOT_FOUND)


def school_summaries(session: Session, user: User) -> list[dict[str, Any]]:
    """Schools with class and student counts, no names of people (board, admin: all; school admin: own)."""
    schools = list(session.exec(select(Org).where(Org.type == "school").order_by(col(Org.identifier))))
    visible = []
    for school in schools:
        try:
            check_view_school(session, user, school)
        except NotFound:
            continue
        visible.append(school)
    ids = [s.id for s in visible]
    class_counts = dict(
        session.exec(
            select(SchoolClass.school_id, func.count())
            .where(col(SchoolClass.school_id).in_(ids or [-1]), SchoolClass.status == "active")
            .group_by(col(SchoolClass.school_id))
        ).all()
    )
    student_counts = dict(
        session.exec(
            select(User.primary_org_id, func.count())
            .where(
                col(User.primary_org_id).in_(ids or [-1]),
                User.role == "student",
                User.status == "active",
                col(User.graduated).is_(False),
            )
            .group_by(col(User.primary_org_id))
        ).all()
    )
    return [
        {
            "id": s.id,
            "name": s.name,
            "identifier": s.identifier,
            "class_count": int(class_counts.get(s.id, 0)),
            "student_count": int(student_counts.get(s.id, 0)),
        }
        for s in visible
        if s.id is not None
    ]
