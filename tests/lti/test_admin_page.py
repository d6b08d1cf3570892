"""/admin/lti: the system administrator registers a portal by hand and reads the URLs to paste into it;
other roles are refused; the page is linked from the administrator's home (done means reachable)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from lms.audit.models import AuditEvent
from lms.lti.claims import SUB_MATCHES
from lms.lti.models import LtiDeployment, LtiPlatform
from lms.roster.models import Org
from tests.lms.conftest import csrf_of

FORM = {
    "name": "かわせみ市 学習eポータル",
    "issuer": "https://portal.example.jp",
    "client_id": "giga-123",
    "deployment_ids": "dep-1\ndep-2",
    "auth_login_url": "https://portal.example.jp/auth",
    "auth_token_url": "https://portal.example.jp/token",
    "jwks_url": "https://portal.example.jp/jwks",
}


def test_admin_registers_a_platform_from_the_page(client: Any, sign_in: Any, db_session: Session) -> None:
    sign_in("admin")
    home = client.get("/home")
    assert 'href="/admin/lti"' in home.text
    page = client.get("/admin/lti")
    assert page.status_code == 200
    assert "giga_target=/notebooks/" in page.text  # how to link a notebook lesson
    for path in ("/lti/login", "/lti/launch", "/lti/jwks.json", "/lti/register"):
        assert f"https://testserver{path}" in page.text
    response = client.post(
        "/admin/lti", data={**FORM, "csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/lti?done=added"
    listed = client.get(response.headers["location"])
    assert "かわせみ市 学習eポータル" in listed.text and "dep-2" in listed.text
    platform = db_session.exec(select(LtiPlatform)).one()
    assert (platform.issuer, platform.client_id) == ("https://portal.example.jp", "giga-123")
    deployments = db_session.exec(select(LtiDeployment.deployment_id).order_by(col(LtiDeployment.id))).all()
    assert deployments == ["dep-1", "dep-2"]
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.platform_add")).one()
    # one more deployment id from the list
    more = client.post(
        f"/admin/lti/{platform.id}/deployments",
        data={"deployment_id": "dep-3", "csrf_token": csrf_of(listed.text)},
        follow_redirects=False,
    )
    assert more.status_code == 303
    assert len(db_session.exec(select(LtiDeployment)).all()) == 3


def test_bad_input_is_a_japanese_400_that_keeps_the_form(
    client: Any, sign_in: Any, db_session: Session
) -> None:
    sign_in("admin")
    page = client.get("/admin/lti")
    bad = {**FORM, "jwks_url": "ftp://portal.example.jp/jwks", "csrf_token": csrf_of(page.text)}
    response = client.post("/admin/lti", data=bad)
    assert response.status_code == 400
    assert "公開鍵（JWKS）のURL" in response.text and "https://" in response.text
    assert 'value="giga-123"' in response.text  # what was typed stays
    assert db_session.exec(select(LtiPlatform)).all() == []
    twice = {**FORM, "csrf_token": csrf_of(page.text)}
    assert client.post("/admin/lti", data=twice, follow_redirects=False).status_code == 303
    again = client.post("/admin/lti", data=twice)
    assert again.status_code == 400 and "登録済み" in again.text


def test_only_the_system_administrator_may_open_it(client: Any, sign_in: Any) -> None:
    sign_in("t-a1")
    assert client.get("/admin/lti").status_code == 403
    sign_in("sa-a")
    assert client.get("/admin/lti").status_code == 403


def test_admin_links_a_portal_course_to_a_class_and_the_teacher_lands_on_its_report(
    client: Any, sign_in: Any, db_session: Session, platform: Any, registered: Any, roster_city: Any
) -> None:
    from lms.lti.models import LtiContext
    from tests.lti.conftest import launch
    from tests.lti.platform import INSTRUCTOR, LaunchSpec

    teacher_spec = LaunchSpec(sub="tch-es-1", roles=[INSTRUCTOR], context_id="portal-course-9")
    first = launch(client, platform, teacher_spec)
    landing = client.get(first.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"].startswith("/lti/contexts/")  # the teacher may name it; the admin does
    client.cookies.clear()
    sign_in("admin")
    page = client.get("/admin/lti")
    assert "portal-course-9" in page.text and "未対応" in page.text
    context = db_session.exec(select(LtiContext)).one()
    bad = client.post(
        f"/admin/lti/contexts/{context.id}",
        data={"class_sourced_id": "nope", "csrf_token": csrf_of(page.text)},
    )
    assert bad.status_code == 400 and "classes.csv" in bad.text
    done = client.post(
        f"/admin/lti/contexts/{context.id}",
        data={"class_sourced_id": "cls-es-3-1", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    client.cookies.clear()
    again = launch(client, platform, teacher_spec, hint="h2")
    klass = roster_city.klass("cls-es-3-1")
    landing = client.get(again.response.headers["location"], follow_redirects=False)
    assert landing.headers["location"] == f"/classes/{klass.id}/report"


def test_admin_rotates_the_signing_key(client: Any, sign_in: Any, db_session: Session) -> None:
    sign_in("admin")
    page = client.get("/admin/lti")
    old_kid = page.text.split('id="tool-kid">', 1)[1].split("<", 1)[0]
    done = client.post(
        "/admin/lti/key/rotate", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    new_kid = after.text.split('id="tool-kid">', 1)[1].split("<", 1)[0]
    assert new_kid != old_kid
    published = [k["kid"] for k in client.get("/lti/jwks.json").json()["keys"]]
    assert published == [old_kid, new_kid]
    assert db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.key_rotate")).one()


def test_admin_changes_a_platforms_district_and_sub_setting_with_the_registration_rules(
    client: Any, sign_in: Any, db_session: Session
) -> None:
    """After registration: a second board's roster arrived, so the portal must name its district; the
    ``sub`` setting can be turned on once the portal's administrator confirmed it (issue 23 leftover)."""
    sign_in("admin")
    page = client.get("/admin/lti")
    client.post("/admin/lti", data={**FORM, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    platform = db_session.exec(select(LtiPlatform)).one()
    assert (platform.district_id, platform.sub_is_roster_id) == (None, False)
    db_session.add(Org(sourced_id="org-district-2", name="となり町教育委員会", type="district"))
    db_session.commit()
    page = client.get("/admin/lti")
    assert f'action="/admin/lti/{platform.id}/settings"' in page.text
    url = f"/admin/lti/{platform.id}/settings"
    # without the CSRF token: refused, nothing changes
    refused = client.post(url, data={"sub_is_roster_id": "on"}, follow_redirects=False)
    assert refused.status_code == 403
    # "every school" with two boards: the registration's refusal, in Japanese, nothing changes
    still_every = client.post(url, data={"sub_is_roster_id": "on", "csrf_token": csrf_of(page.text)})
    assert still_every.status_code == 400 and "複数の教育委員会" in still_every.text
    district = db_session.exec(
        select(Org).where(Org.type == "district", Org.sourced_id != "org-district-2")
    ).one()
    done = client.post(
        url,
        data={"district_id": str(district.id), "sub_is_roster_id": "on", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/lti?done=updated"
    db_session.expire_all()
    platform = db_session.exec(select(LtiPlatform)).one()
    assert (platform.district_id, platform.sub_is_roster_id) == (district.id, True)
    [event] = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.platform_update")).all()
    detail = json.loads(event.detail or "{}")
    assert detail["after"] == {"district_id": district.id, "sub_is_roster_id": True}
    assert detail["before"] == {"district_id": None, "sub_is_roster_id": False}
    # an unknown district id is refused like at registration
    unknown = client.post(url, data={"district_id": "99999", "csrf_token": csrf_of(page.text)})
    assert unknown.status_code == 400 and "名簿にありません" in unknown.text
    # other roles may not, even with their own valid token (the admin's token would fail on CSRF alone)
    sign_in("sa-a")
    own_token = csrf_of(client.get("/home").text)
    refused_role = client.post(url, data={"csrf_token": own_token}, follow_redirects=False)
    assert refused_role.status_code == 403
    db_session.expire_all()
    assert db_session.exec(select(LtiPlatform)).one().district_id == district.id  # still the board chosen


def test_a_district_that_is_not_a_number_is_a_japanese_400_not_a_500(
    client: Any, sign_in: Any, db_session: Session
) -> None:
    """Review finding (2026-12-07): ``"²".isdigit()`` is true but ``int("²")`` fails, so the form's district
    went to ``int`` and answered 500; a word like "abc" silently meant "every school"."""
    sign_in("admin")
    page = client.get("/admin/lti")
    token = csrf_of(page.text)
    for bad in ("²", "abc"):
        registered = client.post("/admin/lti", data={**FORM, "district_id": bad, "csrf_token": token})
        assert registered.status_code == 400 and "名簿にありません" in registered.text
    assert db_session.exec(select(LtiPlatform)).all() == []
    client.post("/admin/lti", data={**FORM, "csrf_token": token}, follow_redirects=False)
    platform = db_session.exec(select(LtiPlatform)).one()
    url = f"/admin/lti/{platform.id}/settings"
    for bad in ("²", "abc"):
        changed = client.post(url, data={"district_id": bad, "sub_is_roster_id": "on", "csrf_token": token})
        assert changed.status_code == 400 and "名簿にありません" in changed.text
    db_session.expire_all()
    assert db_session.exec(select(LtiPlatform)).one().sub_is_roster_id is False


def test_the_platform_update_audit_event_has_a_japanese_label() -> None:
    from lms.pages.audit_labels import ACTION_LABELS

    assert ACTION_LABELS["lti.platform_update"] == "LTI プラットフォームの設定を変更"


def test_turning_sub_as_roster_id_off_forgets_the_links_it_made(
    client: Any, sign_in: Any, db_session: Session
) -> None:
    """Review finding (2026-12-07): a launch trusts an existing ``sub`` link before any claim, so links made
    by reading ``sub`` as a roster id kept signing pupils in as whoever they named after the administrator
    said ``sub`` is not a roster id. Turning the setting off deletes those links (audited), keeps others."""
    from lms.lti.models import LtiUserLink
    from lms.roster.models import User

    sign_in("admin")
    token = csrf_of(client.get("/admin/lti").text)
    client.post("/admin/lti", data={**FORM, "sub_is_roster_id": "on", "csrf_token": token})
    platform = db_session.exec(select(LtiPlatform)).one()
    assert platform.sub_is_roster_id is True
    students = db_session.exec(select(User).where(User.role == "student").order_by(col(User.id))).all()[:3]
    for n, (student, how) in enumerate(zip(students, (*SUB_MATCHES, "lis.person_sourcedid"), strict=True)):
        db_session.add(
            LtiUserLink(platform_id=pk_of(platform), sub=f"sub-{n}", user_id=pk_of(student), matched_by=how)
        )
    db_session.commit()
    url = f"/admin/lti/{platform.id}/settings"
    done = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    db_session.expire_all()
    left = db_session.exec(select(LtiUserLink.matched_by)).all()
    assert left == ["lis.person_sourcedid"]
    event = db_session.exec(select(AuditEvent).where(AuditEvent.action == "lti.platform_update")).one()
    assert json.loads(event.detail or "{}")["links_forgotten"] == 2


def pk_of(row: Any) -> int:
    assert row.id is not None
    return int(row.id)
