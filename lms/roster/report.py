"""What a roster import did or would do, the roles that make accounts, and the mass-change guard's limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lms.core.errors import InvalidInput
from lms.roster.oneroster import FILES

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
ROLE_RANK = {"student": 1, "teacher": 2, "school_admin": 3, "board": 4}
ORG_ROLE_TO_PLATFORM = {
    "student": "student",
    "teacher": "teacher",
    "aide": "teacher",
    "principal": "school_admin",
    "siteAdministrator": "school_admin",
    "districtAdministrator": "board",
}
ENROLLMENT_ROLE_TO_PLATFORM = {"student": "student", "teacher": "teacher", "administrator": "teacher"}
# Only these roles make an account (issue 20): guardians, parents, counselors, proctors, aides, relatives and
# system administrators of the sending system are not pupils or staff of the platform; they are skipped.
ACCOUNT_ROLES = frozenset(ORG_ROLE_TO_PLATFORM) - {"aide"}
ACCOUNT_ENROLLMENT_ROLES = frozenset(ENROLLMENT_ROLE_TO_PLATFORM)
# A bulk import that would disable or end more than this share of the active users or enrollments (and at
# least MASS_CHANGE_MIN_ROWS of them) stops unless the operator allows it: an empty users.csv is not a
# reason to disable a whole city.
MASS_CHANGE_SHARE = 0.10
MASS_CHANGE_MIN_ROWS = 10


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
