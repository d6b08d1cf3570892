"""Prometheus metrics of the LMS, served at ``GET /metrics`` (text exposition format).

Counted per request by `lms.ops.middleware` (labels are the route *template*, e.g.
``/api/v1/attempts/{attempt_id}/answers``, never a raw path, so no id ever becomes a label):

- ``giga_http_request_duration_seconds{method,route,status}`` — a histogram: its ``_count`` is the number of
  requests, its buckets the latencies
- ``giga_test_starts_total`` — 2xx answers of the test start API (a start or a resume)
- ``giga_answers_saved_total`` — 2xx answers of the answer API: acknowledged after commit (a re-sent
  answer, stored once, is acknowledged and counted again)

Computed at scrape time from the database (one indexed aggregate query):

- ``giga_database_up`` (0 when the query failed: the scrape still answers, without the outbox figures),
  ``giga_xapi_outbox_unsent`` (not yet sent and not parked), ``giga_xapi_outbox_parked`` and
  ``giga_xapi_outbox_oldest_unsent_age_seconds`` (0 when nothing waits) — the outbox lag.

Several uvicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable folder *before* the workers
start (and empty it at every start); each worker then writes its counters there and a scrape of any worker
sums all of them.  Without it each worker reports only its own counts.

Access: from the loopback interface without a forwarding header (a proxy on the same host adds one), or
with ``Authorization: Bearer <GIGA_METRICS_TOKEN>``.  Anything else is 403, so the proxy never publishes it.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from lms.core.db import utc_now
from lms.reading.models import XapiOutbox

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
FORWARDING_HEADERS = (b"x-forwarded-for", b"x-real-ip", b"forwarded")

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series: they double the scrape and nobody here graphs them

# One histogram carries both the request count (``_count``, by status) and the latencies: one observation
# per request is half the cost of a counter plus a histogram.
REQUESTS = Histogram(
    "giga_http_request_duration_seconds",
    "HTTP requests by route template, method and status: time from arrival to the end of the response",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
TEST_STARTS = Counter("giga_test_starts", "Reading tests started or resumed (2xx of the start API)")
ANSWERS_SAVED = Counter("giga_answers_saved", "Answers acknowledged after commit (2xx of the answer API)")

START_ROUTE = ("POST", "/api/v1/assignments/{assignment_id}/start")
ANSWER_ROUTE = ("POST", "/api/v1/attempts/{attempt_id}/answers")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class OutboxCollector(Collector):
    """The outbox lag, read from the database when scraped."""

    def __init__(self, engine: Engine, max_tries: int, now: datetime | None = None) -> None:
        self.engine = engine
        self.max_tries = max_tries
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.now or utc_now()
        unsent = col(XapiOutbox.sent_at).is_(None)
        live = and_(unsent, col(XapiOutbox.tries) < self.max_tries)
        query = select(
            func.count(case((live, 1))),
            func.count(case((and_(unsent, col(XapiOutbox.tries) >= self.max_tries), 1))),
            func.min(case((live, col(XapiOutbox.created_at)))),
        ).where(unsent)
        try:
            with self.engine.connect() as connection:
                waiting, parked, oldest = connection.execute(query).one()
        except SQLAlchemyError:  # the scrape still reports the request metrics, and that the database is down
            yield GaugeMetricFamily("giga_database_up", "The database answered the scrape's query", value=0)
            return
        yield GaugeMetricFamily("giga_database_up", "The database answered the scrape's query", value=1)
        if oldest is not None and oldest.tzinfo is None:  # an aggregate skips the column's type on SQLite
            oldest = oldest.replace(tzinfo=now.tzinfo)
        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "giga_xapi_outbox_unsent", "xAPI statements waiting to be sent", value=waiting
        )
        yield GaugeMetricFamily(
            "giga_xapi_outbox_parked", "xAPI statements given up after the maximum tries", value=parked
        )
        yield GaugeMetricFamily(
            "giga_xapi_outbox_oldest_unsent_age_seconds",
            "Age of the oldest statement waiting to be sent (0 when none waits)",
            value=age,
        )


def render(engine: Engine, max_tries: int) -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every worker's) metrics + the outbox."""
    if multiprocess_dir():
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    outbox = CollectorRegistry(auto_describe=False)
    outbox.register(OutboxCollector(engine, max_tries))
    return generate_latest(registry) + generate_latest(outbox)


def allowed(client_host: str | None, headers: dict[bytes, bytes], token: str) -> bool:
    """Loopback without forwarding headers, or the metrics bearer token."""
    if token:
        given = headers.get(b"authorization", b"").decode("latin-1")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip(), token):
            return True
    if client_host not in LOOPBACK:
        return False
    return not any(name in headers for name in FORWARDING_HEADERS)
