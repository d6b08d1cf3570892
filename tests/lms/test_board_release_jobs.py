"""Releases made in the background (issue 14): an admin's request and a closed term only queue a job; the
worker makes the release; the page and the API show the job's status; the role matrix holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from lms.board.release_jobs import (
    SWEEP_DAYS,
    queue_if_term_closed,
    run_pending,
    sweep_closed_terms,
    term_closed,
)
from lms.board.release_models import BoardRelease, BoardReleaseJob
from lms.core.jst import term_bounds
from lms.reading.models import Assessment, Assignment
from tests.lms.conftest import csrf_of
from tests.lms.test_board_service import build_history


@pytest.fixture
def history(db_session: Session, world: Any) -> Any:
    h = build_history(db_session, world)
    db_session.commit()
    return h


def _jobs(session: Session) -> list[BoardReleaseJob]:
    session.expire_all()
    return list(session.exec(select(BoardReleaseJob).order_by(BoardReleaseJob.id)))  # type: ignore[arg-type]


def test_admin_form_queues_a_job_and_the_worker_makes_the_release(
    client: Any, sign_in: Any, history: Any, engine: Engine, db_session: Session
) -> None:
    sign_in("admin")
    token = csrf_of(client.get("/board").text)
    queued = client.post("/board/releases", data={"csrf_token": token, "school_year": "2025", "term": "2"},
                         follow_redirects=False)  # fmt: skip
    assert queued.status_code == 303 and "#release-jobs" in queued.headers["location"]
    assert db_session.exec(select(BoardRelease)).first() is None  # the request made no release itself
    page = client.get("/board").text
    assert 'id="release-jobs"' in page and "作成待ち" in page
    again = client.post("/board/releases", data={"csrf_token": token, "school_year": "2025", "term": "2"},
                        follow_redirects=False)  # fmt: skip
    assert again.status_code == 303 and len(_jobs(db_session)) == 1  # one waiting job per term
    done = run_pending(engine, now=term_bounds(2025, 1)[0])  # before any term ended: no automatic job
    assert [(j.status, j.release_number) for j in done] == [("done", 1)]
    page = client.get("/board").text
    assert "完了" in page and "第1回公表" in page


def test_api_queues_with_202_and_reports_the_status(
    client: Any, sign_in: Any, history: Any, engine: Engine
) -> None:
    sign_in("admin")
    csrf = {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}
    made = client.post("/api/v1/board/releases", json={"school_year": 2025, "term": 1}, headers=csrf)
    assert made.status_code == 202 and made.json()["status"] == "queued", made.text
    job_id = made.json()["id"]
    empty = client.post("/api/v1/board/releases", json={"school_year": 2031, "term": 1}, headers=csrf)
    run_pending(engine, now=term_bounds(2025, 1)[0])
    status = client.get(f"/api/v1/board/releases/jobs/{job_id}").json()
    assert status["status"] == "done" and status["release"] == 1 and status["status_label"] == "完了"
    failed = client.get(f"/api/v1/board/releases/jobs/{empty.json()['id']}").json()
    assert failed["status"] == "failed" and "結果がまだありません" in failed["message"]
    assert client.get("/api/v1/board/releases/jobs/999").status_code == 404
    client.cookies.clear()
    sign_in("board")
    assert client.get(f"/api/v1/board/releases/jobs/{job_id}").status_code == 200
    for username in ("sa-a", "t-a1"):
        client.cookies.clear()
        sign_in(username)
        assert client.get(f"/api/v1/board/releases/jobs/{job_id}").status_code == 403


def test_a_term_closes_when_it_ended_and_its_tests_are_closed(
    history: Any, db_session: Session, engine: Engine
) -> None:
    start, end = term_bounds(2025, 2)
    assert not term_closed(db_session, 2025, 2, start + timedelta(days=10))  # still running
    late = db_session.exec(
        select(Assignment).where(Assignment.opens_at >= start, Assignment.opens_at < end)
    ).first()
    assert late is not None
    late.status, late.closes_at = "open", None  # a test left open after the term's end
    db_session.add(late)
    db_session.commit()
    after = end + timedelta(days=3)
    assert not term_closed(db_session, 2025, 2, after)
    assert queue_if_term_closed(db_session, late.opens_at, after) is None
    queued = sweep_closed_terms(db_session, after)
    assert [(j.school_year, j.term, j.reason) for j in queued] == [(2025, 1, "term_closed")]
    db_session.commit()
    late.status, late.closes_at = "closed", after  # the teacher closes it: the hook queues the term
    db_session.add(late)
    job = queue_if_term_closed(db_session, late.opens_at, after)
    assert job is not None and (job.school_year, job.term, job.status) == (2025, 2, "queued")
    db_session.commit()
    assert sweep_closed_terms(db_session, after) == []  # one automatic job per term
    made = run_pending(engine, now=after)
    assert sorted((j.term, j.status) for j in made) == [(1, "done"), (2, "done")]
    releases = db_session.exec(select(BoardRelease.term, BoardRelease.reason)).all()
    assert sorted(releases) == [(1, "term_closed"), (2, "term_closed")]
    assert sweep_closed_terms(db_session, after) == []  # released terms are not queued again


def test_a_forgotten_open_test_does_not_block_the_release_forever(history: Any, db_session: Session) -> None:
    _start, end = term_bounds(2025, 1)
    forgotten = db_session.exec(select(Assignment).where(Assignment.opens_at < end)).first()
    assert forgotten is not None
    forgotten.status, forgotten.closes_at = "open", None
    db_session.add(forgotten)
    db_session.commit()
    assert not term_closed(db_session, 2025, 1, end + timedelta(days=29))
    assert term_closed(db_session, 2025, 1, end + timedelta(days=31))


def test_closing_a_test_through_the_api_queues_the_ended_term(
    client: Any, sign_in: Any, world: Any, db_session: Session, clock: Any
) -> None:
    """The wiring in lms.teaching.service.close_assignment: the close request queues, never builds."""
    klass = world.classes["A1"]
    assessment = Assessment(title="期末", kind="cat")
    db_session.add(assessment)
    db_session.flush()
    year_start, year_end = term_bounds(2020, 1)
    assert clock.now() > year_end
    assert assessment.id is not None
    test = Assignment(assessment_id=assessment.id, class_id=klass.id, title="期末", opens_at=year_start)
    db_session.add(test)
    db_session.commit()
    sign_in("t-a1")
    headers = {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}
    closed = client.post(f"/api/v1/assignments/{test.id}/close", headers=headers)
    assert closed.status_code == 200, closed.text
    jobs = _jobs(db_session)
    assert [(j.school_year, j.term, j.reason, j.status) for j in jobs] == [(2020, 1, "term_closed", "queued")]
    assert db_session.exec(select(BoardRelease)).first() is None


def test_cli_runs_the_jobs_once(history: Any, settings: Any, db_session: Session) -> None:
    from typer.testing import CliRunner

    from lms.cli import app
    from lms.core.db import utc_now
    from lms.core.jst import school_year_and_term

    # the history's terms (all ended, every test closed) that the sweep's window still covers
    now = utc_now()
    opened = db_session.exec(select(Assignment.opens_at)).all()
    due = sorted({school_year_and_term(t) for t in opened if t >= now - timedelta(days=SWEEP_DAYS)})
    ran = CliRunner().invoke(app, ["board", "run-release-jobs"])
    assert ran.exit_code == 0, ran.output
    lines = ran.output.splitlines()
    assert len(lines) == len(due) and all("(term_closed) — release" in line for line in lines)
    assert [line.split(": ")[1].split(" (")[0] for line in lines] == [f"{y} term {t}" for y, t in due]
    assert CliRunner().invoke(app, ["board", "run-release-jobs"]).output == ""


def test_a_job_left_running_by_a_stopped_process_fails_and_the_term_can_be_queued_again(
    history: Any, db_session: Session, engine: Engine
) -> None:
    from lms.board.release_jobs import STALE_AFTER, queue_release
    from lms.core.db import utc_now

    job = queue_release(session=db_session, actor=None, school_year=2025, term=1)
    job.status, job.started_at = "running", utc_now() - STALE_AFTER - timedelta(minutes=1)
    db_session.add(job)
    fresh = queue_release(session=db_session, actor=None, school_year=2025, term=2)
    fresh.status, fresh.started_at = "running", utc_now()  # another process is making it right now
    db_session.add(fresh)
    db_session.commit()
    assert queue_release(session=db_session, actor=None, school_year=2025, term=1).id == job.id
    db_session.commit()
    run_pending(engine, now=term_bounds(2025, 1)[0])
    stale, running = _jobs(db_session)
    assert stale.status == "failed" and stale.message is not None and "もう一度" in stale.message
    assert running.status == "running"
    again = queue_release(session=db_session, actor=None, school_year=2025, term=1)
    assert again.id != job.id and again.status == "queued"
