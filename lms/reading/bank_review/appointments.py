"""Who may appoint item reviewers from the LMS's admin pages, and whom (row ``REVIEWER_APPOINTMENT``).

- admin (system administrator): any teacher, school admin or board account (DESIGN §3: operations, audited);
- school admin: the teachers of their own school(s) only — managing their school's accounts is their row of
  the matrix; a teacher of another school is answered 404, like every other object outside their school;
- teacher, board: 403.  The board's row is aggregates only and manages no accounts; board staff who want a
  committee member appointed ask the system administrator (``giga items reviewers grant`` does the same).

The grant itself, its audit event and the district it holds for are `service.grant_reviewer` /
`service.revoke_reviewer`; this module only decides who may call them for whom.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lms.core.errors import Forbidden, NotFound
from lms.permissions import school_ids
from lms.reading.bank_review import messages as msg
from lms.reading.bank_review.models import ItemReviewer
from lms.reading.bank_review.service import REVIEWER_ROLES, grant_reviewer, revoke_reviewer
from lms.roster.models import Org, User

APPOINTING_ROLES = ("admin", "school_admin")


@dataclass(frozen=True)
class Candidate:
    """One staff account on the appointment page, with whether it holds the capability now."""

    user: User
    school: str
    holds: bool


def require_appointer(user: User) -> None:
    if user.role not in APPOINTING_ROLES:
        raise Forbidden(msg.APPOINT_ADMINS_ONLY)


def _in_scope(session: Session, actor: User, target: User) -> bool:
    if actor.role == "admin":
        return target.role in REVIEWER_ROLES
    return target.role == "teacher" and target.primary_org_id in school_ids(session, actor)


def candidates(session: Session, actor: User) -> list[Candidate]:
    """The accounts ``actor`` may appoint: a school admin's teachers; for an admin every staff account."""
    require_appointer(actor)
    query = select(User).where(col(User.role).in_(REVIEWER_ROLES))
    if actor.role == "school_admin":
        query = query.where(
            User.role == "teacher", col(User.primary_org_id).in_(school_ids(session, actor) or {-1})
        )
    users = session.exec(
        query.order_by(col(User.primary_org_id), col(User.kana_family_name), col(User.username))
    ).all()
    holders = set(session.exec(select(ItemReviewer.user_id)).all())
    org_ids = {u.primary_org_id for u in users if u.primary_org_id is not None}
    orgs = {o.id: o.name for o in session.exec(select(Org).where(col(Org.id).in_(org_ids or {-1}))).all()}
    return [
        Candidate(user=u, school=orgs.get(u.primary_org_id or -1, ""), holds=u.id in holders) for u in users
    ]


def _target(session: Session, actor: User, username: str) -> User:
    require_appointer(actor)
    target = session.exec(select(User).where(User.username == username.strip())).first()
    if target is None or not _in_scope(session, actor, target):
        raise NotFound(msg.APPOINTEE_NOT_FOUND)
    return target


def appoint(session: Session, *, actor: User, username: str, ip: str | None) -> User:
    """Grant the capability to a staff account in ``actor``'s scope (audited by `grant_reviewer`)."""
    target = _target(session, actor, username)
    grant_reviewer(session, username=target.username, by=actor, ip=ip)
    return target


def dismiss(session: Session, *, actor: User, username: str, ip: str | None) -> User:
    """Take the capability away from a staff account in ``actor``'s scope (audited by `revoke_reviewer`)."""
    target = _target(session, actor, username)
    revoke_reviewer(session, username=target.username, by=actor, ip=ip)
    return target
