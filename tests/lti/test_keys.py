"""The tool's signing key: made once, sealed at rest, its public half served as a JWKS that verifies it."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from sqlmodel import Session, select

from lms.core.errors import Conflict
from lms.core.settings import get_settings
from lms.lti import keys
from lms.lti.models import LtiToolKey


def test_key_is_made_once_and_sealed(db_session: Session) -> None:
    kid, private = keys.tool_signing_key(db_session)
    again_kid, _ = keys.tool_signing_key(db_session)
    assert again_kid == kid
    rows = db_session.exec(select(LtiToolKey)).all()
    assert len(rows) == 1
    assert "PRIVATE KEY" not in rows[0].private_key_sealed
    assert rows[0].private_key_sealed.startswith("gAAAAA")
    assert private.key_size == 2048


def test_jwks_endpoint_verifies_what_the_tool_signs(client: Any, db_session: Session) -> None:
    kid, private = keys.tool_signing_key(db_session)
    db_session.commit()
    token = jwt.encode({"iss": "tool", "aud": "platform"}, private, algorithm="RS256", headers={"kid": kid})
    response = client.get("/lti/jwks.json")
    assert response.status_code == 200
    (jwk,) = response.json()["keys"]
    assert jwk["kid"] == kid and jwk["alg"] == "RS256" and jwk["use"] == "sig"
    assert "d" not in jwk  # never the private exponent
    public = jwt.PyJWK(jwk).key
    assert jwt.decode(token, public, algorithms=["RS256"], audience="platform")["iss"] == "tool"


def test_rotation_keeps_the_old_key_published_for_a_day(db_session: Session) -> None:
    old_kid, _ = keys.tool_signing_key(db_session)
    new = keys.rotate_tool_key(db_session)
    assert new.kid != old_kid
    assert keys.tool_signing_key(db_session)[0] == new.kid
    published = [k["kid"] for k in keys.public_jwks(db_session)["keys"]]
    assert published == [old_kid, new.kid]


def test_a_key_sealed_under_another_secret_is_refused_not_crashed(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys.tool_signing_key(db_session)
    monkeypatch.setenv("GIGA_SECRET_KEY", "another-secret-key-that-is-long-enough-0123456789")
    get_settings.cache_clear()
    with pytest.raises(Conflict):
        keys.tool_signing_key(db_session)
