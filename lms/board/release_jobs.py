"""Releases made in the background: when a term's tests have closed, and when an admin asks.

Building and auditing a release reads every pupil of a term and attacks the result (seconds for the demo,
tens of seconds for a 14k-pupil city), so no web request does it.  A request only *queues* a
:class:`BoardReleaseJob` (a row, milliseconds) and returns; the admin's page and the API show its status.

Who runs the jobs: every server process starts a :class:`ReleaseWorker` thread (like lms.ops.bank_sync)
that every ``GIGA_BOARD_RELEASE_POLL_SECONDS`` (default 30) queues the releases of terms that have closed
and runs the queued jobs; ``giga board run-release-jobs`` does the same once (cron, or a deployment
without the thread).  A job is claimed by a conditional UPDATE, so several processes never run one job
twice; ``make_release`` itself holds the ``board_release`` lock.

When a term's tests are closed: the term (school year and term of a test's ``opens_at``) has ended on the
calendar and none of its tests is still open — or it ended ``GIGA_BOARD_TERM_CLOSE_GRACE_DAYS`` (30) ago,
so that a forgotten open test cannot block the release.  Closing a test (lms.teaching.service) calls
:func:`queue_if_term_closed` for its term (two small queries on that request); the worker's sweep finds the
terms that closed by the clock alone.  A term gets one automatic release; later ones are an admin's.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.board import messages as msg
from lms.board.release_models import BoardRelease, BoardReleaseJob
from lms.board.releases import make_release
from lms.board.settings import get_board_settings
from lms.core.db import utc_now
from lms.core.errors import InvalidInput
from lms.core.jst import school_year_and_term, term_bounds
from lms.ops.locks import xact_lock
from lms.reading.models import Assignment
from lms.roster.models import User

logger = logging.getLogger("lms.board.release_jobs")

JOB_LABELS = {"queued": "作成待ち", "running": "作成中", "done": "完了", "failed": "失敗"}
#: a job still "running" after this long was left by a process that stopped (a release takes seconds to
#: a minute): it is marked failed, so that the term can be queued again
STALE_AFTER = timedelta(hours=1)
#: how far back the sweep looks for tests (older terms were released when they closed, or by the seed)
SWEEP_DAYS = 400


def queue_release(
    *, session: Session, actor: User | None, school_year: int, term: int, reason: str = "admin",
    ip: str | None = None,
) -> BoardReleaseJob:  # fmt: skip
    """Queue the next release of a term (an admin's request, audited); a job of that term already
    waiting or running is returned instead of a second one."""
    if term not in (1, 2, 3):
        raise InvalidInput(msg.BAD_TERM_FILTER)
    xact_lock(session, "board_release_jobs")
    waiting = session.exec(
        select(BoardReleaseJob).where(
            BoardReleaseJob.school_year == school_year, BoardReleaseJob.term == term,
            col(BoardReleaseJob.status).in_(("queued", "running")),
        )
    ).first()  # fmt: skip
    if waiting is not None:
        return waiting
    job = BoardReleaseJob(school_year=school_year, term=term, reason=reason,
                          requested_by_id=actor.id if actor is not None else None)  # fmt: skip
    session.add(job)
    session.flush()
    if actor is not None:
        record_event(session=session, actor_id=actor.id, action="board.release_requested",
                     target_type="board_release_job", target_id=job.id, ip=ip,
                     detail={"school_year": school_year, "term": term})  # fmt: skip
    return job


def term_closed(session: Session, school_year: int, term: int, now: datetime) -> bool:
    """The term ended on the calendar and none of its tests is open (or the grace period has passed)."""
    start, end = term_bounds(school_year, term)
    if now < end:
        return False
    if now >= end + timedelta(days=get_board_settings().term_close_grace_days):
        return True
    still_open = session.exec(
        select(Assignment.id).where(
            col(Assignment.opens_at) >= start, col(Assignment.opens_at) < end, Assignment.status == "open",
            (col(Assignment.closes_at).is_(None)) | (col(Assignment.closes_at) > now),
        )
    ).first()  # fmt: skip
    return still_open is None


def _has_release_or_job(session: Session, school_year: int, term: int) -> bool:
    released = session.exec(
        select(BoardRelease.id).where(BoardRelease.school_year == school_year, BoardRelease.term == term)
    ).first()
    if released is not None:
        return True
    job = session.exec(
        select(BoardReleaseJob.id).where(
            BoardReleaseJob.school_year == school_year, BoardReleaseJob.term == term,
            BoardReleaseJob.reason == "term_closed",
        )
    ).first()  # fmt: skip
    return job is not None


def queue_if_term_closed(session: Session, opens_at: datetime, now: datetime) -> BoardReleaseJob | None:
    """The hook of closing a test: queue the term's automatic release when that closed the term."""
    year, term = school_year_and_term(opens_at)
    if not term_closed(session, year, term, now) or _has_release_or_job(session, year, term):
        return None
    return queue_release(session=session, actor=None, school_year=year, term=term, reason="term_closed")


def sweep_closed_terms(session: Session, now: datetime) -> list[BoardReleaseJob]:
    """Queue the automatic release of every term (with tests in the last SWEEP_DAYS) that has closed."""
    opened = session.exec(
        select(Assignment.opens_at).where(col(Assignment.opens_at) >= now - timedelta(days=SWEEP_DAYS))
    ).all()
    queued = []
    for year, term in sorted({school_year_and_term(t) for t in opened}):
        if term_closed(session, year, term, now) and not _has_release_or_job(session, year, term):
            queued.append(queue_release(session=session, actor=None, school_year=year, term=term,
                                        reason="term_closed"))  # fmt: skip
    return queued


def _claim(engine: Engine) -> int | None:
    """Take the oldest queued job (a conditional UPDATE: another process cannot take it too)."""
    with Session(engine) as session:
        waiting = select(BoardReleaseJob.id).where(BoardReleaseJob.status == "queued")
        for job_id in session.exec(waiting.order_by(col(BoardReleaseJob.id))).all():
            taken = session.execute(
                update(BoardReleaseJob)
                .where(col(BoardReleaseJob.id) == job_id, col(BoardReleaseJob.status) == "queued")
                .values(status="running", started_at=utc_now())
            )
            session.commit()
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return job_id
    return None


def run_job(engine: Engine, job_id: int) -> BoardReleaseJob:
    """Make the release of a claimed job; the job records the release's number or why it failed."""
    message: str | None = None
    number: int | None = None
    with Session(engine) as session:
        job = session.get(BoardReleaseJob, job_id)
        assert job is not None
        actor = session.get(User, job.requested_by_id) if job.requested_by_id is not None else None
        try:
            row = make_release(session=session, actor=actor, school_year=job.school_year, term=job.term,
                               reason=job.reason)  # fmt: skip
            number = row.number
            session.commit()
        except InvalidInput as error:
            session.rollback()
            message = error.message
        except Exception:  # the job must record a failure, not die silently
            session.rollback()
            logger.exception("release job %s failed", job_id)
            message = "公表回の作成中にエラーが起きました。管理者はサーバーのログを確認してください。"
    with Session(engine) as session:
        job = session.get(BoardReleaseJob, job_id)
        assert job is not None
        job.status = "failed" if message else "done"
        job.release_number, job.message, job.finished_at = number, message, utc_now()
        session.add(job)
        session.commit()
        session.refresh(job)
        return job


def fail_stale_jobs(session: Session, now: datetime) -> int:
    """Mark jobs left "running" by a stopped process as failed (STALE_AFTER); how many."""
    stale = session.execute(
        update(BoardReleaseJob)
        .where(col(BoardReleaseJob.status) == "running", col(BoardReleaseJob.started_at) < now - STALE_AFTER)
        .values(status="failed", finished_at=now,
                message="作成が途中で止まりました（サーバーの再起動など）。もう一度作成してください。")
    )  # fmt: skip
    return int(stale.rowcount or 0)  # type: ignore[attr-defined]


def run_pending(engine: Engine, now: datetime | None = None) -> list[BoardReleaseJob]:
    """One round of the worker: fail stale jobs, queue the releases of closed terms, run every queued job."""
    moment = now or utc_now()
    with Session(engine) as session:
        fail_stale_jobs(session, utc_now())
        sweep_closed_terms(session, moment)
        session.commit()
    done = []
    while (job_id := _claim(engine)) is not None:
        done.append(run_job(engine, job_id))
    return done


def recent_jobs(session: Session, limit: int = 5) -> list[BoardReleaseJob]:
    return list(session.exec(select(BoardReleaseJob).order_by(col(BoardReleaseJob.id).desc()).limit(limit)))


def job_view(job: BoardReleaseJob) -> dict[str, object]:
    """What the API and the page show of a job (no user ids)."""
    return {
        "id": job.id, "school_year": job.school_year, "term": job.term, "reason": job.reason,
        "status": job.status, "status_label": JOB_LABELS.get(job.status, job.status),
        "requested_at": job.requested_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "release": job.release_number, "message": job.message,
    }  # fmt: skip


class ReleaseWorker:
    """The release thread of one server process (``start`` in the app's lifespan, ``stop`` at shutdown)."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                run_pending(self.engine)
            except SQLAlchemyError as error:  # a database blip: try again next round
                logger.warning("release worker round failed (%s); retrying", type(error).__name__)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="giga-board-releases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_worker(engine: Engine, environment: str = "production") -> ReleaseWorker | None:
    """The app's lifespan calls this: a worker unless ``GIGA_BOARD_RELEASE_POLL_SECONDS`` is 0.  Tests run
    the jobs themselves (:func:`run_pending`); a thread racing them would make their outcome timing."""
    seconds = get_board_settings().release_poll_seconds
    if seconds <= 0 or environment == "test":
        return None
    worker = ReleaseWorker(engine, seconds)
    worker.start()
    return worker
