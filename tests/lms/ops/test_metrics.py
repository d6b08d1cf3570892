"""/metrics (Prometheus text), who may read it, and the JSON access log — through HTTP."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from lms.core.db import utc_now
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment

LOOPBACK = ("127.0.0.1", 40000)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(app: Any) -> str:
    with TestClient(app, client=LOOPBACK) as local:
        response = local.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return str(response.text)


def test_requests_are_counted_by_route_template_never_by_raw_path(app: Any) -> None:
    before = scrape(app)
    with TestClient(app, client=LOOPBACK) as client:
        for attempt_id in (987654, 987655):
            assert client.get(f"/api/v1/attempts/{attempt_id}").status_code == 401
        assert client.get("/no/such/page/424242").status_code == 404
    after = scrape(app)
    route = "/api/v1/attempts/{attempt_id}"
    count = "giga_http_request_duration_seconds_count"
    key = {"method": "GET", "route": route, "status": "401"}
    assert value(after, count, **key) - value(before, count, **key) == 2
    slow = value(after, "giga_http_request_duration_seconds_bucket", **key, le="30.0")
    assert slow - value(before, "giga_http_request_duration_seconds_bucket", **key, le="30.0") == 2
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert value(after, count, **unmatched) >= 1
    # the raw paths appear in no label (values may hold any digits: a float once contained 987654)
    labels = set(re.findall(r'="([^"]*)"', after))
    assert route in labels
    for raw in ("987654", "987655", "424242", "/no/such"):
        assert not [label for label in labels if raw in label]


def test_test_starts_and_saved_answers_are_counted(
    app: Any, client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    before = scrape(app)
    assignment = make_assignment(db_session, world, clock, max_items=5, min_items=5)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    url = f"/api/v1/attempts/{view['attempt_id']}/answers"
    body = answer_body(view["items"][0])
    assert client.post(url, json=body, headers=headers).status_code == 200
    assert client.post(url, json=body, headers=headers).status_code == 200  # the same answer re-sent
    second = answer_body(view["items"][1])
    assert client.post(url, json=second, headers=headers).status_code == 200
    assert client.post(url, json={"item_id": "x"}, headers=headers).status_code == 422  # not saved
    after = scrape(app)
    assert value(after, "giga_test_starts_total") - value(before, "giga_test_starts_total") == 1
    assert value(after, "giga_answers_saved_total") - value(before, "giga_answers_saved_total") == 3


def test_outbox_lag_is_read_from_the_database_at_scrape_time(app: Any, db_session: Session) -> None:
    from lms.reading.models import XapiOutbox

    now = utc_now()
    db_session.add_all(
        [
            XapiOutbox(statement="{}", created_at=now - timedelta(minutes=30)),  # the oldest waiting
            XapiOutbox(statement="{}", created_at=now - timedelta(minutes=5)),
            XapiOutbox(statement="{}", created_at=now - timedelta(hours=3), sent_at=now),  # sent
            XapiOutbox(statement="{}", created_at=now - timedelta(hours=2), tries=99),  # parked
        ]
    )
    db_session.commit()
    text = scrape(app)
    assert value(text, "giga_database_up") == 1
    assert value(text, "giga_xapi_outbox_unsent") == 2
    assert value(text, "giga_xapi_outbox_parked") == 1
    age = value(text, "giga_xapi_outbox_oldest_unsent_age_seconds")
    assert 30 * 60 <= age < 2 * 3600  # the 30-minute-old row, not the sent or the parked one


def test_metrics_are_not_served_beyond_loopback_without_the_token(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lms.main import create_app

    app = create_app(settings.model_copy(update={"metrics_token": "metrics-secret-7f3a"}))
    with TestClient(app) as remote:  # client host "testclient": not loopback
        assert remote.get("/metrics").status_code == 403
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
        allowed = remote.get("/metrics", headers={"Authorization": "Bearer metrics-secret-7f3a"})
        assert allowed.status_code == 200 and "giga_http_request_duration_seconds_count" in allowed.text
    with TestClient(app, client=LOOPBACK) as local:
        assert local.get("/metrics").status_code == 200
        # a reverse proxy on the same host connects from loopback but says whom it forwards
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            assert local.get("/metrics", headers={header: "203.0.113.9"}).status_code == 403
    assert "/metrics" not in app.openapi()["paths"]


@pytest.fixture
def json_log(settings: Any) -> Iterator[tuple[Any, io.StringIO]]:
    """An app with GIGA_LOG_FORMAT=json writing to a buffer; the root logger is put back afterwards."""
    from lms.main import create_app
    from lms.ops import logging as ops_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("uvicorn.access").disabled)
    buffer = io.StringIO()
    original = ops_logging.configure_logging

    def to_buffer(fmt: str, stream: Any = None) -> None:
        original(fmt, stream=buffer)

    ops_logging.configure_logging = to_buffer  # type: ignore[assignment]
    try:
        app = create_app(settings.model_copy(update={"log_format": "json"}))
        yield app, buffer
    finally:
        ops_logging.configure_logging = original
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("uvicorn.access").disabled = saved[2]


def test_json_access_log_has_one_line_per_request_and_no_personal_data(
    json_log: tuple[Any, io.StringIO], world: Any, clock: Any, settings: Any
) -> None:
    from lms.core.clock import get_clock
    from tests.lms.conftest import PASSWORD, csrf_of

    app, buffer = json_log
    app.dependency_overrides[get_clock] = lambda: clock
    with TestClient(app) as client:
        page = client.get("/login")
        signed = client.post(
            "/login",
            data={"username": "s-a1", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        me = client.get("/api/v1/me", headers={"X-Request-ID": "proxy-req-0042"})
        assert me.status_code == 200 and me.headers["x-request-id"] == "proxy-req-0042"
        client.get("/api/v1/attempts/31337")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "lms.access"]
    assert [a["route"] for a in access] == ["/login", "/login", "/api/v1/me", "/api/v1/attempts/{attempt_id}"]
    for line in access:
        assert {"time", "level", "route", "status", "duration_ms", "request_id", "method"} <= set(line)
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    me_line = access[2]
    assert me_line["request_id"] == "proxy-req-0042" and me_line["status"] == 200
    from lms.ops.logging import user_hash

    assert me_line["user"] == user_hash(world.users["s-a1"].id, settings.secret_key)
    assert len({a["request_id"] for a in access}) == 4
    text = json.dumps(
        [line for line in lines if line["logger"] != "httpx"], ensure_ascii=False
    )  # the test client
    for personal in ("s-a1", "一郎", "山田", PASSWORD, "31337"):
        assert personal not in text, personal


def test_the_answer_routes_access_line_names_the_student_by_hash(
    json_log: tuple[Any, io.StringIO], world: Any, clock: Any, settings: Any, db_session: Any
) -> None:
    """The answer route resolves its caller itself (`lms.reading.answer_route`), not through the
    dependencies that record the user for the log."""
    from lms.core.clock import get_clock
    from lms.ops.logging import user_hash
    from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment
    from tests.lms.conftest import PASSWORD, csrf_of

    app, buffer = json_log
    app.dependency_overrides[get_clock] = lambda: clock
    assignment = make_assignment(db_session, world, clock)
    with TestClient(app) as client:
        page = client.get("/login")
        client.post(
            "/login",
            data={"username": "s-a1", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        headers = csrf_headers(client, settings)
        view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
        url = f"/api/v1/attempts/{view['attempt_id']}/answers"
        assert client.post(url, json=answer_body(view["items"][0]), headers=headers).status_code == 200
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    answers = [line for line in lines if line.get("route") == "/api/v1/attempts/{attempt_id}/answers"]
    assert len(answers) == 1 and answers[0]["status"] == 200
    assert answers[0]["user"] == user_hash(world.users["s-a1"].id, settings.secret_key)


def test_multiprocess_mode_sums_the_workers(database_url: str, tmp_path: Path) -> None:
    """Two worker processes count requests into PROMETHEUS_MULTIPROC_DIR; a scrape of either sums both."""
    folder = tmp_path / "prom"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "GIGA_DATABASE_URL": database_url,
           "GIGA_ENVIRONMENT": "test", "GIGA_BANK_SYNC_SECONDS": "0"}  # fmt: skip
    worker = (
        "from fastapi.testclient import TestClient\n"
        "from lms.main import app\n"
        "with TestClient(app, client=('127.0.0.1', 1)) as c:\n"
        "    for _ in range(3): assert c.get('/healthz').status_code == 200\n"
        "    import sys; sys.stdout.write(c.get('/metrics').text if len(sys.argv) > 1 else '')\n"
    )
    subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=120)
    done = subprocess.run(
        [sys.executable, "-c", worker, "scrape"],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    key = {"method": "GET", "route": "/healthz", "status": "200"}
    count = value(done.stdout, "giga_http_request_duration_seconds_count", **key)
    assert count == 6  # the first worker's 3 + the scraping worker's own 3
