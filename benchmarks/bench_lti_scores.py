"""Sending queued LTI scores (AGS) to a portal: what the token cache saves (issue 23).

Usage: ``.venv/bin/python benchmarks/bench_lti_scores.py [--database-url URL] [--scores N] [--rounds R]``
(a database ``giga_bench_<random>`` is created on the PostgreSQL server, migrated and dropped).

Timed, rounds alternating: ``cached`` = `lms.lti.score_sender.drain` of ``--scores`` queued scores with the
process's token cache (one client-credentials request per scope set and hour); ``uncached`` = the same with
a cache that asks for a new token before every score (what a sender without the cache would do). The portal
is the test platform of tests/lti/services_platform.py (the `lti1p3platform` library verifies every client
assertion and bearer token) called in-process, so the numbers are the CPU cost on both sides (RSA signing and
verification, JSON, the outbox's SQL) without network latency — a real portal adds one round trip per request,
which the cache saves as well. Prints median and range per variant, the ratio and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: tests.*
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_test_start import DEFAULT_ADMIN_URL, load_average

from lms.core.db import engine_for_url, utc_now
from lms.lti import score_sender
from lms.lti.ags import SCALE_MAXIMUM
from lms.lti.keys import public_jwks
from lms.lti.service_models import LtiLineItem, LtiScoreOutbox
from lms.lti.services_token import TokenCache, TokenEndpoint, ToolKey
from lms.reading import authoring
from lms.reading.models import Attempt
from lms.roster.models import Org, SchoolClass, User
from tests.factories import add_member, fresh_postgres_database, pk
from tests.lti.portal import Portal, register_portal


class NoCache(TokenCache):
    """A new token for every score."""

    def get(self, client: httpx.Client, *, endpoint: TokenEndpoint, key: ToolKey, **kwargs: Any) -> str:
        self.clear()
        return super().get(client, endpoint=endpoint, key=key, **kwargs)


def seed(session: Session, n: int) -> Portal:
    school = Org(sourced_id="bench-school", name="ベンチ小学校", type="school")
    session.add(school)
    session.flush()
    klass = SchoolClass(sourced_id="bench-class", title="5年1組", grades="P5", school_id=pk(school))
    session.add(klass)
    session.flush()
    teacher = User(username="bench-teacher", role="teacher", primary_org_id=school.id)
    session.add(teacher)
    students = [add_member(session, klass=klass, username=f"pupil{i}", number=i + 1) for i in range(n)]
    session.flush()
    portal = register_portal(session, klass)
    for student in students:
        portal.link(session, student)
    assessment = authoring.create_assessment(
        session=session,
        title="読解力テスト",
        kind="cat",
        skills=(),
        min_items=5,
        max_items=15,
        created_by=teacher,
    )
    now = utc_now()
    assignment = authoring.create_assignment(
        session=session, assessment=assessment, class_=klass, now=now, created_by=teacher
    )
    item = portal.platform.add_line_item(label="読解力テスト", scoreMaximum=SCALE_MAXIMUM, resourceId="bench")
    line_item = LtiLineItem(
        assignment_id=pk(assignment),
        lti_context_id=pk(portal.context),
        resource_id="bench",
        lineitem_url=item["id"],
        label="読解力テスト",
        score_maximum=SCALE_MAXIMUM,
    )
    session.add(line_item)
    session.flush()
    for attempt in session.exec(select(Attempt).where(Attempt.assignment_id == assignment.id)):
        body = {
            "scoreGiven": 523.0,
            "scoreMaximum": SCALE_MAXIMUM,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": now.isoformat(),
            "comment": "ベンチ",
        }
        session.add(
            LtiScoreOutbox(
                line_item_id=pk(line_item),
                attempt_id=pk(attempt),
                student_id=attempt.student_id,
                score=json.dumps(body, ensure_ascii=False),
            )
        )
    session.commit()
    return portal


def run(engine: Any, portal: Portal, cache: TokenCache) -> tuple[float, int, int]:
    """Requeue every score, clear the platform, drain; (seconds, scores sent, token requests)."""
    with Session(engine) as session:
        session.execute(update(LtiScoreOutbox).values(sent_at=None, locked_until=None, tries=0))
        session.commit()
    portal.platform.scores.clear()
    before = portal.platform.token_requests
    with TestClient(portal.platform.app) as http:
        start = time.perf_counter()
        report = score_sender.drain(engine=engine, client=http, cache=cache)
        seconds = time.perf_counter() - start
    assert report.failed == 0, report.errors
    return seconds, report.sent, portal.platform.token_requests - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--scores", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with fresh_postgres_database(args.database_url, "giga_bench") as url:
        os.environ["GIGA_DATABASE_URL"] = url
        engine = engine_for_url(url)
        with Session(engine) as session:
            portal = seed(session, args.scores)
            portal.platform.tool_jwks = public_jwks(session)
            session.commit()
        times: dict[str, list[float]] = {"cached": [], "uncached": []}
        tokens: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, cache in (("cached", TokenCache()), ("uncached", NoCache())):
                seconds, sent, token_requests = run(engine, portal, cache)
                assert sent == args.scores
                times[name].append(seconds)
                tokens[name] = token_requests
        for name, values in times.items():
            rate = args.scores / statistics.median(values)
            print(
                f"{name:9s} median {statistics.median(values) * 1000:7.1f} ms for {args.scores} scores "
                f"(range {min(values) * 1000:.1f}–{max(values) * 1000:.1f} ms, {rate:.0f} scores/s, "
                f"{tokens[name]} token requests)"
            )
        ratio = statistics.median(times["uncached"]) / statistics.median(times["cached"])
        spread = (
            min(times["uncached"]) / max(times["cached"]),
            max(times["uncached"]) / min(times["cached"]),
        )
        print(
            f"uncached / cached: {ratio:.2f}× (from the ranges {spread[0]:.2f}–{spread[1]:.2f}×); "
            f"load average {load_average()}"
        )


if __name__ == "__main__":
    main()
