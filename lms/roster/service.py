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

from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from lms.audit.service import record_event
from lms.core.errors import InvalidInput
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
# Only these roles make an account (issue 20): guardians, parents, counselors, proctors, aides, relatives and
# system administrators of the sending system are not pupils or staff of the platform; they are skipped.
ACCOUNT_ROLES = frozenset(_ORG_ROLE_TO_PLATFORM) - {"aide"}
ACCOUNT_ENROLLMENT_ROLES = frozenset(_ENROLLMENT_ROLE_TO_PLATFORM)
# A bulk import that would disable or end more than this share of the active users or enrollments (and at
# least MASS_CHANGE_MIN_ROWS of them) stops unless the operator allows it: an empty users.csv is not a
# reason to disable a whole city.
MASS_CHANGE_SHARE = 0.10
MASS_CHANGE_MIN_ROWS = 10

M = TypeVar("M", bound=SQLModel)


@dataclass
class EntityCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0


@dataclass
class MassChange:
    """How many active rows an import would disable or end, out of how many."""

    users: int
    active_users: int
    enrollments: int
    active_enrollments: int

    def message(self, lang: str = "ja") -> str:
        if lang == "en":
            return (
                f"this import would disable {self.users} of {self.active_users} active users and end "
                f"{self.enrollments} of {self.active_enrollments} active enrollments (more than "
                f"{MASS_CHANGE_SHARE:.0%}); nothing was changed. If this is intended, run again with "
                "--allow-mass-change"
            )
        return (
            f"この取り込みでは、有効な利用者 {self.active_users} 人のうち {self.users} 人が無効になり、"
            f"所属 {self.active_enrollments} 件のうち {self.enrollments} 件が終了します"
            f"（{MASS_CHANGE_SHARE:.0%} を超える変更）。ファイルが途中で切れていないか確かめてください。"
            "何も変更していません。意図した変更なら --allow-mass-change を付けて（画面では確認の"
            "チェックを入れて）もう一度取り込んでください"
        )


class MassChangeRefused(InvalidInput):
    def __init__(self, change: MassChange) -> None:
        self.change = change
        super().__init__(change.message())


@dataclass
class ImportReport:
    """What an import did (rendered by ``giga roster import`` and the admin upload page)."""

    source: str
    modes: dict[str, str]
    counts: dict[str, EntityCounts] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    dry_run: bool = False
    skipped_contacts: int = 0  # users with only guardian/parent/… roles: no account
    unknown_deletions: list[str] = field(default_factory=list)  # "file.csv:line: sourcedId: …"
    by_class: dict[str, EntityCounts] = field(default_factory=dict)  # "school / class" -> enrollments
    by_school: dict[str, EntityCounts] = field(default_factory=dict)  # school -> users
    mass_change: MassChange | None = None

    @property
    def totals(self) -> EntityCounts:
        total = EntityCounts()
        for counts in self.counts.values():
            total.created += counts.created
            total.updated += counts.updated
            total.unchanged += counts.unchanged
            total.deactivated += counts.deactivated
        return total

    def summary(self, lang: str = "ja") -> str:
        en = lang == "en"
        if en:
            head = (
                f"{'would import (dry run, nothing changed)' if self.dry_run else 'imported'} {self.source}"
            )
        else:
            done = (
                "取り込んだ場合の変更です（試行のみ・何も変更していません）"
                if self.dry_run
                else "取り込みました"
            )
            head = f"{self.source} を{done}"
        lines = [head]
        for name in FILES:
            if name in self.counts:
                c = self.counts[name]
                mode = self.modes.get(name, "-")
                lines.append(
                    f"  {name} ({mode}): {c.created} created, {c.updated} updated, "
                    f"{c.unchanged} unchanged, {c.deactivated} deactivated"
                    if en
                    else f"  {name}（{mode}）: 追加 {c.created}、更新 {c.updated}、変更なし {c.unchanged}、"
                    f"無効化 {c.deactivated}"
                )
        if self.skipped_contacts:
            lines.append(
                f"  skipped {self.skipped_contacts} users who are not students or staff (guardians etc.)"
                if en
                else f"  保護者など児童生徒・教職員でない利用者 {self.skipped_contacts} 人は"
                "取り込みませんでした"
            )
        if self.dry_run and (self.by_school or self.by_class):
            lines.append(
                "per school (users) / class (enrollments):"
                if en
                else "学校ごと（利用者）・クラスごと（所属）:"
            )
            for key, c in sorted(self.by_school.items()) + sorted(self.by_class.items()):
                lines.append(
                    f"  {key}: +{c.created} ~{c.updated} -{c.deactivated}"
                    if en
                    else f"  {key}: 追加 {c.created}、更新 {c.updated}、無効化 {c.deactivated}"
                )
        t = self.totals
        lines.append(
            f"total: {t.created} created, {t.updated} updated, {t.deactivated} deactivated"
            if en
            else f"合計: 追加 {t.created}、更新 {t.updated}、無効化 {t.deactivated}"
        )
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "modes": self.modes,
            "counts": {name: vars(c) for name, c in self.counts.items()},
            "notices": self.notices,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "dry_run": self.dry_run,
            "skipped_contacts": self.skipped_contacts,
            "unknown_deletions": self.unknown_deletions[:100],
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
    *,
    session: Session,
    path: Path,
    actor_id: int | None = None,
    ip: str | None = None,
    allow_mass_change: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Validate the bundle at ``path`` (folder or zip) and apply it; raise `BundleError` and change nothing
    when any row is wrong, `MassChangeRefused` when it would disable too many (unless allowed).
    Flushes; the caller commits. ``dry_run``: the caller must roll back (nothing is audited either);
    the report says what would change and a mass change is reported, not raised."""
    started = time.perf_counter()
    bundle = parse_bundle(path, load_existing(session))
    report = ImportReport(
        source=path.name, modes=dict(bundle.modes), notices=list(bundle.notices), dry_run=dry_run
    )
    applier = _Applier(session, bundle, report)
    applier.run()
    report.mass_change = applier.mass_change()
    report.elapsed_seconds = time.perf_counter() - started
    if dry_run:
        return report
    if report.mass_change is not None and not allow_mass_change:
        raise MassChangeRefused(report.mass_change)
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
        self.active_users_before = {u.id for u in self.users.values() if u.status == "active" and u.enabled}
        self.active_enrollments_before = {e.id for e in self.enrollments.values() if e.status == "active"}
        self.contacts = self._contacts()
        self._org_name_cache: dict[int | None, str] | None = None
        self._class_name_cache: dict[int | None, str] | None = None

    def _contacts(self) -> set[str]:
        """sourcedIds of users whose roles in this bundle are all non-account roles (guardian, parent, …)."""
        roles: dict[str, set[str]] = {}
        for row in self.bundle.rows.get("roles", []):
            if row.get("status") != "tobedeleted":
                roles.setdefault(row.get("userSourcedId"), set()).add(row.get("role"))
        for row in self.bundle.rows.get("enrollments", []):
            if row.get("status") != "tobedeleted":
                role = row.get("role")
                roles.setdefault(row.get("userSourcedId"), set()).add(
                    role if role in ACCOUNT_ENROLLMENT_ROLES else f"enrollment:{role}"
                )
        account = ACCOUNT_ROLES | ACCOUNT_ENROLLMENT_ROLES
        return {user for user, names in roles.items() if not names & account}

    def mass_change(self) -> MassChange | None:
        users_off = sum(
            1
            for u in self.users.values()
            if u.id in self.active_users_before and not (u.status == "active" and u.enabled)
        )
        enrollments_off = sum(
            1
            for e in self.enrollments.values()
            if e.id in self.active_enrollments_before and e.status != "active"
        )
        change = MassChange(
            users_off, len(self.active_users_before), enrollments_off, len(self.active_enrollments_before)
        )

        def too_many(count: int, active: int) -> bool:
            return count >= MASS_CHANGE_MIN_ROWS and count > MASS_CHANGE_SHARE * active

        if too_many(users_off, change.active_users) or too_many(enrollments_off, change.active_enrollments):
            return change
        return None

    def run(self) -> None:
        rows = self.bundle.rows
        if self.contacts:
            self.report.skipped_contacts = len(self.contacts)
            for name in ("users", "enrollments", "roles"):
                if name in rows:
                    key = "sourcedId" if name == "users" else "userSourcedId"
                    rows[name] = [row for row in rows[name] if row.get(key) not in self.contacts]
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
        self._org_name_cache = None
        self._class_name_cache = None
        created: list[SQLModel] = []
        for row in self.bundle.rows[name]:
            sourced_id = row.get("sourcedId")
            obj = index.get(sourced_id)
            if row.get("status") == "tobedeleted":
                if obj is None:
                    self.report.unknown_deletions.append(
                        f"{name}.csv:{row.line}: sourcedId: 「{sourced_id}」は登録されていないため"
                        "削除（tobedeleted）できません（この行は無視しました）"
                    )
                elif self._deactivate(name, obj):
                    counts.deactivated += 1
                    self._tally(name, obj, "deactivated")
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
                self._tally(name, obj, "created")
            elif _set(obj, fields):
                counts.updated += 1
                self._tally(name, obj, "updated")
            else:
                counts.unchanged += 1
        self.session.add_all(created)
        self.session.flush()

    def _tally(self, name: str, obj: Any, outcome: str) -> None:
        """Per-school (users) and per-class (enrollments) counts for the dry-run report."""
        if name == "enrollments" and outcome in ("deactivated", "ended"):
            if outcome == "deactivated":
                return  # counted once, when the enrollment ended (_end_enrollments)
            outcome = "deactivated"
        if name == "users":
            school = self._org_names().get(obj.primary_org_id, "（学校なし）")
            counts = self.report.by_school.setdefault(school, EntityCounts())
        elif name == "enrollments":
            klass = self._class_names().get(obj.class_id, "?")
            school = self._org_names().get(obj.school_id, "?")
            counts = self.report.by_class.setdefault(f"{school} / {klass}", EntityCounts())
        else:
            return
        setattr(counts, outcome, getattr(counts, outcome) + 1)

    def _org_names(self) -> dict[int | None, str]:
        if self._org_name_cache is None:
            self._org_name_cache = {o.id: o.name for o in self.orgs.values()}
        return self._org_name_cache

    def _class_names(self) -> dict[int | None, str]:
        if self._class_name_cache is None:
            self._class_name_cache = {c.id: c.title for c in self.classes.values()}
        return self._class_name_cache

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
            "kana_middle_name": row.get("metadata.jp.kanaMiddleName") or None,
            "middle_name": row.get("middleName") or None,
            "preferred_given_name": row.get("preferredGivenName") or None,
            "preferred_family_name": row.get("preferredFamilyName") or None,
            "preferred_middle_name": row.get("preferredMiddleName") or None,
            "identifier": row.get("identifier") or None,
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
            "public_flg": {"true": True, "false": False}.get(row.get("metadata.jp.PublicFlg")),
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
        if name == "enrollments":
            self._end_enrollments([obj])
        changed = _set(obj, {"status": "tobedeleted"})
        if name == "users":
            changed |= _set(obj, {"enabled": False})
            self._end_enrollments(e for e in self.enrollments.values() if e.user_id == obj.id)
        elif name == "classes":
            self._end_enrollments(e for e in self.enrollments.values() if e.class_id == obj.id)
        return changed

    def _end_enrollments(self, enrollments: Iterable[Enrollment]) -> None:
        for enrollment in enrollments:
            if enrollment.status == "active":
                self._tally("enrollments", enrollment, "ended")
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
                self._tally(name, obj, "deactivated")

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


def checkpoint_sqlite(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the .db file, so that copying the .db alone carries the import."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
