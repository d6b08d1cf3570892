"""Every table module, imported so that ``SQLModel.metadata`` (and Alembic) sees all tables.

Add one import line per domain package that defines tables.
"""

from sqlmodel import SQLModel

from lms.audit.models import AuditEvent
from lms.auth.cards.models import SignInCard
from lms.auth.models import ApiToken, AuthSession, LoginThrottle
from lms.board.models import BoardCell, BoardFigure, ReferenceValue
from lms.board.release_models import BoardRelease
from lms.board.support_models import ResearchExport, SupportGrant
from lms.lti.models import (
    LtiContext,
    LtiDeployment,
    LtiHandoff,
    LtiLaunchState,
    LtiPlatform,
    LtiToolKey,
    LtiUserLink,
)
from lms.lti.service_models import LtiContextServices, LtiDeepLinkTicket, LtiLineItem, LtiScoreOutbox
from lms.notebooks.models import NotebookCourse, NotebookGrade
from lms.oauth_provider.models import OAuthAccessToken, OAuthCode
from lms.ops.models import OpsLock
from lms.reading.bank_review.models import ItemReviewDecision, ItemReviewer
from lms.reading.calibration.models import ItemCalibration
from lms.reading.models import (
    Accommodation,
    Assessment,
    Assignment,
    AssignmentTarget,
    Attempt,
    AttemptItem,
    AttemptReport,
    Response,
    SkillEstimate,
    XapiOutbox,
)
from lms.reading.practice.models import PracticeOverride
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
    "AttemptReport",
    "AuditEvent",
    "AuthSession",
    "BoardCell",
    "BoardFigure",
    "BoardRelease",
    "Course",
    "Enrollment",
    "ItemCalibration",
    "ItemReviewDecision",
    "ItemReviewer",
    "LoginThrottle",
    "LtiContext",
    "LtiContextServices",
    "LtiDeepLinkTicket",
    "LtiDeployment",
    "LtiHandoff",
    "LtiLaunchState",
    "LtiLineItem",
    "LtiPlatform",
    "LtiScoreOutbox",
    "LtiToolKey",
    "LtiUserLink",
    "NotebookCourse",
    "NotebookGrade",
    "OAuthAccessToken",
    "OAuthCode",
    "OpsLock",
    "Org",
    "OrgRole",
    "PracticeOverride",
    "ReferenceValue",
    "ResearchExport",
    "Response",
    "SchoolClass",
    "SignInCard",
    "SkillEstimate",
    "SupportGrant",
    "User",
    "XapiOutbox",
    "metadata",
]
