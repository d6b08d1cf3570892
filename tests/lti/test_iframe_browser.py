"""Real browser: a portal page on ``portal.test`` embeds the tool (``tool.test``) in an iframe, Chromium
blocks third-party cookies, and the launch still signs the child in and lets them answer a test item.

Both sites are served over https with a throwaway self-signed certificate (Secure cookies need it);
``--host-resolver-rules`` maps ``*.test`` to 127.0.0.1. The blocking is checked, not assumed: a plain
``SameSite=None; Secure`` cookie set inside a cross-site iframe is NOT sent back, while the tool's
partitioned session cookie (CHIPS) is.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from lms.lti import launch as lti_launch
from lms.lti import registration
from tests.browser.test_runner_take_test import make_cat
from tests.lti.certs import self_signed
from tests.lti.platform import LaunchSpec, TestPlatform, bound_socket, serve
from tests.support import missing

pytestmark = pytest.mark.browser

HOSTS = ("tool.test", "portal.test", "probe.test")
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
    page = context.new_page()
    probe = f"https://probe.test:{portal.https_port}"
    # first-party (top level): the probe's cookie comes back — the probe itself works
    page.goto(probe + "/probe/set")
    page.wait_for_selector("#result")
    assert page.locator("#result").inner_text() == "cookie:yes"
    context.clear_cookies()
    # the same probe inside portal.test's iframe: the plain SameSite=None cookie is not sent
    page.goto(f"{portal.base_url}/probe/embed?frame={probe}/probe/set")
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
