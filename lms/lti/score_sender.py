"""Send queued scores to the platforms' gradebooks (AGS): claim with a lease, POST, mark sent or back off.

The queue discipline is the xAPI outbox's (`lms.xapi_sender.outbox`): a short transaction claims the oldest
sendable rows by setting ``locked_until`` (the lease), the HTTP calls run outside any transaction, a second
short transaction marks each row. A failed row gets ``tries + 1``, waits ``min(6 h, 30 s · 2^(tries − 1))``;
after `MAX_TRIES` it is parked (left for `score_counts` to report). A worker that dies lets its lease expire.

Each row: the platform's token (client credentials, cached), the line item's URL (found by our ``resourceId``
or created when the launch never named it), then ``POST <lineitem>/scores``. Resending is harmless: the
score's timestamp is fixed when it is queued, and the platform ignores a score not newer than what it holds
(it may answer 409, which we count as delivered).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from lms.core import outbox_worker
from lms.core.db import session_scope, utc_now
from lms.lti import ags, nrps, service_urls
from lms.lti.keys import tool_signing_key
from lms.lti.models import LtiContext, LtiPlatform, LtiUserLink
from lms.lti.service_models import LtiContextServices, LtiLineItem, LtiScoreOutbox
from lms.lti.services_token import (
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_SCORE,
    PlatformUnavailable,
    ServiceError,
    TokenCache,
    TokenEndpoint,
    ToolKey,
    default_cache,
)
from lms.roster.models import User
from lms.xapi_sender.outbox import backoff_delay

BATCH_SIZE = 50
LEASE = timedelta(seconds=120)
MAX_TRIES = 20
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 6 * 3600.0
MAX_ERROR_CHARS = 2000
DELIVERED = {200, 201, 202, 204, 409}  # 409: the platform holds this score or a newer one already


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"claimed {self.claimed}, sent {self.sent}, failed {self.failed}"


@dataclass(frozen=True)
class Job:
    """Everything one POST needs, read in the claiming transaction."""

    row_id: int
    tries: int
    score: dict[str, Any]
    user_sub: str | None
    line_item_id: int
    lineitem_url: str | None
    resource_id: str
    label: str
    score_maximum: float
    lineitems_url: str | None
    scopes: tuple[str, ...]
    endpoint: TokenEndpoint
    memberships_url: str | None = None  # to find the platform's id of a student who never launched
    student_ids: tuple[str, ...] = ()  # the student's OneRoster sourcedId and userMasterIdentifier
    origins: frozenset[str] = frozenset()  # the platform's registered origins (`lms.lti.service_urls`)


def callable_url(url: str, job: Job, what: str) -> str:
    """``url`` when the tool may call it with the platform's token (`lms.lti.service_urls`), checked again
    right before each call (a stored URL's name may resolve elsewhere by now); else `ServiceError`."""
    if service_urls.accepted_for(url, origins=job.origins) is None:
        raise ServiceError(
            f"the {what} URL {url[:200]} is not one the tool may call (not the platform's registered origin "
            "nor an https host resolving only to public addresses)"
        )
    return url


def _sendable(now: datetime) -> Any:
    return and_(
        col(LtiScoreOutbox.sent_at).is_(None),
        col(LtiScoreOutbox.tries) < MAX_TRIES,
        or_(col(LtiScoreOutbox.locked_until).is_(None), col(LtiScoreOutbox.locked_until) <= now),
    )


def _latest_subs(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The platform's ``sub`` of each (platform, student) pair, from its newest launch: one query."""
    if not pairs:
        return {}
    platforms, students = {p for p, _ in pairs}, {s for _, s in pairs}
    links = session.exec(
        select(LtiUserLink)
        .where(col(LtiUserLink.platform_id).in_(platforms), col(LtiUserLink.user_id).in_(students))
        .order_by(col(LtiUserLink.last_launch_at).desc().nulls_last(), col(LtiUserLink.id).desc())
    ).all()
    found: dict[tuple[int, int], str] = {}
    for link in links:  # newest first: the first of each pair wins
        found.setdefault((link.platform_id, link.user_id), link.sub)
    return {pair: sub for pair, sub in found.items() if pair in pairs}


def _jobs(session: Session, row_ids: list[int]) -> list[Job]:
    """The jobs of the claimed rows, in id order: one joined query for the rows with their line item,
    context, platform and services, one for their students, one for the students' platform ids — three
    per batch, whatever its size (was six per row)."""
    rows = session.exec(
        select(LtiScoreOutbox, LtiLineItem, LtiPlatform, LtiContextServices)
        .join(LtiLineItem, col(LtiLineItem.id) == col(LtiScoreOutbox.line_item_id))
        .join(LtiContext, col(LtiContext.id) == col(LtiLineItem.lti_context_id))
        .join(LtiPlatform, col(LtiPlatform.id) == col(LtiContext.platform_id))
        .outerjoin(LtiContextServices, col(LtiContextServices.lti_context_id) == col(LtiContext.id))
        .where(col(LtiScoreOutbox.id).in_(row_ids))
        .order_by(col(LtiScoreOutbox.id))
    ).all()
    student_ids = {row.student_id for row, *_ in rows}
    students = {
        user.id: user for user in session.exec(select(User).where(col(User.id).in_(student_ids))).all()
    }
    subs = _latest_subs(session, {(pk_of(platform), row.student_id) for row, _, platform, _ in rows})
    return [
        Job(
            row_id=pk_of(row),
            tries=row.tries,
            score=json.loads(row.score),
            user_sub=subs.get((pk_of(platform), row.student_id)),
            line_item_id=pk_of(line_item),
            lineitem_url=line_item.lineitem_url,
            resource_id=line_item.resource_id,
            label=line_item.label,
            score_maximum=line_item.score_maximum,
            lineitems_url=services.lineitems_url if services else None,
            scopes=tuple(services.ags_scopes) if services else (),
            endpoint=TokenEndpoint(token_url=platform.auth_token_url, client_id=platform.client_id),
            memberships_url=services.memberships_url if services else None,
            student_ids=_roster_ids(students.get(row.student_id)),
            origins=service_urls.registered_origins(platform),
        )
        for row, line_item, platform, services in rows
    ]


def _roster_ids(student: User | None) -> tuple[str, ...]:
    """The student's OneRoster sourcedId and userMasterIdentifier (those it has)."""
    if student is None:
        return ()
    return tuple(i for i in (student.sourced_id, student.user_master_identifier) if i)


def pk_of(row: LtiScoreOutbox | LtiLineItem | LtiPlatform) -> int:
    assert row.id is not None
    return row.id


def claim(*, session: Session, now: datetime, limit: int = BATCH_SIZE) -> list[Job]:
    """Lease up to ``limit`` of the oldest sendable rows; flush (the caller commits before sending)."""
    pick = select(LtiScoreOutbox.id).where(_sendable(now)).order_by(col(LtiScoreOutbox.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = [int(i) for i in session.exec(pick) if i is not None]
    if not ids:
        return []
    taken = session.execute(
        update(LtiScoreOutbox)
        .where(col(LtiScoreOutbox.id).in_(ids), _sendable(now))
        .values(locked_until=now + LEASE)
        .returning(col(LtiScoreOutbox.id))
        .execution_options(synchronize_session=False)
    ).scalars()
    taken_ids = sorted(int(i) for i in taken)
    session.flush()
    return _jobs(session, taken_ids)


def _scores_url(lineitem_url: str) -> str:
    """``<lineitem>/scores``, keeping a query string where the platform put one (AGS §3.4)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def _describe(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code} from {response.request.url}: {body[:300]}"


def _check(response: httpx.Response) -> None:
    if response.status_code >= 500:
        raise PlatformUnavailable(_describe(response))
    if not response.is_success:
        raise ServiceError(_describe(response))


def find_or_create_line_item(client: httpx.Client, job: Job, token: str) -> str:
    """The line item's URL: searched by our ``resourceId``, else created (needs the lineitem scope)."""
    if not job.lineitems_url:
        raise ServiceError(
            "the platform announced no line item URL for this context (no AGS lineitems claim)"
        )
    auth = {"Authorization": f"Bearer {token}"}
    lineitems_url = callable_url(job.lineitems_url, job, "line items")
    try:
        found = client.get(
            lineitems_url,
            params={"resource_id": job.resource_id},
            headers={**auth, "Accept": ags.LINEITEMS_MEDIA_TYPE},
        )
        _check(found)
        items = found.json()
        items = items if isinstance(items, list) else items.get("content", [])  # lti1p3platform pages
        for item in items:
            if item.get("resourceId") == job.resource_id and isinstance(item.get("id"), str):
                return callable_url(str(item["id"]), job, "found line item's")
        if SCOPE_LINEITEM not in job.scopes:
            raise ServiceError("the line item is not on the platform and the tool may not create one")
        created = client.post(
            lineitems_url,
            json={"label": job.label, "scoreMaximum": job.score_maximum, "resourceId": job.resource_id},
            headers={**auth, "Content-Type": ags.LINEITEM_MEDIA_TYPE, "Accept": ags.LINEITEM_MEDIA_TYPE},
        )
        _check(created)
        return callable_url(str(created.json()["id"]), job, "created line item's")
    except httpx.HTTPError as error:
        raise PlatformUnavailable(f"cannot reach the platform ({type(error).__name__}: {error})") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ServiceError(f"unreadable line item answer ({error})") from error


def member_id(
    client: httpx.Client, job: Job, *, key: ToolKey, cache: TokenCache, rosters: dict[str, list[nrps.Member]]
) -> str | None:
    """The platform's id of a student who never launched from it (signed in with a password or a QR card):
    the context's membership (NRPS, read once per round) names them by OneRoster sourcedId or
    userMasterIdentifier. Nothing is stored: the launch keeps the only links."""
    if job.memberships_url is None or not job.student_ids:
        return None
    if job.memberships_url not in rosters:
        url = callable_url(job.memberships_url, job, "membership")
        token = cache.get(client, endpoint=job.endpoint, key=key, scopes={SCOPE_NRPS})
        rosters[job.memberships_url] = nrps.fetch_members(client, url=url, token=token)
    for member in rosters[job.memberships_url]:
        if member.sourced_id in job.student_ids or member.user_id in job.student_ids:
            return member.user_id
    return None


def deliver(
    client: httpx.Client,
    job: Job,
    *,
    key: ToolKey,
    cache: TokenCache,
    rosters: dict[str, list[nrps.Member]] | None = None,
) -> str | None:
    """POST one score; the line item URL it found on the way (to store), or raise `ServiceError`."""
    user_sub = job.user_sub or member_id(
        client, job, key=key, cache=cache, rosters={} if rosters is None else rosters
    )
    if user_sub is None:
        raise ServiceError(
            "the platform's id of the student is unknown: they never launched from it and its membership "
            "(NRPS) does not name their sourcedId"
        )
    scopes = {SCOPE_SCORE}
    if job.lineitem_url is None:
        scopes.add(SCOPE_LINEITEM if SCOPE_LINEITEM in job.scopes else SCOPE_LINEITEM_READONLY)
    token = cache.get(client, endpoint=job.endpoint, key=key, scopes=scopes)
    found = None
    lineitem_url = job.lineitem_url
    if lineitem_url is None:
        lineitem_url = found = find_or_create_line_item(client, job, token)
    lineitem_url = callable_url(lineitem_url, job, "line item")
    try:
        response = client.post(
            _scores_url(lineitem_url),
            content=json.dumps({**job.score, "userId": user_sub}, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": ags.SCORE_MEDIA_TYPE},
        )
    except httpx.HTTPError as error:
        raise PlatformUnavailable(f"cannot reach the platform ({type(error).__name__}: {error})") from error
    if response.status_code == 401:
        cache.forget(job.endpoint)  # revoked or expired early: the next try asks for a new token
    if response.status_code not in DELIVERED:
        _check(response)
        raise ServiceError(_describe(response))
    return found


def send_once(
    *,
    engine: Engine,
    client: httpx.Client,
    cache: TokenCache = default_cache,
    clock: Callable[[], datetime] = utc_now,
) -> SendReport:
    """One round: claim, send each, mark."""
    report = SendReport()
    with session_scope(engine) as session:
        jobs = claim(session=session, now=clock())
        kid, private_key = tool_signing_key(session) if jobs else ("", None)
    report.claimed = len(jobs)
    if not jobs:
        return report
    key = ToolKey(kid, private_key)
    sent: list[int] = []
    found_urls: dict[int, str] = {}
    failures: dict[int, tuple[int, str]] = {}
    rosters: dict[str, list[nrps.Member]] = {}
    for job in jobs:
        try:
            url = deliver(client, job, key=key, cache=cache, rosters=rosters)
        except ServiceError as error:
            failures[job.row_id] = (job.tries, error.message)
            continue
        sent.append(job.row_id)
        if url is not None:
            found_urls[job.line_item_id] = url
    with session_scope(engine) as session:
        now = clock()
        mark(session=session, sent=sent, failures=failures, found_urls=found_urls, now=now)
    report.sent, report.failed = len(sent), len(failures)
    report.errors = sorted({message for _, message in failures.values()})
    return report


def mark(
    *,
    session: Session,
    sent: list[int],
    failures: dict[int, tuple[int, str]],
    found_urls: dict[int, str],
    now: datetime,
) -> None:
    """Record a round's outcome: sent rows, failed rows held back for the backoff, line item URLs found."""
    if sent:
        session.execute(
            update(LtiScoreOutbox)
            .where(col(LtiScoreOutbox.id).in_(sent))
            .values(sent_at=now, locked_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
    for row_id, (tries, error) in failures.items():
        count = tries + 1
        delay = backoff_delay(count, base_seconds=BACKOFF_BASE_SECONDS, max_seconds=BACKOFF_MAX_SECONDS)
        session.execute(
            update(LtiScoreOutbox)
            .where(col(LtiScoreOutbox.id) == row_id)
            .values(tries=count, last_error=error[:MAX_ERROR_CHARS], locked_until=now + delay)
            .execution_options(synchronize_session=False)
        )
    for line_item_id, url in found_urls.items():
        session.execute(
            update(LtiLineItem)
            .where(col(LtiLineItem.id) == line_item_id, col(LtiLineItem.lineitem_url).is_(None))
            .values(lineitem_url=url)
            .execution_options(synchronize_session=False)
        )
    session.flush()


def drain(*, engine: Engine, client: httpx.Client, cache: TokenCache = default_cache) -> SendReport:
    """Rounds until nothing is sendable or a round fails; the totals."""
    total = SendReport()
    while True:
        report = send_once(engine=engine, client=client, cache=cache)
        total.claimed += report.claimed
        total.sent += report.sent
        total.failed += report.failed
        total.errors += [e for e in report.errors if e not in total.errors]
        if report.claimed == 0 or report.failed:
            return total


def run_forever(
    *,
    engine: Engine,
    client: httpx.Client,
    stop: threading.Event,
    poll_seconds: float = 10.0,
    on_round: Callable[[SendReport], None] | None = None,
) -> None:
    """The worker loop of ``giga lti-scores send``: drain, sleep, until ``stop`` is set."""
    outbox_worker.loop(
        lambda: drain(engine=engine, client=client), stop=stop, poll_seconds=poll_seconds, on_round=on_round
    )


def score_counts(*, session: Session, now: datetime) -> dict[str, int]:
    """How many scores are sent, ready, waiting (lease or backoff) and parked."""

    def count(condition: Any) -> int:
        statement = select(func.count()).select_from(LtiScoreOutbox).where(condition)
        return int(session.exec(statement).one())

    total = count(col(LtiScoreOutbox.id).is_not(None))
    out = {
        "sent": count(col(LtiScoreOutbox.sent_at).is_not(None)),
        "ready": count(_sendable(now)),
        "parked": count(and_(col(LtiScoreOutbox.sent_at).is_(None), col(LtiScoreOutbox.tries) >= MAX_TRIES)),
    }
    out["waiting"] = total - out["sent"] - out["ready"] - out["parked"]
    return out


def waiting_rows(*, session: Session, limit: int = 20) -> list[LtiScoreOutbox]:
    """The oldest scores not yet delivered (with their last error), for the administrator's page."""
    return list(
        session.exec(
            select(LtiScoreOutbox)
            .where(col(LtiScoreOutbox.sent_at).is_(None))
            .order_by(col(LtiScoreOutbox.id))
            .limit(limit)
        )
    )


def retry_now(*, session: Session) -> int:
    """Make every undelivered score sendable now (parked ones too), once the cause is fixed; how many."""
    result = session.execute(
        update(LtiScoreOutbox)
        .where(col(LtiScoreOutbox.sent_at).is_(None))
        .values(tries=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
