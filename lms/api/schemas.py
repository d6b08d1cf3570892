"""Response models of the JSON API: public fields only (no password hashes, TOTP secrets, token hashes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class UserPublic(BaseModel):
    id: int
    username: str
    role: str
    family_name: str
    given_name: str
    kana_family_name: str | None = None
    kana_given_name: str | None = None
    email: str | None = None
    grades: str | None = None
    primary_org_id: int | None = None
    home_class_id: int | None = None
    status: str
    enabled: bool
    totp_enabled: bool = Field(description="second factor set up")


class ClassPublic(BaseModel):
    id: int
    title: str
    grades: str | None = None
    class_type: str
    school_id: int
    school_name: str = ""
    status: str
    read_only: bool
    student_count: int = 0


class RosterMember(BaseModel):
    user_id: int
    role: str
    shusseki_no: int | None = Field(default=None, description="出席番号")
    family_name: str
    given_name: str
    kana_family_name: str | None = None
    kana_given_name: str | None = None


class ClassRoster(BaseModel):
    class_: ClassPublic = Field(alias="class")
    members: list[RosterMember]

    model_config = {"populate_by_name": True}


class SchoolSummary(BaseModel):
    id: int
    name: str
    identifier: str | None = None
    class_count: int
    student_count: int


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_username: str | None
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    detail: Any = None


class AuditPage(BaseModel):
    total: int
    events: list[AuditEventPublic]


class TokenPublic(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    user_id: int | None = Field(default=None, description="admins may create a token for another user")


class TokenCreated(TokenPublic):
    secret: str = Field(description="shown once; store it now")


class ImportReportPublic(BaseModel):
    source: str
    modes: dict[str, str]
    counts: dict[str, dict[str, int]]
    notices: list[str]
    elapsed_seconds: float
    dry_run: bool = False
    skipped_contacts: int = 0
    unknown_deletions: list[str] = []
