"""Read queries shared by the JSON API and the pages (audit log search, class rosters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.roster.models import Enrollment, Org, SchoolClass, User


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None  # username
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def search_audit(
    *, session: Session, filters: AuditFilter
) -> tuple[list[tuple[AuditEvent, str | None]], int]:
    """Audit events (newest first) with the actor's username, and the total matching count."""
    query = select(AuditEvent, User.username).join(
        User, col(AuditEvent.actor_id) == col(User.id), isouter=True
    )
    count = (
        select(func.count())
        .select_from(AuditEvent)
        .join(User, col(AuditEvent.actor_id) == col(User.id), isouter=True)
    )
    conditions: list[Any] = []
    if filters.action:
        conditions.append(col(AuditEvent.action).startswith(filters.action))
    if filters.actor:
        conditions.append(User.username == filters.actor)
    if filters.since:
        conditions.append(col(AuditEvent.at) >= filters.since)
    if filters.until:
        conditions.append(col(AuditEvent.at) < filters.until)
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    rows = session.exec(
        query.order_by(col(AuditEvent.id).desc()).offset(filters.offset).limit(filters.limit)
    ).all()
    total = session.exec(count).one()
    return [(event, username) for event, username in rows], int(total)


@dataclass(frozen=True)
class RosterLine:
    user: User
    role: str
    shusseki_no: int | None


def class_roster(*, session: Session, class_: SchoolClass) -> list[RosterLine]:
    """Active members of a class: teachers first, then students by 出席番号."""
    rows = session.exec(
        select(Enrollment, User)
        .join(User, col(Enrollment.user_id) == col(User.id))
        .where(Enrollment.class_id == class_.id, Enrollment.status == "active")
    ).all()
    lines = [
        RosterLine(user=user, role=enrollment.role, shusseki_no=enrollment.shusseki_no)
        for enrollment, user in rows
    ]
    lines.sort(
        key=lambda line: (
            line.role != "teacher",
            line.shusseki_no or 10_000,
            line.user.kana_family_name or "",
        )
    )
    return lines


def student_counts(*, session: Session, class_ids: list[int]) -> dict[int, int]:
    """Active student enrollments per class."""
    if not class_ids:
        return {}
    rows = session.exec(
        select(Enrollment.class_id, func.count())
        .where(
            col(Enrollment.class_id).in_(class_ids),
            Enrollment.role == "student",
            Enrollment.status == "active",
        )
        .group_by(col(Enrollment.class_id))
    ).all()
    return {int(class_id): int(n) for class_id, n in rows}


def school_names(*, session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        org.id: org.name
        for org in session.exec(select(Org).where(col(Org.id).in_(ids)))
        if org.id is not None
    }
