"""Roster tables (OneRoster 1.2, Japan Profile): orgs, sessions, courses, classes, users, enrollments, roles.

OneRoster ``sourcedId`` is kept (``sourced_id``, unique) so that re-imports update instead of duplicating.
Nothing is deleted: ``status = "tobedeleted"`` marks rows that a later bundle removed.
"""

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from lms.core.db import UTCDateTime, utc_now

ORG_TYPES = ("district", "school")
STATUSES = ("active", "tobedeleted")
PLATFORM_ROLES = ("student", "teacher", "school_admin", "board", "admin")
ENROLLMENT_ROLES = ("student", "teacher", "administrator", "proctor", "guardian")


class Timestamps(SQLModel):
    created_at: datetime = Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utc_now, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utc_now}
    )


class Org(Timestamps, table=True):
    """A board of education (district, 教育委員会コード 6 digits) or a school (学校コード 13 characters)."""

    __tablename__ = "org"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str = Field(max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    name: str = Field(max_length=255)
    type: str = Field(max_length=32)
    identifier: str | None = Field(default=None, max_length=32, index=True)
    parent_id: int | None = Field(default=None, foreign_key="org.id", index=True)


class AcademicSession(Timestamps, table=True):
    """A school year (Japanese fiscal year, 1 April – 31 March) or a term inside one."""

    __tablename__ = "academic_session"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str = Field(max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    title: str = Field(max_length=255)
    type: str = Field(max_length=32)
    start_date: date
    end_date: date
    school_year: int = Field(index=True)
    parent_id: int | None = Field(default=None, foreign_key="academic_session.id", index=True)
    is_current: bool = Field(default=False)


class Course(Timestamps, table=True):
    __tablename__ = "course"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str = Field(max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    title: str = Field(max_length=255)
    course_code: str | None = Field(default=None, max_length=64)
    grades: str | None = Field(default=None, max_length=64, description="comma-separated grade codes")
    org_id: int = Field(foreign_key="org.id", index=True)
    school_year_id: int | None = Field(default=None, foreign_key="academic_session.id", index=True)


class SchoolClass(Timestamps, table=True):
    """A class: homeroom (学級, e.g. 3年1組) or scheduled (a subject class)."""

    __tablename__ = "schoolclass"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str = Field(max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    title: str = Field(max_length=255)
    grades: str | None = Field(default=None, max_length=64, description="grade code(s), e.g. P3")
    class_code: str | None = Field(default=None, max_length=64)
    class_type: str = Field(default="homeroom", max_length=16)
    school_id: int = Field(foreign_key="org.id", index=True)
    course_id: int | None = Field(default=None, foreign_key="course.id", index=True)
    academic_session_id: int | None = Field(default=None, foreign_key="academic_session.id", index=True)
    special_needs: bool = Field(default=False, description="特別支援学級")
    read_only: bool = Field(default=False, description="a past year's class, kept by the roll-over")


class User(Timestamps, table=True):
    """A person: roster users (students, teachers, staff) and local accounts (the system admin)."""

    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str | None = Field(default=None, max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    enabled: bool = Field(default=True)
    username: str = Field(max_length=255, unique=True, index=True)
    email: str | None = Field(default=None, max_length=255, index=True)
    given_name: str = Field(default="", max_length=255)
    family_name: str = Field(default="", max_length=255)
    kana_given_name: str | None = Field(default=None, max_length=255)
    kana_family_name: str | None = Field(default=None, max_length=255)
    # 学習eポータル標準 v3.00 profile fields (issue 20): 通称名 (preferred names) are shown when present.
    middle_name: str | None = Field(default=None, max_length=255)
    kana_middle_name: str | None = Field(default=None, max_length=255)
    preferred_given_name: str | None = Field(default=None, max_length=255)
    preferred_family_name: str | None = Field(default=None, max_length=255)
    preferred_middle_name: str | None = Field(default=None, max_length=255)
    identifier: str | None = Field(default=None, max_length=255, description="OneRoster users.identifier")
    user_master_identifier: str | None = Field(default=None, max_length=64, index=True)
    role: str = Field(
        default="student", max_length=16, description="platform role: " + "|".join(PLATFORM_ROLES)
    )
    primary_org_id: int | None = Field(default=None, foreign_key="org.id", index=True)
    grades: str | None = Field(default=None, max_length=64, description="a student's grade code, e.g. P4")
    home_class_id: int | None = Field(default=None, foreign_key="schoolclass.id", index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    totp_secret: str | None = Field(
        default=None, max_length=255, description="Fernet token (lms/auth/secret_box.py); legacy: base32"
    )
    totp_enabled: bool = Field(default=False)
    totp_last_step: int | None = Field(
        default=None, description="last accepted TOTP time step (unix time // 30): no code is used twice"
    )
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    graduated: bool = Field(default=False)
    moving_on: bool = Field(
        default=False, description="finished the last grade the city teaches and leaves for another school"
    )

    @property
    def display_name(self) -> str:
        """The name to show: the preferred name (通称名) where the roster gives one, else the legal name."""
        family = self.preferred_family_name or self.family_name
        given = self.preferred_given_name or self.given_name
        return f"{family} {given}".strip() or self.username


class Enrollment(Timestamps, table=True):
    """A user in a class with a role; ``shusseki_no`` is the 出席番号."""

    __tablename__ = "enrollment"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str = Field(max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    class_id: int = Field(foreign_key="schoolclass.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    school_id: int = Field(foreign_key="org.id", index=True)
    role: str = Field(max_length=16)
    primary: bool = Field(default=False)
    begin_date: date | None = None
    end_date: date | None = None
    shusseki_no: int | None = None
    public_flg: bool | None = Field(
        default=None,
        description="metadata.jp.PublicFlg: false hides the enrollment from class lists others see",
    )


class OrgRole(Timestamps, table=True):
    """OneRoster roles.csv: a user's role at an org (e.g. principal of a school, districtAdministrator)."""

    __tablename__ = "orgrole"

    id: int | None = Field(default=None, primary_key=True)
    sourced_id: str = Field(max_length=255, unique=True, index=True)
    status: str = Field(default="active", max_length=16)
    user_id: int = Field(foreign_key="user.id", index=True)
    role_type: str = Field(default="primary", max_length=16)
    role: str = Field(max_length=32)
    org_id: int = Field(foreign_key="org.id", index=True)
    begin_date: date | None = None
    end_date: date | None = None
