"""Practice as a classroom flow: accommodations carried into practice, one list entry per hand-out with the
children's names, no practice in the report's test choice, honest target text on the practice page."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from lms.reading.models import Accommodation, Assignment
from lms.reading.practice import service
from tests.factories import pk
from tests.lms.conftest import csrf_of
from tests.lms.test_practice_api import NOW, give_results


def _hand_out(client: Any, world: Any, sign_in: Any) -> str:
    sign_in("t-a1")
    url = f"/classes/{world.classes['A1'].id}/practice"
    page = client.get(url)
    done = client.post(f"{url}/assign", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    return url


def test_practice_keeps_the_childs_accommodations(db_session: Session, world: Any) -> None:
    give_results(db_session, world)
    klass, s_a1 = world.classes["A1"], world.users["s-a1"]
    test = db_session.exec(select(Assignment).where(Assignment.class_id == klass.id)).first()
    assert test is not None
    db_session.add(
        Accommodation(
            assignment_id=pk(test), user_id=s_a1.id, ruby_level="all", read_aloud=True, large_text=True
        )
    )
    db_session.commit()
    done = service.assign_practice(session=db_session, actor=world.users["t-a1"], class_=klass, now=NOW)
    by_student = {a.student_id: a.assignment_id for a in done}
    acc = db_session.exec(
        select(Accommodation).where(Accommodation.assignment_id == by_student[s_a1.id])
    ).one()
    assert (acc.ruby_level, acc.read_aloud, acc.large_text) == ("all", True, True)
    other = db_session.exec(
        select(Accommodation).where(Accommodation.assignment_id == by_student[world.users["s-a1b"].id])
    ).first()
    assert other is None  # nothing set for this child: nothing invented


def test_a_hand_out_is_one_list_entry_with_the_childrens_names(
    client: Any, db_session: Session, world: Any, sign_in: Any
) -> None:
    give_results(db_session, world)
    _hand_out(client, world, sign_in)
    page = client.get(f"/classes/{world.classes['A1'].id}/assignments").text
    assert page.count('class="practice-round"') == 1
    assert "2人に一人ひとりの問題" in page
    assert "山田 一郎" in page and "山田 花子" in page
    report = client.get(f"/classes/{world.classes['A1'].id}/report").text
    assert "れんしゅう（" not in report  # the report's choice lists tests only


def test_practice_page_is_honest_about_the_target(
    client: Any, db_session: Session, world: Any, sign_in: Any, clock: Any
) -> None:
    give_results(db_session, world)
    clock.current = NOW
    sign_in("t-a1")
    page = client.get(f"/classes/{world.classes['A1'].id}/practice").text
    assert "ねらいは「正答の見こみ 60〜75%」ですが" in page
    assert 'id="practice-p-range"' in page
    rows = service.class_practice(session=db_session, class_=world.classes["A1"], now=NOW)
    ps = [r.p_correct for row in rows for r in row.recommended if r.p_correct is not None]
    assert f"{round(min(ps) * 100)}〜{round(max(ps) * 100)}%" in page
