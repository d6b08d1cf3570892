"""Builders shared by the tests, the end-to-end stack and the benchmarks: databases, people, sessions, scores.

Each builder adds rows to a session and flushes; the caller commits (as a request would). Benchmarks run as
scripts import this module after putting the repository root on ``sys.path``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from lms.auth.models import ApiToken
from lms.auth.sessions import create_session
from lms.auth.tokens import new_api_secret, sha256_hex
from lms.reading.models import Attempt, SkillEstimate
from lms.roster.models import Enrollment, SchoolClass, User


@contextmanager
def fresh_postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database ``<prefix>_<random>`` on the server of ``admin_url``; its URL.

    Dropped afterwards (``WITH (FORCE)``: a benchmark's server may still hold connections)."""
    from lms.core.db import dispose_engine, make_engine
    from lms.migrations import upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        dispose_engine(url)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


_Row = TypeVar("_Row", bound=SQLModel)


def enrol(
    session: Session,
    *,
    user: User,
    klass: SchoolClass,
    role: str = "student",
    number: int | None = None,
    sourced_id: str | None = None,
) -> Enrollment:
    """An active enrolment of ``user`` in ``klass`` (``number`` is the 出席番号)."""
    enrollment = Enrollment(
        sourced_id=sourced_id or f"e-{user.username}-{klass.sourced_id}",
        class_id=pk(klass),
        user_id=pk(user),
        school_id=klass.school_id,
        role=role,
        shusseki_no=number,
    )
    session.add(enrollment)
    return enrollment


def add_member(
    session: Session,
    *,
    klass: SchoolClass,
    username: str,
    role: str = "student",
    number: int | None = None,
    enrollment_id: str | None = None,
    **fields: Any,
) -> User:
    """A user of ``klass``'s school enrolled in it (``fields``: names, password hash, grades …)."""
    fields.setdefault("primary_org_id", klass.school_id)
    user = User(username=username, role=role, **fields)
    session.add(user)
    session.flush()
    enrol(session, user=user, klass=klass, role=role, number=number, sourced_id=enrollment_id)
    return user


def signed_in(session: Session, user: User, now: datetime) -> str:
    """The raw cookie value of a fully signed-in browser session of ``user``."""
    _row, raw = create_session(session=session, user=user, stage="full", ip=None, user_agent=None, now=now)
    return raw


def bearer_secret(session: Session, user: User, scopes: str, name: str = "test") -> str:
    """A stored API token of ``user`` (any role, unlike the token page) with space-separated ``scopes``."""
    secret = new_api_secret()
    session.add(
        ApiToken(
            user_id=pk(user), name=name, token_hash=sha256_hex(secret), prefix=secret[:12], scopes=scopes
        )
    )
    return secret


def skill_estimate(
    attempt: Attempt,
    skill: str,
    score: int,
    *,
    band: int,
    guessing: bool = False,
    se: float = 0.4,
    n_items: int = 3,
    **fields: Any,
) -> SkillEstimate:
    """A per-skill result of ``attempt`` on the reporting scale (θ = (score − 500) / 100 unless given)."""
    theta = fields.pop("theta", (score - 500) / 100)
    return SkillEstimate(
        student_id=attempt.student_id,
        attempt_id=pk(attempt),
        skill=skill,
        theta=theta,
        se=se,
        scale_score=score,
        band=band,
        guessing=guessing,
        n_items=n_items,
        **fields,
    )


def pk(row: SQLModel) -> int:
    """The primary key of a stored row (``id`` is ``int | None`` until the row is flushed)."""
    value = getattr(row, "id", None)
    assert isinstance(value, int), f"{type(row).__name__} has no id yet: add and flush it first"
    return value


def get_row(session: Session, model: type[_Row], row_id: object) -> _Row:
    """The row with that primary key, which the test expects to exist."""
    row = session.get(model, row_id)
    assert row is not None, f"no {model.__name__} {row_id!r}"
    return row


def found(pattern: str, text: str, group: int = 1) -> str:
    """A group of the first match of ``pattern`` in a page, which the test expects to be there."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in the page: {text[:300]!r}"
    return match.group(group)
