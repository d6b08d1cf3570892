"""The demo city: generated as a OneRoster bundle, loaded through the import, demo passwords set."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, col, func, select

from lms.core.jst import school_year_of
from lms.core.settings import load_settings
from lms.demo.generate import build_rows, generate_demo_bundle
from lms.demo.seed import DemoRefused, seed_demo
from lms.roster.models import Enrollment, Org, SchoolClass, User
from lms.roster.oneroster import HALF_WIDTH_KATAKANA, KANA_NAME, parse_bundle


def test_generation_is_deterministic_and_realistic() -> None:
    rows_a, _ = build_rows(seed=7, school_year=2026)
    rows_b, _ = build_rows(seed=7, school_year=2026)
    assert rows_a == rows_b
    students = [u for u in rows_a["users"] if u["grades"]]
    assert len(students) >= 600
    assert {u["grades"] for u in students} == {f"P{n}" for n in range(1, 7)} | {"J1", "J2", "J3"}
    for user in rows_a["users"]:
        assert not HALF_WIDTH_KATAKANA.search(user["familyName"] + user["givenName"])
        assert KANA_NAME.match(user["metadata.jp.kanaFamilyName"]) and KANA_NAME.match(
            user["metadata.jp.kanaGivenName"]
        )
    schools = [o for o in rows_a["orgs"] if o["type"] == "school"]
    assert [o["name"][-3:] for o in schools] == ["小学校", "小学校", "中学校"]
    assert all(len(o["identifier"]) == 13 for o in schools)


def test_generated_bundle_passes_the_importers_validation(tmp_path: Path) -> None:
    bundle = generate_demo_bundle(tmp_path / "demo", seed=1, today=date(2027, 2, 1))
    assert bundle.school_year == 2026 == school_year_of(date(2027, 3, 31))
    parsed = parse_bundle(bundle.path)
    assert len(parsed.rows["users"]) == len(bundle.rows["users"])
    assert (bundle.path / "users.csv").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.db
def test_seed_loads_the_city(db_session: Session, settings: Any) -> None:
    result = seed_demo(session=db_session, settings=settings)
    db_session.commit()

    def count(model: type[SQLModel], *where: Any) -> int:
        return db_session.exec(select(func.count()).select_from(model).where(*where)).one()

    assert count(Org, Org.type == "school") == 3
    assert count(Org, Org.type == "district") == 1
    assert count(User, User.role == "student") >= 600
    assert count(SchoolClass, SchoolClass.class_type == "homeroom") == 30
    assert count(User, User.role == "teacher") == 30
    by_name = {
        u.username: u
        for u in db_session.exec(
            select(User).where(
                col(User.username).in_(["admin", "board", "school-admin", "teacher", "student"])
            )
        )
    }
    assert {name: u.role for name, u in by_name.items()} == {
        "admin": "admin",
        "board": "board",
        "school-admin": "school_admin",
        "teacher": "teacher",
        "student": "student",
    }
    # The demo teacher teaches the demo student's homeroom.
    teaching = db_session.exec(select(Enrollment).where(Enrollment.user_id == by_name["teacher"].id)).one()
    assert teaching.role == "teacher" and teaching.class_id == by_name["student"].home_class_id
    from lms.auth.passwords import verify_password

    assert verify_password(by_name["student"].password_hash, settings.demo_password)[0]
    generated = db_session.exec(select(User).where(User.username == "s-e2-5")).one()
    assert verify_password(generated.password_hash, settings.demo_password)[0]
    assert result.students == count(User, User.role == "student")
    assert "giga-demo-2026" in result.render() and "school-admin" in result.render()
    # the demo teacher reviews draft items (/bank/review from the home page); nobody else does
    from lms.reading.bank_review.service import reviewer_grant

    assert reviewer_grant(db_session, by_name["teacher"]) is not None
    assert all(
        reviewer_grant(db_session, by_name[n]) is None for n in ("admin", "board", "school-admin", "student")
    )
    assert "/bank/review" in result.render()


@pytest.mark.db
def test_seed_if_empty_and_reseed(db_session: Session, settings: Any) -> None:
    seed_demo(session=db_session, settings=settings)
    db_session.commit()
    users = db_session.exec(select(func.count()).select_from(User)).one()
    assert seed_demo(session=db_session, settings=settings, if_empty=True).skipped
    again = seed_demo(session=db_session, settings=settings)  # same seed: an idempotent re-import
    assert again.report is not None and again.report.totals.created == 0
    assert db_session.exec(select(func.count()).select_from(User)).one() == users


@pytest.mark.db
def test_seed_refused_in_production(db_session: Session) -> None:
    production = load_settings(environment="production", secret_key="s" * 40)
    with pytest.raises(DemoRefused, match="production"):
        seed_demo(session=db_session, settings=production)
