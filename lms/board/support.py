"""The audited support view: per-school, time-limited access of a board user to individual class reports.

Rows of the permission matrix (DESIGN §3): granting, listing and revoking is the system admin's (``ADMIN``);
using it (``SUPPORT``) needs a board user with an *active* grant for the class's school — started, not
ended, not revoked — or the admin.  Every use writes ``support.view`` to the audit log with the grant it
relied on; refusals (no grant, expired, revoked, another school) are 403 for the board and 404 for classes
that do not exist.  The report itself is the teacher's class report (`lms.teaching.service.class_report`),
shown read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.board import messages as msg
from lms.board.support_models import SupportGrant
from lms.core.errors import Forbidden, InvalidInput, NotFound
from lms.roster.models import Org, SchoolClass, User
from lms.teaching import service as teaching

MAX_GRANT_DAYS = 90
MIN_REASON_CHARS = 5


@dataclass(frozen=True)
class GrantRequest:
    """What an admin submits to grant a support view."""

    board_user_id: int
    school_id: int
    reason: str
    starts_at: datetime
    ends_at: datetime


def grant_json(grant: SupportGrant, now: datetime, names: dict[int, str] | None = None) -> dict[str, Any]:
    """A grant as JSON (with its state at ``now``)."""
    names = names or {}
    return {
        "id": grant.id,
        "board_user_id": grant.board_user_id,
        "board_user": names.get(grant.board_user_id),
        "school_id": grant.school_id,
        "school": names.get(-grant.school_id),
        "reason": grant.reason,
        "starts_at": grant.starts_at.isoformat(),
        "ends_at": grant.ends_at.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
        "state": grant_state(grant, now),
    }


def grant_state(grant: SupportGrant, now: datetime) -> str:
    """``active`` | ``scheduled`` | ``expired`` | ``revoked``."""
    if grant.revoked_at is not None:
        return "revoked"
    if now < grant.starts_at:
        return "scheduled"
    if now >= grant.ends_at:
        return "expired"
    return "active"


def create_grant(
    *, session: Session, actor: User, data: GrantRequest, now: datetime, ip: str | None = None
) -> SupportGrant:
    """Grant a board user the support view of one school (admin only; audited as ``support.grant``)."""
    if actor.role != "admin":
        raise Forbidden(msg.ONLY_ADMIN_GRANTS)
    board_user = session.get(User, data.board_user_id)
    if board_user is None or board_user.role != "board":
        raise InvalidInput(msg.GRANTEE_MUST_BE_BOARD)
    school = session.get(Org, data.school_id)
    if school is None or school.type != "school":
        raise InvalidInput(msg.GRANT_SCHOOL_NOT_FOUND)
    reason = data.reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise InvalidInput(msg.GRANT_REASON_TOO_SHORT.format(min_chars=MIN_REASON_CHARS))
    if data.ends_at <= data.starts_at:
        raise InvalidInput(msg.GRANT_ENDS_BEFORE_START)
    if data.ends_at <= now:
        raise InvalidInput(msg.GRANT_ENDS_IN_PAST)
    if data.ends_at - data.starts_at > timedelta(days=MAX_GRANT_DAYS):
        raise InvalidInput(msg.GRANT_TOO_LONG.format(max_days=MAX_GRANT_DAYS))
    grant = SupportGrant(
        board_user_id=data.board_user_id,
        school_id=data.school_id,
        granted_by_id=actor.id,
        reason=reason,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        created_at=now,
    )
    session.add(grant)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id,
        action="support.grant",
        target_type="support_grant",
        target_id=grant.id,
        ip=ip,
        detail={
            "board_user_id": grant.board_user_id,
            "school_id": grant.school_id,
            "reason": reason,
            "starts_at": grant.starts_at.isoformat(),
            "ends_at": grant.ends_at.isoformat(),
        },
    )
    return grant


def revoke_grant(
    *, session: Session, actor: User, grant_id: int, now: datetime, ip: str | None = None
) -> SupportGrant:
    """End a grant now (admin only; idempotent; audited as ``support.revoke``)."""
    if actor.role != "admin":
        raise Forbidden(msg.ONLY_ADMIN_REVOKES)
    grant = session.get(SupportGrant, grant_id)
    if grant is None:
        raise NotFound(msg.GRANT_NOT_FOUND)
    if grant.revoked_at is None:
        grant.revoked_at = now
        grant.revoked_by_id = actor.id
        session.add(grant)
        session.flush()
        record_event(
            session=session,
            actor_id=actor.id,
            action="support.revoke",
            target_type="support_grant",
            target_id=grant.id,
            ip=ip,
        )
    return grant


def list_grants(*, session: Session, board_user_id: int | None = None) -> list[SupportGrant]:
    """Grants, newest first (all, or one board user's)."""
    query = select(SupportGrant).order_by(col(SupportGrant.created_at).desc(), col(SupportGrant.id).desc())
    if board_user_id is not None:
        query = query.where(SupportGrant.board_user_id == board_user_id)
    return list(session.exec(query))


def display_names(session: Session, grants: list[SupportGrant]) -> dict[int, str]:
    """User ids → names and ``-school_id`` → school names for a list of grants."""
    user_ids = {g.board_user_id for g in grants}
    school_ids = {g.school_id for g in grants}
    names: dict[int, str] = {}
    for user in session.exec(select(User).where(col(User.id).in_(user_ids or {-1}))):
        assert user.id is not None
        names[user.id] = f"{user.display_name}（{user.username}）"
    for school in session.exec(select(Org).where(col(Org.id).in_(school_ids or {-1}))):
        assert school.id is not None
        names[-school.id] = school.name
    return names


def require_active_grant(
    *, session: Session, user: User, school_id: int, now: datetime
) -> SupportGrant | None:
    """The active grant that lets ``user`` see ``school_id`` (None for the admin); Forbidden otherwise."""
    if user.role == "admin":
        return None
    if user.role != "board":
        raise Forbidden(msg.SUPPORT_VIEW_BOARD_ONLY)
    grants = [g for g in list_grants(session=session, board_user_id=user.id) if g.school_id == school_id]
    active = next((g for g in grants if g.is_active(now)), None)
    if active is not None:
        return active
    raise Forbidden(msg.SUPPORT_GRANT_EXPIRED if grants else msg.NO_SUPPORT_GRANT)


def _audit_use(
    session: Session,
    user: User,
    grant: SupportGrant | None,
    target_type: str,
    target_id: int,
    ip: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    record_event(
        session=session,
        actor_id=user.id,
        action="support.view",
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        detail={"grant_id": grant.id if grant else None, **(detail or {})},
    )


def school_classes(
    *, session: Session, user: User, school_id: int, now: datetime, ip: str | None = None
) -> tuple[Org, list[SchoolClass], SupportGrant | None]:
    """The classes of a school under an active grant (audited as ``support.view`` of the school)."""
    school = session.get(Org, school_id)
    if school is None or school.type != "school":
        if user.role == "admin":
            raise NotFound(msg.SCHOOL_NOT_FOUND)
        raise Forbidden(msg.NO_SUPPORT_GRANT if user.role == "board" else msg.SUPPORT_VIEW_BOARD_ONLY)
    grant = require_active_grant(session=session, user=user, school_id=school_id, now=now)
    classes = list(
        session.exec(
            select(SchoolClass)
            .where(SchoolClass.school_id == school_id)
            .order_by(col(SchoolClass.read_only), col(SchoolClass.grades), col(SchoolClass.title))
        )
    )
    _audit_use(session, user, grant, "school", school_id, ip)
    return school, classes, grant


def class_report(
    *, session: Session, user: User, class_id: int, now: datetime, ip: str | None = None
) -> tuple[teaching.ClassReport, Org, SupportGrant | None]:
    """The teacher's class report of a class under an active grant for its school (audited)."""
    class_ = session.get(SchoolClass, class_id)
    if class_ is None:
        if user.role == "admin":
            raise NotFound(msg.CLASS_NOT_FOUND)
        raise Forbidden(msg.NO_SUPPORT_GRANT if user.role == "board" else msg.SUPPORT_VIEW_BOARD_ONLY)
    grant = require_active_grant(session=session, user=user, school_id=class_.school_id, now=now)
    report = teaching.class_report(session=session, class_=class_)
    school = session.get(Org, class_.school_id)
    assert school is not None
    _audit_use(session, user, grant, "class", class_id, ip, {"students": len(report.grid.rows)})
    return report, school, grant
