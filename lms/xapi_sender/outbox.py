"""The ``xapi_outbox`` table as a work queue: claim with a lease, then mark sent or failed.

A worker claims up to ``limit`` unsent rows in one short transaction by setting ``locked_until`` (the
lease) on them: the oldest claimable ids are picked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so that
concurrent workers never wait for or take each other's rows), then an ``UPDATE … RETURNING`` that re-checks
claimability takes them, so a row another worker took in between is not returned.  The HTTP POST
happens outside any transaction.  A worker that dies simply lets its lease run out and the rows become
claimable again.

``locked_until`` also carries the retry backoff: a failed row gets ``tries + 1`` and is not claimable
before ``now + min(max, base · 2^(tries − 1))``.  After ``max_tries`` failures a row is *parked* (never
claimed again; `outbox_counts` reports it) so that one statement an LRS refuses cannot block anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session, col

from lms.reading.models import XapiOutbox

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Claimed:
    """One claimed row: its id, the statement (None when the stored JSON is unreadable), tries so far."""

    id: int
    statement: dict[str, Any] | None
    tries: int
    raw: str


def backoff_delay(tries: int, *, base_seconds: float, max_seconds: float) -> timedelta:
    """Delay before the next try after ``tries`` failures: ``min(max, base · 2^(tries − 1))``."""
    exponent = max(0, min(tries - 1, 30))
    return timedelta(seconds=min(max_seconds, base_seconds * (2**exponent)))


def _claimable(now: datetime, max_tries: int) -> Any:
    return and_(
        col(XapiOutbox.sent_at).is_(None),
        col(XapiOutbox.tries) < max_tries,
        or_(col(XapiOutbox.locked_until).is_(None), col(XapiOutbox.locked_until) <= now),
    )


def claim_batch(
    *, session: Session, now: datetime, limit: int, lease: timedelta, max_tries: int
) -> list[Claimed]:
    """Claim up to ``limit`` of the oldest claimable rows until ``now + lease``; flush, never commit.

    The caller must commit right away (before sending) so that other workers see the lease.
    """
    pick = (
        select(XapiOutbox.id)  # type: ignore[call-overload]
        .where(_claimable(now, max_tries))
        .order_by(col(XapiOutbox.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # Two steps (pick, then take): the UPDATE re-checks claimability, so a row another worker took in
    # between (SQLite has no row locks) is simply not returned.  A LIMIT inside an IN subquery of an UPDATE
    # was seen to claim more than `limit` rows on SQLite in a long test run.
    ids = [int(row_id) for row_id in session.execute(pick).scalars()]
    if not ids:
        return []
    statement = (
        update(XapiOutbox)
        .where(col(XapiOutbox.id).in_(ids), _claimable(now, max_tries))
        .values(locked_until=now + lease)
        .returning(col(XapiOutbox.id), col(XapiOutbox.statement), col(XapiOutbox.tries))
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(statement).all()
    claimed = []
    for row_id, text, tries in sorted(rows, key=lambda r: int(r[0])):
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            parsed = None
        claimed.append(
            Claimed(int(row_id), parsed if isinstance(parsed, dict) else None, int(tries), str(text))
        )
    session.flush()
    return claimed


def mark_sent(*, session: Session, ids: Sequence[int], now: datetime) -> None:
    """Rows the LRS stored: set ``sent_at``, clear the lease and the last error."""
    if not ids:
        return
    session.execute(
        update(XapiOutbox)
        .where(col(XapiOutbox.id).in_(list(ids)))
        .values(sent_at=now, locked_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def mark_failed(
    *,
    session: Session,
    failures: Mapping[int, str],
    tries: Mapping[int, int],
    now: datetime,
    base_seconds: float,
    max_seconds: float,
) -> None:
    """Rows that were not stored: count the try, keep the error, and hold them back for the backoff."""
    for row_id, error in failures.items():
        count = tries.get(row_id, 0) + 1
        session.execute(
            update(XapiOutbox)
            .where(col(XapiOutbox.id) == row_id)
            .values(
                tries=count,
                last_error=error[:MAX_ERROR_CHARS],
                locked_until=now + backoff_delay(count, base_seconds=base_seconds, max_seconds=max_seconds),
            )
            .execution_options(synchronize_session=False)
        )
    session.flush()


def outbox_counts(*, session: Session, now: datetime, max_tries: int) -> dict[str, int]:
    """How many rows are sent, ready to send, waiting for a retry or lease, and parked."""
    sent = col(XapiOutbox.sent_at).is_not(None)
    parked = and_(col(XapiOutbox.sent_at).is_(None), col(XapiOutbox.tries) >= max_tries)

    def count(condition: Any) -> int:
        return int(
            session.execute(select(func.count()).select_from(XapiOutbox).where(condition)).scalar_one()
        )

    total = count(col(XapiOutbox.id).is_not(None))
    out = {
        "sent": count(sent),
        "ready": count(_claimable(now, max_tries)),
        "parked": count(parked),
    }
    out["waiting"] = total - out["sent"] - out["ready"] - out["parked"]
    return out
