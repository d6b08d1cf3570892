"""Local accounts made outside the roster: the city's system administrators (``giga admin create``).

Roster users come from OneRoster imports; a system administrator belongs to no school, so the operator
creates one on the host. Flushes, never commits: the caller's transaction commits the account together with
its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lms.audit.service import record_event
from lms.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from lms.core.errors import Conflict, InvalidInput
from lms.roster.models import User

# The sign-in form accepts no longer password (``Form(max_length=1024)`` in lms/pages/auth_routes.py): an
# account with a longer one could never sign in.
MAX_PASSWORD_LENGTH = 1024
_MAX_FIELD = 255  # the length of the user table's name columns


@dataclass(frozen=True)
class AdminNames:
    """The display name shown in the pages (姓・名 and their katakana readings)."""

    family_name: str = "システム"
    given_name: str = "管理者"
    kana_family_name: str = "システム"
    kana_given_name: str = "カンリシャ"


def password_problem(password: str) -> str | None:
    """Why ``password`` is refused (policy: at least `MIN_PASSWORD_LENGTH` characters), or None.

    The message never contains the password."""
    if not password.strip():
        return "the password is empty"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password is too long: the sign-in form accepts at most {MAX_PASSWORD_LENGTH} characters"
    return None


def check_new_username(*, session: Session, username: str) -> str:
    """Return the cleaned username; raise `InvalidInput` if it is malformed, `Conflict` if it is taken."""
    cleaned = username.strip()
    if not cleaned:
        raise InvalidInput("the username is empty")
    if any(character.isspace() for character in cleaned):
        raise InvalidInput(f"the username {cleaned!r} contains a space; use letters, digits, '-', '_' or '.'")
    if len(cleaned) > _MAX_FIELD:
        raise InvalidInput(f"the username is too long: at most {_MAX_FIELD} characters")
    existing = session.exec(select(User).where(User.username == cleaned)).first()
    if existing is not None:
        raise Conflict(f"a user named {cleaned!r} already exists (role {existing.role}); nothing was created")
    return cleaned


def _check_names(names: AdminNames) -> None:
    for label, value in (
        ("family name", names.family_name),
        ("given name", names.given_name),
        ("kana family name", names.kana_family_name),
        ("kana given name", names.kana_given_name),
    ):
        if not value.strip():
            raise InvalidInput(f"the {label} is empty")
        if len(value) > _MAX_FIELD:
            raise InvalidInput(f"the {label} is too long: at most {_MAX_FIELD} characters")


def create_system_admin(
    *, session: Session, username: str, password: str, names: AdminNames | None = None
) -> User:
    """Create an active user with the platform role ``admin`` and an argon2id password hash; audit it.

    Raises `InvalidInput` (bad username, name or password) or `Conflict` (the username exists); nothing is
    added to the session then."""
    names = names or AdminNames()
    cleaned = check_new_username(session=session, username=username)
    _check_names(names)
    problem = password_problem(password)
    if problem is not None:
        raise InvalidInput(problem)
    user = User(
        username=cleaned,
        role="admin",
        status="active",
        enabled=True,
        sourced_id=None,  # a local account: no roster import updates or disables it
        family_name=names.family_name.strip(),
        given_name=names.given_name.strip(),
        kana_family_name=names.kana_family_name.strip(),
        kana_given_name=names.kana_given_name.strip(),
        password_hash=hash_password(password),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # created by someone else between the check and the insert
        raise Conflict(f"a user named {cleaned!r} already exists; nothing was created") from None
    record_event(
        session=session,
        actor_id=None,  # the operator on the host, not a signed-in user
        action="user.create",
        target_type="user",
        target_id=user.id,
        detail={"username": cleaned, "role": "admin", "via": "giga admin create"},
    )
    return user
