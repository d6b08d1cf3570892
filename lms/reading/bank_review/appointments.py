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

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from lms.auth.cards.names import hiragana, katakana
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


#: Rows per page of the appointment list: a city has thousands of staff accounts.
PAGE_SIZE = 50


@dataclass(frozen=True)
class CandidatePage:
    """One page of the accounts an appointer may appoint, the current holders among all of them (few,
    always shown), and the paging numbers."""

    candidates: list[Candidate]
    holders: list[Candidate]
    total: int
    page: int
    pages: int


def _kana_spellings(word: str) -> set[str]:
    """``word`` as typed, in katakana and in hiragana: the box asks for ふりがな, rosters mostly store the
    reading in katakana (ワタナベ), some in hiragana."""
    return {word, katakana(word), hiragana(word)}


def _like_pattern(word: str) -> str:
    """``%word%`` with LIKE's own characters (``\\ % _``) searched as themselves (``escape="\\"``)."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def candidates(session: Session, actor: User, *, search: str = "", page: int = 1) -> CandidatePage:
    """The accounts ``actor`` may appoint (a school admin's teachers; for an admin every staff account),
    filtered by ``search`` (a part of the name, kana or username) and cut into pages of `PAGE_SIZE`."""
    require_appointer(actor)
    scope = col(User.role).in_(REVIEWER_ROLES)
    query = select(User).where(scope)
    if actor.role == "school_admin":
        query = query.where(
            User.role == "teacher", col(User.primary_org_id).in_(school_ids(session, actor) or {-1})
        )
    holder_ids = set(session.exec(select(ItemReviewer.user_id)).all())
    ordered = (col(User.primary_org_id), col(User.kana_family_name), col(User.username))
    holding = session.exec(query.where(col(User.id).in_(holder_ids or {-1})).order_by(*ordered)).all()
    for word in search.split():
        patterns = {_like_pattern(spelling) for spelling in _kana_spellings(word)}
        query = query.where(
            or_(
                *(
                    col(column).ilike(pattern, escape="\\")
                    for column in (
                        User.username,
                        User.family_name,
                        User.given_name,
                        User.kana_family_name,
                        User.kana_given_name,
                    )
                    for pattern in sorted(patterns)
                )
            )
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = session.exec(query.order_by(*ordered).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    org_ids = {u.primary_org_id for u in (*shown, *holding) if u.primary_org_id is not None}
    orgs = {o.id: o.name for o in session.exec(select(Org).where(col(Org.id).in_(org_ids or {-1}))).all()}

    def candidate(u: User) -> Candidate:
        return Candidate(user=u, school=orgs.get(u.primary_org_id or -1, ""), holds=u.id in holder_ids)

    return CandidatePage(
        candidates=[candidate(u) for u in shown],
        holders=[candidate(u) for u in holding],
        total=total,
        page=page,
        pages=pages,
    )


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
