"""A registered portal for the service tests: the platform rows on our side, the harness on the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from lms.lti.keys import public_jwks
from lms.lti.models import LtiContext, LtiDeployment, LtiPlatform, LtiUserLink
from lms.lti.service_models import LtiContextServices
from lms.lti.services_token import SCOPE_LINEITEM, SCOPE_RESULT_READONLY, SCOPE_SCORE
from lms.roster.models import SchoolClass, User
from tests.factories import pk
from tests.lti.services_platform import CLIENT_ID, CONTEXT_ID, DEPLOYMENT_ID, ISSUER, ServicePlatform


@dataclass
class Portal:
    platform: ServicePlatform
    row: LtiPlatform
    context: LtiContext

    def link(self, session: Session, user: User, sub: str | None = None) -> str:
        """The student launched once from the portal: their platform ``sub`` is known."""
        sub = sub or f"portal-{user.username}"
        session.add(LtiUserLink(platform_id=pk(self.row), sub=sub, user_id=pk(user), matched_by="test"))
        session.commit()
        return sub


def register_portal(session: Session, klass: SchoolClass, **platform_args: Any) -> Portal:
    """Platform, deployment, context mapped to ``klass`` and its AGS/NRPS endpoints, committed; the
    harness trusts the tool's JWKS as the tool serves it."""
    platform = ServicePlatform(**platform_args)
    row = LtiPlatform(
        name="テストポータル",
        issuer=ISSUER,
        client_id=CLIENT_ID,
        auth_login_url=f"{platform.base_url}/authorize",
        auth_token_url=platform.token_url,
        jwks_url=f"{platform.base_url}/jwks",
    )
    session.add(row)
    session.flush()
    session.add(LtiDeployment(platform_id=pk(row), deployment_id=DEPLOYMENT_ID))
    context = LtiContext(
        platform_id=pk(row), context_id=CONTEXT_ID, title="5年1組", school_class_id=pk(klass)
    )
    session.add(context)
    session.flush()
    session.add(
        LtiContextServices(
            lti_context_id=pk(context),
            deployment_id=DEPLOYMENT_ID,
            lineitems_url=platform.lineitems_url,
            ags_scopes=[SCOPE_LINEITEM, SCOPE_RESULT_READONLY, SCOPE_SCORE],
            memberships_url=platform.memberships_url,
        )
    )
    platform.tool_jwks = public_jwks(session)
    session.commit()
    return Portal(platform=platform, row=row, context=context)
