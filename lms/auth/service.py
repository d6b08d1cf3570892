"""Sign-in services: password check with throttling, second factor, API tokens. They flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.auth import throttle, totp
from lms.auth.models import API_SCOPES, ApiToken
from lms.auth.passwords import verify_password
from lms.auth.tokens import new_api_secret, sha256_hex
from lms.core.errors import Forbidden, InvalidInput, NotFound
from lms.core.settings import Settings
from lms.roster.models import User

STAFF_ROLES = frozenset({"teacher", "school_admin", "board", "admin"})

Outcome = Literal["ok", "invalid", "locked"]


@dataclass(frozen=True)
class PasswordResult:
    outcome: Outcome
    user: User | None = None
    retry_after_minutes: int = 0


def _find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip())).first()


def password_sign_in(
    *, session: Session, settings: Settings, username: str, password: str, ip: str | None, now: datetime
) -> PasswordResult:
    """Check a username and password under the throttle; audit success, failure and lock-out."""
    state = throttle.check(session=session, settings=settings, username=username, ip=ip, now=now)
    if state.locked:
        record_event(
            session=session,
            actor_id=None,
            action="auth.login_refused_locked",
            target_type="username",
            target_id=username[:255],
            ip=ip,
        )
        return PasswordResult("locked", retry_after_minutes=state.retry_after_minutes)
    user = _find_user(session, username)
    usable = user is not None and user.enabled and user.status == "active"
    ok, new_hash = verify_password(user.password_hash if usable and user else None, password)
    if not ok or user is None:
        locked_now = throttle.register_failure(
            session=session, settings=settings, username=username, ip=ip, now=now
        )
        record_event(
            session=session,
            actor_id=user.id if user else None,
            action="auth.login_failed",
            target_type="username",
            target_id=username[:255],
            ip=ip,
        )
        if user is not None:
            user.failed_logins += 1
            if locked_now:
                user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            session.add(user)
        if locked_now:
            record_event(
                session=session,
                actor_id=user.id if user else None,
                action="auth.lockout",
                target_type="username",
                target_id=username[:255],
                ip=ip,
                detail={"minutes": settings.login_lockout_minutes},
            )
        session.flush()
        return PasswordResult("invalid")
    if new_hash is not None:
        user.password_hash = new_hash
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    throttle.reset_account(session=session, username=username)
    session.flush()
    return PasswordResult("ok", user=user)


def next_stage(user: User, settings: Settings) -> str:
    """After the first factor: "mfa" (TOTP set up), "enroll" (required, missing) or "full"."""
    if user.totp_enabled and user.totp_secret:
        return "mfa"
    if user.role in settings.require_mfa_for_staff_roles:
        return "enroll"
    return "full"


def start_totp_enrolment(*, session: Session, settings: Settings, user: User) -> str:
    """Give the user a pending TOTP secret (kept across page reloads until confirmed); return it in clear.

    The secret is stored encrypted. A pending secret that no longer decrypts (``GIGA_SECRET_KEY`` changed
    before the user confirmed it) is replaced by a new one: nothing depends on it yet.
    """
    if user.role not in STAFF_ROLES:
        raise Forbidden("二段階認証は教職員のアカウントで使います。")
    secret = None
    if user.totp_secret is not None:
        secret = totp.reveal_secret(user.totp_secret, secret_key=settings.secret_key)
    if secret is None:
        secret = totp.new_secret()
        user.totp_secret = totp.seal_secret(secret, secret_key=settings.secret_key)
        user.totp_last_step = None
        session.add(user)
        session.flush()
    return secret


def _accept_totp(*, session: Session, settings: Settings, user: User, code: str, now: datetime) -> str | None:
    """Check ``code`` and record its time step; None when accepted, else why not ("invalid" or "reused").

    RFC 6238 §5.2: a code is accepted once. The database decides, so that two requests carrying the same
    code at the same moment cannot both pass: a conditional UPDATE moves ``totp_last_step`` forward only
    when it is older than the code's step (PostgreSQL re-checks the condition after the row lock, SQLite
    serialises writers), and the row count says who won. A legacy plaintext secret is encrypted here.
    """
    if not user.totp_secret or user.id is None:
        return "invalid"
    match = totp.verify_code(user.totp_secret, code, at=now, secret_key=settings.secret_key)
    if match is None:
        return "invalid"
    moved = session.exec(
        update(User)
        .where(
            col(User.id) == user.id,
            or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < match.step),
        )
        .values(totp_last_step=match.step)
        .execution_options(synchronize_session=False)
    )
    if int(moved.rowcount) != 1:
        return "reused"
    set_committed_value(user, "totp_last_step", match.step)
    if match.reseal is not None:
        user.totp_secret = match.reseal
        session.add(user)
    session.flush()
    return None


def _audit_mfa_failure(*, session: Session, user: User, reason: str, ip: str | None) -> None:
    record_event(
        session=session,
        actor_id=user.id,
        action="auth.mfa_failed",
        target_type="user",
        target_id=user.id,
        ip=ip,
        detail={"reason": reason},
    )


def confirm_totp_enrolment(
    *, session: Session, settings: Settings, user: User, code: str, ip: str | None, now: datetime
) -> bool:
    """Turn TOTP on when ``code`` matches the pending secret (its step is recorded: not usable again)."""
    refused = _accept_totp(session=session, settings=settings, user=user, code=code, now=now)
    if refused is not None:
        if refused == "reused":
            _audit_mfa_failure(session=session, user=user, reason=refused, ip=ip)
        return False
    user.totp_enabled = True
    session.add(user)
    record_event(
        session=session,
        actor_id=user.id,
        action="auth.mfa_enrolled",
        target_type="user",
        target_id=user.id,
        ip=ip,
    )
    return True


TotpOutcome = Literal["accepted", "invalid", "reused"]


def check_totp_code(
    *, session: Session, settings: Settings, user: User, code: str, ip: str | None, now: datetime
) -> TotpOutcome:
    """The second sign-in step; a wrong or reused code is refused and audited (detail: the reason).

    The reason is returned so that the page can tell a person who typed an already used code (signed out
    and in again within 30 s) to wait for the next one, rather than that the code is wrong."""
    refused = _accept_totp(session=session, settings=settings, user=user, code=code, now=now)
    if refused is None:
        return "accepted"
    _audit_mfa_failure(session=session, user=user, reason=refused, ip=ip)
    return "reused" if refused == "reused" else "invalid"


def reset_totp(*, session: Session, actor_id: int | None, user: User, ip: str | None) -> None:
    """Remove a user's second factor (lost phone, or a secret that no longer decrypts after a change of
    ``GIGA_SECRET_KEY``); audited as ``auth.mfa_reset``. The user sets it up again at the next sign-in
    (forced for the roles in ``GIGA_REQUIRE_MFA_FOR_STAFF_ROLES``, at /mfa/enroll for the others)."""
    user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None
    session.add(user)
    record_event(
        session=session,
        actor_id=actor_id,
        action="auth.mfa_reset",
        target_type="user",
        target_id=user.id,
        ip=ip,
    )
    session.flush()


# --- API tokens ------------------------------------------------------------------------------------------


def parse_scopes(scopes: list[str]) -> list[str]:
    """Validate requested scopes against `API_SCOPES`."""
    unknown = sorted(set(scopes) - API_SCOPES.keys())
    if unknown:
        raise InvalidInput(f"不明なスコープです: {', '.join(unknown)}（使えるもの: {', '.join(API_SCOPES)}）")
    if not scopes:
        raise InvalidInput("スコープを1つ以上選んでください。")
    return sorted(set(scopes))


def create_api_token(
    *, session: Session, actor: User, owner: User, name: str, scopes: list[str], ip: str | None, now: datetime
) -> tuple[ApiToken, str]:
    """Create a token for ``owner`` (admins for anyone, others for themselves); return it and its secret."""
    if actor.id != owner.id and actor.role != "admin":
        raise Forbidden("ほかの人のAPIトークンは管理者だけが作れます。")
    if actor.role not in STAFF_ROLES:
        raise Forbidden("APIトークンは教職員と管理者のアカウントで作れます。")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("トークンの名前を1〜100文字で入力してください。")
    assert owner.id is not None
    secret = new_api_secret()
    token = ApiToken(
        user_id=owner.id,
        name=name,
        token_hash=sha256_hex(secret),
        prefix=secret[:12],
        scopes=" ".join(parse_scopes(scopes)),
        created_at=now,
        created_by_id=actor.id,
    )
    session.add(token)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id,
        action="token.create",
        target_type="api_token",
        target_id=token.id,
        ip=ip,
        detail={"owner_id": owner.id, "scopes": token.scope_list},
    )
    return token, secret


def visible_tokens(*, session: Session, actor: User) -> list[ApiToken]:
    """Admins see every token; others their own."""
    query = select(ApiToken).order_by(col(ApiToken.id).desc())
    if actor.role != "admin":
        query = query.where(ApiToken.user_id == actor.id)
    return list(session.exec(query))


def revoke_api_token(
    *, session: Session, actor: User, token_id: int, ip: str | None, now: datetime
) -> ApiToken:
    """Revoke a token (its owner or an admin); a token outside the actor's reach is NotFound."""
    token = session.get(ApiToken, token_id)
    if token is None or (actor.role != "admin" and token.user_id != actor.id):
        raise NotFound("そのAPIトークンは見つかりません。")
    if token.revoked_at is None:
        token.revoked_at = now
        session.add(token)
        record_event(
            session=session,
            actor_id=actor.id,
            action="token.revoke",
            target_type="api_token",
            target_id=token.id,
            ip=ip,
        )
        session.flush()
    return token


def authenticate_api_token(*, session: Session, secret: str, now: datetime) -> tuple[User, ApiToken] | None:
    """The user and token for a bearer secret; None when unknown, revoked or its user is disabled."""
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == sha256_hex(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.enabled or user.status != "active":
        return None
    token.last_used_at = now
    session.add(token)
    session.flush()
    return user, token
