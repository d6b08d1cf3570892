"""Authorization codes and access tokens: only the SHA-256 of each secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class OAuthCode(SQLModel, table=True):
    """A short-lived, single-use authorization code bound to client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    client_id: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True)
    redirect_uri: str = Field(max_length=1024)
    code_challenge: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthAccessToken(SQLModel, table=True):
    """An opaque bearer token for ``/oauth/userinfo``."""

    __tablename__ = "oauth_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    client_id: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True)
    code_id: int | None = Field(default=None, foreign_key="oauth_code.id")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
