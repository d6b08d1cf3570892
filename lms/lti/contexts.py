"""The portal's courses (LTI contexts) and the roster classes they stand for: matched by OneRoster sourcedId
at launch when the portal sends it, otherwise linked here by the administrator."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.audit.service import record_event
from lms.core.errors import InvalidInput, NotFound
from lms.lti import messages as msg
from lms.lti.models import LtiContext, LtiPlatform
from lms.permissions import taught_class_ids
from lms.roster.models import SchoolClass, User


@dataclass(frozen=True)
class ContextRow:
    context: LtiContext
    platform_name: str
    class_title: str | None


def list_contexts(*, session: Session) -> list[ContextRow]:
    """Every context seen in a launch, unlinked first, then by platform and title."""
    rows = session.exec(
        select(LtiContext, LtiPlatform.name, SchoolClass.title)
        .join(LtiPlatform, col(LtiPlatform.id) == col(LtiContext.platform_id))
        .outerjoin(SchoolClass, col(SchoolClass.id) == col(LtiContext.school_class_id))
        .order_by(col(LtiContext.school_class_id).is_not(None), col(LtiPlatform.name), col(LtiContext.title))
    ).all()
    return [ContextRow(context, name, title) for context, name, title in rows]


def link_context(
    *, session: Session, context_id: int, class_sourced_id: str, actor_id: int | None, ip: str | None
) -> LtiContext:
    """Link a portal course to the roster class with this OneRoster ``sourcedId`` (audited)."""
    context = session.get(LtiContext, context_id)
    if context is None:
        raise NotFound(msg.CONTEXT_NOT_FOUND)
    klass = session.exec(
        select(SchoolClass).where(SchoolClass.sourced_id == class_sourced_id.strip())
    ).first()
    if klass is None:
        raise InvalidInput(msg.CLASS_SOURCED_ID_UNKNOWN)
    context.school_class_id = klass.id
    context.linked_by_id = actor_id
    session.add(context)
    session.flush()
    record_event(
        session=session,
        actor_id=actor_id,
        action="lti.context_link",
        target_type="lti_context",
        target_id=context.id,
        ip=ip,
        detail={"context_id": context.context_id, "class_id": klass.id},
    )
    return context


def linkable_classes(*, session: Session, user: User) -> list[SchoolClass]:
    """The classes a teacher may link a portal course to: the ones they teach (current years only)."""
    ids = taught_class_ids(session, user)
    if not ids:
        return []
    rows = session.exec(
        select(SchoolClass)
        .where(col(SchoolClass.id).in_(ids), col(SchoolClass.read_only).is_(False))
        .order_by(col(SchoolClass.title))
    ).all()
    return list(rows)


def unlinked_context(*, session: Session, context_id: int) -> LtiContext:
    """A context not yet linked to a class (once linked, only the administrator changes it)."""
    context = session.get(LtiContext, context_id)
    if context is None or context.school_class_id is not None:
        raise NotFound(msg.CONTEXT_NOT_FOUND)
    return context


LAUNCHES_LOOKED_AT = 200  # a teacher's most recent launches from the context's portal


def launched_from(*, session: Session, user: User, context: LtiContext) -> bool:
    """Whether ``user`` was launched from this portal course (their ``lti.launch`` audit events say so).

    Without it any teacher could bind any portal's unlinked course (ids count up) to their own class and then
    read that course's membership — another school's children's names — on the roster comparison page."""
    details = session.exec(
        select(AuditEvent.detail)
        .where(
            AuditEvent.action == "lti.launch",
            AuditEvent.actor_id == user.id,
            AuditEvent.target_type == "lti_platform",
            AuditEvent.target_id == str(context.platform_id),
        )
        .order_by(col(AuditEvent.id).desc())
        .limit(LAUNCHES_LOOKED_AT)
    ).all()
    return any(json.loads(d or "{}").get("context_id") == context.context_id for d in details)


def teacher_context(*, session: Session, user: User, context_id: int) -> LtiContext:
    """The unlinked portal course ``user`` was launched from (404 for any other: it is not theirs to name)."""
    context = unlinked_context(session=session, context_id=context_id)
    if not launched_from(session=session, user=user, context=context):
        raise NotFound(msg.CONTEXT_NOT_FOUND)
    return context


def teacher_links_context(
    *, session: Session, user: User, context_id: int, class_id: int, ip: str | None
) -> LtiContext:
    """A teacher links an unlinked portal course to one of their classes (audited ``lti.context_link``)."""
    context = teacher_context(session=session, user=user, context_id=context_id)
    if class_id not in {c.id for c in linkable_classes(session=session, user=user)}:
        raise InvalidInput(msg.CLASS_NOT_TAUGHT)
    context.school_class_id = class_id
    context.linked_by_id = user.id
    session.add(context)
    session.flush()
    record_event(
        session=session,
        actor_id=user.id,
        action="lti.context_link",
        target_type="lti_context",
        target_id=context.id,
        ip=ip,
        detail={"context_id": context.context_id, "class_id": class_id},
    )
    return context
