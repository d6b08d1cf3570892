"""Every table module, imported so that ``SQLModel.metadata`` (and Alembic) sees all tables.

Add one import line per domain package that defines tables.
"""

from sqlmodel import SQLModel

from lms.audit.models import AuditEvent
from lms.auth.models import ApiToken, AuthSession, LoginThrottle
from lms.roster.models import AcademicSession, Course, Enrollment, Org, OrgRole, SchoolClass, User

metadata = SQLModel.metadata

__all__ = [
    "AcademicSession",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Course",
    "Enrollment",
    "LoginThrottle",
    "Org",
    "OrgRole",
    "SchoolClass",
    "User",
    "metadata",
]
