"""``giga demo seed``: the demo city loaded through the normal OneRoster import, plus demo passwords."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, func, select

from lms.auth.passwords import hash_password
from lms.core.settings import Settings
from lms.demo.generate import DemoAccount, generate_demo_bundle
from lms.reading.bank_review.service import grant_reviewer
from lms.roster.models import Org, User
from lms.roster.service import ImportReport, import_bundle

DEMO_REVIEWER = "teacher"  # holds the item-reviewer capability (lms/reading/bank_review)


class DemoRefused(Exception):
    """The demo city cannot be loaded here (production, or a real roster is present)."""


@dataclass
class DemoResult:
    skipped: bool = False
    report: ImportReport | None = None
    accounts: list[DemoAccount] = field(default_factory=list)
    password: str = ""
    students: int = 0
    users_with_password: int = 0

    def render(self) -> str:
        if self.skipped:
            return "users already exist: demo city not loaded (--if-empty)"
        assert self.report is not None
        lines = [
            self.report.summary(),
            f"students: {self.students}",
            "",
            "demo accounts (all generated accounts, e.g. s-e1-2 or t-j1-3, use the same password):",
            f"  {'username':<14} {'role':<13} {'name':<12} where",
        ]
        for account in self.accounts:
            lines.append(f"  {account.username:<14} {account.role:<13} {account.name:<12} {account.where}")
        lines.append(f"password: {self.password}")
        lines.append(f"{DEMO_REVIEWER} may also review draft items (問題のレビュー, /bank/review)")
        return "\n".join(lines)


def seed_demo(
    *,
    session: Session,
    settings: Settings,
    if_empty: bool = False,
    seed: int = 2026,
    keep_bundle: Path | None = None,
) -> DemoResult:
    """Generate the demo city bundle, import it, create the local ``admin`` and set the demo password on every
    demo account. Refused in production. Flushes; the caller commits."""
    if settings.is_production or not settings.demo_password:
        raise DemoRefused("the demo city is not loaded in production (GIGA_ENVIRONMENT=production)")
    if if_empty and session.exec(select(func.count()).select_from(User)).one() > 0:
        return DemoResult(skipped=True)
    with tempfile.TemporaryDirectory(prefix="giga-demo-") as tmp:
        target = keep_bundle or Path(tmp) / "demo-oneroster"
        bundle = generate_demo_bundle(target, seed=seed)
        demo_orgs = {row["sourcedId"] for row in bundle.rows["orgs"]}
        foreign = session.exec(select(Org).where(col(Org.sourced_id).not_in(demo_orgs))).first()
        if foreign is not None:
            raise DemoRefused(
                f"the database already holds another roster ({foreign.name}); use an empty database"
            )
        report = import_bundle(session=session, path=bundle.path)

    # One hash for every demo account: hashing 700 passwords with argon2 would take a minute, and they share
    # the same (published) demo password anyway.
    password_hash = hash_password(settings.demo_password)
    admin = session.exec(select(User).where(User.username == "admin")).first()
    if admin is None:
        admin = User(
            username="admin",
            role="admin",
            family_name="システム",
            given_name="管理者",
            kana_family_name="システム",
            kana_given_name="カンリシャ",
        )
        session.add(admin)
    usernames = set(bundle.usernames) | {"admin"}
    users = session.exec(select(User).where(col(User.username).in_(usernames))).all()
    for user in users:
        user.password_hash = password_hash
    session.flush()
    # the demo teacher sits on the city's reading-test committee: the reviewer's checklist (/bank/review)
    grant_reviewer(session, username=DEMO_REVIEWER, by=admin)
    accounts = [
        DemoAccount("admin", "admin", "システム 管理者", "ローカル（運用・取り込み）"),
        *bundle.accounts,
    ]
    order = {"admin": 0, "board": 1, "school-admin": 2, "teacher": 3, "student": 4}
    accounts.sort(key=lambda a: order.get(a.username, 9))
    students = sum(1 for row in bundle.rows["users"] if row["grades"])
    return DemoResult(
        report=report,
        accounts=accounts,
        password=settings.demo_password,
        students=students,
        users_with_password=len(users),
    )
