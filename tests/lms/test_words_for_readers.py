"""Words for each reader (issue 19): grades as 小4 / 中1, classes by school year, a favicon."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from lms.pages.class_list import grade_label


def test_grade_labels() -> None:
    assert grade_label("P4") == "小4" and grade_label("J1") == "中1"
    assert grade_label("P5,P6") == "小5・小6" and grade_label(None) == "" and grade_label("X9") == "X9"


def test_school_admin_sees_classes_by_school_year(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    from lms.roster.models import AcademicSession, SchoolClass

    years = {}
    for year in (2025, 2026):
        row = AcademicSession(
            sourced_id=f"y{year}",
            title=f"{year}年度",
            type="schoolYear",
            start_date=date(year, 4, 1),
            end_date=date(year + 1, 3, 31),
            school_year=year,
        )
        db_session.add(row)
        db_session.flush()
        years[year] = row.id
    a1 = world.classes["A1"]
    a1.academic_session_id = years[2026]
    old = SchoolClass(
        sourced_id="class-A1-2025",
        title=a1.title,
        grades="P3",
        school_id=a1.school_id,
        academic_session_id=years[2025],
        read_only=True,
    )
    db_session.add_all([a1, old])
    db_session.commit()
    sign_in("sa-a")
    html = client.get("/home").text
    assert "2026年度のクラス" in html and "2025年度（過去の年度・読み取り専用" in html
    assert html.index("2026年度のクラス") < html.index("2025年度（過去の年度")
    assert "<td>P" not in html and "<td>小" in html
    page = client.get(f"/classes/{a1.id}").text
    assert "P" + (a1.grades or "")[1:] not in page.split("<h1>")[1].split("</p>")[0]


def test_favicon_is_linked_and_served(client: Any) -> None:
    html = client.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg"' in html
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")


def test_roster_problems_read_as_sentences(client: Any, sign_in: Any) -> None:
    from lms.pages.roster_problems import problem_text

    assert (
        problem_text("users.csv:12: role: 役割が正しくありません")
        == "users.csv の 12 行目（role 列）: 役割が正しくありません"
    )
    sign_in("admin")
    page = client.get("/admin/roster")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        "/admin/roster",
        data={"csrf_token": token},
        files={"bundle": ("notzip.zip", b"this is not a zip file", "application/zip")},
    )
    assert answer.status_code == 400
    assert (
        "notzip.zip: フォルダか zip ファイルを指定してください" in answer.text and ":0: -:" not in answer.text
    )
