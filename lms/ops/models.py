"""The ``ops_lock`` table: named locks shared by every worker on SQLite (PostgreSQL uses advisory locks)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime


class OpsLock(SQLModel, table=True):
    """One named lock (e.g. ``calibration``): who holds it and until when (a lease, so a crash frees it)."""

    __tablename__ = "ops_lock"

    name: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=64, description="a random id of the holding process")
    acquired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
