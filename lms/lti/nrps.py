"""Names and Role Provisioning Services 2.0: read a context's membership, compare it with the class roster.

Report only (issue 23): the comparison lists who is in the portal but not in the class, who is in the class
but not in the portal, and whose role differs — it never creates, enrols or disables anyone; the roster
stays the OneRoster import's.

A member is matched to a roster user by, in order: the platform's ``user_id`` already linked by a launch
(``lti_user_link``), ``lis_person_sourcedid`` = OneRoster ``users.sourcedId``, ``user_id`` = a sourcedId,
then a ``userMasterIdentifier`` given as the member's ``user_id`` (portals whose LTI id is the roster id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import Session, col, select

from lms.lti.framing import origin
from lms.lti.models import LtiUserLink
from lms.lti.services_token import PlatformUnavailable, ServiceError, TokenRefused
from lms.roster.models import Enrollment, User

MEMBERSHIP_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 50  # 50 pages of a platform's default size is far beyond a class; a loop guard, not a limit
ROLE_PREFIX = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LTI_ROLE_OF = {
    "Learner": "student",
    "Instructor": "teacher",
    "ContentDeveloper": "teacher",
    "Mentor": "teacher",
    "Administrator": "administrator",
}


@dataclass(frozen=True)
class Member:
    """One member of the portal's context, with the role we compare (student / teacher / …)."""

    user_id: str
    role: str
    name: str
    status: str
    sourced_id: str | None


def _role(roles: list[Any]) -> str:
    found = [LTI_ROLE_OF.get(str(r).removeprefix(ROLE_PREFIX).split("#")[-1]) for r in roles]
    for wanted in ("teacher", "student", "administrator"):
        if wanted in found:
            return wanted
    return "other"


def parse_members(body: dict[str, Any]) -> list[Member]:
    """The ``members`` of a membership container (inactive and deleted members are kept with their status)."""
    out = []
    for raw in body.get("members") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("user_id"), str):
            continue
        roles = raw.get("roles")
        roles = roles if isinstance(roles, list) else []
        name = raw.get("name") or " ".join(str(raw.get(k, "")) for k in ("family_name", "given_name")).strip()
        sourced = raw.get("lis_person_sourcedid")
        out.append(
            Member(
                user_id=raw["user_id"],
                role=_role(roles),
                name=str(name or ""),
                status=str(raw.get("status") or "Active"),
                sourced_id=sourced if isinstance(sourced, str) else None,
            )
        )
    return out


def fetch_members(client: httpx.Client, *, url: str, token: str) -> list[Member]:
    """Every page of the membership (``Link: <…>; rel="next"``); `ServiceError` on a refusal or failure."""
    members: list[Member] = []
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            break
        try:
            response = client.get(
                next_url, headers={"Authorization": f"Bearer {token}", "Accept": MEMBERSHIP_MEDIA_TYPE}
            )
        except httpx.HTTPError as error:
            raise PlatformUnavailable(
                f"cannot reach the membership service ({type(error).__name__})"
            ) from error
        if response.status_code >= 500:
            raise PlatformUnavailable(f"HTTP {response.status_code} from the membership service")
        if response.status_code in (401, 403):
            raise TokenRefused(f"HTTP {response.status_code} from the membership service")
        if not response.is_success:
            raise ServiceError(f"HTTP {response.status_code} from the membership service")
        try:
            body = response.json()
        except ValueError as error:
            raise ServiceError("the membership answer is not JSON") from error
        members += parse_members(body if isinstance(body, dict) else {})
        link = response.links.get("next")
        next_url = link.get("url") if link else (body.get("next") if isinstance(body, dict) else None)
        if next_url is not None and origin(str(next_url)) != origin(url):
            # the bearer token goes with it: never to another host than the membership service's own
            raise ServiceError("the membership service's next page is on another host")
    return members


@dataclass(frozen=True)
class RosterPerson:
    user: User
    role: str  # the enrollment role in the class: student / teacher / …


@dataclass
class Reconciliation:
    """The three lists of differences, and the matched pairs (for the count)."""

    only_in_portal: list[Member] = field(default_factory=list)
    only_here: list[RosterPerson] = field(default_factory=list)
    role_differs: list[tuple[Member, RosterPerson]] = field(default_factory=list)
    matched: int = 0

    @property
    def in_step(self) -> bool:
        return not (self.only_in_portal or self.only_here or self.role_differs)


def class_people(session: Session, class_id: int) -> list[RosterPerson]:
    """Active enrollments of the class with their users, by 出席番号 then id."""
    rows = session.exec(
        select(User, Enrollment.role)
        .join(Enrollment, col(Enrollment.user_id) == col(User.id))
        .where(Enrollment.class_id == class_id, Enrollment.status == "active")
        .order_by(col(Enrollment.role), col(Enrollment.shusseki_no), col(User.id))
    ).all()
    return [RosterPerson(user, role) for user, role in rows]


def reconcile(*, session: Session, platform_id: int, class_id: int, members: list[Member]) -> Reconciliation:
    """Compare the portal's active members with the class's active enrollments (see the module docstring)."""
    people = class_people(session, class_id)
    by_id = {p.user.id: p for p in people}
    links = {
        link.sub: link.user_id
        for link in session.exec(select(LtiUserLink).where(LtiUserLink.platform_id == platform_id))
    }
    by_sourced = {p.user.sourced_id: p for p in people if p.user.sourced_id}
    by_master = {p.user.user_master_identifier: p for p in people if p.user.user_master_identifier}
    out = Reconciliation()
    seen: set[int] = set()
    for member in members:
        if member.status.lower() != "active":
            continue
        person = (
            by_id.get(links.get(member.user_id))
            or (by_sourced.get(member.sourced_id) if member.sourced_id else None)
            or by_sourced.get(member.user_id)
            or by_master.get(member.user_id)
        )
        if person is None:
            out.only_in_portal.append(member)
            continue
        assert person.user.id is not None
        seen.add(person.user.id)
        out.matched += 1
        if member.role != person.role:
            out.role_differs.append((member, person))
    out.only_here = [p for p in people if p.user.id not in seen]
    return out
