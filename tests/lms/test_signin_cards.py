"""QR sign-in cards through HTTP: who may issue and revoke, the printed codes, signing in with one, the
throttle, revocation, staff never, and the audit trail."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.auth.cards.models import SignInCard
from lms.auth.cards.service import normalise_code
from lms.auth.sessions import SESSION_COOKIE
from tests.lms.conftest import csrf_of

CODE_RE = re.compile(r'data-code="([0-9A-Z]{12})"')
LISTED_RE = re.compile(r'name="listed_at" value="([^"]+)"')


def _listed_at(html: str) -> str:
    match = LISTED_RE.search(html)
    assert match, "no listed_at in the cards page"
    return match.group(1)


def _issue(client: Any, class_id: int, student_ids: list[int]) -> Any:
    page = client.get(f"/classes/{class_id}/cards")
    assert page.status_code == 200, page.text
    return client.post(
        f"/classes/{class_id}/cards/issue",
        data={
            "csrf_token": csrf_of(page.text),
            "listed_at": _listed_at(page.text),
            "student_id": [str(s) for s in student_ids],
        },
        follow_redirects=False,
    )


def _card_login(client: Any, code: str) -> Any:
    page = client.get("/login/card")
    return client.post(
        "/login/card",
        data={"csrf_token": csrf_of(page.text), "code": code, "next": "/home"},
        follow_redirects=False,
    )


def _actions(db: Session) -> list[str]:
    db.expire_all()
    return [e.action for e in db.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def test_teacher_issues_prints_and_the_child_signs_in_with_the_card(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    from fastapi.testclient import TestClient

    a1 = world.classes["A1"]
    s1, s1b = world.users["s-a1"], world.users["s-a1b"]
    sign_in("t-a1")
    class_page = client.get(f"/classes/{a1.id}")
    assert f'href="/classes/{a1.id}/cards"' in class_page.text  # reachable from the class page
    printed = _issue(client, a1.id, [s1.id, s1b.id])
    assert printed.status_code == 200 and printed.headers["cache-control"] == "no-store"
    codes = CODE_RE.findall(printed.text)
    assert len(codes) == 2 and codes[0] != codes[1]
    assert "<svg" in printed.text and "<ruby>山田<rt>やまだ</rt></ruby>" in printed.text
    stored = db_session.exec(select(SignInCard)).all()
    assert len(stored) == 2 and all(
        card.secret_hash not in codes and len(card.secret_hash) == 64 for card in stored
    )
    assert _actions(db_session).count("card.issue") == 2

    child = TestClient(app)
    # the typed form (lower case, hyphens, full-width) is the same code
    typed = "－".join([codes[0][:4], codes[0][4:8], codes[0][8:]]).lower()
    response = _card_login(child, typed)
    assert response.status_code == 303 and response.headers["location"] == "/home"
    assert child.cookies.get(SESSION_COOKIE)
    home = child.get("/home")
    assert home.status_code == 200 and "一郎" in home.text
    logins = select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(col(AuditEvent.id))
    login = db_session.exec(logins).all()[-1]  # ordered: PostgreSQL returns rows in no promised order
    assert login.actor_id == s1.id and json.loads(login.detail or "") == {"method": "qr_card"}
    # the QR payload as scanned works too (for the other child)
    other = TestClient(app)
    assert _card_login(other, "GIGA-CARD:" + codes[1]).status_code == 303


def test_reissue_and_revoke_make_the_old_card_useless(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    from fastapi.testclient import TestClient

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("t-a1")
    first = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)[0]
    second = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)[0]
    assert _card_login(TestClient(app), first).status_code == 401  # reissue revoked the first card
    assert _card_login(TestClient(app), second).status_code == 303
    page = client.get(f"/classes/{a1.id}/cards")
    revoked = client.post(
        f"/classes/{a1.id}/cards/revoke",
        data={"csrf_token": csrf_of(page.text), "student_id": str(s1.id)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    refused = _card_login(TestClient(app), second)
    assert refused.status_code == 401 and "このカードは つかえません" in refused.text
    # class-wide revocation
    third = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)[0]
    page = client.get(f"/classes/{a1.id}/cards")
    client.post(f"/classes/{a1.id}/cards/revoke", data={"csrf_token": csrf_of(page.text), "all": "1"})
    assert _card_login(TestClient(app), third).status_code == 401
    actions = _actions(db_session)
    assert actions.count("card.revoke") == 3 and actions.count("card.issue") == 3


def test_who_may_issue(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    from fastapi.testclient import TestClient

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("sa-a")  # the school's administrator
    assert _issue(client, a1.id, [s1.id]).status_code == 200
    # another school's teacher: the class does not exist for them
    teacher_b = TestClient(app)
    _sign_in_on(teacher_b, "t-b1", world, clock)
    assert teacher_b.get(f"/classes/{a1.id}/cards").status_code == 404
    csrf = csrf_of(teacher_b.get("/home").text)
    refused = teacher_b.post(
        f"/classes/{a1.id}/cards/issue", data={"csrf_token": csrf, "student_id": str(s1.id)}
    )
    assert refused.status_code == 404
    # a student: not found either
    student = TestClient(app)
    _sign_in_on(student, "s-a1b", world, clock)
    assert student.get(f"/classes/{a1.id}/cards").status_code == 404
    # the teacher of the class cannot give a card to a child of another class, nor to a staff account
    teacher = TestClient(app)
    _sign_in_on(teacher, "t-a1", world, clock)
    listing = teacher.get(f"/classes/{a1.id}/cards").text
    csrf, listed = csrf_of(listing), _listed_at(listing)
    for outsider in (world.users["s-a2"], world.users["t-a1"]):
        response = teacher.post(
            f"/classes/{a1.id}/cards/issue",
            data={"csrf_token": csrf, "listed_at": listed, "student_id": str(outsider.id)},
        )
        assert response.status_code == 404 and "このクラスにいない" in response.text
    assert teacher.post(f"/classes/{a1.id}/cards/issue", data={"csrf_token": csrf}).status_code == 400
    assert len(db_session.exec(select(SignInCard)).all()) == 1


def _sign_in_on(client: Any, username: str, world: Any, clock: Any) -> None:
    from tests.lms.conftest import PASSWORD, totp_code

    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/mfa"):
        clock.advance(seconds=30)
        mfa = client.get(response.headers["location"])
        client.post(
            "/login/mfa",
            data={"code": totp_code(world.totp[username], clock), "csrf_token": csrf_of(mfa.text)},
            follow_redirects=False,
        )


def test_system_admin_and_board_are_refused(app: Any, world: Any, clock: Any) -> None:
    from fastapi.testclient import TestClient

    a1 = world.classes["A1"]
    for username in ("admin", "board"):
        client = TestClient(app)
        _sign_in_on(client, username, world, clock)
        response = client.get(f"/classes/{a1.id}/cards")
        assert response.status_code == 403, (username, response.status_code)


def test_guessing_locks_card_sign_in_from_that_address(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any, settings: Any
) -> None:
    from fastapi.testclient import TestClient

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("t-a1")
    good = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)[0]
    guesser = TestClient(app)
    limit = settings.login_throttle_max_per_ip  # the password rule per address (a guesser aims at no account)
    assert limit > settings.login_max_failures  # a class's typing mistakes do not lock the school's address
    statuses = [_card_login(guesser, "ABCD-EFGH-JKLM").status_code for _ in range(limit)]
    assert statuses == [401] * limit
    locked = _card_login(guesser, good)  # even the right card waits out the lock-out
    assert locked.status_code == 429 and "ぷん ほど まってから" in locked.text
    actions = _actions(db_session)
    assert actions.count("auth.login_failed") == limit
    assert "auth.lockout" in actions and "auth.login_refused_locked" in actions
    clock.advance(minutes=settings.login_lockout_minutes + 1)
    assert _card_login(TestClient(app), good).status_code == 303


def test_a_card_of_a_child_who_left_the_class_or_was_disabled_is_refused(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    from fastapi.testclient import TestClient

    from lms.roster.models import Enrollment, User

    a1, s1, s1b = world.classes["A1"], world.users["s-a1"], world.users["s-a1b"]
    sign_in("t-a1")
    codes = CODE_RE.findall(_issue(client, a1.id, [s1.id, s1b.id]).text)
    enrollment = db_session.exec(select(Enrollment).where(Enrollment.user_id == s1.id)).one()
    enrollment.status = "tobedeleted"
    disabled = db_session.get(User, s1b.id)
    assert disabled is not None
    disabled.enabled = False
    db_session.add_all([enrollment, disabled])
    db_session.commit()
    assert _card_login(TestClient(app), codes[0]).status_code == 401
    assert _card_login(TestClient(app), codes[1]).status_code == 401


def test_scanner_page_may_use_the_camera_and_the_login_page_links_it(client: Any, world: Any) -> None:
    login = client.get("/login")
    assert 'href="/login/card?next=' in login.text and "QRコードでログイン" in login.text
    assert "camera=()" in login.headers["permissions-policy"]
    scanner = client.get("/login/card")
    assert scanner.status_code == 200
    assert "camera=(self)" in scanner.headers["permissions-policy"]
    assert "microphone=()" in scanner.headers["permissions-policy"]
    assert "script-src 'self'" in scanner.headers["content-security-policy"]
    assert '<script src="/static/card_scan.js"' in scanner.text
    assert client.get("/static/vendor/jsQR.js").status_code == 200
    empty = client.post("/login/card", data={"csrf_token": csrf_of(scanner.text), "code": " "})
    assert empty.status_code == 400 and "コードを いれてね" in empty.text


def test_normalise_code() -> None:
    assert normalise_code("giga-card:abcd-efgh-jkmn") == "ABCDEFGHJKMN"
    assert normalise_code("ＡＢＣＤ　ＥＦＧＨ　ＪＫＭＮ") == "ABCDEFGHJKMN"
    assert normalise_code("ABCD-EFGH-JKM0") is None  # 0 is not in the alphabet
    assert normalise_code("ABCD") is None


def test_a_card_on_a_shared_device_replaces_the_previous_childs_session(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    from fastapi.testclient import TestClient

    from lms.auth.models import AuthSession

    a1, s1, s1b = world.classes["A1"], world.users["s-a1"], world.users["s-a1b"]
    sign_in("t-a1")
    codes = CODE_RE.findall(_issue(client, a1.id, [s1.id, s1b.id]).text)
    chromebook = TestClient(app)
    assert _card_login(chromebook, codes[0]).status_code == 303
    first_cookie = chromebook.cookies.get(SESSION_COOKIE)
    assert _card_login(chromebook, codes[1]).status_code == 303  # the next child, same device
    assert chromebook.cookies.get(SESSION_COOKIE) != first_cookie
    db_session.expire_all()
    sessions = db_session.exec(select(AuthSession).where(AuthSession.user_id.in_([s1.id, s1b.id]))).all()  # type: ignore[attr-defined]
    assert [row.user_id for row in sessions] == [s1b.id]  # the first child's session ended
    assert "花子" in chromebook.get("/home").text


def test_a_past_years_class_offers_no_issue_button_and_refuses_issuing(
    client: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    a1, s1 = world.classes["A1"], world.users["s-a1"]
    klass = db_session.get(type(a1), a1.id)
    assert klass is not None
    klass.read_only = True
    db_session.add(klass)
    db_session.commit()
    sign_in("t-a1")
    page = client.get(f"/classes/{a1.id}/cards")
    assert page.status_code == 200 and 'id="issue-cards"' not in page.text and "過去の年度" in page.text
    refused = client.post(
        f"/classes/{a1.id}/cards/issue",
        data={
            "csrf_token": csrf_of(page.text),
            "listed_at": "2026-01-01T00:00:00+00:00",
            "student_id": str(s1.id),
        },
    )
    assert refused.status_code == 400 and "今年度のクラスから発行" in refused.text


def test_revoking_takes_every_active_card_of_the_child(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    """Two teachers issuing at the same moment can leave a child two active cards: revocation ends both."""
    from fastapi.testclient import TestClient

    from lms.auth.cards.service import card_hash

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("t-a1")
    first = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)[0]
    second = card_hash("ZZZZ2222ZZZZ", app.state.settings)
    db_session.add(SignInCard(user_id=s1.id, class_id=a1.id, secret_hash=second))
    db_session.commit()
    page = client.get(f"/classes/{a1.id}/cards")
    client.post(
        f"/classes/{a1.id}/cards/revoke", data={"csrf_token": csrf_of(page.text), "student_id": str(s1.id)}
    )
    assert _card_login(TestClient(app), first).status_code == 401
    assert _card_login(TestClient(app), "ZZZZ2222ZZZZ").status_code == 401


def test_sending_the_issue_form_again_does_not_revoke_the_cards_just_printed(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    """A reload of the print page sends the form again: refused (409), the printed card keeps working."""
    from fastapi.testclient import TestClient

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("t-a1")
    page = client.get(f"/classes/{a1.id}/cards")
    form = {"csrf_token": csrf_of(page.text), "listed_at": _listed_at(page.text), "student_id": str(s1.id)}
    clock.advance(seconds=5)  # the teacher chooses, then presses the button
    printed = CODE_RE.findall(client.post(f"/classes/{a1.id}/cards/issue", data=form).text)[0]
    again = client.post(f"/classes/{a1.id}/cards/issue", data=form)
    assert again.status_code == 409 and "印刷したカードはそのまま使えます" in again.text
    assert _card_login(TestClient(app), printed).status_code == 303
    no_time = client.post(f"/classes/{a1.id}/cards/issue", data={**form, "listed_at": "yesterday"})
    assert no_time.status_code == 400 and "開き直して" in no_time.text


def test_a_card_of_a_past_years_class_stops_working_after_the_roll_over(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    """The roll-over archives last year's classes (read only) and ends their enrollments on 31 March but
    leaves them ``active``: a card printed for last year's class must not keep opening the child's account."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from lms.core.jst import today_in_japan
    from lms.roster.models import Enrollment, SchoolClass

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("t-a1")
    (code,) = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)
    klass = db_session.get(SchoolClass, a1.id)
    enrollment = db_session.exec(
        select(Enrollment).where(Enrollment.user_id == s1.id, Enrollment.class_id == a1.id)
    ).one()
    assert klass is not None
    klass.read_only = True  # what `lms.roster.rollover` does to last year's classes
    enrollment.end_date = today_in_japan(clock.now()) - timedelta(days=1)
    db_session.add_all([klass, enrollment])
    db_session.commit()
    assert enrollment.status == "active"
    assert _card_login(TestClient(app), code).status_code == 401


def test_the_stored_form_of_a_card_needs_the_servers_key(
    client: Any, app: Any, world: Any, sign_in: Any, db_session: Session, clock: Any
) -> None:
    """60 bits are few for an unkeyed SHA-256 once a backup leaves the server: the stored form is an HMAC
    under GIGA_SECRET_KEY, so a copied database alone lets nobody test codes offline; another key opens
    nothing."""
    import hashlib
    import hmac

    from fastapi.testclient import TestClient

    from lms.auth.tokens import sha256_hex

    a1, s1 = world.classes["A1"], world.users["s-a1"]
    sign_in("t-a1")
    (code,) = CODE_RE.findall(_issue(client, a1.id, [s1.id]).text)
    (card,) = db_session.exec(select(SignInCard)).all()
    key = app.state.settings.secret_key.encode()
    assert card.secret_hash != sha256_hex(code)
    assert card.secret_hash == hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
    assert _card_login(TestClient(app), code).status_code == 303
    app.state.settings = app.state.settings.model_copy(update={"secret_key": "another-key-" * 4})
    assert _card_login(TestClient(app), code).status_code == 401
