"""Real browser: a portal page on ``portal.test`` embeds the tool (``tool.test``) in an iframe, Chromium
blocks third-party cookies, and the launch still signs the child in and lets them answer a test item.

Both sites are served over https with a throwaway self-signed certificate (Secure cookies need it);
``--host-resolver-rules`` maps ``*.test`` to 127.0.0.1. The blocking is checked, not assumed: a plain
``SameSite=None; Secure`` cookie set inside a cross-site iframe is NOT sent back, while the tool's
partitioned session cookie (CHIPS) is.

Login CSRF (docs/lti.md): where even the launch's partitioned binding cookie is dropped (the test removes
it from the cookie jar before the launch), the portal's postMessage storage proves the browser instead.
The portal page ``/course-storage`` (tests/lti/platform.py) implements the platform side of 1EdTech's
client-side postMessages: the login page stores the value there (``lti.put_data``), the confirm page reads
it back (``lti.get_data``) and posts it. A portal answering another value, or none, leaves a refusal and
no sign-in.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.lti import launch as lti_launch
from lms.lti import registration
from tests.browser.test_runner_take_test import make_cat
from tests.lti.certs import self_signed
from tests.lti.platform import LaunchSpec, TestPlatform, bound_socket, serve
from tests.support import missing

pytestmark = pytest.mark.browser

HOSTS = ("tool.test", "portal.test", "probe.test")
BINDING = "__Host-giga_lti_bind_"  # lms.lti.binding.HOST_ONLY + COOKIE_PREFIX
# Playwright's 30 s default was once too short for a launch chain (portal → tool → portal → tool) in frames at
# load 12–15; a hang still fails, a minute later
BROWSER_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
    "--test-third-party-cookie-phaseout",  # third-party cookies blocked, as Chrome does for 3PCD
    "--ignore-certificate-errors",  # the throwaway certificate, for this test only
]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str]:
    return self_signed(tmp_path, HOSTS)


@pytest.fixture
def tool_server(settings: Any, world: Any, certificate: tuple[str, str]) -> Iterator[str]:
    from lms.main import create_app

    cert, key = certificate
    sock = bound_socket()
    server, thread = serve(create_app(settings), sock, ssl_certfile=cert, ssl_keyfile=key)
    yield f"https://tool.test:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def portal(tool_server: str, certificate: tuple[str, str], db_session: Session) -> Iterator[TestPlatform]:
    lti_launch.jwks_cache.clear()
    platform = TestPlatform(tool_url=tool_server, public_host="portal.test")
    cert, key = certificate
    platform.start(ssl_certfile=cert, ssl_keyfile=key)
    registration.register_platform(
        session=db_session,
        data=registration.PlatformInput(
            name="みどり市 学習eポータル",
            issuer=platform.issuer,
            client_id=platform.client_id,
            auth_login_url=platform.auth_login_url.replace(platform.local_url, platform.base_url),
            auth_token_url=platform.auth_token_url,
            jwks_url=platform.jwks_url,
            deployment_ids=(platform.deployment_id,),
        ),
        actor_id=None,
        ip=None,
    )
    db_session.commit()
    yield platform
    platform.stop()


@pytest.fixture
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        missing("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def test_third_party_cookies_are_really_blocked(chromium: Any, portal: TestPlatform) -> None:
    context = chromium.new_context(ignore_https_errors=True)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    page = context.new_page()
    probe = f"https://probe.test:{portal.https_port}"
    # first-party (top level): the probe's cookie comes back — the probe itself works
    page.goto(probe + "/probe/set")
    page.wait_for_selector("#result")
    assert page.locator("#result").inner_text() == "cookie:yes"
    # the same probe inside portal.test's iframe: the plain SameSite=None cookie, set and still in the jar, is
    # not sent (the frame asks directly: no refresh inside the frame to wait for)
    assert [c["name"] for c in context.cookies(probe)] == ["probe"]
    page.goto(f"{portal.base_url}/probe/embed?frame={probe}/probe/check")
    frame = page.frame_locator("#probe")
    frame.locator("#result").wait_for()
    assert frame.locator("#result").inner_text() == "cookie:no"
    context.close()


def test_launch_in_an_iframe_with_third_party_cookies_blocked_lets_the_child_answer(
    chromium: Any,
    portal: TestPlatform,
    tool_server: str,
    world: Any,
    db_session: Session,
) -> None:
    from lms.reading.models import Attempt, Response

    student = world.users["s-a1"]
    student.sourced_id = "stu-a1"
    db_session.add(student)
    db_session.commit()
    assignment = make_cat(db_session, world, length=3)
    portal.launches["hint-1"] = LaunchSpec(sub="portal-sub-1", lis={"person_sourcedid": "stu-a1"})

    context = chromium.new_context(
        ignore_https_errors=True, locale="ja-JP", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{portal.base_url}/course/hint-1")
    frame = page.frame_locator("#tool")
    # the student's home inside the iframe: signed in by the launch, the test listed
    frame.get_by_role("link", name="はじめる").click()
    frame.locator("#item-form:not([hidden]) #options input").first.wait_for()
    tool_frame = next(f for f in page.frames if f.url.startswith(tool_server))
    assert tool_frame.url.startswith(f"{tool_server}/test/{assignment.id}")
    frame.locator("#options input").first.check()
    frame.get_by_role("button", name="こたえる").click()
    # a locator, not wait_for_function: the page's CSP (kept on: it carries frame-ancestors) forbids eval
    frame.locator("#status[data-text='保存しました']").wait_for()
    db_session.rollback()
    saved = db_session.exec(
        select(Response)
        .join(Attempt)
        .where(Attempt.assignment_id == assignment.id, Attempt.student_id == student.id)
    ).all()
    assert len(saved) == 1
    # the session cookie that made it work is partitioned under portal.test
    cookies = {c["name"]: c for c in context.cookies(tool_server)}
    assert cookies["giga_session"]["sameSite"] == "None" and cookies["giga_session"]["secure"]
    assert cookies["giga_session"].get("partitionKey") == "https://portal.test"
    # the launch was bound to this browser by the login's partitioned cookie (login CSRF, docs/lti.md)
    assert [e["browser_binding"] for e in _events(db_session, "lti.launch")] == ["cookie"]
    page.screenshot(path="/tmp/giga_lti_iframe.png")
    context.close()


def test_a_notebook_lesson_launched_in_the_iframe_opens_the_hub_in_a_signed_in_new_window(
    chromium: Any, portal: TestPlatform, tool_server: str, world: Any, db_session: Session
) -> None:
    """The hub refuses frames: the lesson page's button opens a new top-level window, which the handoff
    ticket signs in with a first-party cookie before it goes on to the hub (answered here by a route)."""
    from lms.notebooks.models import NotebookCourse

    student = world.users["s-a1"]
    student.sourced_id = "stu-a1"
    db_session.add(student)
    db_session.add(NotebookCourse(class_id=world.classes["A1"].id, course_id="a1-prog"))
    db_session.commit()
    portal.launches["hint-nb"] = LaunchSpec(
        sub="portal-sub-1",
        lis={"person_sourcedid": "stu-a1"},
        custom={"giga_target": "/notebooks/a1-prog/lesson1"},
    )
    context = chromium.new_context(ignore_https_errors=True, locale="ja-JP")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    hub_requests: list[str] = []

    def fake_hub(route: Any) -> None:
        hub_requests.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>hub</title><p id=hub>hub</p>")

    context.route("http://127.0.0.1:8001/**", fake_hub)
    page = context.new_page()
    page.goto(f"{portal.base_url}/course/hint-nb")
    frame = page.frame_locator("#tool")
    button = frame.locator("#open-lesson")
    button.wait_for()
    assert "lesson1" in frame.locator("h1").inner_text()
    with context.expect_page() as opened:
        button.click()
    window = opened.value
    window.wait_for_url("http://127.0.0.1:8001/hub/user-redirect/tree")
    assert hub_requests == ["http://127.0.0.1:8001/hub/user-redirect/tree"]
    # the new window holds a first-party (not partitioned) session: what the hub's OAuth sign-in needs
    first_party = [
        c for c in context.cookies(tool_server) if c["name"] == "giga_session" and not c.get("partitionKey")
    ]
    assert len(first_party) == 1
    context.close()


def _open_with_the_cookie_dropped(
    chromium: Any, tool_server: str, portal: TestPlatform, path: str
) -> tuple[Any, Any, list[str]]:
    """The portal's course page in a browser that loses the binding cookie between the tool's login and the
    launch (removed from the cookie jar as the iframe goes on to the portal's /auth): a browser refusing
    even partitioned cookies, as far as the launch can tell."""
    context = chromium.new_context(ignore_https_errors=True, locale="ja-JP")
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    dropped: list[str] = []

    def drop_binding(route: Any) -> None:
        bound = context.cookies(tool_server)
        dropped.extend(c["name"] for c in bound if c["name"].startswith(BINDING))
        context.clear_cookies(name=re.compile("^" + BINDING))
        route.continue_()

    context.route(f"{portal.base_url}/auth**", drop_binding)
    page = context.new_page()
    page.goto(portal.base_url + path)
    return context, page, dropped


def _events(session: Session, action: str) -> list[dict[str, Any]]:
    session.rollback()
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
    rows = session.exec(query).all()
    return [json.loads(row.detail or "{}") for row in rows]


def _portal_student(portal: TestPlatform, world: Any, db_session: Session, hint: str) -> Any:
    student = world.users["s-a1"]
    student.sourced_id = "stu-a1"
    db_session.add(student)
    db_session.commit()
    portal.launches[hint] = LaunchSpec(sub="portal-sub-1", lis={"person_sourcedid": "stu-a1"})
    return student


def test_the_portal_storage_proves_the_browser_when_the_cookie_is_dropped(
    chromium: Any, portal: TestPlatform, tool_server: str, world: Any, db_session: Session
) -> None:
    student = _portal_student(portal, world, db_session, "hint-s")
    make_cat(db_session, world, length=3)
    context, page, dropped = _open_with_the_cookie_dropped(
        chromium, tool_server, portal, "/course-storage/hint-s"
    )
    frame = page.frame_locator("#tool")
    frame.get_by_role("link", name="はじめる").wait_for()  # the student's home, inside the iframe
    assert len(dropped) == 1  # the login did set its binding cookie, and the launch went without it
    launches = _events(db_session, "lti.launch")
    assert [e["browser_binding"] for e in launches] == ["portal_storage"]
    db_session.rollback()
    signed_in = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.launch")).one()
    assert signed_in.actor_id == student.id
    context.close()


@pytest.mark.parametrize("tamper", ["wrong", "missing"])
def test_a_wrong_or_missing_storage_value_is_refused(
    chromium: Any, portal: TestPlatform, tool_server: str, world: Any, db_session: Session, tamper: str
) -> None:
    _portal_student(portal, world, db_session, "hint-t")
    context, page, dropped = _open_with_the_cookie_dropped(
        chromium, tool_server, portal, f"/course-storage/hint-t?tamper={tamper}"
    )
    frame = page.frame_locator("#tool")
    frame.locator('[data-lti-refusal="binding_mismatch"]').wait_for()
    assert len(dropped) == 1
    assert "学習eポータルの管理者" in frame.locator("main").inner_text()
    assert _events(db_session, "lti.launch") == []
    assert [e["reason"] for e in _events(db_session, "lti.launch_refused")] == ["binding_mismatch"]
    assert not [c for c in context.cookies(tool_server) if c["name"] == "giga_session"]
    context.close()
