"""Bind an LTI login to the browser that started it (login CSRF; docs/lti.md, "Login CSRF").

The login draws a random value; its SHA-256 goes on the state row, the value itself to the browser:

- as a partitioned cookie (``SameSite=None; Secure; Partitioned``, named after the state so two launches in
  two tabs do not overwrite each other), which Chromium keeps inside the portal's iframe even with third-party
  cookies blocked;
- when the portal offers it (``lti_storage_target``), also into the portal's frame through the 1EdTech
  client-side postMessage storage (``lti.put_data``), for browsers dropping even partitioned cookies.

A launch whose cookie matches signs in at once. Otherwise, when the login used the portal storage, the
verified launch waits as an `LtiPendingLaunch` and a small page reads the value back (``lti.get_data``) and
posts it to ``/lti/launch/confirm``. Someone else's id_token and state, posted from another browser, carry
neither; without either the launch is refused, unless the administrator marked the platform "binding not
required".
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import update
from sqlmodel import Session, col, select
from starlette.responses import Response

from lms.auth.partitioned import set_partitioned_cookie
from lms.auth.tokens import sha256_hex
from lms.lti.launch import STATE_LIFETIME, VerifiedLaunch
from lms.lti.models import LtiDeployment, LtiPendingLaunch, LtiPlatform

COOKIE_PREFIX = "giga_lti_bind_"
# the cookie's name starts with __Host-: the browser accepts such a cookie only from this very host (Secure,
# Path=/, no Domain), so a site on a sibling subdomain cannot plant the attacker's own login cookie in the
# victim's browser (cookie tossing with Domain=<parent>); the portal-storage key keeps the plain name
HOST_ONLY = "__Host-"
PENDING_LIFETIME = timedelta(minutes=2)
# a frame name or "_parent" (what portals send as lti_storage_target); anything else is ignored
STORAGE_TARGET = re.compile(r"[A-Za-z0-9_\-.]{1,100}")


def new_value() -> str:
    return secrets.token_urlsafe(32)


def storage_target(raw: str | None) -> str:
    """The login's ``lti_storage_target`` when it is a usable frame name, else ''."""
    value = (raw or "").strip()
    return value if STORAGE_TARGET.fullmatch(value) else ""


def key_for(state: str) -> str:
    """The cookie name and the portal-storage key of one login (from the state's hash, not the state)."""
    return COOKIE_PREFIX + sha256_hex(state)[:16]


def cookie_name(state: str) -> str:
    return HOST_ONLY + key_for(state)


def matches(value: str | None, binding_hash: str) -> bool:
    if not value or not binding_hash:
        return False
    return secrets.compare_digest(sha256_hex(value), binding_hash)


def set_cookie(response: Response, *, state: str, value: str) -> None:
    set_partitioned_cookie(
        response, cookie_name(state), value, path="/", max_age=int(STATE_LIFETIME.total_seconds())
    )


def clear_cookie(response: Response, *, state: str) -> None:
    set_partitioned_cookie(response, cookie_name(state), "x", path="/", max_age=0)


def cookie_matches(request: Request, *, state: str, launch: VerifiedLaunch) -> bool:
    return matches(request.cookies.get(cookie_name(state)), launch.binding_hash)


# --- the launch waiting for the portal storage's proof ----------------------------------------------------


def hold(*, session: Session, launch: VerifiedLaunch, now: datetime) -> str:
    """Keep the verified launch for one confirm (two minutes); return its one-time token."""
    assert launch.platform.id is not None and launch.deployment.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        LtiPendingLaunch(
            token_hash=sha256_hex(token),
            platform_id=launch.platform.id,
            deployment_row_id=launch.deployment.id,
            binding_hash=launch.binding_hash,
            claims=json.dumps(launch.claims),
            message_type=launch.message_type,
            target_link_uri=launch.target_link_uri[:1000],
            created_at=now,
            expires_at=now + PENDING_LIFETIME,
        )
    )
    session.flush()
    return token


def release(*, session: Session, token: str, value: str, now: datetime) -> VerifiedLaunch | str:
    """Spend the pending launch of ``token`` (one conditional UPDATE) and check ``value`` against its binding.

    Returns the launch, or the refusal code: ``pending_expired`` (unknown, spent, too old) or
    ``binding_mismatch`` (the portal storage gave nothing or another value). The pending launch is spent
    either way: a wrong value cannot be retried.
    """
    row = (
        session.exec(select(LtiPendingLaunch).where(LtiPendingLaunch.token_hash == sha256_hex(token))).first()
        if token
        else None
    )
    if row is None or row.used_at is not None or row.expires_at < now:
        return "pending_expired"
    spent = session.exec(
        update(LtiPendingLaunch)
        .where(col(LtiPendingLaunch.id) == row.id, col(LtiPendingLaunch.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        return "pending_expired"
    if not matches(value, row.binding_hash):
        return "binding_mismatch"
    platform = session.get(LtiPlatform, row.platform_id)
    deployment = session.get(LtiDeployment, row.deployment_row_id)
    if platform is None or deployment is None:  # pragma: no cover - foreign keys
        return "pending_expired"
    return VerifiedLaunch(
        platform=platform,
        deployment=deployment,
        claims=json.loads(row.claims),
        target_link_uri=row.target_link_uri,
        message_type=row.message_type,
        binding_hash=row.binding_hash,
    )
