"""Generate the demo city (みどり市) as a OneRoster 1.2 CSV Japan Profile bundle, like a 学習eポータル export.

Deterministic for a given seed and school year. Three schools (小学校 ×2, 中学校 ×1), two homeroom classes per
grade, 20–28 students per class with kanji and kana names, one teacher per class, a principal per school and a
board user. Demo accounts: ``school-admin`` (principal of the first 小学校), ``teacher`` (homeroom teacher of
its 4年1組) and ``student`` (a student of that class), ``board`` (districtAdministrator).
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lms.core.jst import school_year_of
from lms.demo.names import ADULT_GIVEN_NAMES, BOYS_NAMES, FAMILY_NAMES, GIRLS_NAMES

NAMESPACE = uuid.UUID("6f0c3f0e-4b43-4b8e-9a1e-2d6a1f5f9c21")
DISTRICT = ("みどり市教育委員会", "229801")
SCHOOLS = (  # short code, name, 学校コード, grades
    ("e1", "みどり市立みどり第一小学校", "B222980100019", ("P1", "P2", "P3", "P4", "P5", "P6")),
    ("e2", "みどり市立みどり第二小学校", "B222980100027", ("P1", "P2", "P3", "P4", "P5", "P6")),
    ("j1", "みどり市立みどり中学校", "C222980100018", ("J1", "J2", "J3")),
)
CLASSES_PER_GRADE = 2
DEMO_CLASS = ("e1", "P4", 1)  # the demo teacher's and student's class: 第一小学校 4年1組

HEADERS = {
    "academicSessions": [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "type",
        "startDate",
        "endDate",
        "parentSourcedId",
        "schoolYear",
    ],
    "orgs": ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
    "courses": [
        "sourcedId",
        "status",
        "dateLastModified",
        "schoolYearSourcedId",
        "title",
        "courseCode",
        "grades",
        "orgSourcedId",
        "subjects",
        "subjectCodes",
    ],
    "classes": [
        "sourcedId",
        "status",
        "dateLastModified",
        "title",
        "grades",
        "courseSourcedId",
        "classCode",
        "classType",
        "location",
        "schoolSourcedId",
        "termSourcedIds",
        "subjects",
        "subjectCodes",
        "periods",
        "metadata.jp.specialNeeds",
    ],
    "users": [
        "sourcedId",
        "status",
        "dateLastModified",
        "enabledUser",
        "username",
        "userIds",
        "givenName",
        "familyName",
        "middleName",
        "identifier",
        "email",
        "sms",
        "phone",
        "agentSourcedIds",
        "grades",
        "password",
        "userMasterIdentifier",
        "resourceSourcedIds",
        "preferredGivenName",
        "preferredMiddleName",
        "preferredFamilyName",
        "primaryOrgSourcedId",
        "pronouns",
        "metadata.jp.kanaGivenName",
        "metadata.jp.kanaFamilyName",
        "metadata.jp.kanaMiddleName",
        "metadata.jp.homeClass",
    ],
    "enrollments": [
        "sourcedId",
        "status",
        "dateLastModified",
        "classSourcedId",
        "schoolSourcedId",
        "userSourcedId",
        "role",
        "primary",
        "beginDate",
        "endDate",
        "metadata.jp.ShussekiNo",
        "metadata.jp.PublicFlg",
    ],
    "roles": [
        "sourcedId",
        "status",
        "dateLastModified",
        "userSourcedId",
        "roleType",
        "role",
        "beginDate",
        "endDate",
        "orgSourcedId",
        "userProfileSourcedId",
    ],
}


@dataclass
class DemoAccount:
    username: str
    role: str
    name: str
    where: str


@dataclass
class DemoBundle:
    path: Path
    school_year: int
    rows: dict[str, list[dict[str, str]]]
    accounts: list[DemoAccount] = field(default_factory=list)

    @property
    def usernames(self) -> list[str]:
        return [row["username"] for row in self.rows["users"]]


def _sid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def build_rows(
    *, seed: int = 2026, school_year: int
) -> tuple[dict[str, list[dict[str, str]]], list[DemoAccount]]:
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in HEADERS}
    accounts: list[DemoAccount] = []
    begin = f"{school_year}-04-01"
    year_sid = _sid("year", school_year)
    rows["academicSessions"].append(
        {
            "sourcedId": year_sid,
            "title": f"{school_year}年度",
            "type": "schoolYear",
            "startDate": begin,
            "endDate": f"{school_year + 1}-03-31",
            "schoolYear": str(school_year),
        }
    )
    district_sid = _sid("org", "district")
    rows["orgs"].append(
        {"sourcedId": district_sid, "name": DISTRICT[0], "type": "district", "identifier": DISTRICT[1]}
    )

    def person(kind: str) -> tuple[str, str, str, str]:
        family, kana_family = rng.choice(FAMILY_NAMES)
        pool = ADULT_GIVEN_NAMES if kind == "adult" else rng.choice((BOYS_NAMES, GIRLS_NAMES))
        given, kana_given = rng.choice(pool)
        return family, given, kana_family, kana_given

    def add_user(
        sid: str,
        username: str,
        names: tuple[str, str, str, str],
        org_sid: str,
        *,
        grade: str = "",
        home: str = "",
        staff: bool = False,
    ) -> None:
        family, given, kana_family, kana_given = names
        rows["users"].append(
            {
                "sourcedId": sid,
                "enabledUser": "true",
                "username": username,
                "givenName": given,
                "familyName": family,
                "email": f"{username}@midori.example.jp" if staff else "",
                "grades": grade,
                "userMasterIdentifier": _sid("master", sid),
                "primaryOrgSourcedId": org_sid,
                "metadata.jp.kanaGivenName": kana_given,
                "metadata.jp.kanaFamilyName": kana_family,
                "metadata.jp.homeClass": home,
            }
        )

    def add_role(user_sid: str, role: str, org_sid: str) -> None:
        rows["roles"].append(
            {
                "sourcedId": _sid("role", user_sid, role),
                "userSourcedId": user_sid,
                "roleType": "primary",
                "role": role,
                "orgSourcedId": org_sid,
            }
        )

    board_sid = _sid("user", "board")
    board_names = person("adult")
    add_user(board_sid, "board", board_names, district_sid, staff=True)
    add_role(board_sid, "districtAdministrator", district_sid)
    accounts.append(DemoAccount("board", "board", f"{board_names[0]} {board_names[1]}", DISTRICT[0]))

    for short, school_name, code, grades in SCHOOLS:
        school_sid = _sid("org", short)
        rows["orgs"].append(
            {
                "sourcedId": school_sid,
                "name": school_name,
                "type": "school",
                "identifier": code,
                "parentSourcedId": district_sid,
            }
        )
        course_sid = _sid("course", short, school_year)
        rows["courses"].append(
            {
                "sourcedId": course_sid,
                "schoolYearSourcedId": year_sid,
                "title": "学級活動",
                "courseCode": f"HR-{short.upper()}",
                "grades": ",".join(grades),
                "orgSourcedId": school_sid,
            }
        )
        principal = "school-admin" if short == "e1" else f"principal-{short}"
        principal_sid = _sid("user", principal)
        names = person("adult")
        add_user(principal_sid, principal, names, school_sid, staff=True)
        add_role(principal_sid, "principal", school_sid)
        if short == "e1":
            accounts.append(
                DemoAccount("school-admin", "school_admin", f"{names[0]} {names[1]}", school_name)
            )
        student_no = teacher_no = 0
        for grade in grades:
            for number in range(1, CLASSES_PER_GRADE + 1):
                class_sid = _sid("class", short, school_year, grade, number)
                title = f"{grade[1]}年{number}組"
                rows["classes"].append(
                    {
                        "sourcedId": class_sid,
                        "title": title,
                        "grades": grade,
                        "courseSourcedId": course_sid,
                        "classCode": f"{grade[1]}-{number}",
                        "classType": "homeroom",
                        "schoolSourcedId": school_sid,
                        "termSourcedIds": year_sid,
                        "metadata.jp.specialNeeds": "false",
                    }
                )
                is_demo_class = (short, grade, number) == DEMO_CLASS
                teacher_no += 1
                teacher = "teacher" if is_demo_class else f"t-{short}-{teacher_no}"
                teacher_sid = _sid("user", short, "t", teacher_no)
                names = person("adult")
                add_user(teacher_sid, teacher, names, school_sid, staff=True)
                add_role(teacher_sid, "teacher", school_sid)
                rows["enrollments"].append(
                    {
                        "sourcedId": _sid("enr", class_sid, teacher_sid),
                        "classSourcedId": class_sid,
                        "schoolSourcedId": school_sid,
                        "userSourcedId": teacher_sid,
                        "role": "teacher",
                        "primary": "true",
                        "beginDate": begin,
                    }
                )
                if is_demo_class:
                    accounts.append(
                        DemoAccount("teacher", "teacher", f"{names[0]} {names[1]}", f"{school_name} {title}")
                    )
                students = [person("child") for _ in range(rng.randint(20, 28))]
                students.sort(key=lambda n: (n[2], n[3]))  # 出席番号 in 五十音順
                for shusseki, names in enumerate(students, start=1):
                    student_no += 1
                    username = "student" if is_demo_class and shusseki == 1 else f"s-{short}-{student_no}"
                    student_sid = _sid("user", short, "s", student_no)
                    add_user(student_sid, username, names, school_sid, grade=grade, home=class_sid)
                    add_role(student_sid, "student", school_sid)
                    rows["enrollments"].append(
                        {
                            "sourcedId": _sid("enr", class_sid, student_sid),
                            "classSourcedId": class_sid,
                            "schoolSourcedId": school_sid,
                            "userSourcedId": student_sid,
                            "role": "student",
                            "primary": "true",
                            "beginDate": begin,
                            "metadata.jp.ShussekiNo": str(shusseki),
                            "metadata.jp.PublicFlg": "false",
                        }
                    )
                    if username == "student":
                        accounts.append(
                            DemoAccount(
                                "student",
                                "student",
                                f"{names[0]} {names[1]}",
                                f"{school_name} {title} 出席番号 1",
                            )
                        )
    return rows, accounts


def write_bundle(target: Path, rows: dict[str, list[dict[str, str]]]) -> Path:
    """Write the files as a 学習eポータル does: UTF-8 with BOM, CRLF, every column present."""
    target.mkdir(parents=True, exist_ok=True)
    modified = "2026-03-25T09:00:00.000Z"
    manifest = [("manifest.version", "1.0"), ("oneroster.version", "1.2")]
    manifest += [(f"file.{name}", "bulk") for name in HEADERS]
    manifest += [
        ("file.demographics", "absent"),
        ("source.systemName", "みどり市 デモ名簿"),
        ("source.systemCode", "GIGA-DEMO"),
    ]
    _write_csv(
        target / "manifest.csv",
        ["propertyName", "value"],
        [{"propertyName": k, "value": v} for k, v in manifest],
    )
    for name, header in HEADERS.items():
        full = [
            {**dict.fromkeys(header, ""), "status": "active", "dateLastModified": modified, **row}
            for row in rows[name]
        ]
        _write_csv(target / f"{name}.csv", header, full)
    return target


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))


def generate_demo_bundle(target: Path, *, seed: int = 2026, today: date | None = None) -> DemoBundle:
    school_year = school_year_of(today or date.today())
    rows, accounts = build_rows(seed=seed, school_year=school_year)
    write_bundle(target, rows)
    return DemoBundle(path=target, school_year=school_year, rows=rows, accounts=accounts)
