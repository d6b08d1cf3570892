"""Tables of the LTI 1.3 tool: registered platforms, their deployments, launch states, the tool's key,
and the links from a platform's contexts and users to the roster.

The OIDC ``state`` and ``nonce`` are stored here, single use, and expire after ten minutes. What binds them to
the browser that started the login (docs/lti.md, "Login CSRF") is a partitioned cookie or the portal's
postMessage storage holding a random value whose SHA-256 is on the state row (`lms.lti.binding`).
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class LtiPlatform(SQLModel, table=True):
    """A learning platform (学習eポータル) registered by hand or dynamically: issuer + client id."""

    __tablename__ = "lti_platform"
    __table_args__ = (sa.UniqueConstraint("issuer", "client_id", name="uq_lti_platform_issuer_client"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    issuer: str = Field(max_length=255, index=True, description="the platform's iss")
    client_id: str = Field(
        max_length=255, description="the tool's client id at the platform (aud of id_tokens)"
    )
    auth_login_url: str = Field(max_length=500, description="the platform's OIDC authorization endpoint")
    auth_token_url: str = Field(max_length=500, description="the platform's OAuth2 token endpoint (services)")
    jwks_url: str = Field(max_length=500, description="the platform's public keys")
    district_id: int | None = Field(
        default=None,
        foreign_key="org.id",
        index=True,
        description="the board whose schools' users it may sign in (None: any; a single-board install)",
    )
    sub_is_roster_id: bool = Field(
        default=False,
        description="the portal's LTI user id (sub) is the OneRoster sourcedId or userMasterIdentifier; off "
        "by default, since an opaque sub such as 1042 would otherwise sign in whoever has that roster id",
    )
    browser_binding_required: bool = Field(
        default=True,
        description="a launch must prove it comes from the browser that started the login (cookie or the "
        "portal's postMessage storage); off only for a portal whose browsers can do neither (docs/lti.md)",
    )
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class LtiDeployment(SQLModel, table=True):
    """A deployment of the tool inside a platform (``https://purl.imsglobal.org/spec/lti/claim/deployment_id``)."""

    __tablename__ = "lti_deployment"
    __table_args__ = (sa.UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    deployment_id: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


class LtiLaunchState(SQLModel, table=True):
    """One OIDC login initiation: ``state`` (only its SHA-256) and ``nonce``, consumed by the launch.

    Single use (``used_at``) and short-lived (``expires_at``): the id_token's nonce must be this row's, and a
    row can be consumed once, which also refuses a replayed id_token (its nonce is spent).
    """

    __tablename__ = "lti_launch_state"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True, index=True)
    nonce: str = Field(max_length=64, unique=True, index=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    target_link_uri: str = Field(default="", max_length=1000)
    binding_hash: str = Field(
        default="", max_length=64, description="SHA-256 of the browser-binding value (cookie / storage)"
    )
    storage_target: str = Field(
        default="", max_length=100, description="the login's lti_storage_target ('': no portal storage)"
    )
    login_query: str = Field(
        default="", max_length=2000, description="the login's parameters, to start it again in a new window"
    )
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LtiContext(SQLModel, table=True):
    """A platform's course context (the portal's class) and the roster class it stands for, when known."""

    __tablename__ = "lti_context"
    __table_args__ = (sa.UniqueConstraint("platform_id", "context_id", name="uq_lti_context"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    context_id: str = Field(max_length=255)
    title: str = Field(default="", max_length=255)
    school_class_id: int | None = Field(default=None, foreign_key="schoolclass.id", index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    linked_by_id: int | None = Field(
        default=None,
        foreign_key="user.id",
        description="who linked the class by hand (None: matched by sourcedId)",
    )


class LtiUserLink(SQLModel, table=True):
    """A platform's user (``sub``) found on the roster once; later launches use the link directly."""

    __tablename__ = "lti_user_link"
    __table_args__ = (sa.UniqueConstraint("platform_id", "sub", name="uq_lti_user_link"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    sub: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True)
    matched_by: str = Field(max_length=32, description="the claim that found the user the first time")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    last_launch_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LtiToolKey(SQLModel, table=True):
    """The tool's RSA signing key: public JWK in the clear, private PEM sealed under ``GIGA_SECRET_KEY``."""

    __tablename__ = "lti_tool_key"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True)
    public_jwk: str = Field(sa_type=sa.Text, description="JSON of the public JWK (kty, n, e, kid, alg, use)")
    private_key_sealed: str = Field(sa_type=sa.Text, description="Fernet token of the private key PEM")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LtiHandoff(SQLModel, table=True):
    """A one-time, two-minute ticket from a launch to a new window (browsers refusing the iframe cookie).

    The launch signed the user in inside the iframe; when that cookie does not come back (third-party cookies
    blocked with no partitioned cookies), the landing page offers 新しいウィンドウで開く with this ticket.
    """

    __tablename__ = "lti_handoff"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    target: str = Field(max_length=500, description="the path the launch opens")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LtiPendingLaunch(SQLModel, table=True):
    """A verified launch waiting for its browser-binding proof from the portal's postMessage storage.

    The id_token passed every check (its state is spent); the sign-in happens only when the confirm page's
    script posts the value it read back from the portal frame and its SHA-256 is ``binding_hash``. One use,
    two minutes; ``claims`` is the verified id_token payload.
    """

    __tablename__ = "lti_pending_launch"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    deployment_row_id: int = Field(foreign_key="lti_deployment.id")
    binding_hash: str = Field(max_length=64)
    claims: str = Field(sa_type=sa.Text, description="JSON of the verified id_token payload")
    message_type: str = Field(max_length=64)
    target_link_uri: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
