"""Fixtures for the sign-in, permission, page and API tests: a small city with one user per role.

``world`` builds (and commits) two schools of one district:
- school A: classes A1 (teacher ``t-a1``; students ``s-a1`` no.1, ``s-a1b`` no.2) and A2 (student ``s-a2``),
  school admin ``sa-a``;
- school B: class B1 (teacher ``t-b1``; student ``s-b1``);
- ``board`` (district) and ``admin``, both with TOTP already set up (secrets in ``world.totp``).
Every account's password is ``PASSWORD``. The app's clock is a `FrozenClock` (``clock`` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlmodel import Session

PASSWORD = "correct-horse-42"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2 with small parameters: the real ones cost 19 MiB and tens of ms per hash."""
    from lms.auth import passwords

    previous = passwords.set_hasher_for_tests(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    passwords._DUMMY_HASH = passwords.hash_password("dummy")  # keep the unknown-user path cheap too
    yield
    passwords.set_hasher_for_tests(previous)


@dataclass
class World:
    orgs: dict[str, Any] = field(default_factory=dict)
    classes: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    totp: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world(db_session: Session) -> World:
    from lms.auth.passwords import hash_password
    from lms.roster.models import Org, SchoolClass, User
    from tests.factories import enrol

    w = World()
    district = Org(sourced_id="d1", name="みどり市教育委員会", type="district", identifier="123456")
    db_session.add(district)
    db_session.flush()
    for key, name, code in (
        ("A", "みどり第一小学校", "B123456789012"),
        ("B", "みどり中学校", "C123456789012"),
    ):
        org = Org(
            sourced_id=f"school-{key}", name=name, type="school", identifier=code, parent_id=district.id
        )
        db_session.add(org)
        w.orgs[key] = org
    w.orgs["district"] = district
    db_session.flush()
    for key, school, title, grade in (
        ("A1", "A", "3年1組", "P3"),
        ("A2", "A", "3年2組", "P3"),
        ("B1", "B", "1年1組", "J1"),
    ):
        klass = SchoolClass(sourced_id=f"class-{key}", title=title, grades=grade, school_id=w.orgs[school].id)
        db_session.add(klass)
        w.classes[key] = klass
    db_session.flush()
    password_hash = hash_password(PASSWORD)
    people = [
        ("s-a1", "student", "A", "一郎", "A1"),
        ("s-a1b", "student", "A", "花子", "A1"),
        ("s-a2", "student", "A", "次郎", "A2"),
        ("s-b1", "student", "B", "三郎", "B1"),
        ("t-a1", "teacher", "A", "先生A", None),
        ("t-b1", "teacher", "B", "先生B", None),
        ("sa-a", "school_admin", "A", "校長", None),
        ("board", "board", "district", "委員", None),
        ("admin", "admin", None, "管理", None),
    ]
    for username, role, org_key, given, home in people:
        user = User(
            username=username,
            role=role,
            given_name=given,
            family_name="山田",
            kana_given_name="テスト",
            kana_family_name="ヤマダ",
            password_hash=password_hash,
            primary_org_id=w.orgs[org_key].id if org_key else None,
            home_class_id=w.classes[home].id if home else None,
            email=f"{username}@school.example.jp",
        )
        if role in ("board", "admin"):
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled = True
            w.totp[username] = user.totp_secret
        db_session.add(user)
        w.users[username] = user
    db_session.flush()
    enrollments = [
        ("s-a1", "A1", "student", 1),
        ("s-a1b", "A1", "student", 2),
        ("s-a2", "A2", "student", 1),
        ("s-b1", "B1", "student", 1),
        ("t-a1", "A1", "teacher", None),
        ("t-b1", "B1", "teacher", None),
    ]
    for username, class_key, role, number in enrollments:
        enrol(
            db_session,
            user=w.users[username],
            klass=w.classes[class_key],
            role=role,
            number=number,
            sourced_id=f"e-{username}-{class_key}",
        )
    db_session.commit()
    return w


@pytest.fixture
def clock(app: Any) -> Any:
    from lms.core.clock import FrozenClock, get_clock

    frozen = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    app.dependency_overrides[get_clock] = lambda: frozen
    return frozen


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def new_staff_user(db_session: Session, world: Any, username: str, role: str) -> Any:
    """A staff account with the world's test password and no second factor yet."""
    from lms.roster.models import User

    user = User(
        username=username,
        role=role,
        given_name="新",
        family_name="鈴木",
        password_hash=world.users["t-a1"].password_hash,
        primary_org_id=world.orgs["district"].id,
    )
    db_session.add(user)
    db_session.commit()
    return user


def post_login(client: Any, username: str, password: str = PASSWORD) -> Any:
    """The sign-in form's password step, as a browser sends it (CSRF token from the page)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def totp_code(secret: str, clock: Any) -> str:
    return str(pyotp.TOTP(secret).at(clock.now()))


@pytest.fixture
def sign_in(client: Any, world: World, clock: Any) -> Callable[..., Any]:
    """``sign_in("t-a1")``: a full browser sign-in (password, then TOTP when set up) on ``client``.

    A TOTP code is accepted once (RFC 6238 §5.2): signing the same person in again waits, as a person
    would, for the app's next code (the frozen clock moves on 30 seconds)."""
    used_steps: dict[str, int] = {}

    def do(username: str, password: str = PASSWORD) -> Any:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        if response.headers["location"].startswith("/login/mfa"):
            if used_steps.get(username, -1) >= int(clock.now().timestamp()) // 30:
                clock.advance(seconds=30)
            used_steps[username] = int(clock.now().timestamp()) // 30
            mfa = client.get(response.headers["location"])
            response = client.post(
                "/login/mfa",
                data={"code": totp_code(world.totp[username], clock), "csrf_token": csrf_of(mfa.text)},
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
        return response

    return do


@pytest.fixture
def api_token(db_session: Session, world: World) -> Callable[..., str]:
    """``api_token("admin", ["roster:read"])``: a bearer secret for that user with those scopes."""
    from lms.auth.service import create_api_token

    def make(username: str, scopes: list[str]) -> str:
        user = world.users[username]
        actor = world.users["admin"] if user.role == "student" else user
        if actor.id != user.id:  # students cannot create tokens; tests still need one to prove denials
            from tests.factories import bearer_secret

            secret = bearer_secret(db_session, user, " ".join(scopes))
            db_session.commit()
            return secret
        _token, secret = create_api_token(
            session=db_session,
            actor=actor,
            owner=user,
            name="test",
            scopes=scopes,
            ip="127.0.0.1",
            now=datetime.now(UTC),
        )
        db_session.commit()
        return secret

    return make


@pytest.fixture
def course(world: World, db_session: Session) -> Any:
    """Class A1 made a notebook course ("a1-prog")."""
    from lms.notebooks.models import NotebookCourse

    row = NotebookCourse(class_id=world.classes["A1"].id, course_id="a1-prog")
    db_session.add(row)
    db_session.commit()
    return row
