"""Online calibration end to end: simulated responses in the database → `giga irt recalibrate` → promotion.

A small bank of 24 operational anchors and five pilot items: three that follow the 3PL model with "true"
parameters far from their provisional ones, one whose success curve is not logistic (it must be flagged),
and one with too few responses.  1,500 simulated attempts with θ ~ N(0.4, 0.9²) are written as response
rows; the anchored calibration must recover the true difficulties and the latent mean and SD.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, update
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.reading import delivery as dl
from lms.reading.calibration.models import ItemCalibration
from lms.reading.models import Assessment, Assignment, Attempt, Response
from reading_tests.items import IrtParams, ItemBank, load_bank
from tests.factories import pk
from tests.lms.conftest import csrf_of

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
N_ATTEMPTS = 1500
TRUE_MEAN, TRUE_SD = 0.4, 0.9


def _params(a: float, b: float, c: float) -> IrtParams:
    return IrtParams("3pl", a, b, c, None, None, None, 500, True, "test")


@functools.cache
def shipped_bank() -> ItemBank:
    return load_bank()  # ~7 s of YAML: once per test process


@pytest.fixture
def small_bank() -> Iterator[dict[str, Any]]:
    shipped = [i for i in shipped_bank() if i.format == "single_choice" and i.irt is not None]
    anchors = [replace(i, status="operational") for i in shipped[:24]]
    pilots = [replace(i, status="pilot") for i in shipped[24:29]]
    truth = {
        pilots[0].id: (1.3, -0.8, 0.2),
        pilots[1].id: (0.9, 0.6, 0.2),
        pilots[2].id: (1.6, 1.2, 0.2),
    }
    dl.set_item_bank(ItemBank(anchors + pilots))
    yield {"anchors": anchors, "pilots": pilots, "truth": truth, "odd": pilots[3].id, "rare": pilots[4].id}
    dl.set_item_bank(shipped_bank())


def simulate_into_db(session: Session, world: Any, bank: dict[str, Any], seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    klass, student = world.classes["A1"], world.users["s-a1"]
    assessment = Assessment(title="読解力テスト", kind="cat", created_at=T0)
    session.add(assessment)
    session.flush()
    assignment = Assignment(
        assessment_id=pk(assessment), class_id=klass.id, title="読解力テスト", opens_at=T0
    )
    session.add(assignment)
    session.flush()
    attempt_rows = [
        {
            "assignment_id": assignment.id,
            "student_id": student.id,
            "attempt_no": k + 1,
            "status": "submitted",
            "cat_state": "{}",
            "position": 0,
        }
        for k in range(N_ATTEMPTS)
    ]
    session.execute(insert(Attempt), attempt_rows)
    attempt_ids = list(session.exec(select(Attempt.id).order_by(Attempt.id)))  # type: ignore[arg-type]
    anchors = bank["anchors"]
    a_anchor = np.array([i.irt.a for i in anchors])
    b_anchor = np.array([i.irt.b for i in anchors])
    c_anchor = np.array([i.irt.c for i in anchors])
    good = list(bank["truth"])
    theta = rng.normal(TRUE_MEAN, TRUE_SD, N_ATTEMPTS)
    responses = []
    for k, attempt_id in enumerate(attempt_ids):
        th = theta[k]
        chosen = rng.choice(len(anchors), 12, replace=False)
        p = c_anchor[chosen] + (1 - c_anchor[chosen]) / (
            1 + np.exp(-a_anchor[chosen] * (th - b_anchor[chosen]))
        )
        answers = [(anchors[j].id, bool(rng.random() < pj)) for j, pj in zip(chosen, p, strict=True)]
        for item_id in rng.choice(good, 2, replace=False):
            a, b, c = bank["truth"][item_id]
            answers.append((str(item_id), bool(rng.random() < c + (1 - c) / (1 + np.exp(-a * (th - b))))))
        if k % 2 == 0:  # not logistic: easy in the middle, hard at both ends
            answers.append((bank["odd"], bool(rng.random() < (0.95 if -0.2 < th < 1.0 else 0.1))))
        if k < 50:
            answers.append((bank["rare"], bool(rng.random() < 0.6)))
        for position, (item_id, correct) in enumerate(answers, start=1):
            responses.append(
                {
                    "attempt_id": attempt_id,
                    "item_id": item_id,
                    "position": position,
                    "answer": ["A"],
                    "correct": correct,
                    "accommodations": {},
                    "client_event_id": f"{attempt_id}-{position}",
                    "pilot": item_id not in {i.id for i in anchors},
                    "created_at": T0,
                }
            )
    session.execute(insert(Response), responses)
    session.commit()


def run_recalibrate(*args: str) -> Any:
    from typer.testing import CliRunner

    from lms.cli import app

    return CliRunner().invoke(app, ["irt", "recalibrate", *args])


def test_recalibrate_recovers_pilot_items_on_the_anchor_scale_and_promotes(
    settings: Any, db_session: Session, world: Any, small_bank: dict[str, Any], client: Any, sign_in: Any
) -> None:
    simulate_into_db(db_session, world, small_bank)
    result = run_recalibrate("--min-responses", "400")
    assert result.exit_code == 0, result.output
    assert (
        "4 pilot item(s) calibrated from 1500 attempts, anchored on 24 operational item(s)" in result.output
    )
    assert f"skipped {small_bank['rare']}: 50 responses (fewer than 400)" in result.output

    db_session.expire_all()
    rows = {r.item_id: r for r in db_session.exec(select(ItemCalibration))}
    assert set(rows) == set(small_bank["truth"]) | {small_bank["odd"]}
    provisional = {i.id: i.irt for i in small_bank["pilots"]}
    for item_id, (a, b, _c) in small_bank["truth"].items():
        row = rows[item_id]
        assert row.status == "candidate" and row.anchored and row.n_anchors == 24
        assert row.n == pytest.approx(1000, abs=80)
        assert row.se_b is not None and row.fit_rmsd is not None and row.fit_p is not None
        assert abs(row.b - b) < max(0.35, 3 * row.se_b), (item_id, row.b, b)
        assert abs(row.b - b) < abs(provisional[item_id].b - b) or abs(provisional[item_id].b - b) < 0.35
        assert abs(row.a - a) < 0.6
        assert not row.misfit, (item_id, row.fit_rmsd, row.fit_p)
    assert rows[small_bank["odd"]].misfit
    first = next(iter(rows.values()))
    assert first.latent_mean == pytest.approx(TRUE_MEAN, abs=0.15)
    assert first.latent_sd == pytest.approx(TRUE_SD, abs=0.15)

    # promotion through the API: a teacher may, a student may not (404), the board may not (403)
    target = rows[next(iter(small_bank["truth"]))]
    sign_in("s-a1")
    assert client.post(f"/api/v1/calibrations/{target.id}/promote", headers=_csrf(client)).status_code == 404
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/tokens").text)})
    sign_in("board")
    assert client.post(f"/api/v1/calibrations/{target.id}/promote", headers=_csrf(client)).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/tokens").text)})
    sign_in("t-a1")
    listed = client.get("/api/v1/calibrations", params={"status": "candidate"})
    assert listed.status_code == 200 and len(listed.json()) == 4
    promoted = client.post(f"/api/v1/calibrations/{target.id}/promote", headers=_csrf(client))
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["status"] == "promoted"
    again = client.post(f"/api/v1/calibrations/{target.id}/promote", headers=_csrf(client))
    assert again.status_code == 409
    assert client.post("/api/v1/calibrations/999999/promote", headers=_csrf(client)).status_code == 404
    live = dl.item_bank().get(target.item_id)
    assert live is not None and live.status == "operational" and live.irt is not None
    assert live.irt.b == pytest.approx(target.b) and not live.irt.provisional
    db_session.expire_all()
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "item.promote")).one()
    assert event.target_id == target.item_id and event.actor_id == world.users["t-a1"].id
    assert json.loads(event.detail or "{}")["calibration_id"] == target.id

    # a second run with --promote: the promoted item is now an anchor; fitting pilots are promoted,
    # the misfitting one stays a candidate
    result = run_recalibrate("--min-responses", "400", "--promote")
    assert result.exit_code == 0, result.output
    assert "anchored on 25 operational item(s)" in result.output
    rest = sorted(set(small_bank["truth"]) - {target.item_id})
    assert f"promoted to operational: {', '.join(rest)}" in result.output
    db_session.expire_all()
    statuses = {(r.item_id, r.status) for r in db_session.exec(select(ItemCalibration))}
    assert (small_bank["odd"], "candidate") in statuses and (small_bank["odd"], "superseded") in statuses
    assert all((item_id, "promoted") in statuses for item_id in rest)


def _csrf(client: Any) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(client.get("/tokens").text)}


def test_recalibrate_refuses_bad_options(settings: Any, world: Any, small_bank: dict[str, Any]) -> None:
    result = run_recalibrate("--model", "4pl")
    assert result.exit_code == 2 and "unknown model '4pl'" in result.output
    result = run_recalibrate("--min-responses", "0")
    assert result.exit_code == 2 and "--min-responses" in result.output
    result = run_recalibrate()
    assert result.exit_code == 0
    assert "0 pilot item(s) calibrated" in result.output


def test_a_miskeyed_pilot_item_is_named_in_the_report_and_cannot_be_promoted(
    settings: Any,
    db_session: Session,
    world: Any,
    small_bank: dict[str, Any],
    client: Any,
    sign_in: Any,
    tmp_path: Any,
) -> None:
    simulate_into_db(db_session, world, small_bank)
    miskeyed = sorted(small_bank["truth"])[0]
    # the stored key is wrong: the children who read well are the ones scored wrong
    db_session.execute(update(Response).where(Response.item_id == miskeyed).values(correct=~Response.correct))
    db_session.commit()
    report_path = tmp_path / "report.json"
    result = run_recalibrate("--min-responses", "400", "--promote", "--report", str(report_path))
    assert result.exit_code == 0, result.output
    assert f"warning {miskeyed}: miskey" in result.output
    assert f"not promotable {miskeyed}" in result.output
    assert miskeyed not in result.output.split("promoted to operational:")[1]

    report = json.loads(report_path.read_text(encoding="utf-8"))
    choice = report["groups"]["choice"]
    assert choice["converged"] is True and choice["n_parameters"] > 0
    assert choice["aic"] < choice["bic"]  # N > e², so the BIC penalty is the larger one
    assert {"miskey"} <= {w["code"] for w in choice["warnings"] if w["item_id"] == miskeyed}
    assert not [w for w in choice["warnings"] if w["item_id"] in set(small_bank["truth"]) - {miskeyed}]

    db_session.expire_all()
    row = db_session.exec(
        select(ItemCalibration).where(
            ItemCalibration.item_id == miskeyed, ItemCalibration.status == "candidate"
        )
    ).one()
    assert "miskey" in {w["code"] for w in row.warnings}
    sign_in("t-a1")
    listed = {
        r["item_id"]: r for r in client.get("/api/v1/calibrations").json() if r["status"] == "candidate"
    }
    assert listed[miskeyed]["promotable"] is False
    refused = client.post(f"/api/v1/calibrations/{row.id}/promote", headers=_csrf(client))
    assert refused.status_code == 409 and "点検が必要" in refused.json()["detail"]
    live = dl.item_bank().get(miskeyed)
    assert live is not None and live.status == "pilot"
