"""The reviewer's checklist in the LMS (issue 17): who may review, the decisions stored and audited, and
`giga items apply-reviews` writing approvals into the bank's files — while delivery ignores every decision
until the files say so."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlmodel import Session, select

from lms.audit.models import AuditEvent
from lms.reading import delivery as dl
from lms.reading.bank_review.apply import apply_reviews
from lms.reading.bank_review.models import ItemReviewDecision, ItemReviewer
from lms.reading.bank_review.service import grant_reviewer, item_digest
from lms.roster.models import Org, User
from reading_tests.items import REVIEW_CHECKS, ItemBank, default_bank_path, load_bank
from reading_tests.review import set_status
from tests.lms.conftest import PASSWORD, World, csrf_of

DRAFTS = ("ANA-021", "ANA-022")
PILOTS = ("ANA-001", "ANA-002", "ANA-003", "ANA-004")


@pytest.fixture
def bank_dir(tmp_path: Path) -> Iterator[Path]:
    """A small bank on disk (four pilot items, two drafts) that the process serves while the test runs."""
    root = tmp_path / "items"
    (root / "ANA").mkdir(parents=True)
    for item_id in DRAFTS + PILOTS:
        shutil.copy(default_bank_path() / "ANA" / f"{item_id}.yaml", root / "ANA" / f"{item_id}.yaml")
    previous = dl.item_bank()
    dl.set_item_bank(load_bank(root))
    yield root
    dl.set_item_bank(previous)


@pytest.fixture
def reviewer(db_session: Session, world: World) -> User:
    """``t-a1`` (a teacher) holds the capability for the world's district."""
    grant_reviewer(db_session, username="t-a1", by=world.users["admin"])
    db_session.commit()
    user: User = world.users["t-a1"]
    return user


def form_of(client: Any, item_id: str) -> dict[str, str]:
    page = client.get(f"/bank/review/{item_id}")
    assert page.status_code == 200, page.text
    digest = page.text.split('name="digest" value="')[1].split('"')[0]
    return {"csrf_token": csrf_of(page.text), "digest": digest}


def approve(client: Any, item_id: str, checks: tuple[str, ...] = REVIEW_CHECKS, comment: str = "") -> Any:
    data: dict[str, Any] = {**form_of(client, item_id), "decision": "approve", "checks": list(checks)}
    data["comment"] = comment
    return client.post(f"/bank/review/{item_id}", data=data, follow_redirects=False)


def test_the_reviewer_reaches_the_queue_from_home_and_sees_the_item_as_a_child_does(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path
) -> None:
    sign_in("t-a1")
    home = client.get("/home")
    assert 'href="/bank/review"' in home.text
    queue = client.get("/bank/review?skill=ANA&band=P1-2")
    assert queue.status_code == 200
    assert "ANA-021" in queue.text and "ANA-022" in queue.text
    assert "ANA-001" not in queue.text  # pilot items are not in the queue
    page = client.get("/bank/review/ANA-021")
    assert page.status_code == 200
    text = page.text
    child = dl.item_payload(dl.item_bank()["ANA-021"], 1)  # as a 小1 child's runner shows it
    assert child["stimulus_html"] in text and child["instruction_html"] in text
    assert "「かさは ぶじでした」から" in text  # the key's rationale
    assert "「それ」の すぐ 前に ある ものを" in text  # a distractor's rationale
    assert "おとしたのは 赤い ぼうしです" in text  # the explanation
    assert "あか" in text and 'id="readings"' in text and 'id="warnings"' in text
    for check in REVIEW_CHECKS:
        assert f'value="{check}"' in text


def test_an_approval_is_stored_with_who_and_when_and_audited(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path, db_session: Session
) -> None:
    sign_in("t-a1")
    response = approve(client, "ANA-021", comment="読みも確認しました")
    assert response.status_code == 303
    row = db_session.exec(select(ItemReviewDecision)).one()
    assert (row.item_id, row.decision, row.reviewer_id) == ("ANA-021", "approve", reviewer.id)
    assert row.reviewer_username == "t-a1" and row.decided_at is not None and row.applied_at is None
    assert list(row.checks) == list(REVIEW_CHECKS)
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "item_review.approve")).one()
    assert event.actor_id == reviewer.id and event.target_id == "ANA-021"


def test_approval_needs_every_check_and_a_send_back_needs_a_comment(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path, db_session: Session
) -> None:
    sign_in("t-a1")
    partial = approve(client, "ANA-021", checks=("key", "distractors"))
    assert partial.status_code == 400 and "すべての項目" in partial.text
    data = {**form_of(client, "ANA-021"), "decision": "send_back", "comment": ""}
    assert client.post("/bank/review/ANA-021", data=data).status_code == 400
    data = {**form_of(client, "ANA-021"), "decision": "send_back", "comment": "Dの選択肢が不自然です"}
    assert client.post("/bank/review/ANA-021", data=data, follow_redirects=False).status_code == 303
    assert db_session.exec(select(ItemReviewDecision)).one().decision == "send_back"


def test_a_file_changed_since_the_page_was_opened_is_refused(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path
) -> None:
    sign_in("t-a1")
    data = {**form_of(client, "ANA-021"), "decision": "approve", "checks": list(REVIEW_CHECKS)}
    path = bank_dir / "ANA" / "ANA-021.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("ぶじでした", "ぶじだった"), encoding="utf-8")
    assert client.post("/bank/review/ANA-021", data=data).status_code == 409


def test_the_author_cannot_review_their_own_item(
    client: Any, sign_in: Callable[..., Any], world: World, bank_dir: Path, db_session: Session
) -> None:
    author = world.users["t-b1"]
    author.username = "ai-author-ANA"  # the item's review.written_by
    db_session.add(author)
    grant_reviewer(db_session, username="ai-author-ANA", by=None)
    db_session.commit()
    sign_in("ai-author-ANA")
    queue = client.get("/bank/review?skill=ANA&band=P1-2")
    assert queue.status_code == 200 and "ANA-021" not in queue.text
    assert client.get("/bank/review/ANA-021").status_code == 403
    data: dict[str, Any] = {
        "csrf_token": csrf_of(queue.text),
        "digest": item_digest(bank_dir / "ANA" / "ANA-021.yaml"),
    }
    data |= {"decision": "approve", "checks": list(REVIEW_CHECKS)}
    assert client.post("/bank/review/ANA-021", data=data).status_code == 403
    assert db_session.exec(select(ItemReviewDecision)).first() is None


@pytest.mark.parametrize(
    ("username", "status"), [("s-a1", 404), ("t-b1", 403), ("board", 403), ("admin", 403)]
)
def test_people_without_the_capability_are_refused(
    client: Any,
    sign_in: Callable[..., Any],
    reviewer: User,
    bank_dir: Path,
    db_session: Session,
    username: str,
    status: int,
) -> None:
    sign_in(username)
    assert client.get("/bank/review").status_code == status
    assert client.get("/bank/review/ANA-021").status_code == status
    token = csrf_of(client.get("/home").text)
    data = {"csrf_token": token, "digest": "x", "decision": "approve", "checks": list(REVIEW_CHECKS)}
    assert client.post("/bank/review/ANA-021", data=data).status_code == status
    assert 'href="/bank/review"' not in client.get("/home").text
    assert db_session.exec(select(ItemReviewDecision)).first() is None


def test_another_boards_user_is_refused_even_with_a_grant_row_for_this_district(
    client: Any, sign_in: Callable[..., Any], world: World, bank_dir: Path, db_session: Session
) -> None:
    other = Org(sourced_id="d2", name="あおば市教育委員会", type="district", identifier="654321")
    db_session.add(other)
    db_session.flush()
    outsider = User(
        username="board-aoba",
        role="board",
        given_name="委員",
        family_name="佐藤",
        password_hash=world.users["t-a1"].password_hash,
        primary_org_id=other.id,
        totp_secret=pyotp.random_base32(),
        totp_enabled=True,
    )
    assert outsider.totp_secret is not None
    world.totp["board-aoba"] = outsider.totp_secret
    db_session.add(outsider)
    db_session.flush()
    assert outsider.id is not None and world.orgs["district"].id is not None
    db_session.add(ItemReviewer(user_id=outsider.id, district_id=world.orgs["district"].id))
    db_session.commit()
    sign_in("board-aoba", PASSWORD)
    assert client.get("/bank/review", follow_redirects=False).status_code == 403


def test_a_student_cannot_be_granted_the_capability(db_session: Session, world: World) -> None:
    from lms.core.errors import InvalidInput

    with pytest.raises(InvalidInput, match="レビュー担当になれません"):
        grant_reviewer(db_session, username="s-a1", by=world.users["admin"])


def test_delivery_ignores_a_decision_until_apply_reviews_writes_it_into_the_bank(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path, db_session: Session, clock: Any
) -> None:
    sign_in("t-a1")
    assert approve(client, "ANA-021").status_code == 303
    data = {**form_of(client, "ANA-022"), "decision": "send_back", "comment": "正答が二つ考えられます"}
    assert client.post("/bank/review/ANA-022", data=data, follow_redirects=False).status_code == 303
    spec = dl.DesignSpec(
        kind="cat", skills=("ANA",), min_items=3, max_items=15, se_target=0.3, item_ids=(), pilot_rate=0.0
    )
    assert "ANA-021" not in dl.delivery_for(spec).items  # approved in the LMS, still a draft for children
    assert "status: draft" in (bank_dir / "ANA" / "ANA-021.yaml").read_text(encoding="utf-8")

    result = apply_reviews(db_session, bank=bank_dir, now=clock.now())
    db_session.commit()
    assert result.written == ["ANA-021 by t-a1"]
    assert result.sent_back == ["ANA-022: 正答が二つ考えられます"]
    fresh = load_bank(bank_dir)  # the files are valid and say who reviewed
    assert fresh["ANA-021"].status == "reviewed"
    review = fresh["ANA-021"].review
    assert review is not None and review.reviewed_by == "t-a1" and review.written_by == "ai-author-ANA"
    assert set(review.checks) == set(REVIEW_CHECKS)
    assert fresh["ANA-022"].status == "draft"
    assert all(r.applied_at is not None for r in db_session.exec(select(ItemReviewDecision)).all())
    assert "ANA-021" not in dl.delivery_for(spec).items  # the running process serves the bank it loaded
    dl.set_item_bank(ItemBank(list(fresh)))  # the next deployment loads the new files: reviewed, not pilot
    assert "ANA-021" not in dl.delivery_for(spec).items
    set_status(bank_dir / "ANA" / "ANA-021.yaml", status="pilot", by="t-a1", role="reviewer")
    dl.set_item_bank(load_bank(bank_dir))  # given to children only once the bank says pilot
    assert "ANA-021" in dl.delivery_for(spec).items
    again = apply_reviews(db_session, bank=bank_dir, now=clock.now())
    assert again.written == [] and again.sent_back == []


def test_an_approval_by_a_reviewer_whose_capability_was_revoked_is_not_written(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path, db_session: Session, clock: Any
) -> None:
    """Revoking a reviewer (a rubber stamp, a stolen account) must also stop the approvals not yet applied."""
    from lms.reading.bank_review.service import revoke_reviewer

    sign_in("t-a1")
    assert approve(client, "ANA-021").status_code == 303
    assert revoke_reviewer(db_session, username="t-a1", by=None)
    db_session.commit()
    result = apply_reviews(db_session, bank=bank_dir, now=clock.now())
    db_session.commit()
    assert result.written == [] and result.superseded == ["ANA-021"]
    assert "status: draft" in (bank_dir / "ANA" / "ANA-021.yaml").read_text(encoding="utf-8")


def test_an_approval_of_an_item_edited_afterwards_is_not_written(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path, db_session: Session, clock: Any
) -> None:
    sign_in("t-a1")
    assert approve(client, "ANA-021").status_code == 303
    path = bank_dir / "ANA" / "ANA-021.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("ぶじでした", "ぶじだった"), encoding="utf-8")
    result = apply_reviews(db_session, bank=bank_dir, now=clock.now())
    assert result.stale == ["ANA-021"] and result.written == []
    assert "status: draft" in path.read_text(encoding="utf-8")
    dl.set_item_bank(load_bank(bank_dir))
    queue = client.get("/bank/review?skill=ANA&band=P1-2")
    assert "問題が変わったため再確認" in queue.text


def test_the_commands_grant_refuse_and_apply(
    settings: Any, world: World, bank_dir: Path, db_session: Session, clock: Any
) -> None:
    from typer.testing import CliRunner

    from lms.cli import app

    runner = CliRunner()
    granted = runner.invoke(app, ["items", "reviewers", "grant", "sa-a"])
    assert granted.exit_code == 0, granted.output
    refused = runner.invoke(app, ["items", "reviewers", "grant", "s-a1"])
    assert refused.exit_code == 2 and "レビュー担当になれません" in refused.stderr
    listed = runner.invoke(app, ["items", "reviewers", "list"])
    assert "sa-a\tschool_admin" in listed.stdout
    db_session.expire_all()
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "item_reviewer.grant")).one()
    db_session.add(
        ItemReviewDecision(
            item_id="ANA-021",
            item_digest=item_digest(bank_dir / "ANA" / "ANA-021.yaml"),
            decision="approve",
            checks=list(REVIEW_CHECKS),
            reviewer_id=world.users["sa-a"].id,
            reviewer_username="sa-a",
            decided_at=clock.now(),
        )
    )
    db_session.commit()
    dry = runner.invoke(app, ["items", "apply-reviews", "--bank", str(bank_dir), "--dry-run"])
    assert dry.exit_code == 0 and "1 approvals to write (dry run" in dry.stdout
    assert "status: draft" in (bank_dir / "ANA" / "ANA-021.yaml").read_text(encoding="utf-8")
    done = runner.invoke(app, ["items", "apply-reviews", "--bank", str(bank_dir)])
    assert done.exit_code == 0 and "ANA-021 by sa-a" in done.stdout, done.output
    assert load_bank(bank_dir)["ANA-021"].status == "reviewed"
    missing = runner.invoke(app, ["items", "apply-reviews", "--bank", str(bank_dir / "nowhere")])
    assert missing.exit_code == 2


def test_an_item_past_draft_is_shown_without_the_decision_form_and_a_decision_is_refused(
    client: Any, sign_in: Callable[..., Any], reviewer: User, bank_dir: Path, db_session: Session
) -> None:
    sign_in("t-a1")
    page = client.get("/bank/review/ANA-001")
    assert page.status_code == 200 and 'id="not-draft"' in page.text and 'id="review-form"' not in page.text
    data: dict[str, Any] = {
        "csrf_token": csrf_of(page.text),
        "digest": item_digest(bank_dir / "ANA" / "ANA-001.yaml"),
    }
    data |= {"decision": "approve", "checks": list(REVIEW_CHECKS)}
    assert client.post("/bank/review/ANA-001", data=data).status_code == 409
    assert client.get("/bank/review/NOPE-001").status_code == 404
    assert db_session.exec(select(ItemReviewDecision)).first() is None
