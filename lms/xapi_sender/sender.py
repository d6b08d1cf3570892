"""Drain the outbox: claim a batch, POST it to the LRS, mark what was stored, back off on failure.

One round (`send_once`): claim up to ``batch_size`` rows (short transaction, committed), POST them as one
JSON array to ``<lrs_url>/statements`` with ``X-Experience-API-Version: 1.0.3`` and basic auth, then mark
them (second short transaction).  Outcomes:

* 200/204: every statement of the batch is stored.
* 400/409/413/422 for a batch of several: one statement spoils the batch, so each is POSTed alone and marked
  by its own answer (a 409 for a lone statement means the LRS holds a *different* statement with that id).
* network errors, 401/403, 429, 5xx: nothing is stored; every row gets a try and the backoff.

Statements without an ``id`` get ``uuid5(NAMESPACE_URL, "giga-xapi:" + text)`` before sending, so a resend
after a lost answer is recognised by the LRS as the same statement (xAPI: equal ids with equal content
are not stored twice).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from lms.core import outbox_worker
from lms.core.db import session_scope, utc_now
from lms.xapi_sender.outbox import Claimed, claim_batch, mark_failed, mark_sent
from lms.xapi_sender.settings import XapiSettings

XAPI_VERSION = "1.0.3"
BATCH_SPOILERS = {400, 409, 413, 422}  # 422: LRSs built on pydantic (ralph) refuse bad statements so


@dataclass
class SendReport:
    """What one round did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"claimed {self.claimed}, sent {self.sent}, failed {self.failed}"


def make_client(settings: XapiSettings) -> httpx.Client:
    """An HTTP client with the xAPI version header and the configured basic auth."""
    auth = httpx.BasicAuth(settings.lrs_username, settings.lrs_password) if settings.lrs_username else None
    return httpx.Client(
        auth=auth,
        timeout=settings.timeout_seconds,
        headers={"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"},
    )


def with_id(claimed: Claimed) -> dict[str, Any]:
    """The statement with a stable ``id`` (its own, or one derived from the stored text)."""
    assert claimed.statement is not None
    statement = dict(claimed.statement)
    if not statement.get("id"):
        statement["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "giga-xapi:" + claimed.raw))
    return statement


def _describe(response: httpx.Response) -> str:
    body = response.text.strip().replace("\n", " ")
    return f"HTTP {response.status_code}: {body[:300]}"


def _post(client: httpx.Client, url: str, statements: list[dict[str, Any]]) -> httpx.Response:
    payload = json.dumps(statements, ensure_ascii=False, separators=(",", ":")).encode()
    return client.post(url, content=payload, headers={"X-Experience-API-Version": XAPI_VERSION})


def deliver(
    client: httpx.Client, settings: XapiSettings, batch: list[Claimed]
) -> tuple[list[int], dict[int, str]]:
    """POST ``batch``; return the ids stored by the LRS and the error of every other row."""
    failures: dict[int, str] = {}
    ready = []
    for row in batch:
        if row.statement is None:
            failures[row.id] = "the stored statement is not a JSON object"
        else:
            ready.append(row)
    if not ready:
        return [], failures
    url = settings.statements_url
    try:
        response = _post(client, url, [with_id(row) for row in ready])
    except httpx.HTTPError as error:
        message = f"cannot reach the LRS ({type(error).__name__}: {error})"
        return [], failures | {row.id: message for row in ready}
    if response.is_success:
        return [row.id for row in ready], failures
    if response.status_code not in BATCH_SPOILERS or len(ready) == 1:
        message = _describe(response)
        return [], failures | {row.id: message for row in ready}
    sent: list[int] = []
    for row in ready:  # isolate the statement(s) the LRS refuses
        try:
            single = _post(client, url, [with_id(row)])
        except httpx.HTTPError as error:
            failures[row.id] = f"cannot reach the LRS ({type(error).__name__}: {error})"
            continue
        if single.is_success:
            sent.append(row.id)
        else:
            failures[row.id] = _describe(single)
    return sent, failures


def send_once(
    *,
    engine: Engine,
    settings: XapiSettings,
    client: httpx.Client,
    clock: Callable[[], datetime] = utc_now,
) -> SendReport:
    """One round: claim, send, mark (see the module docstring)."""
    report = SendReport()
    with session_scope(engine) as session:
        batch = claim_batch(
            session=session,
            now=clock(),
            limit=settings.batch_size,
            lease=timedelta(seconds=settings.lease_seconds),
            max_tries=settings.max_tries,
        )
    report.claimed = len(batch)
    if not batch:
        return report
    sent, failures = deliver(client, settings, batch)
    with session_scope(engine) as session:
        now = clock()
        mark_sent(session=session, ids=sent, now=now)
        mark_failed(
            session=session,
            failures=failures,
            tries={row.id: row.tries for row in batch},
            now=now,
            base_seconds=settings.backoff_base_seconds,
            max_seconds=settings.backoff_max_seconds,
        )
    report.sent = len(sent)
    report.failed = len(failures)
    report.errors = sorted(set(failures.values()))
    return report


def drain(
    *, engine: Engine, settings: XapiSettings, client: httpx.Client, clock: Callable[[], datetime] = utc_now
) -> SendReport:
    """Rounds until nothing claimable is left or a round fails; the totals of all rounds."""
    total = SendReport()
    while True:
        report = send_once(engine=engine, settings=settings, client=client, clock=clock)
        total.claimed += report.claimed
        total.sent += report.sent
        total.failed += report.failed
        total.errors += [e for e in report.errors if e not in total.errors]
        if report.claimed == 0 or report.failed:
            return total


def run_forever(
    *,
    engine: Engine,
    settings: XapiSettings,
    client: httpx.Client,
    stop: threading.Event,
    on_round: Callable[[SendReport], None] | None = None,
) -> None:
    """The worker loop of ``giga xapi send``: drain, then sleep ``poll_seconds``; until ``stop`` is set."""
    outbox_worker.loop(
        lambda: drain(engine=engine, settings=settings, client=client),
        stop=stop,
        poll_seconds=settings.poll_seconds,
        on_round=on_round,
    )
