"""Sent-back notices (issue 17): when a reviewer sends an item back, its author and every reviewer of the
item see 「差し戻された問題 N 件」 on their home page, linking to the item with the comment; nobody else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from lms.reading.bank_review.service import grant_reviewer
from lms.roster.models import User
from reading_tests.items import REVIEW_CHECKS
from tests.lms.conftest import World
from tests.lms.test_bank_review import bank_dir, form_of, reviewer

__all__ = ["bank_dir", "reviewer"]  # fixtures shared with the checklist's tests

COMMENT = "選択肢Cも本文から言えるので、正答が二つになります"


def send_back(client: Any, item_id: str, comment: str = COMMENT) -> None:
    data = {**form_of(client, item_id), "decision": "send_back", "comment": comment}
    response = client.post(f"/bank/review/{item_id}", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


def make_author(db_session: Session, world: World) -> User:
    """``t-b1`` renamed to the drafts' ``review.written_by`` (a teacher who writes items)."""
    author: User = world.users["t-b1"]
    author.username = "ai-author-ANA"
    db_session.add(author)
    db_session.commit()
    return author


def test_the_author_sees_the_send_back_on_home_and_reads_the_comment_with_the_item(
    client: Any,
    sign_in: Callable[..., Any],
    world: World,
    reviewer: User,
    bank_dir: Path,
    db_session: Session,
) -> None:
    make_author(db_session, world)
    sign_in("t-a1")
    send_back(client, "ANA-022")
    sign_in("ai-author-ANA")
    home = client.get("/home").text
    assert 'id="sent-back-notice"' in home and "差し戻された問題 1 件" in home
    listing = client.get("/bank/returned")
    assert listing.status_code == 200
    assert "ANA-022" in listing.text and COMMENT in listing.text and "ANA-021" not in listing.text
    page = client.get("/bank/returned/ANA-022")
    assert page.status_code == 200
    assert COMMENT in page.text and "t-a1" in page.text and 'id="child-view"' in page.text
    assert "items/ANA/ANA-022.yaml" in page.text and "まだ修正されていません" in page.text
    # an item not sent back is not readable here (the review page stays the reviewers')
    assert client.get("/bank/returned/ANA-021").status_code == 404


def test_the_notice_counts_only_unrevised_items_and_goes_when_the_item_is_decided_again(
    client: Any,
    sign_in: Callable[..., Any],
    world: World,
    reviewer: User,
    bank_dir: Path,
    db_session: Session,
) -> None:
    make_author(db_session, world)
    sign_in("t-a1")
    send_back(client, "ANA-021", "「それ」が指すものが二通りに読めます")
    send_back(client, "ANA-022")
    sign_in("ai-author-ANA")
    assert "差し戻された問題 2 件" in client.get("/home").text
    path = bank_dir / "ANA" / "ANA-021.yaml"  # the author revises one item
    path.write_text(path.read_text(encoding="utf-8").replace("ぶじでした", "ぶじだった"), encoding="utf-8")
    home = client.get("/home").text
    assert "差し戻された問題 1 件" in home and "再確認待ち 1 件" in home
    assert "修正済み・再確認待ち" in client.get("/bank/returned/ANA-021").text
    # another reviewer approves the revised item: it leaves the author's notices
    sa = world.users["sa-a"]
    assert sa.id is not None
    grant_reviewer(db_session, username="sa-a", by=world.users["admin"])
    db_session.commit()
    sign_in("sa-a")
    data: dict[str, Any] = {**form_of(client, "ANA-021"), "decision": "approve"}
    data["checks"] = list(REVIEW_CHECKS)
    assert client.post("/bank/review/ANA-021", data=data, follow_redirects=False).status_code == 303
    sign_in("ai-author-ANA")
    home = client.get("/home").text
    assert "差し戻された問題 1 件" in home and "再確認待ち" not in home


def test_every_reviewer_of_the_item_sees_it_and_others_do_not(
    client: Any,
    sign_in: Callable[..., Any],
    world: World,
    reviewer: User,
    bank_dir: Path,
    db_session: Session,
) -> None:
    grant_reviewer(db_session, username="sa-a", by=world.users["admin"])
    db_session.commit()
    sign_in("sa-a")  # a first reviewer looks at it and sends it back; then t-a1 sends it back too
    send_back(client, "ANA-022", "読みを確認してください")
    sign_in("t-a1")
    send_back(client, "ANA-022")
    for username in ("sa-a", "t-a1"):
        sign_in(username)
        assert "差し戻された問題 1 件" in client.get("/home").text, username
        assert COMMENT in client.get("/bank/returned/ANA-022").text  # the newest comment
    for username, status in (("t-b1", 404), ("board", 404), ("admin", 404), ("s-a1", 404)):
        sign_in(username)
        assert client.get("/bank/returned/ANA-022").status_code == status, username
        if username != "s-a1":
            assert 'id="sent-back-notice"' not in client.get("/home").text
