"""Login initiation and launch against a real LTI 1.3 platform (lti1p3platform served by uvicorn).

Each refusal is a Japanese page with a 4xx status and creates nothing: no session, no user link, no
context, no user (the rows are counted before and after).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from lms.audit.models import AuditEvent
from lms.auth.models import AuthSession
from lms.auth.tokens import sha256_hex
from lms.lti.models import LtiContext, LtiHandoff, LtiLaunchState, LtiPlatform, LtiUserLink
from lms.roster.models import User
from tests.conftest import RosterCity
from tests.lti.conftest import launch
from tests.lti.platform import INSTRUCTOR, LTI, LaunchSpec, TestPlatform

COUNTED: tuple[type[SQLModel], ...] = (AuthSession, LtiUserLink, LtiContext, User, LtiHandoff)


def _counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {model.__name__: session.exec(select(func.count()).select_from(model)).one() for model in COUNTED}


def _signed_in_user(client: Any, session: Session) -> User | None:
    raw = client.cookies.get("giga_session")
    if raw is None:
        return None
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == sha256_hex(raw))).first()
    return session.get(User, row.user_id) if row is not None else None


def test_login_initiation_redirects_to_the_platform_with_state_and_nonce_kept_server_side(
    client: Any, platform: TestPlatform, registered: LtiPlatform, db_session: Session
) -> None:
    response = client.get("/lti/login", params=platform.login_params("hint-x"), follow_redirects=False)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.auth_login_url
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "id_token" and query["response_mode"] == "form_post"
    assert query["scope"] == "openid" and query["prompt"] == "none"
    assert query["client_id"] == platform.client_id and query["login_hint"] == "hint-x"
    assert query["redirect_uri"] == "https://testserver/lti/launch"
    assert query["lti_message_hint"] == "resource-link-1"
    state = db_session.exec(select(LtiLaunchState)).one()
    assert state.nonce == query["nonce"] and state.state_hash != query["state"]
    # one cookie: the partitioned browser binding (the iframe keeps it; __Host-: only this host sets the name)
    (set_cookie,) = response.headers.get_list("set-cookie")
    assert "SameSite=None; Secure; Partitioned" in set_cookie and "; Path=/;" in set_cookie
    assert set_cookie.startswith("__Host-giga_lti_bind_")
    value = set_cookie.split(";")[0].split("=", 1)[1]
    assert state.binding_hash == sha256_hex(value) and value not in (state.binding_hash, query["state"])
    # POST works too (platforms may post the initiation)
    posted = client.post("/lti/login", data=platform.login_params("hint-y"), follow_redirects=False)
    assert posted.status_code == 302


def test_login_from_an_unknown_platform_is_a_japanese_refusal(client: Any, platform: TestPlatform) -> None:
    response = client.get("/lti/login", params=platform.login_params("h"), follow_redirects=False)
    assert response.status_code == 403
    assert 'data-lti-refusal="unknown_platform"' in response.text
    assert "学習eポータルの管理者" in response.text


def test_launch_signs_the_roster_student_in_by_sourced_id_and_opens_their_home(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    student = roster_city.user("stu-es-1")
    spec = LaunchSpec(sub="portal-user-17", lis={"person_sourcedid": "stu-es-1"})
    launched = launch(client, platform, spec)
    assert launched.response.status_code == 303
    assert launched.response.headers["location"].startswith("/lti/landing?h=")
    cookie = launched.response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith("giga_session="))
    assert "SameSite=none" in session_cookie or "samesite=none" in session_cookie.lower()
    assert "Secure" in session_cookie and "Partitioned" in session_cookie
    assert _signed_in_user(client, db_session) == student
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/home"
    home = client.get("/home")
    assert home.status_code == 200 and student.given_name in home.text
    link = db_session.exec(select(LtiUserLink)).one()
    assert (link.sub, link.user_id, link.matched_by) == ("portal-user-17", student.id, "lis.person_sourcedid")
    actions = db_session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert "auth.login" in actions and "lti.launch" in actions
    # the second launch finds the user by the link alone (no roster claim)
    client.cookies.clear()
    again = launch(client, platform, LaunchSpec(sub="portal-user-17"), hint="hint-2")
    assert again.response.status_code == 303
    assert _signed_in_user(client, db_session) == student


def test_user_master_identifier_custom_claim_and_sub_as_sourced_id_are_accepted(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    student = roster_city.user("stu-es-2")
    spec = LaunchSpec(sub="opaque-1", custom={"userMasterIdentifier": student.user_master_identifier})
    assert launch(client, platform, spec).response.status_code == 303
    assert _signed_in_user(client, db_session) == student
    client.cookies.clear()
    other = roster_city.user("stu-es-3")
    assert launch(client, platform, LaunchSpec(sub="stu-es-3"), hint="h2").response.status_code == 303
    assert _signed_in_user(client, db_session) == other
    links = db_session.exec(select(LtiUserLink.matched_by).order_by(col(LtiUserLink.id))).all()
    assert links == ["custom.userMasterIdentifier", "sub.sourced_id"]


def test_teacher_opens_the_class_report_of_the_contexts_class(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    teacher, klass = roster_city.user("tch-es-1"), roster_city.klass("cls-es-3-1")
    spec = LaunchSpec(
        sub="t-1",
        roles=[INSTRUCTOR],
        lis={"person_sourcedid": "tch-es-1", "course_section_sourcedid": "cls-es-3-1"},
    )
    launched = launch(client, platform, spec)
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == f"/classes/{klass.id}/report"
    assert client.get(landing.headers["location"]).status_code == 200
    context = db_session.exec(select(LtiContext)).one()
    assert (context.context_id, context.school_class_id) == ("portal-course-1", klass.id)
    assert _signed_in_user(client, db_session) == teacher


def test_the_deep_link_target_opens_when_the_role_may_open_it(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity
) -> None:
    spec = LaunchSpec(sub="stu-es-1", custom={"giga_target": "/results/5"})
    launched = launch(client, platform, spec)
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == "/results/5"
    client.cookies.clear()
    sneaky = LaunchSpec(sub="stu-es-1", custom={"giga_target": "https://evil.example/phish"})
    launched = launch(client, platform, sneaky, hint="h2")
    assert (
        client.get(launched.response.headers["location"], follow_redirects=False).headers["location"]
        == "/home"
    )


REFUSALS = [
    pytest.param(
        LaunchSpec(sub="stu-es-1", extra_claims={"aud": "another-tool"}), 403, "wrong_audience", id="aud"
    ),
    pytest.param(LaunchSpec(sub="stu-es-1", expiration=-600), 400, "expired", id="expired"),
    pytest.param(
        LaunchSpec(sub="stu-es-1", extra_claims={LTI + "deployment_id": "unknown-deployment"}),
        403,
        "unknown_deployment",
        id="deployment",
    ),
    pytest.param(LaunchSpec(sub="nobody-on-the-roster"), 403, "not_on_roster", id="not-on-roster"),
    pytest.param(LaunchSpec(sub="stu-es-1", forge_signature=True), 403, "bad_signature", id="signature"),
    pytest.param(
        LaunchSpec(sub="stu-es-1", extra_claims={LTI + "version": "1.1"}), 400, "bad_version", id="version"
    ),
]


@pytest.mark.parametrize(("spec", "status", "code"), REFUSALS)
def test_each_bad_launch_is_a_clear_refusal_and_creates_nothing(
    client: Any,
    platform: TestPlatform,
    registered: LtiPlatform,
    roster_city: RosterCity,
    db_session: Session,
    spec: LaunchSpec,
    status: int,
    code: str,
) -> None:
    before = _counts(db_session)
    launched = launch(client, platform, spec)
    assert launched.response.status_code == status
    assert f'data-lti-refusal="{code}"' in launched.response.text
    assert "学習eポータルの管理者に伝えること" in launched.response.text
    assert "giga_session" not in launched.response.headers.get("set-cookie", "")
    assert _counts(db_session) == before
    refused = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.launch_refused")).one()
    assert json.loads(refused.detail or "{}") == {"reason": code}


def test_a_replayed_launch_is_refused_and_creates_nothing(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    first = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    assert first.response.status_code == 303
    client.cookies.clear()
    before = _counts(db_session)
    replay = client.post("/lti/launch", data=first.form, follow_redirects=False)
    assert replay.status_code == 409
    assert 'data-lti-refusal="replayed"' in replay.text
    assert _counts(db_session) == before


def test_a_disabled_roster_user_is_refused(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    student = roster_city.user("stu-es-1")
    student.enabled = False
    db_session.add(student)
    db_session.commit()
    before = _counts(db_session)
    launched = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    assert (
        launched.response.status_code == 403 and 'data-lti-refusal="user_disabled"' in launched.response.text
    )
    assert _counts(db_session) == before


def test_sub_is_a_roster_id_only_for_a_platform_registered_so(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    """A portal whose sub is its own opaque id must not sign in whoever happens to have that roster id."""
    registered.sub_is_roster_id = False
    db_session.add(registered)
    db_session.commit()
    before = _counts(db_session)
    launched = launch(client, platform, LaunchSpec(sub="stu-es-1"))
    assert (
        launched.response.status_code == 403 and 'data-lti-refusal="not_on_roster"' in launched.response.text
    )
    assert _counts(db_session) == before
    # the roster claim still matches the child on such a platform
    spec = LaunchSpec(sub="opaque-7", lis={"person_sourcedid": "stu-es-1"})
    assert launch(client, platform, spec, hint="h2").response.status_code == 303
    assert _signed_in_user(client, db_session) == roster_city.user("stu-es-1")


def test_the_platform_jwks_is_cached_between_launches(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity
) -> None:
    for n in range(3):
        client.cookies.clear()
        assert launch(client, platform, LaunchSpec(sub="stu-es-1"), hint=f"h{n}").response.status_code == 303
    assert platform.jwks_requests == 1


def test_each_login_purges_states_and_tickets_an_hour_past_expiry(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    from datetime import timedelta

    from lms.core.db import utc_now

    student = roster_city.user("stu-es-1")
    old = utc_now() - timedelta(hours=2)
    db_session.add(
        LtiLaunchState(state_hash="a" * 64, nonce="old", platform_id=registered.id or 0, expires_at=old)
    )
    db_session.add(LtiHandoff(token_hash="b" * 64, user_id=student.id or 0, target="/home", expires_at=old))
    db_session.commit()
    assert (
        client.get("/lti/login", params=platform.login_params("h"), follow_redirects=False).status_code == 302
    )
    db_session.expire_all()
    assert db_session.exec(select(LtiLaunchState).where(LtiLaunchState.nonce == "old")).first() is None
    assert db_session.exec(select(LtiHandoff)).all() == []


def test_a_teacher_with_a_second_factor_still_passes_it_after_the_launch(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    import pyotp

    teacher = roster_city.user("tch-es-1")
    teacher.totp_secret, teacher.totp_enabled = pyotp.random_base32(), True
    db_session.add(teacher)
    db_session.commit()
    launched = launch(client, platform, LaunchSpec(sub="tch-es-1", roles=[INSTRUCTOR]))
    landing = client.get(launched.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"].startswith("/login/mfa?next=")
    assert client.get("/home", follow_redirects=False).status_code in (302, 303, 307)  # not signed in yet
    actions = db_session.exec(select(AuditEvent.action)).all()
    assert "auth.login" not in actions and "lti.launch" in actions


def test_a_teacher_names_the_class_of_an_unknown_portal_course_once(
    client: Any, platform: TestPlatform, registered: LtiPlatform, roster_city: RosterCity, db_session: Session
) -> None:
    from tests.lms.conftest import csrf_of

    mine, other = roster_city.klass("cls-es-3-1"), roster_city.klass("cls-es-4-1")
    spec = LaunchSpec(sub="tch-es-1", roles=[INSTRUCTOR], context_id="portal-course-7", context_title="国語A")
    launched = launch(client, platform, spec)
    page = client.get(launched.response.headers["location"])  # landing → the question
    assert "このコースはどのクラスですか" in page.text and "国語A" in page.text
    assert f'value="{mine.id}"' in page.text and f'value="{other.id}"' not in page.text
    context = db_session.exec(select(LtiContext)).one()
    refused = client.post(
        f"/lti/contexts/{context.id}/link", data={"class_id": str(other.id), "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 400
    done = client.post(
        f"/lti/contexts/{context.id}/link",
        data={"class_id": str(mine.id), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/classes/{mine.id}/report"
    db_session.expire_all()
    assert db_session.exec(select(LtiContext)).one().school_class_id == mine.id
    # once linked, the question is gone (404) and the next launch opens the report
    assert client.get(f"/lti/contexts/{context.id}/link").status_code == 404
    client.cookies.clear()
    again = launch(client, platform, spec, hint="h2")
    landing = client.get(again.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == f"/classes/{mine.id}/report"
