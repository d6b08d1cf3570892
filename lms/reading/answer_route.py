"""The answer route's work on its thread: who is asking, and the answer, in one transaction.

Every other API request looks its browser session up first (`lms.auth.deps.current_session`: one SELECT
of the session and user entities), then the route loads what it needs.  The answer is the platform's hot
path (issue 4), so here the session row, the user's sign-in columns and the attempt's `AnswerFacts` are
read by one SELECT of plain columns that also locks the attempt row.  The rules applied to what it reads
are the same functions every request uses — `session_usable`, `touch_due`, `check_browser_session`,
`check_session_gate`, `refuse_board` — and the answer is checked, planned, written and acknowledged by
the functions `answers.answer_with_facts` uses on the general path (`plan_answer`, `write_answer`,
`new_answer_ack`).

This fast path runs on a plain Core connection (no ORM session) and serves the common case only: a new
answer that does not end the test.  Everything else is handed, after a rollback, to the general path
(session lookup, API gate, `answers.submit_answer`), which answers exactly like every other route: no row
(no such session, or not this user's attempt: 401 or 404), a session that must be deleted (timed out,
user disabled), an API token (scopes are the gate's business), a retry or a second answer to an item, the
last answer (scoring uses ORM entities), a unique-constraint race.  Those are rare; their cost is the
work done twice.  Errors the shared checks raise on the fast path (CSRF, stage, role, a closed window, a
bad option) are raised as they are: the general path would raise the same.
"""

from __future__ import annotations

from sqlalchemy import String, bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from starlette.requests import Request

from lms.auth.deps import api_principal, bearer_token, check_browser_session, current_session
from lms.auth.models import AuthSession
from lms.auth.sessions import SESSION_COOKIE, session_usable, touch_due
from lms.auth.tokens import sha256_hex
from lms.core import driver as db_driver
from lms.core.clock import Clock
from lms.core.db import UTCDateTime, get_engine, session_scope
from lms.core.settings import Settings
from lms.permissions import api_gate, check_session_gate
from lms.reading import answers, attempts, authoring
from lms.reading.models import Attempt
from lms.reading.xapi import XapiContext
from lms.roster.models import User


class _GeneralPath(Exception):
    """The request needs the general path (raised inside the transaction, so that it rolls back)."""


def answer_in_one_call(
    request: Request,
    attempt_id: int,
    answer: authoring.AnswerIn,
    settings: Settings,
    clock: Clock,
    ctx: XapiContext,
) -> answers.Ack:
    """Identify the caller, check the gate, store the answer and commit, on one thread; the ack is returned
    only after the commit (an error rolls back)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw and bearer_token(request) is None:
        with get_engine(request).connect() as connection:
            try:
                ack = _answer_for_cookie(connection, request, raw, attempt_id, answer, settings, clock, ctx)
                connection.commit()
                return ack
            except _GeneralPath:
                connection.rollback()
            except BaseException:
                connection.rollback()
                raise
    with session_scope(get_engine(request)) as session:
        loaded = current_session(request, session, settings, clock)
        api_gate(request, session, settings, clock, loaded)
        principal = api_principal(request, session, settings, clock, loaded)  # cached by the gate
        return answers.submit_answer(
            session=session,
            student=principal.user,
            attempt_id=attempt_id,
            answer=answer,
            now=clock.now(),
            ctx=ctx,
        )


def _answer_for_cookie(
    connection: Connection,
    request: Request,
    raw: str,
    attempt_id: int,
    answer: authoring.AnswerIn,
    settings: Settings,
    clock: Clock,
    ctx: XapiContext,
) -> answers.Ack:
    now = clock.now()
    params = {
        "p_attempt": attempt_id,
        "p_token_hash": sha256_hex(raw),
        "p_event": answer.client_event_id,
        "p_item": answer.item_id,
        "p_now": now,
    }
    if connection.dialect.name == "sqlite":
        # SQLite has no row locks (FOR UPDATE is left out): take its database write lock first.
        connection.execute(_SQLITE_LOCK_BY_SESSION, params)
    rows = db_driver.execute(connection, _FACTS_BY_SESSION, params)
    if not rows:
        raise _GeneralPath
    row = rows[0]
    usable = session_usable(
        user_enabled=row.user_enabled,
        user_status=row.user_status,
        created_at=row.session_created_at,
        last_seen_at=row.session_last_seen_at,
        settings=settings,
        now=now,
    )
    if not usable:
        raise _GeneralPath
    if touch_due(row.session_last_seen_at, now):
        db_driver.execute(connection, _TOUCH_SESSION, {"p_session": row.session_id, "p_now": now})
    check_browser_session(request, row.session_stage, settings)
    check_session_gate(request, row.user_role)
    attempts.refuse_board(row.user_role)
    request.state.user_id = row.student_id  # for the access log
    facts = answers.answer_facts(rows)
    if facts.stored:  # a retry, or a second answer to the item: the general path answers it
        raise _GeneralPath
    planned = answers.plan_answer(facts=facts, answer=answer, now=now, ctx=ctx)
    if planned.state.finished:  # scoring the attempt uses ORM entities: once per test
        raise _GeneralPath
    try:
        answers.write_answer(connection, planned)
    except IntegrityError:  # the event id stored meanwhile for another attempt
        raise _GeneralPath from None
    return answers.new_answer_ack(facts, planned, answer)


_SESSION = AuthSession.__table__  # type: ignore[attr-defined]
_P_NOW = bindparam("p_now", type_=UTCDateTime())
_P_TOKEN_HASH = bindparam("p_token_hash", type_=String())

# The attempt's facts, for the user of the session with this token hash (an inner join: no row when the
# attempt is not theirs or the session does not exist), with the session's and user's sign-in columns.
_FACTS_BY_SESSION = (
    answers.answer_facts_select(
        col(AuthSession.id).label("session_id"),
        col(AuthSession.stage).label("session_stage"),
        col(AuthSession.created_at).label("session_created_at"),
        col(AuthSession.last_seen_at).label("session_last_seen_at"),
        col(User.enabled).label("user_enabled"),
        col(User.status).label("user_status"),
        col(User.role).label("user_role"),
    )
    .join(AuthSession, col(AuthSession.user_id) == col(User.id))
    .where(col(AuthSession.token_hash) == _P_TOKEN_HASH)
)
_SQLITE_LOCK_BY_SESSION = (
    update(Attempt.__table__)  # type: ignore[attr-defined]
    .where(
        col(Attempt.id) == bindparam("p_attempt"),
        col(Attempt.student_id)
        == select(col(AuthSession.user_id))
        .where(col(AuthSession.token_hash) == _P_TOKEN_HASH)
        .scalar_subquery(),
    )
    .values(last_seen_at=_P_NOW)
)
_TOUCH_SESSION = update(_SESSION).where(_SESSION.c.id == bindparam("p_session")).values(last_seen_at=_P_NOW)
