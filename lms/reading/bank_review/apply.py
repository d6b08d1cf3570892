"""Write the LMS's approved review decisions into the bank's YAML files (``giga items apply-reviews``).

The bank in git is the source of truth: an approval made on the reviewer's page becomes the item's
``review`` block and ``status: reviewed`` only here, through the same `reading_tests.review.record_review`
as the command-line review (so the same rules hold: a draft, a second person, every check).  The files are
then committed and shipped like any other change of the bank; until then delivery does not see it.

Per item only the newest unapplied decision counts.  An approval of an item whose file changed since the
review (another digest) is not written: it stays unapplied and the item goes back to the queue.  An
approval of an item that is no longer a draft, or by a reviewer whose capability has since been revoked, is
marked applied with a note (superseded).  Send-backs are
listed for the authors and marked applied (nothing to write: the item stays a draft).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.jst import JST
from lms.reading.bank_review.models import ItemReviewDecision
from lms.reading.bank_review.service import item_digest, reviewer_grant
from lms.roster.models import User
from reading_tests.errors import InvalidInput
from reading_tests.items import Report, default_bank_path, item_files, validate_file
from reading_tests.review import record_review


@dataclass
class ApplyResult:
    written: list[str] = field(default_factory=list)  # "ITEM-ID by reviewer"
    stale: list[str] = field(default_factory=list)  # the file changed since the review
    superseded: list[str] = field(default_factory=list)  # not a draft any more, or a newer decision exists
    sent_back: list[str] = field(default_factory=list)  # "ITEM-ID: comment"
    missing: list[str] = field(default_factory=list)  # no such file in this bank


def apply_reviews(
    session: Session, *, bank: Path | None = None, dry_run: bool = False, now: datetime
) -> ApplyResult:
    """Write every unapplied approval into ``bank`` (default: the shipped bank); see the module docstring."""
    root = bank or default_bank_path()
    files = {f.stem: f for f in item_files(root)}
    pending = session.exec(
        select(ItemReviewDecision)
        .where(col(ItemReviewDecision.applied_at).is_(None))
        .order_by(col(ItemReviewDecision.decided_at), col(ItemReviewDecision.id))
    ).all()
    newest: dict[str, ItemReviewDecision] = {}
    result = ApplyResult()
    for row in pending:
        older = newest.get(row.item_id)
        if older is not None:
            _mark(older, now, "superseded by a later decision", dry_run)
            result.superseded.append(older.item_id)
        newest[row.item_id] = row
    for item_id, row in sorted(newest.items()):
        path = files.get(item_id)
        if path is None:
            result.missing.append(item_id)
            continue
        if row.decision == "send_back":
            result.sent_back.append(f"{item_id}: {row.comment}")
            _mark(row, now, "sent back to the author", dry_run)
            continue
        holder = session.get(User, row.reviewer_id)
        if holder is None or reviewer_grant(session, holder) is None:  # revoked since: their approval too
            result.superseded.append(item_id)
            _mark(row, now, "not applied: the reviewer no longer holds the capability", dry_run)
            continue
        report = Report()
        item = validate_file(path, report)
        if item is None or item.status != "draft":
            result.superseded.append(item_id)
            _mark(row, now, f"not applied: the item is {item.status if item else 'invalid'}", dry_run)
            continue
        if item_digest(path) != row.item_digest:
            result.stale.append(item_id)  # stays unapplied; the page shows the item as waiting again
            continue
        if not dry_run:
            try:
                record_review(
                    path,
                    reviewer=row.reviewer_username,
                    checks=row.checks,
                    notes=row.comment or None,
                    today=row.decided_at.astimezone(JST).date(),
                )
            except InvalidInput as error:
                result.superseded.append(item_id)
                _mark(row, now, f"not applied: {error}"[:300], dry_run)
                continue
            _mark(row, now, "written to the bank", dry_run)
            record_event(
                session=session,
                actor_id=None,
                action="item_review.applied",
                target_type="item",
                target_id=item_id,
                detail={"decision_id": row.id, "reviewer": row.reviewer_username},
            )
        result.written.append(f"{item_id} by {row.reviewer_username}")
    return result


def _mark(row: ItemReviewDecision, now: datetime, note: str, dry_run: bool) -> None:
    if not dry_run:
        row.applied_at = now
        row.applied_note = note
