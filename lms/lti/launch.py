"""The launch: OIDC third-party-initiated login, then the signed id_token verified and matched to the roster.

The login stores ``state`` (hashed), ``nonce`` and the hash of a browser-binding value in
``lti_launch_state``; the launch looks the state up, spends it (single use, ten minutes), and requires the
id_token's nonce to be that row's. Whether the launch comes from the login's browser is `lms.lti.binding`'s
question, asked by the route. Each refusal is a `LaunchRefused` carrying what went wrong and what to tell
the portal's administrator (rendered as a Japanese error page by `lms.lti.pages`).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.auth.tokens import sha256_hex
from lms.lti import claims as c
from lms.lti import messages as msg
from lms.lti import registration
from lms.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiHandoff,
    LtiLaunchState,
    LtiPendingLaunch,
    LtiPlatform,
    LtiUserLink,
)
from lms.lti.service_models import LtiDeepLinkTicket
from lms.roster.models import Org, SchoolClass, User

STATE_LIFETIME = timedelta(minutes=10)
CLOCK_LEEWAY_SECONDS = 60
JWKS_CACHE_SECONDS = 300
LAUNCH_ROLES = frozenset({"student", "teacher", "school_admin"})
MAX_ID_LENGTH = 255  # sub and context id (the columns' width too)


class LaunchRefused(Exception):
    """A refused login or launch: ``code`` for the audit log and tests, the page's sentences, a status."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = 400,
        platform: LtiPlatform | None = None,
        relaunch_url: str | None = None,
    ):
        super().__init__(code)
        self.relaunch_url = relaunch_url  # the same login in a new window (a browser not bound in the iframe)
        self.code = code
        self.message = message
        self.admin_hint = msg.ADMIN_HINTS.get(code, msg.ADMIN_HINT_DEFAULT)
        self.status_code = status_code
        self.platform = platform


def refuse(
    code: str, *, status_code: int = 400, platform: LtiPlatform | None = None, relaunch_url: str | None = None
) -> LaunchRefused:
    """A refusal with the page's sentences of ``code`` (`msg.REFUSALS`), for this module and the routes."""
    return LaunchRefused(
        code, msg.REFUSALS[code], status_code=status_code, platform=platform, relaunch_url=relaunch_url
    )


# --- OIDC login initiation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginStart:
    """A checked login: where to send the browser, and what to give it to bind the launch to it."""

    url: str  # the platform's authorization endpoint with the OIDC request
    state: str
    binding: str  # the random value for the cookie / the portal storage (its hash is on the state row)
    storage_target: str  # the portal's lti_storage_target ('': it offers none)
    platform_origin: str  # where the portal storage's messages go (the authorization endpoint's origin)


# the login parameters kept to start the same login again in a new window (not lti_storage_target: a new
# top-level window keeps its cookie)
RELAUNCH_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "client_id",
    "lti_deployment_id",
)


def begin_login(
    *,
    session: Session,
    params: dict[str, str],
    redirect_uri: str,
    now: datetime,
    binding: str,
    storage_target: str,
) -> LoginStart:
    """Check a login initiation (GET or POST ``/lti/login``) and return the platform's authorization URL.

    ``redirect_uri`` is the tool's launch URL (``/lti/launch``) the platform must post the id_token to;
    ``binding`` the browser-binding value whose SHA-256 the state row keeps.
    """
    issuer = params.get("iss", "").strip()
    login_hint = params.get("login_hint", "")
    target_link_uri = params.get("target_link_uri", "")
    if not issuer or not login_hint or not target_link_uri:
        raise refuse("login_params_missing")
    platform = registration.find_platform(session=session, issuer=issuer, client_id=params.get("client_id"))
    if platform is None:
        raise refuse("unknown_platform", status_code=403)
    deployment_id = params.get("lti_deployment_id")
    if (
        deployment_id
        and registration.find_deployment(session=session, platform=platform, deployment_id=deployment_id)
        is None
    ):
        raise refuse("unknown_deployment", status_code=403, platform=platform)
    assert platform.id is not None
    purge_expired(session=session, now=now)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        LtiLaunchState(
            state_hash=sha256_hex(state),
            nonce=nonce,
            platform_id=platform.id,
            target_link_uri=target_link_uri[:1000],
            binding_hash=sha256_hex(binding),
            storage_target=storage_target,
            login_query=_relaunch_query(params),
            created_at=now,
            expires_at=now + STATE_LIFETIME,
        )
    )
    session.flush()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return LoginStart(
        url=platform.auth_login_url + separator + urlencode(query),
        state=state,
        binding=binding,
        storage_target=storage_target,
        platform_origin=platform_origin(platform),
    )


def platform_origin(platform: LtiPlatform) -> str:
    """The origin of the portal's frame that answers the postMessage storage: its OIDC authorization
    endpoint's (LTI client-side postMessages: the messages' target origin)."""
    parts = urlsplit(platform.auth_login_url)
    return f"{parts.scheme}://{parts.netloc}"


def _relaunch_query(params: dict[str, str]) -> str:
    query = urlencode({k: params[k] for k in RELAUNCH_PARAMS if params.get(k)})
    return query if len(query) <= 2000 else ""  # too long to keep: no new-window button then


# --- the id_token ----------------------------------------------------------------------------------------


class _JwksCache:
    """One `jwt.PyJWKClient` per JWKS URL (it caches the key set; a new kid triggers one refetch)."""

    def __init__(self) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def client(self, url: str) -> jwt.PyJWKClient:
        with self._lock:
            found = self._clients.get(url)
            if found is None:
                found = jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=10)
                self._clients[url] = found
            return found

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


jwks_cache = _JwksCache()


def _signing_key(platform: LtiPlatform, id_token: str) -> Any:
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.DecodeError as error:
        raise refuse("bad_token", platform=platform) from error
    if header.get("alg") != "RS256":
        raise refuse("bad_token", platform=platform)
    client = jwks_cache.client(platform.jwks_url)
    try:
        if header.get("kid"):
            return client.get_signing_key(str(header["kid"])).key
        keys = client.get_signing_keys()
    except jwt.PyJWKClientConnectionError as error:
        raise refuse("jwks_unreachable", status_code=502, platform=platform) from error
    except jwt.PyJWKClientError as error:  # no key with that kid, even after a refetch
        raise refuse("bad_signature", platform=platform) from error
    except (jwt.PyJWKSetError, ValueError) as error:  # not JSON (an HTML page), or no usable key in the set
        raise refuse("jwks_unreadable", status_code=502, platform=platform) from error
    if len(keys) != 1:
        raise refuse("bad_signature", platform=platform)
    return keys[0].key


def _decode(platform: LtiPlatform, id_token: str, *, now: datetime) -> dict[str, Any]:
    key = _signing_key(platform, id_token)
    try:
        decoded: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=["RS256"],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"], "verify_iat": True},
        )
    except jwt.ExpiredSignatureError as error:
        raise refuse("expired", platform=platform) from error
    except jwt.InvalidAudienceError as error:
        raise refuse("wrong_audience", status_code=403, platform=platform) from error
    except jwt.InvalidIssuerError as error:
        raise refuse("wrong_issuer", status_code=403, platform=platform) from error
    except jwt.InvalidSignatureError as error:
        raise refuse("bad_signature", status_code=403, platform=platform) from error
    except jwt.ImmatureSignatureError as error:
        raise refuse("expired", platform=platform) from error
    except jwt.InvalidTokenError as error:
        raise refuse("bad_token", platform=platform) from error
    # exp is checked against the server's wall clock by PyJWT; also check the app clock (tests freeze it)
    if decoded["exp"] + CLOCK_LEEWAY_SECONDS < now.timestamp():
        raise refuse("expired", platform=platform)
    audience = decoded["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    # OIDC Core 3.1.3.7: azp is required with several audiences and, when present, must be our client id
    if (several or "azp" in decoded) and decoded.get("azp") != platform.client_id:
        raise refuse("wrong_audience", status_code=403, platform=platform)
    return decoded


@dataclass(frozen=True)
class VerifiedLaunch:
    """A launch whose id_token passed every check; ``claims`` is the whole payload."""

    platform: LtiPlatform
    deployment: LtiDeployment
    claims: dict[str, Any]
    target_link_uri: str
    message_type: str = field(default=c.RESOURCE_LINK_REQUEST)
    binding_hash: str = ""  # the login's browser binding (lms.lti.binding)
    storage_target: str = ""  # the login's lti_storage_target ('': the portal storage was not offered)
    login_query: str = ""  # the login's parameters, to start it again in a new window

    @property
    def custom(self) -> dict[str, Any]:
        value = self.claims.get(c.CUSTOM)
        return value if isinstance(value, dict) else {}

    @property
    def context(self) -> dict[str, Any]:
        value = self.claims.get(c.CONTEXT)
        return value if isinstance(value, dict) else {}


def _spend_state(session: Session, state: str, *, now: datetime) -> LtiLaunchState:
    """The login's row for ``state``, marked used in one conditional UPDATE (two posts cannot both win)."""
    row = session.exec(select(LtiLaunchState).where(LtiLaunchState.state_hash == sha256_hex(state))).first()
    if row is None:
        raise refuse("unknown_state")
    if row.used_at is not None:
        raise refuse("replayed", status_code=409)
    if row.expires_at < now:
        raise refuse("state_expired")
    spent = session.exec(
        update(LtiLaunchState)
        .where(col(LtiLaunchState.id) == row.id, col(LtiLaunchState.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise refuse("replayed", status_code=409)
    return row


def verify_launch(
    *, session: Session, id_token: str, state: str, now: datetime, message_types: frozenset[str]
) -> VerifiedLaunch:
    """Every check of IMS Security Framework §5.1.3 and LTI Core §5.3, in order; raise `LaunchRefused`."""
    if not id_token or not state:
        raise refuse("launch_params_missing")
    row = _spend_state(session, state, now=now)
    platform = session.get(LtiPlatform, row.platform_id)
    if platform is None:  # pragma: no cover - a foreign key
        raise refuse("unknown_platform", status_code=403)
    decoded = _decode(platform, id_token, now=now)
    if not secrets.compare_digest(str(decoded.get("nonce", "")), row.nonce):
        raise refuse("nonce_mismatch", platform=platform)
    if decoded.get(c.VERSION) != c.LTI_VERSION:
        raise refuse("bad_version", platform=platform)
    message_type = str(decoded.get(c.MESSAGE_TYPE, ""))
    if message_type not in message_types:
        raise refuse("bad_message_type", platform=platform)
    deployment_id = decoded.get(c.DEPLOYMENT_ID)
    deployment = (
        registration.find_deployment(session=session, platform=platform, deployment_id=deployment_id)
        if isinstance(deployment_id, str)
        else None
    )
    if deployment is None:
        raise refuse("unknown_deployment", status_code=403, platform=platform)
    if message_type == c.RESOURCE_LINK_REQUEST and not isinstance(decoded.get(c.RESOURCE_LINK), dict):
        raise refuse("bad_token", platform=platform)
    # OIDC Core §2 and LTI Core §5.3.6/§5.4.1 cap sub and the context id at 255: longer is malformed (stored
    # cut, a second launch would miss its own row)
    context_id = decoded.get(c.CONTEXT, {}).get("id") if isinstance(decoded.get(c.CONTEXT), dict) else None
    if len(str(decoded["sub"])) > MAX_ID_LENGTH or len(str(context_id or "")) > MAX_ID_LENGTH:
        raise refuse("bad_token", platform=platform)
    target = decoded.get(c.TARGET_LINK_URI)
    return VerifiedLaunch(
        platform=platform,
        deployment=deployment,
        claims=decoded,
        target_link_uri=target if isinstance(target, str) else row.target_link_uri,
        message_type=message_type,
        binding_hash=row.binding_hash,
        storage_target=row.storage_target,
        login_query=row.login_query,
    )


# --- the roster ------------------------------------------------------------------------------------------


def _district_of(session: Session, org_id: int | None) -> int | None:
    """The district above a school (or the org itself when it is a district)."""
    seen = 0
    while org_id is not None and seen < 5:
        org = session.get(Org, org_id)
        if org is None:
            return None
        if org.type == "district":
            return org.id
        org_id, seen = org.parent_id, seen + 1
    return None


def _candidates(launch: VerifiedLaunch) -> list[tuple[str, str, str]]:
    """``(matched_by, column, value)`` in the order of `lms.lti.claims`'s docstring."""
    sub = str(launch.claims["sub"])
    out: list[tuple[str, str, str]] = []
    lis = launch.claims.get(c.LIS)
    if isinstance(lis, dict) and isinstance(lis.get("person_sourcedid"), str) and lis["person_sourcedid"]:
        out.append(("lis.person_sourcedid", "sourced_id", lis["person_sourcedid"]))
    for name in c.USER_MASTER_IDENTIFIER_CUSTOM:
        value = launch.custom.get(name)
        if isinstance(value, str) and value and not value.startswith("$"):  # "$…" = an unfilled substitution
            out.append(("custom." + name, "user_master_identifier", value))
    if launch.platform.sub_is_roster_id:  # only where the administrator said so (docs/lti.md)
        by_sourced_id, by_master_identifier = c.SUB_MATCHES
        out.append((by_sourced_id, "sourced_id", sub))
        out.append((by_master_identifier, "user_master_identifier", sub))
    return out


def match_user(*, session: Session, launch: VerifiedLaunch, now: datetime) -> User:
    """The roster user of the launch (never created); links ``sub`` to them on the first launch."""
    platform = launch.platform
    assert platform.id is not None
    sub = str(launch.claims["sub"])
    link = session.exec(
        select(LtiUserLink).where(LtiUserLink.platform_id == platform.id, LtiUserLink.sub == sub)
    ).first()
    user = session.get(User, link.user_id) if link is not None else None
    matched_by = link.matched_by if link is not None else ""
    if user is None:
        for how, column, value in _candidates(launch):
            found = session.exec(select(User).where(getattr(User, column) == value)).all()
            if len(found) == 1:
                user, matched_by = found[0], how
                break
    if user is None:
        raise refuse("not_on_roster", status_code=403, platform=platform)
    if (
        platform.district_id is not None
        and _district_of(session, user.primary_org_id) != platform.district_id
    ):
        raise refuse("not_on_roster", status_code=403, platform=platform)
    if not user.enabled or user.status != "active" or user.graduated:
        raise refuse("user_disabled", status_code=403, platform=platform)
    if user.role not in LAUNCH_ROLES:
        raise refuse("role_not_launchable", status_code=403, platform=platform)
    if link is None:
        assert user.id is not None
        link = LtiUserLink(platform_id=platform.id, sub=sub[:255], user_id=user.id, matched_by=matched_by)
    link.last_launch_at = now
    session.add(link)
    session.flush()
    return user


def sync_context(
    *, session: Session, launch: VerifiedLaunch, actor_id: int | None = None, ip: str | None = None
) -> LtiContext | None:
    """The launch's context row (made on first sight), with its class matched by OneRoster sourcedId when the
    portal sends it (``lis.course_section_sourcedid``, or a context id that is a class sourcedId) — a class
    of the platform's district only, as `match_user` keeps it to its district's users."""
    context_id = launch.context.get("id")
    if not isinstance(context_id, str) or not context_id:
        return None
    platform_id = launch.platform.id
    assert platform_id is not None
    row = session.exec(
        select(LtiContext).where(LtiContext.platform_id == platform_id, LtiContext.context_id == context_id)
    ).first()
    if row is None:
        row = LtiContext(platform_id=platform_id, context_id=context_id[:255])
    title = launch.context.get("title") or launch.context.get("label")
    if isinstance(title, str):
        row.title = title[:255]
    linked = False
    if row.school_class_id is None:
        lis = launch.claims.get(c.LIS)
        keys = [lis.get("course_section_sourcedid")] if isinstance(lis, dict) else []
        keys.append(context_id)
        for key in keys:
            if isinstance(key, str) and key:
                klass = session.exec(select(SchoolClass).where(SchoolClass.sourced_id == key)).first()
                district_id = launch.platform.district_id
                if klass is not None and district_id is not None:
                    klass = klass if _district_of(session, klass.school_id) == district_id else None
                if klass is not None:
                    row.school_class_id, linked = klass.id, True
                    break
    session.add(row)
    session.flush()
    if linked:
        # the class's scores and roster comparison now follow this portal: audited
        record_event(
            session=session,
            actor_id=actor_id,
            action="lti.context_link",
            target_type="class",
            target_id=row.school_class_id,
            ip=ip,
            detail={"platform_id": platform_id, "context_id": row.context_id},
        )
    return row


# --- where the launch opens ------------------------------------------------------------------------------

STUDENT_PATHS = ("/home", "/test/", "/results/", "/notebooks")
STAFF_PATHS = ("/home", "/classes/", "/assignments/", "/notebooks")


def _local_path(value: str, *, tool_origin: str) -> str | None:
    """A path on this tool from a custom target ("/test/3") or a target_link_uri on our own origin."""
    parts = urlsplit(value)
    if (parts.scheme or parts.netloc) and f"{parts.scheme}://{parts.netloc}" != tool_origin:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or ".." in path:
        return None
    return path


def landing_path(*, user: User, launch: VerifiedLaunch, context: LtiContext | None, tool_origin: str) -> str:
    """Where the signed-in user goes: the deep link's or link's target when it is a page their role opens,
    else the student's home (tests, results, practice) or the teacher's class report of the context."""
    allowed = STUDENT_PATHS if user.role == "student" else STAFF_PATHS
    for raw in (launch.custom.get(c.TARGET_CUSTOM), launch.target_link_uri):
        if isinstance(raw, str) and raw:
            path = _local_path(raw, tool_origin=tool_origin)
            if path is not None and path.startswith(allowed) and not path.startswith("/lti/"):
                return path
    if user.role != "student" and context is not None and context.school_class_id is not None:
        return f"/classes/{context.school_class_id}/report"
    if user.role == "teacher" and context is not None and context.id is not None:
        return f"/lti/contexts/{context.id}/link"  # the teacher says which class this course is
    return "/home"


def purge_expired(*, session: Session, now: datetime) -> None:
    """Delete login states, handoff and deep-linking tickets an hour past their expiry (run by each login: one
    DELETE each, so the tables stay small without a scheduled job)."""
    cutoff = now - timedelta(hours=1)
    session.exec(delete(LtiLaunchState).where(col(LtiLaunchState.expires_at) < cutoff))
    session.exec(delete(LtiHandoff).where(col(LtiHandoff.expires_at) < cutoff))
    session.exec(delete(LtiDeepLinkTicket).where(col(LtiDeepLinkTicket.expires_at) < cutoff))
    session.exec(delete(LtiPendingLaunch).where(col(LtiPendingLaunch.expires_at) < cutoff))
