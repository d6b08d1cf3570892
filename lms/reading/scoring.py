"""Honest scoring of a finished attempt (issue 13), on top of `reading_tests.reporting`.

`score_attempt` is the one function that turns an attempt's scored answers into the report every screen
reads: it builds `AnsweredItem`s (3PL parameters of the bank, 0/1, the response time, and the item's mean
response time for the rapid-guess threshold) and calls `report_attempt`.  The simulation benchmark
(`benchmarks/bench_lms_honest_scores.py`) calls this same function.

Item mean response times come from the stored answers of everyone (`item_mean_seconds`, cached an hour):
an item with at least `MIN_TIMED_ANSWERS` timed answers uses their mean, others `DEFAULT_MEAN_SECONDS`
(40 s, the middle of the 20–60 s the pilot items take; its rapid-guess threshold NT10 = 4 s).

Grade norms (`grade_norms`) come from the overall θ̂/SE of this school year's finished tests (the
calibration population), per current grade; they are provisional (GradeNorms says so) and cached for
`NORMS_TTL`.

A practice set has its own record (`practice_record`): it never writes `skill_estimate` nor the attempt's
θ/SE, so test scores, growth and board figures come only from tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.core.db import utc_now
from lms.core.jst import school_year_and_term, term_bounds
from lms.reading import delivery as dl
from lms.reading import messages as msg
from lms.reading.models import Assessment, Assignment, Attempt, AttemptReport, Response, SkillEstimate
from lms.roster.models import User
from reading_tests.items import Item
from reading_tests.reporting import AnsweredItem, GradeNorms, ScoreReport, report_attempt
from reading_tests.reporting.growth import GrowthReport, growth

DEFAULT_MEAN_SECONDS = 40.0
MIN_TIMED_ANSWERS = 30
NORMS_TTL = 600.0
MEANS_TTL = 3600.0
MIN_NORM_GRADE_STUDENTS = 30
TEST_KIND, PRACTICE_KIND = "test", "practice"


class ItemLookup(Protocol):
    """The bank or a delivery's items: look an item up by id."""

    def __getitem__(self, item_id: str, /) -> Item: ...

    def get(self, item_id: str, /) -> Item | None: ...


@dataclass(frozen=True)
class ScoredAnswer:
    """One stored answer to a scored item (no pilot items)."""

    item_id: str
    correct: bool
    seconds: float | None = None


def answered_items(
    items: ItemLookup, answers: Sequence[ScoredAnswer], mean_seconds: Mapping[str, float]
) -> list[AnsweredItem]:
    """The library's input: bank parameters, 0/1, response time and the item's mean time."""
    out = []
    for answer in answers:
        item = items[answer.item_id]
        irt = item.irt
        assert irt is not None, f"scored item {item.id} has no parameters"
        out.append(
            AnsweredItem(
                item_id=item.id,
                skill=item.skill,
                a=irt.a,
                b=irt.b,
                c=irt.c,
                correct=answer.correct,
                seconds=answer.seconds,
                mean_seconds=mean_seconds.get(item.id, DEFAULT_MEAN_SECONDS),
            )
        )
    return out


def score_attempt(
    items: ItemLookup,
    answers: Sequence[ScoredAnswer],
    *,
    mean_seconds: Mapping[str, float] | None = None,
    grade: int | None = None,
    norms: GradeNorms | None = None,
) -> dict[str, Any] | None:
    """The honest report (``AttemptReport.to_dict()``) of a test's scored answers; None without answers.

    Provisional while any answered item's parameters are."""
    if not answers:
        return None
    answered = answered_items(items, answers, mean_seconds or {})
    provisional = any(bool(getattr(items[a.item_id].irt, "provisional", True)) for a in answers)
    report = report_attempt(answered, grade=grade, norms=norms, provisional=provisional)
    return report.to_dict()


def practice_record(items: ItemLookup, answers: Sequence[ScoredAnswer]) -> dict[str, Any]:
    """A practice set's own record: items answered and correct, in total and per skill (no score)."""
    per_skill: dict[str, list[int]] = {}
    for answer in answers:
        skill = items[answer.item_id].skill
        counts = per_skill.setdefault(skill, [0, 0])
        counts[0] += 1
        counts[1] += int(answer.correct)
    return {
        "practice": True,
        "n_items": len(answers),
        "n_correct": sum(1 for a in answers if a.correct),
        "skills": [
            {"skill": s, "name_ja": msg.SKILL_NAMES_JA.get(s, s), "n_items": n, "n_correct": k}
            for s, (n, k) in sorted(per_skill.items())
        ],
    }


def seconds_of(response_time_ms: int | None) -> float | None:
    return None if response_time_ms is None or response_time_ms < 0 else response_time_ms / 1000


# --- inputs from the database ------------------------------------------------------------------------------


_means_cache: dict[str, tuple[float, dict[str, float]]] = {}
_means_lock = threading.Lock()


def item_mean_seconds(session: Session, item_ids: Sequence[str]) -> dict[str, float]:
    """Mean response time of each item over everyone's timed answers (items with enough answers only).

    The means of the whole bank come from one GROUP BY over every stored answer (about 0.6 s for 150,000
    answers on SQLite), cached per database for `MEANS_TTL`: they move slowly, and a finished test must
    not pay a scan."""
    if not item_ids:
        return {}
    key = str(session.get_bind().engine.url)
    with _means_lock:
        cached = _means_cache.get(key)
        if cached is None or time.monotonic() - cached[0] > MEANS_TTL:
            rows = session.execute(
                select(Response.item_id, func.avg(Response.response_time_ms), func.count())
                .where(col(Response.response_time_ms).is_not(None))
                .group_by(col(Response.item_id))
            ).all()
            means = {
                str(item_id): float(mean_ms) / 1000
                for item_id, mean_ms, n in rows
                if n >= MIN_TIMED_ANSWERS and mean_ms and mean_ms > 0
            }
            cached = _means_cache[key] = (time.monotonic(), means)
    return {i: cached[1][i] for i in item_ids if i in cached[1]}


def clear_means_cache() -> None:
    with _means_lock:
        _means_cache.clear()


_norms_cache: dict[str, tuple[float, GradeNorms | None]] = {}
_norms_lock = threading.Lock()


def grade_norms(session: Session, now: datetime, *, bank_provisional: bool = True) -> GradeNorms | None:
    """Per-grade norms from this school year's finished tests (one query, cached for `NORMS_TTL`)."""
    key = f"{session.get_bind().engine.url!s}|{school_year_and_term(now)[0]}"
    with _norms_lock:
        cached = _norms_cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < NORMS_TTL:
            return cached[1]
    norms = _build_norms(session, now, bank_provisional=bank_provisional)
    with _norms_lock:
        _norms_cache[key] = (time.monotonic(), norms)
    return norms


def clear_norms_cache() -> None:
    with _norms_lock:
        _norms_cache.clear()


def _build_norms(session: Session, now: datetime, *, bank_provisional: bool) -> GradeNorms | None:
    start, _ = term_bounds(school_year_and_term(now)[0], 1)
    rows = session.execute(
        select(User.grades, Attempt.theta, Attempt.se)
        .join(User, col(User.id) == col(Attempt.student_id))
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .join(Assessment, col(Assessment.id) == col(Assignment.assessment_id))
        .where(
            col(Attempt.theta).is_not(None),
            col(Attempt.se).is_not(None),
            col(Attempt.finished_at) >= start,
            col(Assessment.kind) != "practice",
        )
    ).all()
    grades, thetas, ses = [], [], []
    for grades_code, theta, se in rows:
        grade = dl.class_grade(grades_code)
        if grade is not None:
            grades.append(grade)
            thetas.append(float(theta))
            ses.append(float(se))
    counts = {g: grades.count(g) for g in set(grades)}
    keep = [i for i, g in enumerate(grades) if counts[g] >= MIN_NORM_GRADE_STUDENTS]
    if not keep:
        return None
    return GradeNorms.from_estimates(
        [grades[i] for i in keep],
        [thetas[i] for i in keep],
        [ses[i] for i in keep],
        bank_provisional=bank_provisional,
    )


# --- stored reports ----------------------------------------------------------------------------------------


def store_report(
    session: Session, *, attempt: Attempt, kind: str, report: dict[str, Any], now: datetime
) -> None:
    assert attempt.id is not None
    session.add(
        AttemptReport(
            attempt_id=attempt.id, student_id=attempt.student_id, kind=kind, report=report, created_at=now
        )
    )


def stored_reports(session: Session, attempt_ids: Sequence[int]) -> dict[int, AttemptReport]:
    if not attempt_ids:
        return {}
    rows = session.exec(select(AttemptReport).where(col(AttemptReport.attempt_id).in_(list(attempt_ids))))
    return {r.attempt_id: r for r in rows}


def recompute_reports(
    session: Session, attempt_ids: Sequence[int], items: ItemLookup
) -> dict[int, dict[str, Any]]:
    """Reports of test attempts finished before reports were stored (e.g. the demo history), from their
    stored answers; not written back (a page view does not write)."""
    if not attempt_ids:
        return {}
    rows = session.exec(
        select(Response)
        .where(col(Response.attempt_id).in_(list(attempt_ids)), col(Response.pilot).is_(False))
        .order_by(col(Response.attempt_id), col(Response.position))
    ).all()
    by_attempt: dict[int, list[ScoredAnswer]] = {}
    for r in rows:
        item = items.get(r.item_id)
        if item is not None and item.irt is not None:
            by_attempt.setdefault(r.attempt_id, []).append(
                ScoredAnswer(r.item_id, r.correct, seconds_of(r.response_time_ms))
            )
    means = item_mean_seconds(session, sorted({a.item_id for v in by_attempt.values() for a in v}))
    now = utc_now()
    this_year, _ = term_bounds(school_year_and_term(now)[0], 1)
    # the current grade is the grade of the test only for tests of this school year
    grades = {
        attempt_id: grades_code
        for attempt_id, grades_code, finished in session.execute(
            select(Attempt.id, User.grades, Attempt.finished_at)
            .join(User, col(User.id) == col(Attempt.student_id))
            .where(col(Attempt.id).in_(list(by_attempt)))
        ).all()
        if finished is not None and finished >= this_year
    }
    norms = grade_norms(session, now) if grades else None
    out = {}
    for attempt_id, answers in by_attempt.items():
        grade = dl.class_grade(grades.get(attempt_id))
        report = score_attempt(items, answers, mean_seconds=means, grade=grade, norms=norms)
        if report is not None:
            out[attempt_id] = report
    return out


def test_reports(
    session: Session, attempt_ids: Sequence[int], items: ItemLookup
) -> dict[int, dict[str, Any]]:
    """The report of each test attempt: stored, or recomputed from its answers when none was stored."""
    stored = {a: r.report for a, r in stored_reports(session, attempt_ids).items() if r.kind == TEST_KIND}
    missing = [a for a in attempt_ids if a not in stored]
    recomputed = recompute_reports(session, missing, items)
    overall_only = overall_only_reports(session, [a for a in missing if a not in recomputed])
    return {**stored, **recomputed, **overall_only}


def overall_only_reports(session: Session, attempt_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Attempts with an overall estimate but no stored answers (imported history): the overall score with
    its interval, no skill statements, no engagement evidence."""
    if not attempt_ids:
        return {}
    rows = session.exec(
        select(SkillEstimate).where(
            col(SkillEstimate.attempt_id).in_(list(attempt_ids)), SkillEstimate.skill == "ALL"
        )
    )
    return {
        r.attempt_id: {
            "overall": ScoreReport.from_theta(r.theta, r.se).to_dict(),
            "grade_position": None,
            "skills": [],
            "engagement": {"flagged": False, "teacher_note_ja": None},
            "n_items": r.n_items,
            "n_scored": r.n_items,
            "provisional": True,
            "skills_note_ja": None,
            "notes_ja": [],
        }
        for r in rows
    }


# --- growth ------------------------------------------------------------------------------------------------


def overall_of(report: Mapping[str, Any]) -> ScoreReport:
    overall = report["overall"]
    return ScoreReport.from_theta(float(overall["theta"]), float(overall["se"]))


def growth_between(previous: Mapping[str, Any], current: Mapping[str, Any]) -> GrowthReport:
    """Growth of the overall score between two stored test reports (never practice): up/down only
    beyond 1.96·SE of the change, no direction when either test carries the disengagement flag."""
    flagged = bool(previous["engagement"]["flagged"]) or bool(current["engagement"]["flagged"])
    return growth(overall_of(previous), overall_of(current), disengaged=flagged)


def grade_position_text(position: Mapping[str, Any] | None) -> str | None:
    """「学年の中で 下から約 40%（95%区間 25〜57%）、学年内の段階「標準」（確率 62%）、暫定」 for teachers."""
    if not position:
        return None
    text = (
        f"{grade_label(int(position['grade']))}の中で 下から約 {position['percentile']:.0f}%"
        f"（95%区間 {position['lower']:.0f}〜{position['upper']:.0f}%）、"
        f"学年内の段階「{position['band_name_ja']}」"
        f"（確率 {100 * position['band_probability']:.0f}%）"
    )
    return text + ("。暫定の基準です。" if position.get("provisional") else "。")


def grade_label(grade: int) -> str:
    """小1…小6, 中1…中3 of a school year 1–9."""
    return f"小{grade}" if grade <= 6 else f"中{grade - 6}"
