"""The review of draft items in the LMS: who may review, the queue, one item as the reviewer sees it, and
the decisions (approve / send back), each stored with who and when and audited.

Row of the permission matrix: ``ITEM_REVIEW`` — a person holding the item-reviewer capability
(`ItemReviewer`, granted by an admin with ``giga items reviewers grant``) for their own district; students
404, everyone else without the capability 403.  A decision changes nothing a child is given: delivery reads
the bank's files (`lms.reading.delivery.item_bank`), and only ``giga items apply-reviews`` writes approved
decisions into them (`lms.reading.bank_review.apply`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from lms.reading import delivery as dl
from lms.reading.bank_review import messages as msg
from lms.reading.bank_review.models import DECISIONS, ItemReviewDecision, ItemReviewer
from lms.roster.models import Org, User
from reading_tests.items import (
    BANDS,
    REVIEW_CHECKS,
    SKILLS,
    Item,
    Report,
    compose_located,
    validate_file,
)
from reading_tests.readings import lint_item, load_exceptions
from reading_tests.text import load_overrides, student_grade

#: Roles that may hold the capability (a city's reading-test committee: teachers, principals, board staff).
REVIEWER_ROLES = ("teacher", "school_admin", "board")
# the catalogue labels every check of `reading_tests.items.REVIEW_CHECKS`, and no other
assert set(msg.CHECK_LABELS) == set(REVIEW_CHECKS)


# --- the capability ----------------------------------------------------------------------------------------


def district_of(session: Session, user: User) -> int | None:
    """The board of education (district org) a staff account belongs to: its own org or that org's parent."""
    if user.primary_org_id is None:
        return None
    org = session.get(Org, user.primary_org_id)
    if org is None:
        return None
    return org.id if org.type == "district" else org.parent_id


def reviewer_grant(session: Session, user: User) -> ItemReviewer | None:
    """The capability, when it holds: a reviewer role, an enabled account, a grant for their district."""
    if user.role not in REVIEWER_ROLES or not user.enabled or user.id is None:
        return None
    grant = session.exec(select(ItemReviewer).where(ItemReviewer.user_id == user.id)).first()
    if grant is None or grant.district_id != district_of(session, user):
        return None
    return grant


def require_reviewer(session: Session, user: User) -> ItemReviewer:
    """The capability or 403 (students never reach here: their row answers 404)."""
    grant = reviewer_grant(session, user)
    if grant is None:
        raise Forbidden(msg.NOT_REVIEWER)
    return grant


def grant_reviewer(
    session: Session, *, username: str, by: User | None, ip: str | None = None
) -> ItemReviewer:
    """Give ``username`` the capability for their own district (audited); refuses students and admins."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.id is None:
        raise InvalidInput(msg.REVIEWER_NOT_FOUND.format(username=username))
    if user.role not in REVIEWER_ROLES:
        raise InvalidInput(msg.ROLE_CANNOT_REVIEW.format(username=username, role=user.role))
    district = district_of(session, user)
    if district is None:
        raise InvalidInput(msg.REVIEWER_BOARD_MISSING.format(username=username))
    grant = session.exec(select(ItemReviewer).where(ItemReviewer.user_id == user.id)).first()
    if grant is None:
        grant = ItemReviewer(user_id=user.id, district_id=district, granted_by_id=by.id if by else None)
        session.add(grant)
    else:
        grant.district_id = district
    session.flush()
    record_event(
        session=session,
        actor_id=by.id if by else None,
        action="item_reviewer.grant",
        target_type="user",
        target_id=user.id,
        ip=ip,
        detail={"username": username, "district_id": district},
    )
    return grant


def revoke_reviewer(session: Session, *, username: str, by: User | None, ip: str | None = None) -> bool:
    """Take the capability away (audited); whether there was one."""
    user = session.exec(select(User).where(User.username == username)).first()
    grant = (
        session.exec(select(ItemReviewer).where(ItemReviewer.user_id == user.id)).first()
        if user is not None
        else None
    )
    if user is None or grant is None:
        return False
    session.delete(grant)
    record_event(
        session=session,
        actor_id=by.id if by else None,
        action="item_reviewer.revoke",
        target_type="user",
        target_id=user.id,
        ip=ip,
        detail={"username": username},
    )
    return True


# --- the queue ---------------------------------------------------------------------------------------------


def item_digest(path: Path) -> str:
    """Fingerprint of an item file as a reviewer judges it: everything but ``status``, ``review`` and the
    tool-written ``irt`` block (a re-run of the simulated pilot does not make a review stale; a changed
    text, option, key or reading does)."""
    text = path.read_text(encoding="utf-8")
    doc = compose_located(text)
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    for name in ("status", "review", "irt"):
        if name in doc.top_spans:
            start, end = doc.top_spans[name]
            drop.update(range(start, end))
    kept = "".join(line for i, line in enumerate(lines) if i not in drop)
    return hashlib.sha256(kept.encode("utf-8")).hexdigest()


def author_of(item: Item) -> str | None:
    return item.review.written_by if item.review is not None else None


def latest_decisions(
    session: Session, item_ids: Sequence[str] | None = None
) -> dict[str, ItemReviewDecision]:
    """The newest decision per item (all items, or those named)."""
    query = select(ItemReviewDecision).order_by(
        col(ItemReviewDecision.decided_at), col(ItemReviewDecision.id)
    )
    if item_ids is not None:
        query = query.where(col(ItemReviewDecision.item_id).in_(list(item_ids)))
    return {row.item_id: row for row in session.exec(query).all()}


@dataclass
class QueueCell:
    skill: str
    band: str
    waiting: list[Item] = field(default_factory=list)  # no decision yet, or sent back (the author revised)
    approved: list[Item] = field(default_factory=list)  # approved in the LMS, not yet in the bank files


@dataclass
class Queue:
    cells: dict[tuple[str, str], QueueCell]
    decisions: dict[str, ItemReviewDecision]

    def cell(self, skill: str, band: str) -> QueueCell:
        return self.cells[(skill, band)]

    @property
    def total_waiting(self) -> int:
        return sum(len(c.waiting) for c in self.cells.values())


def review_queue(session: Session, reviewer: User) -> Queue:
    """Draft items by skill × band; the reviewer's own items are left out (they may not review them)."""
    drafts = [i for i in dl.item_bank() if i.status == "draft" and author_of(i) != reviewer.username]
    decisions = latest_decisions(session, [i.id for i in drafts])
    cells = {(s, b): QueueCell(s, b) for s in SKILLS for b in BANDS}
    for item in sorted(drafts, key=lambda i: i.id):
        cell = cells[(item.skill, item.grade_band)]
        last = decisions.get(item.id)
        approved = last is not None and last.decision == "approve" and last.applied_at is None
        if (
            approved
            and last is not None
            and item.path is not None
            and last.item_digest == item_digest(item.path)
        ):
            cell.approved.append(item)
        else:
            cell.waiting.append(item)
    return Queue(cells, decisions)


# --- one item ----------------------------------------------------------------------------------------------


def find_item(item_id: str) -> Item:
    item = dl.item_bank().get(item_id)
    if item is None or item.path is None:
        raise NotFound(msg.ITEM_NOT_FOUND)
    return item


def item_warnings(item: Item) -> list[str]:
    """The validator's warnings and the reading lint's findings for one item, as `where: message` lines."""
    assert item.path is not None
    report = Report()
    validate_file(item.path, report)
    lines = [f"{issue.line}行目: {issue.message}" for issue in report.issues]
    findings = lint_item(item, overrides=load_overrides(), exceptions=load_exceptions())
    lines += [f"{f.where}: {f.message}" for f in findings]
    return lines


def item_view(session: Session, item: Item) -> dict[str, Any]:
    """Everything the checklist page shows: the item as a child of its lowest grade sees it, key,
    rationales, explanation, every reading, warnings, and the decisions so far."""
    assert item.path is not None
    grade = student_grade(item.grade_min)
    history = session.exec(
        select(ItemReviewDecision)
        .where(ItemReviewDecision.item_id == item.id)
        .order_by(col(ItemReviewDecision.decided_at).desc(), col(ItemReviewDecision.id).desc())
    ).all()
    readings: list[tuple[str, str, str, int]] = []
    for name in ("stimulus", "compare", "instruction", "explanation"):
        for entry in item.ruby.get(name, ()):
            readings.append((name, entry.base, entry.reading, entry.grade))
    for option in item.options:
        for entry in option.ruby:
            readings.append((f"選択肢{option.id}", entry.base, entry.reading, entry.grade))
    child = dict(dl.item_payload(item, grade))  # a copy: the payload is cached for the runner
    # as the runner does: the picture is named once by its wrapper's label, its drawing hidden from readers
    child["options"] = [
        {
            **o,
            "svg": o["svg"].replace("<svg", '<svg aria-hidden="true" focusable="false"', 1)
            if o["svg"]
            else None,
        }
        for o in child["options"]
    ]
    return {
        "item": item,
        "child": child,
        "child_grade": grade,
        "key": list(item.key),
        "digest": item_digest(item.path),
        "author": author_of(item),
        "readings": readings,
        "warnings": item_warnings(item),
        "history": history,
    }


# --- decisions ---------------------------------------------------------------------------------------------


def decide(
    session: Session,
    *,
    reviewer: User,
    item_id: str,
    decision: str,
    checks: Sequence[str],
    comment: str,
    digest: str,
    now: datetime,
    ip: str | None = None,
) -> ItemReviewDecision:
    """Store one decision (audited).  Approve needs every check; send back needs a comment."""
    require_reviewer(session, reviewer)
    assert reviewer.id is not None
    item = find_item(item_id)
    assert item.path is not None
    if item.status != "draft":
        raise Conflict(msg.NOT_DRAFT)
    if author_of(item) == reviewer.username:
        raise Forbidden(msg.OWN_ITEM)
    if decision not in DECISIONS:
        raise InvalidInput(msg.CHOOSE_VERDICT)
    unknown = [c for c in checks if c not in REVIEW_CHECKS]
    if unknown:
        raise InvalidInput(msg.BAD_CHECKLIST)
    comment = comment.strip()
    if len(comment) > 2000:
        raise InvalidInput(msg.COMMENT_TOO_LONG)
    done = [c for c in REVIEW_CHECKS if c in checks]
    if decision == "approve" and len(done) != len(REVIEW_CHECKS):
        missing = "、".join(msg.CHECK_LABELS[c].split("：")[0] for c in REVIEW_CHECKS if c not in done)
        raise InvalidInput(msg.UNCHECKED_ITEMS.format(missing=missing))
    if decision == "send_back" and not comment:
        raise InvalidInput(msg.RETURN_NEEDS_COMMENT)
    if digest != item_digest(item.path):
        raise Conflict(msg.ITEM_CHANGED)
    row = ItemReviewDecision(
        item_id=item.id,
        item_digest=digest,
        decision=decision,
        checks=done,
        comment=comment,
        reviewer_id=reviewer.id,
        reviewer_username=reviewer.username,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor_id=reviewer.id,
        action=f"item_review.{decision}",
        target_type="item",
        target_id=item.id,
        ip=ip,
        detail={"checks": done, "comment": comment, "decision_id": row.id},
    )
    return row
