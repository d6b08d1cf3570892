"""The tool's signing key: one RSA key pair, generated on first use, private part sealed at rest.

Platforms verify what the tool signs (client-credentials assertions for AGS/NRPS, deep-linking responses)
against the public JWKS served at ``GET /lti/jwks.json``; the key id (``kid``) names the key in every JWT
header.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.auth.secret_box import seal, unseal
from lms.core.db import utc_now
from lms.core.errors import Conflict
from lms.core.settings import get_settings
from lms.lti.messages import TOOL_KEY_UNREADABLE
from lms.lti.models import LtiToolKey

SEAL_INFO = b"giga-lti-tool-key"
ALGORITHM = "RS256"


def _new_key(session: Session, *, secret_key: str) -> LtiToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = secrets.token_urlsafe(12)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    row = LtiToolKey(
        kid=kid,
        public_jwk=json.dumps(jwk, sort_keys=True),
        private_key_sealed=seal(pem, secret_key=secret_key, info=SEAL_INFO),
    )
    session.add(row)
    session.flush()
    return row


def current_key(session: Session) -> LtiToolKey:
    """The active key row, created (and flushed) when there is none yet."""
    row = session.exec(
        select(LtiToolKey).where(col(LtiToolKey.retired_at).is_(None)).order_by(col(LtiToolKey.id).desc())
    ).first()
    if row is None:
        row = _new_key(session, secret_key=get_settings().secret_key)
    return row


def tool_signing_key(session: Session) -> tuple[str, rsa.RSAPrivateKey]:
    """``(kid, private_key)`` to sign the tool's JWTs: ``jwt.encode(…, key, "RS256", headers={"kid": kid})``.

    Raises ``Conflict`` when the sealed key no longer decrypts (``GIGA_SECRET_KEY`` changed since it was
    made): an administrator must then rotate the key (``rotate_tool_key``) and the platforms re-read the JWKS.
    """
    row = current_key(session)
    pem = unseal(row.private_key_sealed, secret_key=get_settings().secret_key, info=SEAL_INFO)
    if pem is None:
        raise Conflict(TOOL_KEY_UNREADABLE)
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return row.kid, key


def rotate_tool_key(session: Session, *, actor_id: int | None = None, ip: str | None = None) -> LtiToolKey:
    """Retire the active key and make a new one (audited ``lti.key_rotate``); retired keys stay in the JWKS
    for a day, so what was signed just before still verifies."""
    for row in session.exec(select(LtiToolKey).where(col(LtiToolKey.retired_at).is_(None))).all():
        row.retired_at = utc_now()
        session.add(row)
    session.flush()
    new = _new_key(session, secret_key=get_settings().secret_key)
    record_event(
        session=session,
        actor_id=actor_id,
        action="lti.key_rotate",
        target_type="lti_tool_key",
        target_id=new.id,
        ip=ip,
        detail={"kid": new.kid},
    )
    return new


def public_jwks(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The JWKS document: the active key and keys retired in the last 24 hours (tokens in flight verify)."""
    current_key(session)
    since = utc_now() - timedelta(hours=24)
    rows = session.exec(
        select(LtiToolKey)
        .where(col(LtiToolKey.retired_at).is_(None) | (col(LtiToolKey.retired_at) >= since))
        .order_by(col(LtiToolKey.id))
    ).all()
    return {"keys": [json.loads(r.public_jwk) for r in rows]}
