"""Applying a validated OneRoster bundle to the database (one transaction, owned by the caller).

Rows are matched by sourcedId: re-importing updates and never duplicates. ``status = tobedeleted`` (delta) or
absence from a bulk file deactivates: the row stays (history), users are disabled and enrollments ended.
Classes of past years (``read_only``, set by the roll-over) are kept as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from lms.audit.service import record_event
from lms.roster.models import AcademicSession, Course, Enrollment, Org, OrgRole, SchoolClass, User
from lms.roster.oneroster import FILES, Bundle, Existing, Row, parse_bundle

ROLLOVER_PREFIX = "rollover:"
ENTITY_LABELS = {
    "academicSessions": "年度・学期",
    "orgs": "組織",
    "courses": "コース",
    "classes": "クラス",
    "users": "利用者",
    "enrollments": "所属",
    "roles": "役割",
}
_ROLE_RANK = {"student": 1, "teacher": 2, "school_admin": 3, "board": 4}
_ORG_ROLE_TO_PLATFORM = {
    "student": "student",
    "teacher": "teacher",
    "aide": "teacher",
    "principal": "school_admin",
    "siteAdministrator": "school_admin",
    "districtAdministrator": "board",
}
_ENROLLMENT_ROLE_TO_PLATFORM = {"student": "student", "teacher": "teacher", "administrator": "teacher"}

M = TypeVar("M", bound=SQLModel)


@dataclass
class EntityCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0


@dataclass
class ImportReport:
    """What an import did (rendered by ``giga roster import`` and the admin upload page)."""

    source: str
    modes: dict[str, str]
    counts: dict[str, EntityCounts] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def totals(self) -> EntityCounts:
        total = EntityCounts()
        for counts in self.counts.values():
            total.created += counts.created
            total.updated += counts.updated
            total.unchanged += counts.unchanged
            total.deactivated += counts.deactivated
        return total

    def summary(self) -> str:
        lines = [f"imported {self.source}"]
        for name in FILES:
            if name in self.counts:
                c = self.counts[name]
                lines.append(
                    f"  {name} ({self.modes.get(name, '-')}): {c.created} created, {c.updated} updated, "
                    f"{c.unchanged} unchanged, {c.deactivated} deactivated"
                )
        t = self.totals
        lines.append(f"total: {t.created} created, {t.updated} updated, {t.deactivated} deactivated")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "modes": self.modes,
            "counts": {name: vars(c) for name, c in self.counts.items()},
            "notices": self.notices,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


def load_existing(session: Session) -> Existing:
    """The sourcedIds, usernames and read-only classes already stored (for validating a bundle)."""
    existing = Existing()
    models: dict[str, type[SQLModel]] = {
        "academicSessions": AcademicSession,
        "orgs": Org,
        "courses": Course,
        "classes": SchoolClass,
        "users": User,
        "enrollments": Enrollment,
        "roles": OrgRole,
    }
    for name, model in models.items():
        column = model.sourced_id  # type: ignore[attr-defined]
        existing.sourced_ids[name] = {sid for sid in session.exec(select(column)) if sid is not None}
    for username, sourced_id in session.exec(select(User.username, User.sourced_id)):
        existing.usernames[username] = sourced_id
    for klass in session.exec(select(SchoolClass).where(col(SchoolClass.read_only).is_(True))):
        existing.read_only_classes[klass.sourced_id] = (
            klass.status,
            klass.title,
            klass.grades or "",
            klass.class_type,
        )
    return existing


def import_bundle(
    *, session: Session, path: Path, actor_id: int | None = None, ip: str | None = None
) -> ImportReport:
    """Validate the bundle at ``path`` (folder or zip) and apply it; raise `BundleError` and change nothing
    when any row is wrong. Flushes; the caller commits."""
    started = time.perf_counter()
    bundle = parse_bundle(path, load_existing(session))
    report = ImportReport(source=path.name, modes=dict(bundle.modes), notices=list(bundle.notices))
    _Applier(session, bundle, report).run()
    report.elapsed_seconds = time.perf_counter() - started
    record_event(
        session=session,
        actor_id=actor_id,
        action="roster.import",
        target_type="oneroster_bundle",
        target_id=path.name,
        ip=ip,
        detail=report.as_dict(),
    )
    return report


def _parse_date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _first(value: str) -> str | None:
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return parts[0] if parts else None


def _set(obj: SQLModel, fields: dict[str, Any]) -> bool:
    changed = False
    for name, value in fields.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _by_sourced_id(session: Session, model: type[M]) -> dict[str, M]:
    return {row.sourced_id: row for row in session.exec(select(model)) if row.sourced_id}  # type: ignore[attr-defined]


class _Applier:
    def __init__(self, session: Session, bundle: Bundle, report: ImportReport) -> None:
        self.session = session
        self.bundle = bundle
        self.report = report
        self.today = date.today()
        self.sessions = _by_sourced_id(session, AcademicSession)
        self.orgs = _by_sourced_id(session, Org)
        self.courses = _by_sourced_id(session, Course)
        self.classes = _by_sourced_id(session, SchoolClass)
        self.users = _by_sourced_id(session, User)
        self.enrollments = _by_sourced_id(session, Enrollment)
        self.roles = _by_sourced_id(session, OrgRole)

    def run(self) -> None:
        rows = self.bundle.rows
        if "academicSessions" in rows:
            self._upsert("academicSessions", self.sessions, AcademicSession, self._session_fields)
            self._link_parents("academicSessions", self.sessions)
            self._mark_current_year()
        if "orgs" in rows:
            self._upsert("orgs", self.orgs, Org, self._org_fields)
            self._link_parents("orgs", self.orgs)
        if "courses" in rows:
            self._upsert("courses", self.courses, Course, self._course_fields)
        if "classes" in rows:
            self._upsert("classes", self.classes, SchoolClass, self._class_fields)
        if "users" in rows:
            if any(row.get("password") for row in rows["users"]):
                self.report.notices.append(
                    "users.csv の password 列は取り込みません（パスワードは本システムで設定します）。"
                )
            self._upsert("users", self.users, User, self._user_fields)
        if "enrollments" in rows:
            self._upsert("enrollments", self.enrollments, Enrollment, self._enrollment_fields)
        if "roles" in rows:
            self._upsert("roles", self.roles, OrgRole, self._role_fields)
        for name, mode in self.bundle.modes.items():
            if mode == "bulk":
                self._deactivate_absent(name)
        self.session.flush()
        self._derive_platform_roles()
        self.session.flush()

    # --- generic upsert --------------------------------------------------------------------------

    def _upsert(
        self,
        name: str,
        index: dict[str, Any],
        model: type[SQLModel],
        fields_of: Callable[[Row], dict[str, Any]],
    ) -> None:
        counts = self.report.counts.setdefault(name, EntityCounts())
        created: list[SQLModel] = []
        for row in self.bundle.rows[name]:
            sourced_id = row.get("sourcedId")
            obj = index.get(sourced_id)
            if row.get("status") == "tobedeleted":
                if obj is not None and self._deactivate(name, obj):
                    counts.deactivated += 1
                continue
            if name == "classes" and obj is not None and obj.read_only:
                counts.unchanged += 1  # a past year's class: validation made sure nothing differs
                continue
            fields = fields_of(row)
            if obj is None and name == "academicSessions":
                obj = self._adopt_rollover_session(fields)
                if obj is not None:
                    obj.sourced_id = sourced_id
                    index[sourced_id] = obj
                    counts.updated += 1
                    _set(obj, fields)
                    continue
            if obj is None:
                obj = model(sourced_id=sourced_id, **fields)
                index[sourced_id] = obj
                created.append(obj)
                counts.created += 1
            elif _set(obj, fields):
                counts.updated += 1
            else:
                counts.unchanged += 1
        self.session.add_all(created)
        self.session.flush()

    def _link_parents(self, name: str, index: dict[str, Any]) -> None:
        for row in self.bundle.rows[name]:
            if row.get("status") == "tobedeleted":
                continue
            parent = index.get(row.get("parentSourcedId"))
            obj = index[row.get("sourcedId")]
            parent_id = parent.id if parent is not None else None
            if obj.parent_id != parent_id:
                obj.parent_id = parent_id
        self.session.flush()

    # --- fields per file -------------------------------------------------------------------------

    def _session_fields(self, row: Row) -> dict[str, Any]:
        return {
            "status": "active",
            "title": row.get("title"),
            "type": row.get("type"),
            "start_date": _parse_date(row.get("startDate")),
            "end_date": _parse_date(row.get("endDate")),
            "school_year": int(row.get("schoolYear")),
        }

    def _org_fields(self, row: Row) -> dict[str, Any]:
        return {
            "status": "active",
            "name": row.get("name"),
            "type": row.get("type"),
            "identifier": row.get("identifier") or None,
        }

    def _course_fields(self, row: Row) -> dict[str, Any]:
        year = self.sessions.get(row.get("schoolYearSourcedId"))
        return {
            "status": "active",
            "title": row.get("title"),
            "course_code": row.get("courseCode") or None,
            "grades": row.get("grades") or None,
            "org_id": self.orgs[row.get("orgSourcedId")].id,
            "school_year_id": year.id if year is not None else None,
        }

    def _class_fields(self, row: Row) -> dict[str, Any]:
        term = self.sessions.get(_first(row.get("termSourcedIds")) or "")
        course = self.courses.get(row.get("courseSourcedId"))
        return {
            "status": "active",
            "title": row.get("title"),
            "grades": row.get("grades") or None,
            "class_code": row.get("classCode") or None,
            "class_type": row.get("classType"),
            "school_id": self.orgs[row.get("schoolSourcedId")].id,
            "course_id": course.id if course is not None else None,
            "academic_session_id": term.id if term is not None else None,
            "special_needs": row.get("metadata.jp.specialNeeds") == "true",
        }

    def _user_fields(self, row: Row) -> dict[str, Any]:
        org = self.orgs.get(row.get("primaryOrgSourcedId"))
        home = self.classes.get(row.get("metadata.jp.homeClass"))
        return {
            "status": "active",
            "enabled": row.get("enabledUser") == "true",
            "username": row.get("username"),
            "email": row.get("email") or None,
            "given_name": row.get("givenName"),
            "family_name": row.get("familyName"),
            "kana_given_name": row.get("metadata.jp.kanaGivenName") or None,
            "kana_family_name": row.get("metadata.jp.kanaFamilyName") or None,
            "user_master_identifier": row.get("userMasterIdentifier").lower() or None,
            "primary_org_id": org.id if org is not None else None,
            "grades": _first(row.get("grades")),
            "home_class_id": home.id if home is not None else None,
        }

    def _enrollment_fields(self, row: Row) -> dict[str, Any]:
        number = row.get("metadata.jp.ShussekiNo")
        return {
            "status": "active",
            "class_id": self.classes[row.get("classSourcedId")].id,
            "user_id": self.users[row.get("userSourcedId")].id,
            "school_id": self.orgs[row.get("schoolSourcedId")].id,
            "role": row.get("role"),
            "primary": row.get("primary") == "true",
            "begin_date": _parse_date(row.get("beginDate")),
            "end_date": _parse_date(row.get("endDate")),
            "shusseki_no": int(number) if number else None,
        }

    def _role_fields(self, row: Row) -> dict[str, Any]:
        return {
            "status": "active",
            "user_id": self.users[row.get("userSourcedId")].id,
            "role_type": row.get("roleType"),
            "role": row.get("role"),
            "org_id": self.orgs[row.get("orgSourcedId")].id,
            "begin_date": _parse_date(row.get("beginDate")),
            "end_date": _parse_date(row.get("endDate")),
        }

    # --- deactivation ----------------------------------------------------------------------------

    def _deactivate(self, name: str, obj: Any) -> bool:
        """Mark one row tobedeleted (history kept); False when it already was."""
        if name == "classes" and obj.read_only:
            return False
        changed = _set(obj, {"status": "tobedeleted"})
        if name == "users":
            changed |= _set(obj, {"enabled": False})
            self._end_enrollments(e for e in self.enrollments.values() if e.user_id == obj.id)
        elif name == "classes":
            self._end_enrollments(e for e in self.enrollments.values() if e.class_id == obj.id)
        elif name == "enrollments":
            self._end_enrollments([obj])
        return changed

    def _end_enrollments(self, enrollments: Iterable[Enrollment]) -> None:
        for enrollment in enrollments:
            enrollment.status = "tobedeleted"
            if enrollment.end_date is None or enrollment.end_date > self.today:
                enrollment.end_date = self.today

    def _deactivate_absent(self, name: str) -> None:
        """A bulk file is the whole set: rows stored earlier but not listed are deactivated."""
        if name in ("academicSessions", "courses"):
            return  # past years' sessions and courses stay as they are
        indexes: dict[str, dict[str, Any]] = {
            "orgs": self.orgs,
            "classes": self.classes,
            "users": self.users,
            "enrollments": self.enrollments,
            "roles": self.roles,
        }
        index = indexes[name]
        listed = {row.get("sourcedId") for row in self.bundle.rows[name]}
        read_only_class_ids = {c.id for c in self.classes.values() if c.read_only}
        counts = self.report.counts.setdefault(name, EntityCounts())
        for sourced_id, obj in index.items():
            if sourced_id in listed or obj.status != "active":
                continue
            if name == "enrollments" and obj.class_id in read_only_class_ids:
                continue
            if name == "users" and (obj.graduated or obj.moving_on):
                continue
            if self._deactivate(name, obj):
                counts.deactivated += 1

    # --- derived state ---------------------------------------------------------------------------

    def _adopt_rollover_session(self, fields: dict[str, Any]) -> AcademicSession | None:
        """The roll-over created this school year before the bulk import named it: reuse that row."""
        if fields["type"] != "schoolYear":
            return None
        for sourced_id, obj in list(self.sessions.items()):
            if sourced_id.startswith(ROLLOVER_PREFIX) and obj.school_year == fields["school_year"]:
                del self.sessions[sourced_id]
                return obj
        return None

    def _mark_current_year(self) -> None:
        years = [s for s in self.sessions.values() if s.type == "schoolYear" and s.status == "active"]
        if not years or any(s.is_current for s in years):
            return
        containing = [s for s in years if s.start_date <= self.today <= s.end_date]
        current = containing[0] if containing else max(years, key=lambda s: s.school_year)
        current.is_current = True

    def _derive_platform_roles(self) -> None:
        """student/teacher/school_admin/board from roles.csv, else enrollments (admin is local only)."""
        best: dict[int, str] = {}

        def offer(user_id: int, role: str | None) -> None:
            if role and _ROLE_RANK[role] > _ROLE_RANK.get(best.get(user_id, ""), 0):
                best[user_id] = role

        for user_id, role in self.session.exec(
            select(OrgRole.user_id, OrgRole.role).where(OrgRole.status == "active")
        ):
            offer(user_id, _ORG_ROLE_TO_PLATFORM.get(role))
        from_roles = set(best)
        for user_id, role in self.session.exec(
            select(Enrollment.user_id, Enrollment.role).where(Enrollment.status == "active")
        ):
            if user_id not in from_roles:
                offer(user_id, _ENROLLMENT_ROLE_TO_PLATFORM.get(role))
        for user in self.users.values():
            if user.role == "admin" or user.id not in best:
                continue
            if user.role != best[user.id]:
                user.role = best[user.id]
