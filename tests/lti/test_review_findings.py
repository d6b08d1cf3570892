"""Findings of the independent security review of the LTI 1.3 tool (issue 23), one test each.

Each test failed before its fix: the finding's name and severity are in the test's docstring.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.auth.models import AuthSession
from lms.core.db import utc_now
from lms.core.errors import InvalidInput, NotFound
from lms.lti import ags, handoff, nrps, registration
from lms.lti import claims as c
from lms.lti import deep_link_service as dls
from lms.lti import launch as lti
from lms.lti.deep_linking import ASSIGNMENT_PARAM, CLAIM_AGS_ENDPOINT, CLAIM_NRPS, resource_id_of
from lms.lti.models import LtiContext, LtiDeployment, LtiPlatform
from lms.lti.service_models import LtiContextServices, LtiDeepLinkTicket, LtiLineItem
from lms.lti.services_token import ServiceError
from lms.reading.models import Assignment
from lms.roster.models import Org
from tests.conftest import RosterCity
from tests.factories import get_row, pk
from tests.lms.assessments_helpers import make_assignment
from tests.lti.conftest import OUR_PAGE, launch
from tests.lti.platform import INSTRUCTOR, LaunchSpec, TestPlatform, parse_form_post
from tests.lti.portal import register_portal
from tests.lti.services_platform import tool_key_and_jwks
from tests.lti.test_deep_link_service import ticket_for
from tests.lti.test_deep_linking_flow import count, deep_linking_spec

PORTS = range(18700, 18800)  # this review's port range on the shared machine


# --- a JWKS endpoint whose answer each test chooses ---------------------------------------------------------


class _JwksServer:
    def __init__(self) -> None:
        self.body = b"{}"
        self.url = ""
        self.requests = 0


@pytest.fixture
def jwks_server() -> Iterator[_JwksServer]:
    served = _JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.requests += 1
            self.send_response(200)
            self.end_headers()
            self.wfile.write(served.body)

        def log_message(self, *args: Any) -> None:
            return None

    server = None
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
        except OSError:
            continue
    assert server is not None, "no free port in 18700-18799"
    served.url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lti.jwks_cache.clear()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        lti.jwks_cache.clear()


def _platform(jwks_url: str) -> LtiPlatform:
    return LtiPlatform(
        name="p",
        issuer="https://portal.example",
        client_id="giga-tool",
        auth_login_url="https://portal.example/auth",
        auth_token_url="https://portal.example/token",
        jwks_url=jwks_url,
    )


def _token(key: rsa.RSAPrivateKey, now: datetime, **claims: Any) -> str:
    payload: dict[str, Any] = {
        "iss": "https://portal.example",
        "aud": "giga-tool",
        "sub": "s-1",
        "nonce": "n-1",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300,
        **claims,
    }
    return jwt.encode(payload, key, "RS256", headers={"kid": "k-1"})


@pytest.mark.parametrize(
    "body",
    [b"<html>Not the JWKS</html>", b'{"keys": [{"kty": "unknown"}]}'],
    ids=["html-page", "no-usable-key"],
)
def test_an_unreadable_platform_jwks_is_a_refusal_page_not_a_500(
    jwks_server: _JwksServer, body: bytes
) -> None:
    """F3 (medium): a JWKS URL answering HTML (a mistyped URL, a portal's login page) or a key set with no
    usable key raised JSONDecodeError / PyJWKSetError out of the launch: a 500, not the Japanese page."""
    jwks_server.body = body
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    with pytest.raises(lti.LaunchRefused) as refused:
        lti._decode(_platform(jwks_server.url), _token(key, now), now=now)
    assert refused.value.code == "jwks_unreadable"
    assert refused.value.status_code == 502
    assert "公開鍵" in refused.value.admin_hint


def test_an_azp_naming_another_client_is_refused_even_with_one_audience(jwks_server: _JwksServer) -> None:
    """F4 (low): OIDC Core §3.1.3.7 / Security Framework §5.1.3 step 5: when ``azp`` is present it must be the
    tool's client id; it was only checked when ``aud`` had several values."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k-1"
    jwks_server.body = json.dumps({"keys": [jwk]}).encode()
    now = datetime.now(UTC)
    platform = _platform(jwks_server.url)
    assert lti._decode(platform, _token(key, now, azp="giga-tool"), now=now)["sub"] == "s-1"
    with pytest.raises(lti.LaunchRefused) as refused:
        lti._decode(platform, _token(key, now, azp="another-tool"), now=now)
    assert refused.value.code == "wrong_audience"


def test_unknown_kids_do_not_make_the_tool_refetch_the_platform_jwks_each_time(
    jwks_server: _JwksServer,
) -> None:
    """F13 (low): PyJWKClient refetched the key set for every unknown ``kid`` before PyJWT 2.14 (its
    cooldown); with a fresh state from the public ``/lti/login`` per request, anyone could make the tool hit
    the portal's JWKS once per request. pyproject allowed ``pyjwt>=2.9``: now ``>=2.14``. This test holds on
    the installed 2.15 and would fail on 2.9-2.13 (not run here)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k-1"
    jwks_server.body = json.dumps({"keys": [jwk]}).encode()
    now = datetime.now(UTC)
    platform = _platform(jwks_server.url)
    assert lti._decode(platform, _token(key, now), now=now)["sub"] == "s-1"
    for n in range(5):
        forged = jwt.encode({"sub": "x"}, key, "RS256", headers={"kid": f"unknown-{n}"})
        with pytest.raises(lti.LaunchRefused):
            lti._decode(platform, forged, now=now)
    assert jwks_server.requests <= 2  # the first fetch and at most one forced refresh


# --- scores go only where the line item's own portal said ---------------------------------------------------


def _second_platform(session: Session, *, issuer: str, class_id: int) -> LtiContext:
    row = LtiPlatform(
        name="別のポータル",
        issuer=issuer,
        client_id="other-client",
        auth_login_url=f"{issuer}/auth",
        auth_token_url=f"{issuer}/token",
        jwks_url=f"{issuer}/jwks",
    )
    session.add(row)
    session.flush()
    session.add(LtiDeployment(platform_id=pk(row), deployment_id="dep-other"))
    context = LtiContext(platform_id=pk(row), context_id="other-course", school_class_id=class_id)
    session.add(context)
    session.commit()
    return context


def test_another_contexts_launch_cannot_move_a_line_item_to_its_own_url(
    db_session: Session, world: Any, clock: Any, fake_dns: dict[str, list[str]]
) -> None:
    """F1 (high): `ags.remember_line_item` overwrote ``lineitem_url`` of an assignment's line item from any
    context mapped to the same class. The sender takes the bearer token from the line item's own portal and
    the URL from the row: a second portal's launch (its own signed claim naming ``giga_assignment_id``) got
    the first portal's access token and every child's score posted to a URL of its choosing."""
    fake_dns["portal-a.example"] = ["93.184.215.14"]
    klass = world.classes["A1"]
    portal = register_portal(db_session, klass)
    assignment = make_assignment(db_session, world, clock)
    own_url = "https://portal-a.example/lineitems/7"
    db_session.add(
        LtiLineItem(
            assignment_id=pk(assignment),
            lti_context_id=pk(portal.context),
            resource_id=resource_id_of(pk(assignment)),
            lineitem_url=own_url,
            label="読解力テスト",
            score_maximum=ags.SCALE_MAXIMUM,
        )
    )
    db_session.commit()
    other = _second_platform(db_session, issuer="https://evil-portal.example", class_id=pk(klass))
    claims = {
        CLAIM_AGS_ENDPOINT: {"lineitem": "https://evil-portal.example/collect"},
        c.CUSTOM: {ASSIGNMENT_PARAM: str(pk(assignment))},
    }
    ags.remember_line_item(
        session=db_session,
        platform=get_row(db_session, LtiPlatform, other.platform_id),
        lti_context_id=pk(other),
        class_id=pk(klass),
        claims=claims,
        now=clock.now(),
    )
    db_session.commit()
    row = ags.line_item_of(db_session, pk(assignment))
    assert row is not None
    assert (row.lti_context_id, row.lineitem_url) == (pk(portal.context), own_url)
    # the line item's own context still updates it (a platform may move its column)
    claims[CLAIM_AGS_ENDPOINT] = {"lineitem": "https://portal-a.example/lineitems/8"}
    ags.remember_line_item(
        session=db_session,
        platform=portal.row,
        lti_context_id=pk(portal.context),
        class_id=pk(klass),
        claims=claims,
        now=clock.now(),
    )
    assert get_row(db_session, LtiLineItem, row.id).lineitem_url == "https://portal-a.example/lineitems/8"


def test_a_launch_cannot_aim_the_tools_service_calls_at_its_own_network(
    db_session: Session, world: Any, clock: Any, fake_dns: dict[str, list[str]]
) -> None:
    """F9 (medium): the AGS and NRPS URLs of a launch were stored as sent, then called from the server with
    a bearer token: ``http://169.254.169.254/…`` (cloud metadata), ``http://127.0.0.1:…`` or a private address
    made the tool probe its own network (the NRPS page shows what parses as members; errors quote status)."""
    klass = world.classes["A1"]
    portal = register_portal(db_session, klass)
    services = db_session.exec(select(LtiContextServices)).one()
    good_lineitems, good_memberships = services.lineitems_url, services.memberships_url
    assignment = make_assignment(db_session, world, clock)
    inside = {
        CLAIM_AGS_ENDPOINT: {
            "lineitems": "http://169.254.169.254/latest/meta-data/",
            "lineitem": "http://127.0.0.1:8000/admin/lti",
            "scope": [],
        },
        # a name for a private address, as good as the literal one (leftover of F9)
        CLAIM_NRPS: {"context_memberships_url": "https://members.portal.example/members"},
        c.CUSTOM: {ASSIGNMENT_PARAM: str(pk(assignment))},
    }
    fake_dns["members.portal.example"] = ["10.0.0.5"]
    now = clock.now()
    ags.remember_services(
        session=db_session,
        platform=portal.row,
        lti_context_id=pk(portal.context),
        deployment_id="d",
        claims=inside,
        now=now,
    )
    made = ags.remember_line_item(
        session=db_session,
        platform=portal.row,
        lti_context_id=pk(portal.context),
        class_id=pk(klass),
        claims=inside,
        now=now,
    )
    db_session.expire_all()
    services = db_session.exec(select(LtiContextServices)).one()
    assert (services.lineitems_url, services.memberships_url) == (good_lineitems, good_memberships)
    assert made is None and ags.line_item_of(db_session, pk(assignment)) is None
    # a public https URL (services on another host than the issuer) and the platform's own origin still do
    fake_dns["gradebook.portal.example"] = ["93.184.215.14"]
    public = {
        CLAIM_AGS_ENDPOINT: {"lineitems": "https://gradebook.portal.example/li", "scope": []},
        CLAIM_NRPS: {"context_memberships_url": good_memberships},
    }
    ags.remember_services(
        session=db_session,
        platform=portal.row,
        lti_context_id=pk(portal.context),
        deployment_id="d",
        claims=public,
        now=now,
    )
    services = db_session.exec(select(LtiContextServices)).one()
    assert services.lineitems_url == "https://gradebook.portal.example/li"
    assert services.memberships_url == good_memberships


def _register(db_session: Session, name: str, district_id: int | None) -> LtiPlatform:
    """A platform at https://<name>.example with one deployment, registered like the admin page does."""
    return registration.register_platform(
        session=db_session,
        data=registration.PlatformInput(
            name=name,
            issuer=f"https://{name}.example",
            client_id="c",
            auth_login_url=f"https://{name}.example/auth",
            auth_token_url=f"https://{name}.example/token",
            jwks_url=f"https://{name}.example/jwks",
            deployment_ids=("dep-1",),
            district_id=district_id,
        ),
        actor_id=None,
        ip=None,
    )


# --- a platform's context is only linked to a class of its own district ------------------------------------


def _launch_with_context(
    session: Session, platform: LtiPlatform, context_id: str, lis: dict[str, str] | None = None
) -> lti.VerifiedLaunch:
    deployment = registration.find_deployment(session=session, platform=platform, deployment_id="dep-1")
    assert deployment is not None
    claims: dict[str, Any] = {"sub": "t-1", c.CONTEXT: {"id": context_id, "title": "3年1組"}}
    if lis:
        claims[c.LIS] = lis
    return lti.VerifiedLaunch(
        platform=platform, deployment=deployment, claims=claims, target_link_uri="https://testserver/"
    )


def test_a_district_portal_cannot_link_its_context_to_another_districts_class(
    db_session: Session, roster_city: RosterCity
) -> None:
    """F2 (high, with F1; medium alone): `sync_context` matched the context to any class whose sourcedId the
    portal names, in any district, although `match_user` keeps a district's portal to its own users. The
    class's line items, NRPS comparison page and teacher landing then followed another board's portal."""
    other_district = Org(sourced_id="org-district-2", name="となり町教育委員会", type="district")
    db_session.add(other_district)
    db_session.commit()

    def register(name: str, district_id: int) -> LtiPlatform:
        return _register(db_session, name, district_id)

    neighbour = register("tonari", pk(other_district))
    for how in ({"context_id": "cls-es-3-1"}, {"context_id": "c-9", "lis": "cls-es-3-1"}):
        lis = {"course_section_sourcedid": how["lis"]} if "lis" in how else None
        launch = _launch_with_context(db_session, neighbour, how["context_id"], lis)
        context = lti.sync_context(session=db_session, launch=launch)
        assert context is not None and context.school_class_id is None, how
    # the class's own district's portal still links it
    own = register("kawasemi", pk(roster_city.org("org-district")))
    context = lti.sync_context(session=db_session, launch=_launch_with_context(db_session, own, "cls-es-3-1"))
    assert context is not None and context.school_class_id == pk(roster_city.klass("cls-es-3-1"))


# --- identifiers longer than the columns ---------------------------------------------------------------


def test_a_sub_or_context_id_longer_than_255_is_refused_not_truncated(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    """F5 (low): ``sub`` and the context id were looked up whole but stored cut to 255 characters, so the same
    launch a second time missed its own row and inserted a duplicate: IntegrityError, a 500. OIDC and LTI Core
    cap both at 255 ASCII characters; a longer one is a malformed id_token."""
    long_sub = LaunchSpec(sub="s" * 300, lis={"person_sourcedid": "stu-es-1"})
    long_context = LaunchSpec(sub="stu-es-1", context_id="c" * 300)
    for n, spec in enumerate((long_sub, long_context)):
        for attempt in range(2):
            client.cookies.clear()
            launched = launch(client, platform, spec, hint=f"h-{n}-{attempt}")
            assert launched.response.status_code == 400, launched.response.text[:300]
            assert 'data-lti-refusal="bad_token"' in launched.response.text


# --- the new-window handoff ----------------------------------------------------------------------------


def _ticket_of(client: Any, platform: TestPlatform) -> str:
    launched = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    assert launched.response.status_code == 303
    client.cookies.clear()  # the iframe lost its cookie: the landing offers a new window
    return str(parse_qs(urlsplit(launched.response.headers["location"]).query)["h"][0])


def test_the_new_window_sign_in_is_audited(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    """F6 (low): the new window opened a second session with no ``auth.login`` event (the audit log showed one
    sign-in for two sessions)."""
    ticket = _ticket_of(client, platform)
    opened = client.get("/lti/handoff", params={"h": ticket}, headers=OUR_PAGE, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/home"
    db_session.expire_all()
    methods = [
        json.loads(e.detail or "{}").get("method")
        for e in db_session.exec(
            select(AuditEvent).where(AuditEvent.action == "auth.login").order_by(col(AuditEvent.id))
        )
    ]
    assert methods == ["lti", "lti_new_window"]


def test_a_handoff_ticket_spent_by_another_tab_meanwhile_signs_nobody_in(
    client: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """F7 (low): `/lti/handoff` ignored `handoff.spend`'s answer, so two requests with one ticket that both
    passed `peek` both opened a session (the ticket is meant to be one use)."""
    ticket = _ticket_of(client, platform)
    original_peek = handoff.peek

    def peek_then_lose_the_race(*, session: Session, token: str, now: datetime) -> Any:
        row = original_peek(session=session, token=token, now=now)
        if row is not None:  # the other tab's request spends it between our peek and our spend
            assert handoff.spend(session=session, row=row, now=now)
        return row

    monkeypatch.setattr(handoff, "peek", peek_then_lose_the_race)
    sessions_before = db_session.exec(select(func.count()).select_from(AuthSession)).one()
    opened = client.get("/lti/handoff", params={"h": ticket}, headers=OUR_PAGE, follow_redirects=False)
    assert opened.status_code == 400 and 'data-lti-refusal="handoff_expired"' in opened.text
    db_session.expire_all()
    assert db_session.exec(select(func.count()).select_from(AuthSession)).one() == sessions_before


# --- checked and holding (regression guards, not findings) ----------------------------------------------


@pytest.mark.parametrize(
    ("sub", "sourced_id", "code"),
    [("portal-s1", "stu-es-1", "dl_not_teacher"), ("portal-t2", "tch-es-2", "dl_not_class_teacher")],
    ids=["student-with-instructor-claim", "teacher-of-another-class"],
)
def test_deep_linking_needs_the_roster_teacher_of_the_contexts_class(
    client: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
    sub: str,
    sourced_id: str,
    code: str,
) -> None:
    """The roster's role wins over the portal's claim, and a teacher links only for their own class."""
    counted = (Assignment, LtiDeepLinkTicket, AuthSession)
    before = [count(db_session, m) for m in counted]
    spec = deep_linking_spec(platform, sub=sub, sourced_id=sourced_id, roles=[INSTRUCTOR])
    refused = launch(client, platform, spec).response
    assert refused.status_code == 403 and f'data-lti-refusal="{code}"' in refused.text
    assert [count(db_session, m) for m in counted] == before


def test_a_students_launch_claiming_instructor_opens_only_student_pages(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    klass = roster_city.klass("cls-es-3-1")
    spec = LaunchSpec(
        sub="portal-s1",
        roles=[INSTRUCTOR],
        lis={"person_sourcedid": "stu-es-1", "course_section_sourcedid": "cls-es-3-1"},
        custom={"giga_target": f"/classes/{pk(klass)}/report"},
    )
    launched = launch(client, platform, spec)
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == "/home"
    assert client.get(f"/classes/{pk(klass)}/report", follow_redirects=False).status_code in (403, 404)


def test_a_deep_linking_ticket_creates_one_assignment_even_when_two_posts_race(
    db_session: Session, world: Any
) -> None:
    """F8 (low): `create_link` spent the ticket with a plain assignment after creating the assignment, so two
    posts of the picker (a double click, two tabs) that both passed `open_ticket` made two assignments and
    two links in the portal."""
    portal = register_portal(db_session, world.classes["A1"])
    key, jwks = tool_key_and_jwks()
    portal.platform.tool_jwks = jwks
    teacher = world.users["t-a1"]
    secret = ticket_for(db_session, portal, teacher)
    now = utc_now()
    first_tab = dls.open_ticket(session=db_session, secret=secret, user=teacher, now=now)
    second_tab = dls.open_ticket(session=db_session, secret=secret, user=teacher, now=now)

    def post(opened: dls.OpenTicket) -> dls.LinkReply:
        return dls.create_link(
            session=db_session,
            opened=opened,
            user=teacher,
            choice_key="test",
            tool_origin="https://tool.test",
            now=now,
            ip=None,
            key=key,
        )

    post(first_tab)
    with pytest.raises(NotFound):
        post(second_tab)
    assert count(db_session, Assignment) == 1


def test_linking_a_portal_context_to_a_class_is_audited_once(
    db_session: Session, roster_city: RosterCity
) -> None:
    """F10 (low): the automatic link of a portal's context to a roster class (from then on the class's scores
    go to that portal and its roster is compared with it) left no audit row, although the label
    ``lti.context_link`` was written for it."""
    platform = registration.register_platform(
        session=db_session,
        data=registration.PlatformInput(
            name="kawasemi",
            issuer="https://kawasemi.example",
            client_id="c",
            auth_login_url="https://kawasemi.example/auth",
            auth_token_url="https://kawasemi.example/token",
            jwks_url="https://kawasemi.example/jwks",
            deployment_ids=("dep-1",),
        ),
        actor_id=None,
        ip=None,
    )
    teacher = roster_city.user("tch-es-1")
    for _ in range(2):  # the second launch finds the link made: no second event
        lti.sync_context(
            session=db_session,
            launch=_launch_with_context(db_session, platform, "cls-es-3-1"),
            actor_id=pk(teacher),
            ip="192.0.2.1",
        )
    events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.context_link")).all()
    assert [(e.actor_id, e.target_type, e.target_id) for e in events] == [
        (pk(teacher), "class", str(pk(roster_city.klass("cls-es-3-1"))))
    ]


def test_a_teacher_names_the_class_only_of_a_portal_course_they_were_launched_from(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    """F12 (high): ``/lti/contexts/{id}/link`` took any unlinked context id (they count up): a teacher of
    another school bound another teacher's portal course to their own class, then read that course's
    membership (children's names) on 「ポータルの名簿と照合」, and the course's own teacher could no longer
    name it."""
    from tests.lms.conftest import csrf_of

    first = LaunchSpec(sub="tch-es-1", roles=[INSTRUCTOR], context_id="portal-course-7")
    launch(client, platform, first)
    theirs = db_session.exec(select(LtiContext).where(LtiContext.context_id == "portal-course-7")).one()
    client.cookies.clear()
    second = LaunchSpec(sub="tch-es-2", roles=[INSTRUCTOR], context_id="portal-course-8")
    page = client.get(launch(client, platform, second, hint="h2").response.headers["location"])
    assert "このコースはどのクラスですか" in page.text
    own_class = roster_city.klass("cls-es-4-1")
    assert client.get(f"/lti/contexts/{pk(theirs)}/link").status_code == 404
    taken = client.post(
        f"/lti/contexts/{pk(theirs)}/link",
        data={"class_id": str(pk(own_class)), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert taken.status_code == 404
    db_session.expire_all()
    assert get_row(db_session, LtiContext, pk(theirs)).school_class_id is None


@pytest.mark.parametrize(("dest", "marked"), [("document", False), ("iframe", True), (None, True)])
def test_the_iframe_marker_is_not_set_by_a_top_level_launch(
    client: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    dest: str | None,
    marked: bool,
) -> None:
    """F14 (low): every launch set the ``giga_lti`` marker, also one the portal opened as a new window
    (``Sec-Fetch-Dest: document``); in that first-party session every page of the tool, the admin's too, then
    answered ``frame-ancestors`` with the registered portals, and sign-out ended on the iframe's page."""
    platform.launches["hint-top"] = LaunchSpec(sub="stu-es-1")
    login = client.get("/lti/login", params=platform.login_params("hint-top"), follow_redirects=False)
    answer = httpx.get(login.headers["location"], timeout=10)
    _action, form = parse_form_post(answer.text)
    headers = {"Sec-Fetch-Dest": dest} if dest else {}
    launched = client.post("/lti/launch", data=form, headers=headers, follow_redirects=False)
    assert launched.status_code == 303
    cookies = launched.headers.get_list("set-cookie")
    assert any(c.startswith("giga_session=") for c in cookies)
    assert any(c.startswith("giga_lti=") for c in cookies) is marked


def test_each_login_also_purges_expired_deep_linking_tickets(db_session: Session, world: Any) -> None:
    """F15 (low): deep-linking tickets (hash, teacher, the portal's return URL and data) were never deleted;
    `purge_expired`, run by each login, removed only login states and handoff tickets."""
    portal = register_portal(db_session, world.classes["A1"])
    teacher = world.users["t-a1"]
    ticket_for(db_session, portal, teacher)
    old = db_session.exec(select(LtiDeepLinkTicket)).one()
    old.expires_at = utc_now() - timedelta(hours=2)
    db_session.add(old)
    db_session.commit()
    fresh = ticket_for(db_session, portal, teacher)
    lti.purge_expired(session=db_session, now=utc_now())
    db_session.commit()
    left = db_session.exec(select(LtiDeepLinkTicket)).all()
    assert len(left) == 1 and dls.open_ticket(session=db_session, secret=fresh, user=teacher, now=utc_now())


def test_the_membership_token_never_follows_a_next_page_to_another_host() -> None:
    """F16 (low): NRPS paging followed ``Link: rel="next"`` to any URL with the bearer token (the answer's
    URLs escaped the F9 check on the launch's claims)."""
    url = "https://portal.test/memberships"
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        body = {"id": url, "members": [{"user_id": "u-1", "roles": []}]}
        return httpx.Response(200, json=body, headers={"Link": '<http://169.254.169.254/x>; rel="next"'})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client, pytest.raises(ServiceError):
        nrps.fetch_members(client, url=url, token="tok")
    assert asked == [url]


# --- a platform for "every school" only where the installation serves one board ------------------------


def test_a_platform_without_a_district_is_refused_when_the_roster_holds_several(
    db_session: Session, roster_city: RosterCity
) -> None:
    """Open item of the review: a platform registered for "every school" may sign in any district's users.
    With one board that is the board's own portal; with two, it must name its district."""

    def register(name: str, district_id: int | None) -> LtiPlatform:
        return _register(db_session, name, district_id)

    assert register("one-board", None).district_id is None  # one district: "every school" is that board
    db_session.add(Org(sourced_id="org-district-2", name="となり町教育委員会", type="district"))
    db_session.commit()
    before = db_session.exec(select(func.count()).select_from(LtiPlatform)).one()
    with pytest.raises(InvalidInput, match="複数の教育委員会"):
        register("any-board", None)
    assert db_session.exec(select(func.count()).select_from(LtiPlatform)).one() == before
    assert register("own-board", pk(roster_city.org("org-district"))).district_id is not None
