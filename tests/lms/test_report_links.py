"""The class report links each child to their results and previews every item of the item analysis; the
live view links a finished child to their results."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from lms.reading.delivery import item_bank
from tests.lms.assessments_helpers import answer_body, csrf_headers, make_assignment

FORM = ("DEP-001", "DEP-002", "ANA-001")


def test_report_links_children_and_previews_items(
    client: Any, world: Any, sign_in: Any, clock: Any, db_session: Session, settings: Any
) -> None:
    assignment = make_assignment(db_session, world, clock, kind="fixed", item_ids=FORM)
    sign_in("s-a1")
    headers = csrf_headers(client, settings)
    view = client.post(f"/api/v1/assignments/{assignment.id}/start", headers=headers).json()
    attempt_id = view["attempt_id"]
    while not view.get("finished"):
        item = view["items"][0]
        view = client.post(
            f"/api/v1/attempts/{attempt_id}/answers", json=answer_body(item), headers=headers
        ).json()
    client.post(f"/api/v1/attempts/{attempt_id}/finish", headers=headers)

    sign_in("t-a1")
    klass = world.classes["A1"].id
    report = client.get(f"/classes/{klass}/report?assignment_id={assignment.id}").text
    assert f'<a href="/results/{attempt_id}"' in report  # 山田 一郎 → his results and growth
    assert report.count("問題を見る") == len(FORM)
    first = item_bank()["DEP-001"]
    assert first.instruction[:6] in report.replace("<ruby>", "").replace("</ruby>", "")
    printed = client.get(f"/classes/{klass}/report/print?assignment_id={assignment.id}").text
    assert f'href="/results/{attempt_id}"' not in printed  # paper has no links
    live = client.get(f"/assignments/{assignment.id}/live").text
    assert f'<a href="/results/{attempt_id}">' in live
    assert client.get(f"/results/{attempt_id}").status_code == 200  # the teacher may open it
