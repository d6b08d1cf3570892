"""The outbox sender: leases, batches, retries with backoff, isolation of a refused statement, parking.

The LRS here is an in-process fake (httpx.MockTransport) that checks every statement with the strict
validator and can be told to fail; `test_xapi_ralph.py` runs the same sender against a real LRS.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lms.reading.models import XapiOutbox
from lms.xapi_sender.outbox import backoff_delay, claim_batch, outbox_counts
from lms.xapi_sender.sender import deliver, drain, send_once
from lms.xapi_sender.settings import XapiSettings
from lms.xapi_sender.validate import statement_problems

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HOME = "https://giga.example.jp"


def answered_statement(n: int, **changes: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": f"p{n:04d}"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"ja-JP": "解答した"}},
        "object": {
            "objectType": "Activity",
            "id": f"{HOME}/xapi/items/ANA-{n % 100:03d}",
            "definition": {
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "interactionType": "choice",
                "correctResponsesPattern": ["B"],
            },
        },
        "result": {
            "score": {"scaled": 1.0, "raw": 1, "min": 0, "max": 1},
            "success": True,
            "duration": "PT8.5S",
        },
        "context": {
            "registration": str(uuid.uuid4()),
            "contextActivities": {"grouping": [{"id": f"{HOME}/xapi/attempts/{n}"}]},
            "language": "ja-JP",
            "platform": "GIGA Learning Platform",
            "extensions": {"https://w3id.org/japan-xapi/extensions/question-order": 1 + n % 20},
        },
        "timestamp": "2026-06-01T09:00:00+00:00",
        "version": "1.0.3",
    }
    statement.update(changes)
    return statement


class FakeLrs:
    """Stores valid statements by id; answers 400 for an invalid one; can fail on demand."""

    def __init__(self, username: str = "giga", password: str = "s3cret") -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.fail_with: int | None = None
        self.down = False
        self.auth = "Basic " + __import__("base64").b64encode(f"{username}:{password}".encode()).decode()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("authorization") != self.auth:
            return httpx.Response(401, json={"detail": "Invalid authentication credentials"})
        if request.headers.get("x-experience-api-version") != "1.0.3":
            return httpx.Response(400, json={"detail": "X-Experience-API-Version header missing"})
        if self.fail_with is not None:
            return httpx.Response(self.fail_with, text="temporarily unavailable")
        body = json.loads(request.content)
        statements = body if isinstance(body, list) else [body]
        for statement in statements:
            problems = statement_problems(statement)
            if problems:
                return httpx.Response(400, json={"detail": problems})
        for statement in statements:
            self.stored.setdefault(statement["id"], statement)
        return httpx.Response(200, json=[s["id"] for s in statements])


@pytest.fixture
def xapi() -> XapiSettings:
    return XapiSettings(
        lrs_url="http://lrs.test/xAPI/",
        lrs_username="giga",
        lrs_password="s3cret",
        batch_size=10,
        backoff_base_seconds=30,
        backoff_max_seconds=600,
        max_tries=3,
    )


def client_for(lrs: FakeLrs, settings: XapiSettings) -> httpx.Client:
    from lms.xapi_sender.sender import make_client

    client = make_client(settings)
    client._transport = httpx.MockTransport(lrs)
    return client


def fill_outbox(engine: Engine, statements: list[Any]) -> list[int]:
    with Session(engine) as session:
        rows = [
            XapiOutbox(
                statement=s if isinstance(s, str) else json.dumps(s, ensure_ascii=False), created_at=T0
            )
            for s in statements
        ]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows if r.id is not None]


def rows(engine: Engine) -> dict[int, XapiOutbox]:
    with Session(engine) as session:
        return {r.id: r for r in session.exec(select(XapiOutbox)) if r.id is not None}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_batches_are_posted_with_headers_and_marked_sent(engine: Engine, xapi: XapiSettings) -> None:
    ids = fill_outbox(engine, [answered_statement(n) for n in range(25)])
    lrs = FakeLrs()
    with client_for(lrs, xapi) as client:
        report = drain(engine=engine, settings=xapi, client=client, clock=Clock(T0))
    assert (report.claimed, report.sent, report.failed) == (25, 25, 0)
    assert len(lrs.requests) == 3  # batches of 10, 10, 5
    assert str(lrs.requests[0].url) == "http://lrs.test/xAPI/statements"
    assert len(lrs.stored) == 25
    state = rows(engine)
    assert all(state[i].sent_at == T0 and state[i].locked_until is None for i in ids)
    with Session(engine) as session:
        assert outbox_counts(session=session, now=T0, max_tries=3)["sent"] == 25


def test_a_statement_without_id_gets_a_stable_one(engine: Engine, xapi: XapiSettings) -> None:
    statement = answered_statement(1)
    del statement["id"]
    fill_outbox(engine, [statement])
    lrs = FakeLrs()
    with client_for(lrs, xapi) as client:
        send_once(engine=engine, settings=xapi, client=client, clock=Clock(T0))
    (stored_id,) = lrs.stored
    from lms.xapi_sender.outbox import Claimed
    from lms.xapi_sender.sender import with_id

    raw = json.dumps(statement, ensure_ascii=False)
    assert with_id(Claimed(1, statement, 0, raw))["id"] == stored_id  # a resend would carry the same id
    assert uuid.UUID(stored_id).version == 5


def test_outage_backs_off_exponentially_then_delivers(engine: Engine, xapi: XapiSettings) -> None:
    (row_id,) = fill_outbox(engine, [answered_statement(1)])
    lrs = FakeLrs()
    lrs.fail_with = 503
    clock = Clock(T0)
    with client_for(lrs, xapi) as client:
        report = send_once(engine=engine, settings=xapi, client=client, clock=clock)
        assert (report.sent, report.failed) == (0, 1)
        row = rows(engine)[row_id]
        assert (row.tries, row.sent_at) == (1, None)
        assert row.locked_until == T0 + timedelta(seconds=30)
        assert "HTTP 503" in (row.last_error or "")
        clock.now = T0 + timedelta(seconds=29)  # still backing off: not claimed
        assert send_once(engine=engine, settings=xapi, client=client, clock=clock).claimed == 0
        lrs.down = True
        clock.now = T0 + timedelta(seconds=31)
        send_once(engine=engine, settings=xapi, client=client, clock=clock)
        row = rows(engine)[row_id]
        assert row.tries == 2 and row.locked_until == clock.now + timedelta(seconds=60)
        assert "cannot reach the LRS" in (row.last_error or "")
        lrs.down, lrs.fail_with = False, None
        clock.now += timedelta(seconds=61)
        assert send_once(engine=engine, settings=xapi, client=client, clock=clock).sent == 1
    row = rows(engine)[row_id]
    assert row.sent_at == clock.now and row.last_error is None
    assert len(lrs.stored) == 1


def test_wrong_credentials_fail_every_row(engine: Engine, xapi: XapiSettings) -> None:
    fill_outbox(engine, [answered_statement(n) for n in range(3)])
    lrs = FakeLrs(password="other")
    with client_for(lrs, xapi) as client:
        report = send_once(engine=engine, settings=xapi, client=client, clock=Clock(T0))
    assert (report.sent, report.failed) == (0, 3)
    assert report.errors == ['HTTP 401: {"detail":"Invalid authentication credentials"}']
    assert not lrs.stored


def test_a_refused_statement_is_isolated_and_parked(engine: Engine, xapi: XapiSettings) -> None:
    bad = answered_statement(2, result={"score": {"raw": 1}})  # answered without scaled/max
    ids = fill_outbox(engine, [answered_statement(1), bad, "{not json", answered_statement(3)])
    lrs = FakeLrs()
    clock = Clock(T0)
    with client_for(lrs, xapi) as client:
        report = send_once(engine=engine, settings=xapi, client=client, clock=clock)
        assert (report.sent, report.failed) == (2, 2)
        state = rows(engine)
        assert state[ids[0]].sent_at and state[ids[3]].sent_at
        assert "result.score.scaled" in (state[ids[1]].last_error or "")
        assert state[ids[2]].last_error == "the stored statement is not a JSON object"
        for _ in range(5):  # retried until max_tries, then parked
            clock.now += timedelta(hours=1)
            send_once(engine=engine, settings=xapi, client=client, clock=clock)
    state = rows(engine)
    assert state[ids[1]].tries == 3 and state[ids[1]].sent_at is None
    with Session(engine) as session:
        counts = outbox_counts(session=session, now=clock.now, max_tries=3)
    assert counts == {"sent": 2, "ready": 0, "parked": 2, "waiting": 0}
    assert len(lrs.stored) == 2


def test_a_lease_keeps_other_workers_off_until_it_runs_out(engine: Engine, xapi: XapiSettings) -> None:
    fill_outbox(engine, [answered_statement(n) for n in range(5)])
    lease = timedelta(seconds=120)
    with Session(engine) as first:
        mine = claim_batch(session=first, now=T0, limit=3, lease=lease, max_tries=3)
        first.commit()
    with Session(engine) as second:
        theirs = claim_batch(
            session=second, now=T0 + timedelta(seconds=10), limit=10, lease=lease, max_tries=3
        )
        second.commit()
    assert [c.id for c in mine] == sorted(c.id for c in mine)
    assert not {c.id for c in mine} & {c.id for c in theirs}
    assert len(theirs) == 2
    with Session(engine) as third:  # the first worker died: its lease runs out, the rows come back
        again = claim_batch(
            session=third, now=T0 + lease + timedelta(seconds=1), limit=10, lease=lease, max_tries=3
        )
        third.commit()
    assert {c.id for c in again} == {c.id for c in mine}  # the second worker's lease still holds


def test_concurrent_workers_send_every_statement_once(engine: Engine, xapi: XapiSettings) -> None:
    """Four threads drain 200 rows; the LRS sees each statement id exactly once."""
    n = 200
    fill_outbox(engine, [answered_statement(i) for i in range(n)])
    lrs = FakeLrs()
    seen: list[str] = []
    lock = threading.Lock()

    def recording(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.extend(s["id"] for s in json.loads(request.content))
            return lrs(request)

    settings = xapi.model_copy(update={"batch_size": 7})
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            from lms.xapi_sender.sender import make_client

            with make_client(settings) as client:
                client._transport = httpx.MockTransport(recording)
                drain(engine=engine, settings=settings, client=client)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == n and len(set(seen)) == n
    assert all(r.sent_at is not None for r in rows(engine).values())


def test_backoff_is_capped() -> None:
    assert backoff_delay(1, base_seconds=30, max_seconds=600) == timedelta(seconds=30)
    assert backoff_delay(4, base_seconds=30, max_seconds=600) == timedelta(seconds=240)
    assert backoff_delay(40, base_seconds=30, max_seconds=600) == timedelta(seconds=600)


def test_deliver_without_anything_valid_posts_nothing(xapi: XapiSettings) -> None:
    from lms.xapi_sender.outbox import Claimed

    lrs = FakeLrs()
    with client_for(lrs, xapi) as client:
        sent, failures = deliver(client, xapi, [Claimed(1, None, 0, "[]")])
    assert sent == [] and list(failures) == [1] and not lrs.requests


# --- the command ----------------------------------------------------------------------------------------
def run_cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    from typer.testing import CliRunner

    from lms.core.settings import get_settings
    from lms.xapi_sender.cli import xapi_app

    get_settings.cache_clear()  # each command is a new process, reading the environment afresh
    return CliRunner().invoke(xapi_app, args, env=env)


def test_cli_refuses_without_an_lrs_url(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIGA_XAPI_LRS_URL", raising=False)
    result = run_cli(["send", "--once"])
    assert result.exit_code == 2
    assert "GIGA_XAPI_LRS_URL is not set" in result.output
    result = run_cli(["send", "--once"], env={"GIGA_XAPI_LRS_URL": "ftp://x"})
    assert result.exit_code == 2 and "http://" in result.output
    result = run_cli(["send", "--once"], env={"GIGA_XAPI_LRS_URL": "http://x", "GIGA_XAPI_BATCH_SIZE": "0"})
    assert result.exit_code == 2 and "GIGA_XAPI_BATCH_SIZE" in result.output


def test_cli_status_counts(settings: Any, engine: Engine) -> None:
    fill_outbox(engine, [answered_statement(1), answered_statement(2)])
    result = run_cli(["status"])
    assert result.exit_code == 0, result.output
    assert "sent: 0  ready: 2  parked: 0  waiting: 0" in result.output


# --- the strict validator -------------------------------------------------------------------------------
def test_validator_accepts_a_profile_statement_and_names_each_problem() -> None:
    assert statement_problems(answered_statement(1)) == []
    ext = "https://w3id.org/japan-xapi/extensions/"
    cases: dict[str, dict[str, Any]] = {
        "actor.mbox is not allowed": {"actor": {"mbox": "mailto:taro@example.jp"}},
        "verb http://example.jp/liked is not one of the profile's verbs": {
            "verb": {"id": "http://example.jp/liked"}
        },
        "version 1.0.x is required": {"version": "2.0.0"},
        "id must be a UUID": {"id": "42"},
        "'colour' is not an xAPI statement property": {"colour": "red"},
        "timestamp must be ISO 8601 with a time zone": {"timestamp": "2026-06-01 09:00"},
        "result.duration must be an ISO 8601 duration": {
            "result": {"score": {"scaled": 1.0, "raw": 1, "max": 1}, "duration": "8.5 seconds"}
        },
        "context.contextActivities.grouping (the attempt) is required": {
            "context": {"language": "ja-JP", "platform": "GIGA", "contextActivities": {}}
        },
        "unknown Japan profile extension 'scale-score'": {
            "context": {
                "language": "ja-JP",
                "platform": "GIGA",
                "contextActivities": {"grouping": [{"id": "https://giga.example.jp/a/1"}]},
                "extensions": {ext + "scale-score": 512},
            }
        },
        "course-of-study-code must be 16 digits": {
            "context": {
                "language": "ja-JP",
                "platform": "GIGA",
                "contextActivities": {"grouping": [{"id": "https://giga.example.jp/a/1"}]},
                "extensions": {ext + "course-of-study-code": "123"},
            }
        },
    }
    for expected, change in cases.items():
        problems = statement_problems(answered_statement(1, **change))
        assert any(expected in p for p in problems), (expected, problems)
