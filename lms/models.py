"""Every table module, imported so that ``SQLModel.metadata`` (and Alembic) sees all tables.

Add one import line per domain package that defines tables.
"""

from sqlmodel import SQLModel

from lms.assessments.models import (
    Accommodation,
    Assessment,
    Assignment,
    AssignmentTarget,
    Attempt,
    AttemptItem,
    Response,
    SkillEstimate,
    XapiOutbox,
)
from lms.assessments_calibration.models import ItemCalibration
from lms.audit.models import AuditEvent
from lms.auth.models import ApiToken, AuthSession, LoginThrottle
from lms.practice.models import PracticeOverride
from lms.roster.models import AcademicSession, Course, Enrollment, Org, OrgRole, SchoolClass, User

metadata = SQLModel.metadata

__all__ = [
    "AcademicSession",
    "Accommodation",
    "ApiToken",
    "Assessment",
    "Assignment",
    "AssignmentTarget",
    "Attempt",
    "AttemptItem",
    "AuditEvent",
    "AuthSession",
    "Course",
    "Enrollment",
    "ItemCalibration",
    "LoginThrottle",
    "Org",
    "OrgRole",
    "PracticeOverride",
    "Response",
    "SchoolClass",
    "SkillEstimate",
    "User",
    "XapiOutbox",
    "metadata",
]
