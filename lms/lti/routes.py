"""The tool's endpoints a platform calls: ``/lti/jwks.json`` (public keys), ``/lti/login`` (OIDC
third-party-initiated login) and ``/lti/launch`` (the id_token form post).

Row of the permission matrix: public — the platform's signature authenticates the launch, not a session.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from lms.core.db import SessionDep
from lms.lti import keys
from lms.permissions import page_gate

router = APIRouter(dependencies=[Depends(page_gate)], include_in_schema=False)


@router.get("/lti/jwks.json")
def jwks(session: SessionDep) -> JSONResponse:
    """The tool's public keys (RFC 7517), for platforms verifying its client assertions and deep links."""
    return JSONResponse(keys.public_jwks(session), headers={"Cache-Control": "public, max-age=3600"})
