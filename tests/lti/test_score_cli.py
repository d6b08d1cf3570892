"""``giga lti-scores``: a portal that cannot be reached leaves the score queued (exit 1), status shows it."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

from lms.cli import app
from lms.lti.ags import SCALE_MAXIMUM
from lms.lti.service_models import LtiLineItem, LtiScoreOutbox
from lms.reading.models import Attempt
from tests.factories import pk
from tests.lms.assessments_helpers import make_assignment
from tests.lti.portal import register_portal

runner = CliRunner()


def test_an_unreachable_portal_keeps_the_score_queued(
    settings: Any, db_session: Session, world: Any, clock: Any
) -> None:
    portal = register_portal(
        db_session, world.classes["A1"], base_url="http://127.0.0.1:9"
    )  # nothing listens
    portal.link(db_session, world.users["s-a1"])
    assignment = make_assignment(db_session, world, clock)
    attempt = db_session.exec(select(Attempt).where(Attempt.student_id == pk(world.users["s-a1"]))).one()
    line_item = LtiLineItem(
        assignment_id=pk(assignment),
        lti_context_id=pk(portal.context),
        resource_id="giga-assignment-1",
        lineitem_url="http://127.0.0.1:9/lineitems/1",
        label="読解力テスト",
        score_maximum=SCALE_MAXIMUM,
    )
    db_session.add(line_item)
    db_session.flush()
    db_session.add(
        LtiScoreOutbox(
            line_item_id=pk(line_item), attempt_id=pk(attempt), student_id=attempt.student_id, score="{}"
        )
    )
    db_session.commit()
    sent = runner.invoke(app, ["lti-scores", "send", "--once"])
    assert sent.exit_code == 1, sent.output
    assert "sent 0, failed 1" in sent.output and "cannot reach" in sent.output
    status = runner.invoke(app, ["lti-scores", "status"])
    assert status.exit_code == 0 and "waiting: 1" in status.output and "sent: 0" in status.output
