"""Tables of the sign-in domain: server-side sessions, API tokens and the login throttle."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

# Session stages: "full" = signed in; "mfa" = password accepted, TOTP code still needed;
# "enroll" = password accepted, the account must set up TOTP before anything else.
SESSION_STAGES = ("full", "mfa", "enroll")

API_SCOPES: dict[str, str] = {
    "roster:read": "名簿の読み取り",
    "roster:write": "名簿の取り込み",
    "grades:write": "成績の書き込み",
    "audit:read": "監査ログの閲覧",
    "results:read": "テスト結果の読み取り",
    "hub": "JupyterHub 連携",
}


class AuthSession(SQLModel, table=True):
    """A browser session; the cookie carries a random id, the table only its SHA-256."""

    __tablename__ = "auth_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    stage: str = Field(default="full", max_length=16)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


class ApiToken(SQLModel, table=True):
    """A bearer token for programs; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16, description="the first characters, to recognise a token in lists")
    scopes: str = Field(default="", max_length=255, description="space-separated scopes")
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per key ("account:<username>" or "ip:<address>") and the lock-out they caused."""

    __tablename__ = "login_throttle"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True, index=True)
    failures: int = Field(default=0)
    window_start: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
