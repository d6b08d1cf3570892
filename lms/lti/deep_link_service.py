"""Deep linking from the teacher's side: accept the launch (a ticket), offer the choices, create the
assignment through the teaching service, and sign the reply for the portal.

Steps: `accept_launch` (from the launch, after the sign-in: teacher role checked, the context's class
known) stores an `LtiDeepLinkTicket` and returns the picker's path; `all_choices` lists what may be linked
(the reading test of the current term over all seven skills, a practice set per skill, the notebook
lessons of the class's course); `create_link` spends the ticket, creates the assignment exactly as the
teacher's 「テスト・練習を割り当てる」 form does (`lms.teaching.service.create_assignment`: same checks, audit
``assignment.create``), the line item when the portal offers AGS, and returns the signed
``LtiDeepLinkingResponse`` to auto-post. A notebook lesson creates nothing: its link's ``giga_target``
opens the lesson's page (`lms.lti.notebook_lessons`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.auth.tokens import sha256_hex
from lms.core.errors import Forbidden, InvalidInput, NotFound
from lms.core.jst import school_year_and_term
from lms.lti import ags
from lms.lti import service_messages as msg
from lms.lti.deep_linking import (
    DeepLinkingSettings,
    LineItemRequest,
    ResourceLinkItem,
    resource_id_of,
    response_jwt,
)
from lms.lti.keys import tool_signing_key
from lms.lti.models import LtiContext, LtiPlatform
from lms.lti.notebook_lessons import lesson_path
from lms.lti.service_models import LtiContextServices, LtiDeepLinkTicket, LtiLineItem
from lms.lti.services_token import SCOPE_LINEITEM, SCOPE_SCORE, ToolKey
from lms.notebooks import service as notebook_service
from lms.notebooks.deadlines import lesson_names
from lms.reading.practice.service import practice_items
from lms.roster.models import SchoolClass, User
from lms.teaching import service as teaching
from lms.teaching.report import SKILL_NAMES_JA, SKILL_ORDER
from lms.teaching.schemas import AssignmentCreate

TICKET_LIFETIME = timedelta(minutes=30)
PRACTICE_SET_SIZE = 5
TEST_MIN_ITEMS, TEST_MAX_ITEMS = 5, 15  # the assign form's defaults for an adaptive test
TEST_CHOICE = "test"
TARGET_PARAM = "giga_target"  # lms.lti.claims.TARGET_CUSTOM: the page a resource-link launch opens


@dataclass(frozen=True)
class Choice:
    """One thing the teacher may link: its key in the form, its title, what it is; ``data`` for an
    assignment to create, ``notebook`` (the lesson's page) for a notebook lesson of the class's course."""

    key: str
    title: str
    description: str
    data: AssignmentCreate | None
    notebook: str | None = None


def new_ticket(
    *,
    session: Session,
    user: User,
    context: LtiContext,
    deployment_id: str,
    settings: DeepLinkingSettings,
    now: datetime,
) -> str:
    """Store a deep-linking ticket for ``user`` and return its secret (only the hash is kept)."""
    assert user.id is not None and context.id is not None
    secret = secrets.token_urlsafe(32)
    session.add(
        LtiDeepLinkTicket(
            token_hash=sha256_hex(secret),
            user_id=user.id,
            lti_context_id=context.id,
            deployment_id=deployment_id,
            settings={
                "return_url": settings.return_url,
                "accept_types": list(settings.accept_types),
                "accept_multiple": settings.accept_multiple,
                "data": settings.data,
                "title": settings.title,
            },
            created_at=now,
            expires_at=now + TICKET_LIFETIME,
        )
    )
    session.flush()
    return secret


@dataclass(frozen=True)
class OpenTicket:
    ticket: LtiDeepLinkTicket
    context: LtiContext
    platform: LtiPlatform
    klass: SchoolClass

    @property
    def settings(self) -> DeepLinkingSettings:
        s = self.ticket.settings
        return DeepLinkingSettings(
            return_url=str(s["return_url"]),
            accept_types=tuple(s.get("accept_types") or ()),
            accept_multiple=bool(s.get("accept_multiple")),
            data=s.get("data"),
            title=s.get("title"),
        )


def open_ticket(*, session: Session, secret: str, user: User, now: datetime) -> OpenTicket:
    """The unspent, unexpired ticket of ``user`` (404 otherwise: the page says to start again)."""
    ticket = session.exec(
        select(LtiDeepLinkTicket).where(LtiDeepLinkTicket.token_hash == sha256_hex(secret or ""))
    ).first()
    if ticket is None or ticket.used_at is not None or ticket.expires_at < now:
        raise NotFound(msg.DL_TICKET_UNKNOWN)
    if ticket.user_id != user.id:
        raise Forbidden(msg.DL_TICKET_OTHER_USER)
    context = session.get(LtiContext, ticket.lti_context_id)
    assert context is not None
    platform = session.get(LtiPlatform, context.platform_id)
    klass = session.get(SchoolClass, context.school_class_id) if context.school_class_id else None
    if platform is None or klass is None:
        raise NotFound(msg.DL_CONTEXT_NOT_LINKED)
    teaching.check_can_change(session=session, user=user, class_=klass)
    return OpenTicket(ticket=ticket, context=context, platform=platform, klass=klass)


def _grade_number(code: str | None) -> int:
    if not code or len(code) < 2 or not code[1:].isdigit():
        return 9
    return int(code[1:]) + (6 if code[0] == "J" else 0)


def choices(*, klass: SchoolClass, now: datetime) -> list[Choice]:
    """The reading test of the current term (adaptive, seven skills), then a practice set per skill."""
    _, term = school_year_and_term(now)
    title = msg.READING_TEST_TITLE.format(term=term)
    out = [
        Choice(
            TEST_CHOICE,
            title,
            msg.READING_TEST_TEXT.format(min_items=TEST_MIN_ITEMS, max_items=TEST_MAX_ITEMS),
            AssignmentCreate(title=title, kind="cat", min_items=TEST_MIN_ITEMS, max_items=TEST_MAX_ITEMS),
        )
    ]
    grade = _grade_number((klass.grades or "").split(",")[0].strip() or None)
    pool = sorted(practice_items(), key=lambda i: (i.skill, i.id))
    for skill in SKILL_ORDER:
        items = [i for i in pool if i.skill == skill and _grade_number(i.grade_min) <= grade]
        items = items[:PRACTICE_SET_SIZE]
        if not items:
            continue
        name = SKILL_NAMES_JA.get(skill, skill)
        set_title = msg.PRACTICE_SET_TITLE.format(skill=name)
        out.append(
            Choice(
                f"practice-{skill}",
                set_title,
                msg.PRACTICE_SET_TEXT.format(skill=name, n=len(items)),
                AssignmentCreate(
                    title=set_title,
                    kind="practice",
                    skills=[skill],
                    item_ids=[i.id for i in items],
                    min_items=len(items),
                    max_items=len(items),
                ),
            )
        )
    return out


def notebook_choices(*, session: Session, klass: SchoolClass) -> list[Choice]:
    """The notebook lessons of the class's nbgrader course (none when the class has no course): each
    links to its lesson page, ``/notebooks/<course>/<assignment>`` (`lms.lti.notebook_lessons`)."""
    assert klass.id is not None
    course = notebook_service.course_for_class(session, klass.id)
    if course is None:
        return []
    return [
        Choice(
            f"notebook-{name}",
            msg.NOTEBOOK_CHOICE_TITLE.format(assignment=name),
            msg.NOTEBOOK_CHOICE_TEXT.format(course=course.course_id),
            None,
            notebook=lesson_path(course.course_id, name),
        )
        for name in lesson_names(session, course)
    ]


def all_choices(*, session: Session, klass: SchoolClass, now: datetime) -> list[Choice]:
    """What the picker offers: the reading test, the practice sets, then the class's notebook lessons."""
    return choices(klass=klass, now=now) + notebook_choices(session=session, klass=klass)


@dataclass(frozen=True)
class LinkReply:
    return_url: str
    jwt: str
    title: str
    assignment_id: int | None  # None for a notebook lesson


def _spend(session: Session, ticket: LtiDeepLinkTicket, now: datetime) -> None:
    spent = session.exec(  # one conditional UPDATE: a double click or a second tab cannot link twice
        update(LtiDeepLinkTicket)
        .where(col(LtiDeepLinkTicket.id) == ticket.id, col(LtiDeepLinkTicket.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise NotFound(msg.DL_TICKET_UNKNOWN)


def _new_assignment(
    *, session: Session, opened: OpenTicket, user: User, chosen: Choice, now: datetime, ip: str | None
) -> tuple[int, LineItemRequest | None]:
    """The assignment for the context's class (the teaching service's checks and audit) and, when the
    portal offers AGS, its line item."""
    assert chosen.data is not None
    assignment = teaching.create_assignment(
        session=session, actor=user, class_=opened.klass, data=chosen.data, now=now, ip=ip
    )
    assert assignment.id is not None and opened.context.id is not None
    services = session.exec(
        select(LtiContextServices).where(LtiContextServices.lti_context_id == opened.context.id)
    ).first()
    offers_ags = services is not None and bool({SCOPE_SCORE, SCOPE_LINEITEM} & set(services.ags_scopes))
    if not offers_ags:
        return assignment.id, None
    practice = chosen.data.kind == "practice"
    maximum = float(len(chosen.data.item_ids)) if practice else ags.SCALE_MAXIMUM
    label = chosen.title if practice else msg.LINE_ITEM_TEST_LABEL.format(title=chosen.title)
    line_item = LineItemRequest(label=label, score_maximum=maximum, resource_id=resource_id_of(assignment.id))
    session.add(
        LtiLineItem(
            assignment_id=assignment.id,
            lti_context_id=opened.context.id,
            resource_id=line_item.resource_id,
            label=label,
            score_maximum=maximum,
            created_at=now,
        )
    )
    return assignment.id, line_item


def create_link(
    *,
    session: Session,
    opened: OpenTicket,
    user: User,
    choice_key: str,
    tool_origin: str,
    now: datetime,
    ip: str | None,
    key: ToolKey | None = None,
) -> LinkReply:
    """Spend the ticket, create the assignment for the context's class (not for a notebook lesson: the
    link opens the lesson's page), and sign the reply."""
    offered = all_choices(session=session, klass=opened.klass, now=now)
    chosen = next((c for c in offered if c.key == choice_key), None)
    if chosen is None:
        raise InvalidInput(msg.DL_UNKNOWN_CHOICE)
    ticket = opened.ticket
    _spend(session, ticket, now)
    assignment_id: int | None = None
    line_item: LineItemRequest | None = None
    if chosen.notebook is not None:
        target = chosen.notebook
    else:
        assignment_id, line_item = _new_assignment(
            session=session, opened=opened, user=user, chosen=chosen, now=now, ip=ip
        )
        target = f"/test/{assignment_id}"
    ticket.used_at = now
    ticket.assignment_id = assignment_id
    session.add(ticket)
    item = ResourceLinkItem(
        title=chosen.title,
        text=chosen.description,
        url=f"{tool_origin}/lti/launch",
        assignment_id=assignment_id,
        line_item=line_item,
        custom={TARGET_PARAM: target},
    )
    if key is None:
        kid, private_key = tool_signing_key(session)
        key = ToolKey(kid, private_key)
    token = response_jwt(
        settings=opened.settings,
        client_id=opened.platform.client_id,
        platform_issuer=opened.platform.issuer,
        deployment_id=ticket.deployment_id,
        items=[item],
        key=key,
        now=now,
        message=msg.DL_DONE_MESSAGE.format(title=chosen.title, klass=opened.klass.title),
    )
    record_event(
        session=session,
        actor_id=user.id,
        action="lti.deep_link",
        target_type="assignment" if assignment_id is not None else "school_class",
        target_id=assignment_id if assignment_id is not None else opened.klass.id,
        ip=ip,
        detail={
            "platform_id": opened.platform.id,
            "context_id": opened.context.context_id,
            "class_id": opened.klass.id,
            "choice": choice_key,
            "line_item": line_item is not None,
            "target": target,
        },
    )
    session.flush()
    return LinkReply(
        return_url=opened.settings.return_url, jwt=token, title=chosen.title, assignment_id=assignment_id
    )


def ticket_summary(opened: OpenTicket) -> dict[str, Any]:
    return {
        "class_title": opened.klass.title,
        "portal": opened.platform.name,
        "context": opened.context.title,
    }
