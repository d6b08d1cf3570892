"""Appointing 「問題の確認者」 from the admin page (issue 17): admin any staff account, a school admin only
their own school's teachers, teachers and board 403, students 404; every change audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.reading.bank_review.models import ItemReviewer
from lms.roster.models import User
from tests.lms.conftest import World, csrf_of


def holders(db_session: Session) -> set[int]:
    db_session.expire_all()
    return set(db_session.exec(select(ItemReviewer.user_id)).all())


def post(client: Any, username: str, action: str = "grant") -> Any:
    token = csrf_of(client.get("/home").text)
    data = {"csrf_token": token, "username": username, "action": action}
    return client.post("/admin/reviewers", data=data, follow_redirects=False)


def test_a_school_admin_reaches_the_page_from_home_and_appoints_an_own_teacher(
    client: Any, sign_in: Callable[..., Any], world: World, db_session: Session
) -> None:
    sign_in("sa-a")
    assert 'href="/admin/reviewers"' in client.get("/home").text
    page = client.get("/admin/reviewers")
    assert page.status_code == 200
    assert "t-a1" in page.text and "t-b1" not in page.text  # own school's teachers only
    assert "sa-a" not in page.text.split('id="reviewer-candidates"')[1]  # teachers, not admins
    response = post(client, "t-a1")
    assert response.status_code == 303
    teacher: User = world.users["t-a1"]
    assert teacher.id in holders(db_session)
    assert "指名しました" in client.get(response.headers["location"]).text
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "item_reviewer.grant")).one()
    assert event.actor_id == world.users["sa-a"].id and event.target_id == str(teacher.id)
    # the appointee now finds the reviewer's checklist on their home page
    sign_in("t-a1")
    assert 'href="/bank/review"' in client.get("/home").text
    sign_in("sa-a")
    assert post(client, "t-a1", "revoke").status_code == 303
    assert teacher.id not in holders(db_session)
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "item_reviewer.revoke")).one()


def test_a_school_admin_cannot_appoint_another_schools_teacher_or_a_board_account(
    client: Any, sign_in: Callable[..., Any], world: World, db_session: Session
) -> None:
    sign_in("sa-a")
    for username in ("t-b1", "board", "s-a1", "nobody"):
        response = post(client, username)
        assert response.status_code == 404, username
    assert holders(db_session) == set()
    # nor dismiss another school's reviewer
    from lms.reading.bank_review.service import grant_reviewer

    grant_reviewer(db_session, username="t-b1", by=world.users["admin"])
    db_session.commit()
    assert post(client, "t-b1", "revoke").status_code == 404
    assert world.users["t-b1"].id in holders(db_session)


@pytest.mark.parametrize(("username", "status"), [("t-a1", 403), ("board", 403), ("s-a1", 404)])
def test_teachers_board_and_students_cannot_appoint(
    client: Any, sign_in: Callable[..., Any], world: World, db_session: Session, username: str, status: int
) -> None:
    sign_in(username)
    assert 'href="/admin/reviewers"' not in client.get("/home").text
    assert client.get("/admin/reviewers").status_code == status
    assert post(client, "t-a1").status_code == status
    assert holders(db_session) == set()


def test_the_admin_appoints_any_staff_account_and_a_student_is_refused(
    client: Any, sign_in: Callable[..., Any], world: World, db_session: Session
) -> None:
    sign_in("admin")
    assert 'href="/admin/reviewers"' in client.get("/home").text
    page = client.get("/admin/reviewers").text
    for name in ("t-a1", "t-b1", "sa-a", "board"):
        assert f"<td>{name}</td>" in page
    assert "<td>s-a1</td>" not in page
    for name in ("t-b1", "board"):
        assert post(client, name).status_code == 303
    assert holders(db_session) == {world.users["t-b1"].id, world.users["board"].id}
    assert post(client, "s-a1").status_code == 404


def test_a_city_of_staff_is_searched_and_paged_and_the_holders_stay_in_view(
    client: Any, sign_in: Callable[..., Any], world: World, db_session: Session, make_user: Callable[..., Any]
) -> None:
    """A city has thousands of staff accounts: the page shows 50 at a time, finds people by a part of the
    name, kana or username, and always lists who holds the capability now (a school admin's scope kept)."""
    from lms.reading.bank_review.appointments import PAGE_SIZE

    for n in range(PAGE_SIZE + 5):
        make_user("teacher", username=f"extra-{n:03}", school=world.orgs["A"], kana_family_name="ワタナベ")
    last = "extra-054"
    sign_in("sa-a")
    assert post(client, last).status_code == 303

    first = client.get("/admin/reviewers").text
    listed = first.split('id="reviewer-candidates"')[1]
    assert listed.count("<tr><td>") == PAGE_SIZE and "1 / 2 ページ" in listed
    assert 'href="?q=&page=2"' in listed
    assert f"<td>{last}</td>" in first.split('id="reviewer-holders"')[1].split("</table>")[0]  # on page 2 too
    second = client.get("/admin/reviewers?page=2").text.split('id="reviewer-candidates"')[1]
    assert second.count("<tr><td>") == len(world_teachers(world, "A")) + PAGE_SIZE + 5 - PAGE_SIZE
    assert client.get("/admin/reviewers?page=99").status_code == 200  # past the end: the last page

    found = client.get("/admin/reviewers", params={"q": "extra-01"}).text.split('id="reviewer-candidates"')[1]
    assert found.count("<tr><td>") == 10 and "<td>extra-010</td>" in found
    assert "<td>extra-020</td>" not in found
    by_kana = client.get("/admin/reviewers", params={"q": "ワタナベ extra-05"}).text
    assert by_kana.split('id="reviewer-candidates"')[1].count("<tr><td>") == 5
    # LIKE's wildcards are searched as characters, and another school's teacher stays out of reach
    assert "あてはまる教職員はいません" in client.get("/admin/reviewers", params={"q": "%"}).text
    assert "あてはまる教職員はいません" in client.get("/admin/reviewers", params={"q": "t-b1"}).text
    # appointing from a search result comes back to the same search and page, not to the whole list
    page = client.get("/admin/reviewers", params={"q": "ワタナベ", "page": 2})
    back = client.post(
        "/admin/reviewers",
        data={"csrf_token": csrf_of(page.text), "username": "extra-053", "q": "ワタナベ", "page": "2"},
        follow_redirects=False,
    )
    assert back.status_code == 303
    assert (
        back.headers["location"]
        == "/admin/reviewers?done=granted%3Aextra-053&q=%E3%83%AF%E3%82%BF%E3%83%8A%E3%83%99&page=2"
    )
    assert 'name="q" value="ワタナベ"' in page.text  # the forms carry it


def world_teachers(world: World, school: str) -> list[User]:
    school_id = world.orgs[school].id
    return [u for u in world.users.values() if u.role == "teacher" and u.primary_org_id == school_id]


def test_a_school_admin_sees_no_other_schools_holders_nor_teachers_under_search_and_paging(
    client: Any, sign_in: Callable[..., Any], world: World
) -> None:
    """Review (2026-12-07): the holders list, a search with LIKE's ``_`` wildcard and every page keep the
    school admin's scope; odd page numbers are a 4xx, not a 500."""
    sign_in("admin")
    assert post(client, "t-b1").status_code == 303
    sign_in("sa-a")
    page = client.get("/admin/reviewers").text
    assert "t-b1" not in page  # another school's holder is not listed among the holders
    for params in ({"q": "t_b"}, {"q": "t-b"}, {"q": "b1", "page": "2"}, {"q": "", "page": "-5"}):
        answer = client.get("/admin/reviewers", params=params)
        assert answer.status_code == 200 and "t-b1" not in answer.text
    assert (
        "t-a1" not in client.get("/admin/reviewers", params={"q": "t_a"}).text.split("reviewer-candidates")[1]
    )
    for bad in ("two", "1.5", "99999999999999999999"):
        assert client.get("/admin/reviewers", params={"page": bad}).status_code in (400, 422)


def test_a_reading_typed_in_hiragana_finds_a_katakana_kana_name_and_back(
    client: Any, sign_in: Callable[..., Any], world: World, make_user: Callable[..., Any]
) -> None:
    """Review finding (2026-12-07): the search box says ふりがな but rosters store the reading in katakana
    (ワタナベ), so 「わたなべ」 found nobody; either script finds either."""
    make_user("teacher", username="kana-kata", school=world.orgs["A"], kana_family_name="ワタナベ")
    make_user("teacher", username="kana-hira", school=world.orgs["A"], kana_family_name="わたなべ")
    sign_in("sa-a")
    for typed in ("わたなべ", "ワタナベ", "たなべ"):
        found = client.get("/admin/reviewers", params={"q": typed}).text.split('id="reviewer-candidates"')[1]
        assert "<td>kana-kata</td>" in found and "<td>kana-hira</td>" in found, typed


def test_a_search_longer_than_a_name_is_a_4xx(client: Any, sign_in: Callable[..., Any]) -> None:
    """Every word of the search adds five LIKE terms: a 5,000-word search is refused, not run."""
    sign_in("sa-a")
    assert client.get("/admin/reviewers", params={"q": "あ " * 2500}).status_code in (400, 422)
