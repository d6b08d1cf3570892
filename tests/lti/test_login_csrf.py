"""Login CSRF (docs/lti.md): a launch signs in only the browser that started the login.

The attacker completes a login at the portal as themselves and makes another browser post their id_token and
state. That browser has neither the login's partitioned cookie nor the value in the portal's postMessage
storage: refused, nothing created. The portal-storage path (a browser dropping even partitioned cookies)
completes with the right value only, and only from the tool's own page. The per-platform setting on
/admin/lti turns the requirement off, audited.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from lms.audit.models import AuditEvent
from lms.auth.models import AuthSession
from lms.lti.models import LtiContext, LtiHandoff, LtiPendingLaunch, LtiPlatform, LtiUserLink
from lms.roster.models import User
from tests.conftest import RosterCity
from tests.lms.conftest import csrf_of
from tests.lti.conftest import OUR_PAGE, TOOL_URL
from tests.lti.platform import LaunchSpec, TestPlatform, parse_form_post

COUNTED: tuple[type[SQLModel], ...] = (AuthSession, LtiUserLink, LtiContext, User, LtiHandoff)
DATA = re.compile(r'data-([a-z-]+)="([^"]*)"')
PENDING = re.compile(r'name="pending" value="([^"]*)"')


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one() for model in COUNTED}


def _refusal_reasons(session: Session) -> list[str]:
    session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == "lti.launch_refused").order_by(col(AuditEvent.id))
    rows = session.exec(query).all()
    return [str(_detail(row).get("reason")) for row in rows]


def _detail(event: AuditEvent) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(event.detail or "{}")
    return loaded


@pytest.fixture
def other_browser(app: Any) -> Iterator[Any]:
    """A second browser (its own cookie jar): the victim's."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url=TOOL_URL) as browser:
        yield browser


def _student(roster_city: RosterCity, platform: TestPlatform, hint: str) -> User:
    platform.launches[hint] = LaunchSpec(sub="portal-user-17", lis={"person_sourcedid": "stu-es-1"})
    student: User = roster_city.user("stu-es-1")
    return student


def _platform_answer(location: str) -> dict[str, str]:
    """The platform's auto-posting form (id_token + state) for the tool's redirect to its /auth."""
    answer = httpx.get(location, timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    _action, form = parse_form_post(answer.text)
    return form


def test_the_attackers_id_token_and_state_posted_from_another_browser_are_refused(
    client: Any,
    other_browser: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
) -> None:
    _student(roster_city, platform, "attacker")
    # the attacker's own login (their browser gets the binding cookie), stopped before the form post
    login = client.get("/lti/login", params=platform.login_params("attacker"), follow_redirects=False)
    assert login.status_code == 302
    form = _platform_answer(login.headers["location"])
    before = _counts(db_session)
    # the victim's browser is made to post it (an auto-posting form on any site)
    response = other_browser.post("/lti/launch", data=form, follow_redirects=False)
    assert response.status_code == 403
    assert 'data-lti-refusal="browser_not_bound"' in response.text
    assert "新しいウィンドウで開く" in response.text and "学習eポータルの管理者" in response.text
    assert "giga_session" not in other_browser.cookies and "giga_session=" not in str(response.headers)
    assert _counts(db_session) == before
    assert _refusal_reasons(db_session) == ["browser_not_bound"]
    # the new-window button starts the same login again (a top-level window keeps its cookie)
    relaunch = unescape(re.search(r'id="lti-relaunch" href="([^"]*)"', response.text).group(1))  # type: ignore[union-attr]
    assert relaunch.startswith(TOOL_URL + "/lti/login?") and "login_hint=attacker" in relaunch
    # and the state is spent: the attacker's own browser cannot use it afterwards either
    assert client.post("/lti/launch", data=form, follow_redirects=False).status_code == 409


def test_the_login_browser_with_its_cookie_signs_in(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    student = _student(roster_city, platform, "own")
    login = client.get("/lti/login", params=platform.login_params("own"), follow_redirects=False)
    response = client.post(
        "/lti/launch", data=_platform_answer(login.headers["location"]), follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/lti/landing?h=")
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.launch")).one()
    assert event.actor_id == student.id and _detail(event)["browser_binding"] == "cookie"
    # the binding cookie is deleted by the launch (Partitioned, or the deletion would address another cookie)
    deleted = [c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-giga_lti_bind_")]
    assert len(deleted) == 1 and "Max-Age=0" in deleted[0] and "Partitioned" in deleted[0]


def _storage_login(client: Any, platform: TestPlatform, hint: str) -> tuple[dict[str, str], dict[str, str]]:
    """A login offering the portal storage: the page that puts the value there, and the platform's form."""
    params = platform.login_params(hint, lti_storage_target="_parent")
    page = client.get("/lti/login", params=params, follow_redirects=False)
    assert page.status_code == 200, page.text[:300]
    data = {k: unescape(v) for k, v in DATA.findall(page.text)}
    assert data["mode"] == "put" and data["target"] == "_parent"
    assert data["platform-origin"] == platform.base_url  # the messages go to the portal's origin only
    return data, _platform_answer(data["next"])


def _pending_page(browser: Any, form: dict[str, str]) -> tuple[dict[str, str], str]:
    response = browser.post("/lti/launch", data=form, follow_redirects=False)
    assert response.status_code == 200, response.text[:300]
    data = {k: unescape(v) for k, v in DATA.findall(response.text)}
    assert data["mode"] == "get" and "value" not in data  # the page never carries the value itself
    match = PENDING.search(response.text)
    assert match is not None
    return data, match.group(1)


def test_without_the_cookie_the_portal_storage_value_completes_the_launch_and_only_it(
    client: Any,
    other_browser: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
) -> None:
    student = _student(roster_city, platform, "store")
    stored, form = _storage_login(client, platform, "store")
    before = _counts(db_session)
    # the cookie did not come back (the other browser): the launch waits, nothing signed in or created yet
    asked, pending = _pending_page(other_browser, form)
    assert asked["key"] == stored["key"] and asked["platform-origin"] == platform.base_url
    assert _counts(db_session) == before
    same_origin = {"Origin": TOOL_URL}
    # a wrong value (a guess, or a portal storage without it): refused, and the pending launch spent
    wrong = other_browser.post(
        "/lti/launch/confirm", data={"pending": pending, "value": "guess"}, headers=same_origin
    )
    assert wrong.status_code == 403 and 'data-lti-refusal="binding_mismatch"' in wrong.text
    again = other_browser.post(
        "/lti/launch/confirm", data={"pending": pending, "value": stored["value"]}, headers=same_origin
    )
    assert again.status_code == 403 and 'data-lti-refusal="pending_expired"' in again.text
    assert _counts(db_session) == before
    # a second launch of the same login-with-storage flow; the value read back from the portal: signed in
    student_form = _storage_login(client, platform, "store")
    _data, pending = _pending_page(other_browser, student_form[1])
    done = other_browser.post(
        "/lti/launch/confirm",
        data={"pending": pending, "value": student_form[0]["value"]},
        headers=same_origin,
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/lti/landing?h=")
    launched = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.launch")).one()
    assert launched.actor_id == student.id
    assert _detail(launched)["browser_binding"] == "portal_storage"
    assert _refusal_reasons(db_session) == ["binding_mismatch", "pending_expired"]


def test_the_confirm_post_from_another_site_is_refused_even_with_the_right_value(
    client: Any,
    other_browser: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
) -> None:
    """The attacker knows their own value and can get a pending launch from their own client; the victim's
    browser posting both from the attacker's page carries the attacker's Origin (or none): refused."""
    _student(roster_city, platform, "atk")
    stored, form = _storage_login(client, platform, "atk")
    client.cookies.clear()  # the attacker drops their own cookie to get a pending launch
    _data, pending = _pending_page(client, form)
    before = _counts(db_session)
    for headers in ({"Origin": "https://evil.example"}, {}, {"Origin": "null"}):
        refused = other_browser.post(
            "/lti/launch/confirm", data={"pending": pending, "value": stored["value"]}, headers=headers
        )
        assert refused.status_code == 403 and 'data-lti-refusal="confirm_cross_site"' in refused.text
    assert _counts(db_session) == before
    assert _refusal_reasons(db_session) == ["confirm_cross_site"] * 3
    assert db_session.exec(select(LtiPendingLaunch)).one().used_at is None  # not even spent by a forgery


def test_a_platform_marked_binding_not_required_launches_without_it_and_the_switch_is_audited(
    client: Any,
    other_browser: Any,
    sign_in: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
) -> None:
    assert registered.browser_binding_required  # the default
    sign_in("admin")
    page = client.get("/admin/lti")
    assert f'id="lti-binding-{registered.id}"' in page.text
    off = client.post(
        f"/admin/lti/{registered.id}/binding", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert off.status_code == 303
    db_session.expire_all()
    assert db_session.get(LtiPlatform, registered.id).browser_binding_required is False  # type: ignore[union-attr]
    switched = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.platform_binding")).one()
    assert _detail(switched) == {"required": False}
    warned = client.get("/admin/lti")
    assert "確かめていません" in warned.text
    # now a launch posted from a browser without the cookie signs in (the administrator's choice)
    student = _student(roster_city, platform, "free")
    login = client.get("/lti/login", params=platform.login_params("free"), follow_redirects=False)
    response = other_browser.post(
        "/lti/launch", data=_platform_answer(login.headers["location"]), follow_redirects=False
    )
    assert response.status_code == 303
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.launch")).one()
    assert event.actor_id == student.id and _detail(event)["browser_binding"] == "not_required"
    # and back on: required again
    on = client.post(
        f"/admin/lti/{registered.id}/binding",
        data={"required": "on", "csrf_token": csrf_of(warned.text)},
        follow_redirects=False,
    )
    assert on.status_code == 303
    db_session.expire_all()
    assert db_session.get(LtiPlatform, registered.id).browser_binding_required is True  # type: ignore[union-attr]


def _binding_cookie(response: Any) -> tuple[str, str, str]:
    """The login's binding cookie: its name, value and whole ``Set-Cookie`` line."""
    lines = [line for line in response.headers.get_list("set-cookie") if "giga_lti_bind_" in line]
    assert len(lines) == 1, lines
    name, _, rest = lines[0].partition("=")
    return name, rest.split(";", 1)[0], lines[0]


def test_a_binding_cookie_tossed_from_a_sibling_subdomain_does_not_bind_the_victims_browser(
    client: Any,
    other_browser: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
) -> None:
    """A site on a sibling subdomain (``evil.example.jp`` next to ``lms.example.jp``) can set a cookie with
    ``Domain=example.jp`` that the tool receives. The attacker knows their own login's cookie (name and value:
    it is their browser) and plants it in the victim's browser before posting their id_token and state there.
    The binding cookie is ``__Host-`` prefixed, which the browser lets only the tool's own host set (no
    ``Domain``, ``Path=/``, Secure): a planted cookie can only carry another name, and does not count."""
    _student(roster_city, platform, "tosser")
    login = client.get("/lti/login", params=platform.login_params("tosser"), follow_redirects=False)
    name, value, line = _binding_cookie(login)
    form = _platform_answer(login.headers["location"])
    before = _counts(db_session)
    # what a sibling subdomain can set: any name without the __Host- prefix (the attacker's, unprefixed)
    tossed = name.removeprefix("__Host-")
    response = other_browser.post(
        "/lti/launch", data=form, headers={"Cookie": f"{tossed}={value}"}, follow_redirects=False
    )
    assert response.status_code == 403 and 'data-lti-refusal="browser_not_bound"' in response.text
    assert _counts(db_session) == before
    assert _refusal_reasons(db_session) == ["browser_not_bound"]
    assert name.startswith("__Host-") and "; Path=/;" in line and "domain=" not in line.lower()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/x-www-form-urlencoded"),
        (b"value=abc", "application/x-www-form-urlencoded"),
        (b"pending=" + b"A" * 2_000_000 + b"&value=" + b"B" * 2_000_000, "application/x-www-form-urlencoded"),
        (b"pending=%FF%FE&value=%00", "application/x-www-form-urlencoded"),
        (b'{"pending": "x", "value": "y"}', "application/json"),
        (
            b'--b\r\nContent-Disposition: form-data; name="pending"; filename="p.txt"\r\n\r\n'
            b"xyz\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
        (b"garbage", "multipart/form-data"),
    ],
)
def test_malformed_confirm_posts_get_a_japanese_refusal_not_a_500(
    other_browser: Any, registered: LtiPlatform, db_session: Session, body: bytes, content_type: str
) -> None:
    response = other_browser.post(
        "/lti/launch/confirm",
        content=body,
        headers={"Origin": TOOL_URL, "Content-Type": content_type},
        follow_redirects=False,
    )
    assert 400 <= response.status_code < 500, response.text[:300]
    assert 'lang="ja"' in response.text
    assert "giga_session" not in other_browser.cookies


@pytest.mark.parametrize("username", ["sa-a", "board", "t-a1"])
def test_only_the_system_administrator_can_switch_the_binding_off(
    client: Any, sign_in: Any, registered: LtiPlatform, db_session: Session, username: str
) -> None:
    sign_in(username)
    page = client.get("/home")
    response = client.post(
        f"/admin/lti/{registered.id}/binding", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code in (403, 404)
    db_session.expire_all()
    assert db_session.get(LtiPlatform, registered.id).browser_binding_required is True  # type: ignore[union-attr]
    assert not db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.platform_binding")).all()


@pytest.mark.parametrize(
    "navigation",
    [
        {"Sec-Fetch-Site": "cross-site"},  # a link or a script on the attacker's site
        {"Sec-Fetch-Site": "none"},  # pasted into the address bar
        {},  # a browser sending neither Sec-Fetch-Site nor a Referer of ours
        {"Referer": "https://evil.example/page"},
    ],
)
def test_the_attackers_handoff_ticket_opened_in_the_victims_browser_signs_nobody_in(
    client: Any,
    other_browser: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
    navigation: dict[str, str],
) -> None:
    """The attacker launches in their own browser (the binding holds there) and keeps the new-window ticket of
    the landing (``/lti/landing?h=``, two minutes); the victim's browser sent to ``/lti/handoff?h=`` would
    otherwise be signed in as the attacker, around the whole binding. The new window is opened only by the
    tool's own page (the landing's button, the notebook lessons' link): a navigation from anywhere else is
    refused and the ticket stays unspent."""
    _student(roster_city, platform, "handoff")
    login = client.get("/lti/login", params=platform.login_params("handoff"), follow_redirects=False)
    launched = client.post(
        "/lti/launch", data=_platform_answer(login.headers["location"]), follow_redirects=False
    )
    ticket = launched.headers["location"].split("h=", 1)[1]
    sessions = _counts(db_session)["AuthSession"]
    opened = other_browser.get(
        "/lti/handoff", params={"h": ticket}, headers=navigation, follow_redirects=False
    )
    assert opened.status_code == 403 and 'data-lti-refusal="handoff_cross_site"' in opened.text
    assert "giga_session" not in other_browser.cookies
    assert _counts(db_session)["AuthSession"] == sessions
    db_session.expire_all()
    assert db_session.exec(select(LtiHandoff)).one().used_at is None
    # the tool's own new-window button (a same-origin navigation) still opens it
    own = other_browser.get("/lti/handoff", params={"h": ticket}, headers=OUR_PAGE, follow_redirects=False)
    assert own.status_code == 303
