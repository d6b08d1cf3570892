"""The sign-in card table: one row per card issued; only the HMAC-SHA-256 of the card's code under the
server's key (``GIGA_SECRET_KEY``) is stored."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now


class SignInCard(SQLModel, table=True):
    """A child's QR sign-in card for one class. Revoked (``revoked_at`` set) when reissued or withdrawn."""

    __tablename__ = "signin_card"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    class_id: int = Field(foreign_key="schoolclass.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_id: int | None = Field(default=None, foreign_key="user.id")
