"""What a score says: the scale score with its interval for a test, a practice record for practice."""

from __future__ import annotations

from datetime import UTC, datetime

from lms.lti.ags import SCALE_MAXIMUM, score_body
from reading_tests.reporting.intervals import ScoreReport

FINISHED = datetime(2026, 12, 7, 3, 4, 5, 678000, tzinfo=UTC)


def test_a_test_sends_the_scale_score_and_its_uncertainty() -> None:
    overall = ScoreReport.from_theta(0.23, 0.22).to_dict()
    report = {"overall": overall, "n_scored": 12, "engagement": {"flagged": False}}
    body = score_body(
        kind="cat", report=report, n_correct=7, n_items=12, started_at=None, finished_at=FINISHED
    )
    assert body["scoreGiven"] == 523 and body["scoreMaximum"] == SCALE_MAXIMUM
    assert body["timestamp"] == "2026-12-07T03:04:05.678Z"
    assert body["activityProgress"] == "Completed" and body["gradingProgress"] == "FullyGraded"
    comment = body["comment"]
    assert f"{overall['lower']}〜{overall['upper']}" in comment and "標準誤差 22" in comment
    assert overall["band"]["text_ja"] in comment and "12 問" in comment
    assert "急いで" not in comment


def test_a_disengaged_attempt_says_so() -> None:
    report = {"overall": ScoreReport.from_theta(-0.5, 0.4).to_dict(), "engagement": {"flagged": True}}
    body = score_body(
        kind="cat", report=report, n_correct=2, n_items=8, started_at=None, finished_at=FINISHED
    )
    assert "急いで答えた" in body["comment"]


def test_a_score_below_zero_is_sent_as_zero() -> None:
    report = {"overall": ScoreReport.from_theta(-5.3, 0.6).to_dict()}
    body = score_body(
        kind="fixed", report=report, n_correct=0, n_items=5, started_at=None, finished_at=FINISHED
    )
    assert body["scoreGiven"] == 0.0


def test_practice_sends_items_correct_and_no_scale_score() -> None:
    body = score_body(
        kind="practice", report=None, n_correct=3, n_items=5, started_at=FINISHED, finished_at=FINISHED
    )
    assert (body["scoreGiven"], body["scoreMaximum"]) == (3.0, 5.0)
    assert "テストのスコアを変えません" in body["comment"]
    assert body["submission"] == {
        "startedAt": "2026-12-07T03:04:05.678Z",
        "submittedAt": "2026-12-07T03:04:05.678Z",
    }


def test_nothing_scorable_is_a_failed_grading_without_a_score() -> None:
    body = score_body(kind="cat", report=None, n_correct=0, n_items=0, started_at=None, finished_at=FINISHED)
    assert "scoreGiven" not in body and body["gradingProgress"] == "Failed"
