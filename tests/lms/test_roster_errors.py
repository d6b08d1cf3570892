"""A refused OneRoster bundle changes nothing and lists every problem as ``file.csv:line: column: message``.

Line numbers are physical CSV lines (header = line 1), so an operator can open the file at that line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from lms.roster.models import Enrollment, Org, SchoolClass, User
from lms.roster.oneroster import BundleError
from lms.roster.service import import_bundle
from tests.lms.roster_helpers import FIXTURE, copy_bundle, edit, set_value

pytestmark = pytest.mark.db


def refused(session: Session, bundle: Path) -> list[str]:
    with pytest.raises(BundleError) as caught:
        import_bundle(session=session, path=bundle)
    session.rollback()
    return caught.value.problems


def total_rows(session: Session) -> int:
    return sum(
        session.exec(select(func.count()).select_from(m)).one() for m in (Org, SchoolClass, User, Enrollment)
    )


# (file, sourcedId, column, bad value, expected line) — line numbers: fixture row order + 1 for the header.
CASES = [
    (
        "enrollments.csv",
        "enr-es-2",
        "classSourcedId",
        "cls-missing",
        "enrollments.csv:3: classSourcedId: クラス「cls-missing」が見つかりません",
    ),
    (
        "enrollments.csv",
        "enr-es-1",
        "userSourcedId",
        "stu-nobody",
        "enrollments.csv:2: userSourcedId: 利用者「stu-nobody」が見つかりません",
    ),
    (
        "classes.csv",
        "cls-es-4-1",
        "schoolSourcedId",
        "org-elsewhere",
        "classes.csv:3: schoolSourcedId: 組織「org-elsewhere」が見つかりません",
    ),
    (
        "users.csv",
        "stu-es-2",
        "metadata.jp.homeClass",
        "cls-9-9",
        "users.csv:3: metadata.jp.homeClass: クラス「cls-9-9」が見つかりません",
    ),
    (
        "orgs.csv",
        "org-js",
        "parentSourcedId",
        "org-other-city",
        "orgs.csv:4: parentSourcedId: 組織「org-other-city」が見つかりません",
    ),
    (
        "classes.csv",
        "cls-es-3-1",
        "termSourcedIds",
        "as-2026,as-1999",
        "classes.csv:2: termSourcedIds: 学期・年度「as-1999」が見つかりません",
    ),
    (
        "users.csv",
        "stu-es-1",
        "grades",
        "P7",
        "users.csv:2: grades: 学年コード「P7」は使えません（P1–P6, J1–J3, H1–H3, E1–E3）",
    ),
    (
        "classes.csv",
        "cls-js-1-1",
        "grades",
        "7",
        "classes.csv:4: grades: 学年コード「7」は使えません（P1–P6, J1–J3, H1–H3, E1–E3）",
    ),
    ("users.csv", "stu-es-3", "givenName", "", "users.csv:4: givenName: 値がありません"),
    (
        "users.csv",
        "stu-es-1",
        "metadata.jp.kanaGivenName",
        "ﾊﾙﾄ",
        "users.csv:2: metadata.jp.kanaGivenName: 「ﾊﾙﾄ」に半角カタカナがあります（全角で入力してください）",
    ),
    (
        "users.csv",
        "stu-js-1",
        "familyName",
        "ﾀﾅｶ",
        "users.csv:5: familyName: 「ﾀﾅｶ」に半角カタカナがあります（全角で入力してください）",
    ),
    (
        "users.csv",
        "stu-js-2",
        "metadata.jp.kanaFamilyName",
        "Ito",
        "users.csv:6: metadata.jp.kanaFamilyName: "
        "「Ito」はかなではありません（カタカナかひらがなで入力してください）",
    ),
    (
        "classes.csv",
        "cls-es-3-1",
        "classType",
        "lecture",
        "classes.csv:2: classType: 「lecture」は使えません（homeroom / scheduled）",
    ),
    (
        "users.csv",
        "tch-es-1",
        "enabledUser",
        "yes",
        "users.csv:7: enabledUser: 「yes」は使えません（true / false）",
    ),
    (
        "enrollments.csv",
        "enr-tes-1",
        "role",
        "guardian-ish",
        "enrollments.csv:7: role: "
        "「guardian-ish」は使えません（administrator / proctor / student / teacher / guardian）",
    ),
    (
        "enrollments.csv",
        "enr-es-1",
        "beginDate",
        "2026/04/01",
        "enrollments.csv:2: beginDate: 「2026/04/01」は日付ではありません（YYYY-MM-DD）",
    ),
    (
        "academicSessions.csv",
        "as-2026",
        "endDate",
        "2027-02-30",
        "academicSessions.csv:2: endDate: 「2027-02-30」は日付ではありません（YYYY-MM-DD）",
    ),
    (
        "users.csv",
        "stu-es-1",
        "userMasterIdentifier",
        "not-a-uuid",
        "users.csv:2: userMasterIdentifier: 「not-a-uuid」は UUID ではありません",
    ),
    (
        "enrollments.csv",
        "enr-es-1",
        "metadata.jp.ShussekiNo",
        "一",
        "enrollments.csv:2: metadata.jp.ShussekiNo: 出席番号「一」は 1〜999 の整数で入力してください",
    ),
    (
        "orgs.csv",
        "org-es",
        "identifier",
        "12345",
        "orgs.csv:3: identifier: 学校コード「12345」は 13 桁（英字 1 字＋数字 12 桁）です",
    ),
    (
        "orgs.csv",
        "org-district",
        "identifier",
        "12-456",
        "orgs.csv:2: identifier: 教育委員会コード「12-456」は 6 桁の数字です",
    ),
    (
        "roles.csv",
        "rol-prn-es",
        "role",
        "headmaster",
        "roles.csv:10: role: 「headmaster」は使えません（aide / counselor / "
        "districtAdministrator / guardian / parent / "
        "principal / proctor / relative / siteAdministrator / student / systemAdministrator / teacher）",
    ),
    (
        "users.csv",
        "stu-es-2",
        "status",
        "deleted",
        "users.csv:3: status: 「deleted」は使えません（active / tobedeleted）",
    ),
]


@pytest.mark.parametrize(
    ("file", "sourced_id", "column", "value", "expected"),
    CASES,
    ids=[case[4].split(":")[0] + ":" + case[2] for case in CASES],
)
def test_each_problem_is_reported_exactly(
    db_session: Session, tmp_path: Path, file: str, sourced_id: str, column: str, value: str, expected: str
) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    set_value(bundle, file, sourced_id, column, value)
    assert refused(db_session, bundle) == [expected]
    assert total_rows(db_session) == 0


def test_missing_required_column(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    edit(bundle, "enrollments.csv", lambda header, _rows: header.remove("role"))
    assert refused(db_session, bundle) == ["enrollments.csv:1: role: 必須の列がありません"]


def test_duplicate_sourced_id_and_username(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    set_value(bundle, "users.csv", "stu-es-2", "sourcedId", "stu-es-1")
    set_value(bundle, "users.csv", "stu-es-3", "username", "es-student-1")
    assert refused(db_session, bundle) == [
        "users.csv:3: sourcedId: 「stu-es-1」が重複しています（2 行目）",
        "users.csv:4: username: 「es-student-1」が重複しています（2 行目）",
        # the renamed row's old sourcedId is now unknown where it was referenced
        "enrollments.csv:3: userSourcedId: 利用者「stu-es-2」が見つかりません",
        "roles.csv:3: userSourcedId: 利用者「stu-es-2」が見つかりません",
    ]


def test_every_problem_is_listed_and_nothing_changes(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    db_session.commit()
    before = total_rows(db_session)
    bundle = copy_bundle(tmp_path / "bad")
    set_value(bundle, "users.csv", "stu-es-1", "familyName", "変更後")  # a valid change that must not land
    set_value(bundle, "users.csv", "stu-es-2", "grades", "P9")
    set_value(bundle, "enrollments.csv", "enr-js-2", "classSourcedId", "cls-x")
    set_value(bundle, "classes.csv", "cls-js-3-1", "classType", "club")
    problems = refused(db_session, bundle)
    assert problems == [
        "classes.csv:5: classType: 「club」は使えません（homeroom / scheduled）",
        "users.csv:3: grades: 学年コード「P9」は使えません（P1–P6, J1–J3, H1–H3, E1–E3）",
        "enrollments.csv:6: classSourcedId: クラス「cls-x」が見つかりません",
    ]
    assert total_rows(db_session) == before
    assert db_session.exec(select(User).where(User.sourced_id == "stu-es-1")).one().family_name == "佐藤"


def test_line_numbers_are_physical_lines(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    set_value(
        bundle, "classes.csv", "cls-es-3-1", "title", "3年1組\n（ひまわり）"
    )  # a quoted, two-line field
    set_value(bundle, "classes.csv", "cls-es-4-1", "grades", "Q4")
    assert refused(db_session, bundle) == [
        "classes.csv:4: grades: 学年コード「Q4」は使えません（P1–P6, J1–J3, H1–H3, E1–E3）"
    ]


def test_manifest_naming_a_missing_file(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    (bundle / "roles.csv").unlink()
    problems = refused(db_session, bundle)
    assert problems == ["manifest.csv:18: value: file.roles が bulk ですが roles.csv がありません"]


def test_not_a_bundle(db_session: Session, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert refused(db_session, tmp_path / "empty") == [
        "manifest.csv:0: -: manifest.csv がありません（OneRoster のバンドルではないようです）"
    ]


def test_undecodable_file(db_session: Session, tmp_path: Path) -> None:
    bundle = copy_bundle(tmp_path / "bad")
    (bundle / "orgs.csv").write_bytes((bundle / "orgs.csv").read_bytes() + b"\xff\xfe\xfa\n")
    assert refused(db_session, bundle) == [  # the line of the first bad byte, not line 1 (issue 20)
        "orgs.csv:5: -: UTF-8 として読めないバイト（0xFF）があります。ファイルが壊れていないか確かめ、"
        "UTF-8 で保存し直してください"
    ]


def test_delta_needs_status_and_may_reference_the_database(db_session: Session, tmp_path: Path) -> None:
    import_bundle(session=db_session, path=FIXTURE)
    bundle = copy_bundle(tmp_path / "delta")
    for name in ("academicSessions", "orgs", "courses", "classes", "users", "roles", "demographics"):
        (bundle / f"{name}.csv").unlink()

    def manifest(_header: list[str], rows: list[dict[str, str]]) -> None:
        for row in rows:
            if row["propertyName"].startswith("file."):
                row["value"] = "delta" if row["propertyName"] == "file.enrollments" else "absent"

    edit(bundle, "manifest.csv", manifest)

    def enrollments(_header: list[str], rows: list[dict[str, str]]) -> None:
        rows[:] = [
            rows[0] | {"sourcedId": "enr-new", "status": "", "dateLastModified": "2026-05-01T00:00:00Z"},
            rows[1]
            | {"sourcedId": "enr-new-2", "status": "active", "dateLastModified": "2026-05-01T00:00:00Z"},
        ]  # refers to DB rows only: fine

    edit(bundle, "enrollments.csv", enrollments)
    assert refused(db_session, bundle) == [
        "enrollments.csv:2: status: 差分（delta）ファイルでは status が必要です（active / tobedeleted）"
    ]
