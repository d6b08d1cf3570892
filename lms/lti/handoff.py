"""One-time tickets from the launch to the landing page and, when the iframe lost its cookie, a new window."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from lms.auth.tokens import sha256_hex
from lms.lti.models import LtiHandoff
from lms.roster.models import User

LIFETIME = timedelta(minutes=2)


def issue(*, session: Session, user: User, target: str, now: datetime, lifetime: timedelta = LIFETIME) -> str:
    """A fresh ticket for ``user`` to open ``target``; only its SHA-256 is stored."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        LtiHandoff(
            token_hash=sha256_hex(token),
            user_id=user.id,
            target=target[:500],
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def peek(*, session: Session, token: str, now: datetime) -> LtiHandoff | None:
    """The live, unspent ticket for ``token``, or None."""
    if not token:
        return None
    row = session.exec(select(LtiHandoff).where(LtiHandoff.token_hash == sha256_hex(token))).first()
    if row is None or row.used_at is not None or row.expires_at < now:
        return None
    return row


def spend(*, session: Session, row: LtiHandoff, now: datetime) -> bool:
    """Mark the ticket used (one conditional UPDATE: two tabs cannot both spend it)."""
    result = session.exec(
        update(LtiHandoff)
        .where(col(LtiHandoff.id) == row.id, col(LtiHandoff.used_at).is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)
