"""The audit log: who did what, to what, when and from where. Append-only (no code path updates or deletes;
PostgreSQL and SQLite triggers refuse UPDATE and DELETE)."""

from datetime import datetime

from sqlmodel import Field, SQLModel, Text

from lms.core.db import UTCDateTime, utc_now


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    action: str = Field(max_length=64, index=True, description='e.g. "auth.login", "roster.import"')
    target_type: str | None = Field(default=None, max_length=64)
    target_id: str | None = Field(default=None, max_length=255)
    ip: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, sa_type=Text, description="JSON text")
