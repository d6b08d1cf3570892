"""Which platforms may launch the tool: manual registration (the administrator's page) and the lookups the
login and the launch make (issuer + client id, deployment id)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.core.errors import Conflict, InvalidInput, NotFound
from lms.lti import messages as msg
from lms.lti.claims import SUB_MATCHES
from lms.lti.models import LtiDeployment, LtiPlatform, LtiUserLink
from lms.roster.models import Org


@dataclass(frozen=True)
class PlatformInput:
    """What an administrator types to register a platform (from the portal's LTI settings page)."""

    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    deployment_ids: tuple[str, ...]
    district_id: int | None = None
    sub_is_roster_id: bool = False


def _check_url(value: str, label: str, *, allow_http_loopback: bool = True) -> str:
    value = value.strip()
    parts = urlsplit(value)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "https" and parts.netloc:
        return value
    if parts.scheme == "http" and loopback and allow_http_loopback and parts.netloc:
        return value
    raise InvalidInput(msg.URL_MUST_BE_HTTPS.format(label=label))


def clean_input(data: PlatformInput) -> PlatformInput:
    """Trim and check every field; raise ``InvalidInput`` naming the first one that is wrong."""
    name = data.name.strip()
    client_id = data.client_id.strip()
    issuer = data.issuer.strip()
    if not name:
        raise InvalidInput(msg.FIELD_REQUIRED.format(label=msg.LABEL_NAME))
    if not client_id:
        raise InvalidInput(msg.FIELD_REQUIRED.format(label=msg.LABEL_CLIENT_ID))
    deployments = tuple(dict.fromkeys(d.strip() for d in data.deployment_ids if d.strip()))
    if not deployments:
        raise InvalidInput(msg.FIELD_REQUIRED.format(label=msg.LABEL_DEPLOYMENT_ID))
    return PlatformInput(
        name=name[:200],
        issuer=_check_url(issuer, msg.LABEL_ISSUER),
        client_id=client_id,
        auth_login_url=_check_url(data.auth_login_url, msg.LABEL_AUTH_LOGIN_URL),
        auth_token_url=_check_url(data.auth_token_url, msg.LABEL_AUTH_TOKEN_URL),
        jwks_url=_check_url(data.jwks_url, msg.LABEL_JWKS_URL),
        deployment_ids=deployments,
        district_id=data.district_id,
        sub_is_roster_id=data.sub_is_roster_id,
    )


def _district_count(session: Session) -> int:
    return len(session.exec(select(Org.id).where(Org.type == "district").limit(2)).all())


def check_district(session: Session, district_id: int | None) -> None:
    """A platform's district must be a district of the roster; "every school" (None) only while the roster
    holds one district. Raise ``InvalidInput`` otherwise."""
    if district_id is not None:
        district = session.get(Org, district_id)
        if district is None or district.type != "district":
            raise InvalidInput(msg.DISTRICT_UNKNOWN)
    elif _district_count(session) > 1:
        # A platform for "every school" is only safe when the installation serves one board: with several, a
        # portal registered by one board could sign in another board's pupils (review finding, issue 23).
        raise InvalidInput(msg.DISTRICT_REQUIRED)


def register_platform(
    *, session: Session, data: PlatformInput, actor_id: int | None, ip: str | None
) -> LtiPlatform:
    """Add a platform and its deployments (audited ``lti.platform_add``); each issuer + client id once."""
    data = clean_input(data)
    check_district(session, data.district_id)
    taken = session.exec(
        select(LtiPlatform).where(LtiPlatform.issuer == data.issuer, LtiPlatform.client_id == data.client_id)
    ).first()
    if taken is not None:
        raise Conflict(msg.PLATFORM_EXISTS.format(name=taken.name))
    platform = LtiPlatform(
        name=data.name,
        issuer=data.issuer,
        client_id=data.client_id,
        auth_login_url=data.auth_login_url,
        auth_token_url=data.auth_token_url,
        jwks_url=data.jwks_url,
        district_id=data.district_id,
        sub_is_roster_id=data.sub_is_roster_id,
        created_by_id=actor_id,
    )
    session.add(platform)
    session.flush()
    assert platform.id is not None
    for deployment_id in data.deployment_ids:
        session.add(LtiDeployment(platform_id=platform.id, deployment_id=deployment_id))
    session.flush()
    record_event(
        session=session,
        actor_id=actor_id,
        action="lti.platform_add",
        target_type="lti_platform",
        target_id=platform.id,
        ip=ip,
        detail={"issuer": data.issuer, "client_id": data.client_id, "deployments": list(data.deployment_ids)},
    )
    return platform


def update_settings(
    *,
    session: Session,
    platform: LtiPlatform,
    district_id: int | None,
    sub_is_roster_id: bool,
    actor_id: int | None,
    ip: str | None,
) -> LtiPlatform:
    """Change the district a platform may sign in and whether its ``sub`` is a roster id, after registration
    (same district rule as registering); audited ``lti.platform_update`` with the values before and after."""
    check_district(session, district_id)
    before = {"district_id": platform.district_id, "sub_is_roster_id": platform.sub_is_roster_id}
    after = {"district_id": district_id, "sub_is_roster_id": sub_is_roster_id}
    if before == after:
        return platform
    forgotten = 0
    if platform.sub_is_roster_id and not sub_is_roster_id:
        forgotten = _forget_sub_links(session, platform)
    platform.district_id = district_id
    platform.sub_is_roster_id = sub_is_roster_id
    session.add(platform)
    session.flush()
    record_event(
        session=session,
        actor_id=actor_id,
        action="lti.platform_update",
        target_type="lti_platform",
        target_id=platform.id,
        ip=ip,
        detail={"before": before, "after": after, "links_forgotten": forgotten},
    )
    return platform


def _forget_sub_links(session: Session, platform: LtiPlatform) -> int:
    """Delete the platform's user links found by reading ``sub`` as a roster id; their number. Turning the
    setting off says ``sub`` is not a roster id: a link it made may name the wrong pupil, and would keep
    signing them in (a link is trusted before any claim); their next launch matches afresh."""
    links = session.exec(
        select(LtiUserLink).where(
            LtiUserLink.platform_id == platform.id, col(LtiUserLink.matched_by).in_(SUB_MATCHES)
        )
    ).all()
    for link in links:
        session.delete(link)
    return len(links)


def add_deployment(
    *, session: Session, platform: LtiPlatform, deployment_id: str, actor_id: int | None, ip: str | None
) -> LtiDeployment:
    """Register one more deployment id of a platform (a second school or board using the same portal)."""
    deployment_id = deployment_id.strip()
    if not deployment_id:
        raise InvalidInput(msg.FIELD_REQUIRED.format(label=msg.LABEL_DEPLOYMENT_ID))
    assert platform.id is not None
    existing = find_deployment(session=session, platform=platform, deployment_id=deployment_id)
    if existing is not None:
        return existing
    row = LtiDeployment(platform_id=platform.id, deployment_id=deployment_id)
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor_id=actor_id,
        action="lti.deployment_add",
        target_type="lti_platform",
        target_id=platform.id,
        ip=ip,
        detail={"deployment_id": deployment_id},
    )
    return row


def set_browser_binding(
    *, session: Session, platform: LtiPlatform, required: bool, actor_id: int | None, ip: str | None
) -> None:
    """Require (the default) or not that a launch proves it comes from the login's browser (docs/lti.md)."""
    if platform.browser_binding_required == required:
        return
    platform.browser_binding_required = required
    session.add(platform)
    session.flush()
    record_event(
        session=session,
        actor_id=actor_id,
        action="lti.platform_binding",
        target_type="lti_platform",
        target_id=platform.id,
        ip=ip,
        detail={"required": required},
    )


def platforms_for_issuer(*, session: Session, issuer: str) -> list[LtiPlatform]:
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer).order_by(col(LtiPlatform.id))
    return list(session.exec(query).all())


def find_platform(*, session: Session, issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The platform an OIDC login names: issuer + client id; issuer alone when it has one registration."""
    candidates = platforms_for_issuer(session=session, issuer=issuer)
    if client_id:
        return next((p for p in candidates if p.client_id == client_id), None)
    return candidates[0] if len(candidates) == 1 else None


def find_deployment(*, session: Session, platform: LtiPlatform, deployment_id: str) -> LtiDeployment | None:
    return session.exec(
        select(LtiDeployment).where(
            LtiDeployment.platform_id == platform.id, LtiDeployment.deployment_id == deployment_id
        )
    ).first()


def list_platforms(*, session: Session) -> list[tuple[LtiPlatform, list[str]]]:
    """Every platform with its deployment ids, oldest first (the administrator's page)."""
    platforms = session.exec(select(LtiPlatform).order_by(col(LtiPlatform.id))).all()
    rows = session.exec(select(LtiDeployment).order_by(col(LtiDeployment.id))).all()
    by_platform: dict[int, list[str]] = {}
    for row in rows:
        by_platform.setdefault(row.platform_id, []).append(row.deployment_id)
    return [(p, by_platform.get(p.id or 0, [])) for p in platforms]


def get_platform(*, session: Session, platform_id: int) -> LtiPlatform:
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound(msg.PLATFORM_NOT_FOUND)
    return platform
