"""Assignment and Grade Services 2.0: which assignments have a grade column, and the score each attempt sends.

What we send (decided for issue 23, following notes/honest-reporting.md — every reported number with its
uncertainty):

* A reading **test**: ``scoreGiven`` = the overall scale score (500 + 100 θ̂, EAP), ``scoreMaximum`` = 1000
  (five SD above the mean; the EAP under an N(0, 1) prior never comes near it). Percent correct would be
  wrong for an adaptive test — it is ~50–70 % for every child by design, whatever the ability — so the
  number is the scale score, and the ``comment`` carries its 95 % interval, SE, the band statement (the band
  named only with its probability, or the two adjacent bands when neither is likely enough) and the
  disengagement flag, in Japanese for the teacher reading the portal's gradebook. The line item's label says
  「読解力スコア・最大1000」 so nobody reads 523/1000 as 52 %.
* A **practice** set: items correct of items answered (a practice record, not a score; the comment says so).
* Always ``activityProgress`` Completed and ``gradingProgress`` FullyGraded (Failed when nothing could be
  scored); ``timestamp`` = when the attempt finished, fixed when queued, so a resend is the same score and the
  platform keeps the newest (AGS §3.4.6: it ignores an older or equal timestamp — we take its 409 as done).

Scores are queued in ``lti_score_outbox`` by `enqueue_score` inside the transaction that finishes the attempt
(`lms.reading.attempts.finalize`) and sent by `lms.lti.score_sender`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from lms.lti import service_messages as msg
from lms.lti import service_urls
from lms.lti.deep_linking import (
    ASSIGNMENT_PARAM,
    CLAIM_AGS_ENDPOINT,
    CLAIM_CUSTOM,
    CLAIM_NRPS,
    resource_id_of,
)
from lms.lti.models import LtiPlatform
from lms.lti.service_models import LtiContextServices, LtiLineItem, LtiScoreOutbox
from lms.reading.models import Assignment, Attempt

SCALE_MAXIMUM = 1000.0
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_MEDIA_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_MEDIA_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"


def iso(moment: datetime) -> str:
    """ISO 8601 with milliseconds and ``Z``, as AGS examples write timestamps."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reading_test_score(report: dict[str, Any] | None, *, n_items: int) -> dict[str, Any]:
    """``scoreGiven``, ``scoreMaximum``, ``comment`` of a test from its honest report (module docstring)."""
    if report is None or "overall" not in report:
        return {"gradingProgress": "Failed", "comment": msg.SCORE_COMMENT_NONE}
    overall = report["overall"]
    comment = msg.SCORE_COMMENT.format(
        score=overall["scale_score"],
        lower=overall["lower"],
        upper=overall["upper"],
        se=float(overall["scale_se"]),
        band=overall["band"]["text_ja"],
        n_items=report.get("n_scored", n_items),
    )
    if (report.get("engagement") or {}).get("flagged"):
        comment += msg.SCORE_COMMENT_DISENGAGED
    return {
        "scoreGiven": float(max(0, overall["scale_score"])),  # AGS: scoreGiven ≥ 0
        "scoreMaximum": SCALE_MAXIMUM,
        "comment": comment,
        "gradingProgress": "FullyGraded",
    }


def practice_score(*, n_correct: int, n_items: int) -> dict[str, Any]:
    """Items correct of items answered, said to be a practice record."""
    if n_items == 0:
        return {"gradingProgress": "Failed", "comment": msg.SCORE_COMMENT_NONE}
    return {
        "scoreGiven": float(n_correct),
        "scoreMaximum": float(n_items),
        "comment": msg.PRACTICE_COMMENT.format(n_items=n_items, n_correct=n_correct),
        "gradingProgress": "FullyGraded",
    }


def score_body(
    *,
    kind: str,
    report: dict[str, Any] | None,
    n_correct: int,
    n_items: int,
    started_at: datetime | None,
    finished_at: datetime,
) -> dict[str, Any]:
    """The AGS Score without ``userId`` (the platform's id of the student is looked up when sending)."""
    part = (
        practice_score(n_correct=n_correct, n_items=n_items)
        if kind == "practice"
        else reading_test_score(report, n_items=n_items)
    )
    body: dict[str, Any] = {
        "timestamp": iso(finished_at),
        "activityProgress": "Completed",
        **part,
        "submission": {"submittedAt": iso(finished_at)},
    }
    if started_at is not None:
        body["submission"]["startedAt"] = iso(started_at)
    return body


def line_item_of(session: Session, assignment_id: int) -> LtiLineItem | None:
    return session.exec(select(LtiLineItem).where(LtiLineItem.assignment_id == assignment_id)).first()


def enqueue_score(
    *,
    session: Session,
    attempt: Attempt,
    kind: str,
    report: dict[str, Any] | None,
    n_correct: int,
    n_items: int,
    now: datetime,
) -> LtiScoreOutbox | None:
    """Queue the finished attempt's score when its assignment has a grade column; flush, never commit.

    One row per attempt: finishing twice (an expiry racing a finish) queues nothing new."""
    assert attempt.id is not None
    line_item = line_item_of(session, attempt.assignment_id)
    if line_item is None:
        return None
    existing = session.exec(select(LtiScoreOutbox).where(LtiScoreOutbox.attempt_id == attempt.id)).first()
    if existing is not None:
        return existing
    assert line_item.id is not None
    body = score_body(
        kind=kind,
        report=report,
        n_correct=n_correct,
        n_items=n_items,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at or now,
    )
    row = LtiScoreOutbox(
        line_item_id=line_item.id,
        attempt_id=attempt.id,
        student_id=attempt.student_id,
        score=json.dumps(body, ensure_ascii=False),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


# --- what launches tell us ---------------------------------------------------------------------------------


def remember_services(
    *,
    session: Session,
    platform: LtiPlatform,
    lti_context_id: int,
    deployment_id: str,
    claims: dict[str, Any],
    now: datetime,
) -> LtiContextServices:
    """Store the AGS / NRPS endpoints the launch announced for its context (the newest launch wins; URLs
    the tool may not call are ignored, `lms.lti.service_urls`)."""
    row = session.exec(
        select(LtiContextServices).where(LtiContextServices.lti_context_id == lti_context_id)
    ).first() or LtiContextServices(lti_context_id=lti_context_id, deployment_id=deployment_id)
    ags = claims.get(CLAIM_AGS_ENDPOINT)
    if isinstance(ags, dict):
        lineitems = service_urls.accepted(ags.get("lineitems"), platform=platform)
        if lineitems is not None:
            row.lineitems_url = lineitems
        scopes = ags.get("scope")
        row.ags_scopes = [str(s) for s in scopes] if isinstance(scopes, list) else row.ags_scopes
    nrps = claims.get(CLAIM_NRPS)
    memberships = nrps.get("context_memberships_url") if isinstance(nrps, dict) else None
    if service_urls.accepted(memberships, platform=platform) is not None:
        row.memberships_url = memberships
    row.deployment_id = deployment_id
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def claimed_assignment_id(claims: dict[str, Any]) -> int | None:
    """The assignment a resource-link launch names in its custom parameter (set by our deep-linking reply)."""
    custom = claims.get(CLAIM_CUSTOM)
    value = custom.get(ASSIGNMENT_PARAM) if isinstance(custom, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def remember_line_item(
    *,
    session: Session,
    platform: LtiPlatform,
    lti_context_id: int,
    class_id: int | None,
    claims: dict[str, Any],
    now: datetime,
) -> LtiLineItem | None:
    """A resource-link launch with an AGS ``lineitem``: the grade column of the assignment it opens.

    Only for an assignment of the context's own class, and only a line item this context made: a platform's
    signed claim cannot route scores of another class's assignment, nor move another portal's column (the
    sender would post there with that portal's access token)."""
    ags = claims.get(CLAIM_AGS_ENDPOINT)
    assignment_id = claimed_assignment_id(claims)
    if not isinstance(ags, dict) or assignment_id is None or class_id is None:
        return None
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.class_id != class_id:
        return None
    url = service_urls.accepted(ags.get("lineitem"), platform=platform)
    row = line_item_of(session, assignment_id)
    if row is not None and row.lti_context_id != lti_context_id:
        return None
    if row is None:
        if not isinstance(url, str):
            return None
        row = LtiLineItem(
            assignment_id=assignment_id,
            lti_context_id=lti_context_id,
            resource_id=resource_id_of(assignment_id),
            label=assignment.title,
            score_maximum=SCALE_MAXIMUM,
            created_at=now,
        )
    if isinstance(url, str):
        row.lineitem_url = url
    session.add(row)
    session.flush()
    return row
