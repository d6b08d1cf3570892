"""Sent-back notices: a draft item whose newest review decision is 「差し戻し」 is shown to its author (the
item's ``review.written_by``) and to everyone who reviewed it, with the reviewers' comments, until it is
decided again or leaves draft.  Row ``ITEM_REVIEW``: anyone else is answered 404 for the item."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lms.core.errors import NotFound
from lms.reading import delivery as dl
from lms.reading.bank_review import messages as msg
from lms.reading.bank_review.models import ItemReviewDecision
from lms.reading.bank_review.service import author_of, item_digest
from lms.roster.models import User
from reading_tests.items import Item


@dataclass(frozen=True)
class SentBack:
    """One open send-back: the item, its newest decision, and whether the file changed since (revised)."""

    item: Item
    decision: ItemReviewDecision
    revised: bool
    role: str  # "author" | "reviewer": why this person sees it


def sent_back_for(session: Session, user: User) -> list[SentBack]:
    """The open send-backs ``user`` wrote or reviewed, newest first."""
    if user.role == "student" or user.id is None:
        return []
    returned = select(ItemReviewDecision.item_id).where(ItemReviewDecision.decision == "send_back")
    rows = session.exec(
        select(ItemReviewDecision)
        .where(col(ItemReviewDecision.item_id).in_(returned))
        .order_by(col(ItemReviewDecision.decided_at), col(ItemReviewDecision.id))
    ).all()
    latest: dict[str, ItemReviewDecision] = {}
    reviewers: dict[str, set[int]] = {}
    for row in rows:
        latest[row.item_id] = row
        reviewers.setdefault(row.item_id, set()).add(row.reviewer_id)
    bank = dl.item_bank()
    found: list[SentBack] = []
    for item_id, last in latest.items():
        item = bank.get(item_id)
        if item is None or item.path is None or item.status != "draft" or last.decision != "send_back":
            continue
        if author_of(item) == user.username:
            role = "author"
        elif user.id in reviewers[item_id]:
            role = "reviewer"
        else:
            continue
        found.append(SentBack(item, last, item_digest(item.path) != last.item_digest, role))
    return sorted(found, key=lambda s: (s.decision.decided_at, s.item.id), reverse=True)


def sent_back_item(session: Session, user: User, item_id: str) -> SentBack:
    """One of ``user``'s open send-backs, or 404 (someone else's item reads as unknown)."""
    for entry in sent_back_for(session, user):
        if entry.item.id == item_id:
            return entry
    raise NotFound(msg.RETURNED_NOT_FOUND)
