"""The pseudonymous research export: no identifier of any person, school or roster row leaks; pseudonyms are
stable inside one export and unrelated across exports; aggregates follow the suppression rule."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from lms.audit.models import AuditEvent
from lms.board.research import SMALL_SCHOOL, export_research
from lms.board.support_models import ResearchExport
from lms.demo.history import SKILLS, seed_history
from lms.roster.models import Enrollment, Org, SchoolClass, User
from tests.lms.conftest import csrf_of
from tests.lms.test_demo_history import TODAY, add_students

TERMS = [(2025, 3), (2026, 1)]
PURPOSE = "読解力の伸びと技能の関係の分析（みどり大学との協定）"


@pytest.fixture
def history(db_session: Session, world: Any) -> Any:
    # school A 3年: 15 students, school B 中1: 13 — shown; school B 中2: 3 students — hidden
    add_students(db_session, world, "A1", 12)
    add_students(db_session, world, "B1", 12)
    world.classes["B2"] = SchoolClass(
        sourced_id="class-B2", title="2年1組", grades="J2", school_id=world.orgs["B"].id
    )
    db_session.add(world.classes["B2"])
    db_session.flush()
    add_students(db_session, world, "B2", 3)
    seed_history(session=db_session, seed=9, terms=TERMS, today=TODAY, refresh=False)
    db_session.commit()
    return world


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel-friendly
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"))))


def identifiers(db_session: Session, *, students_only: bool = False) -> set[str]:
    """Every string that names or identifies a person (or only the students), school, class or enrollment."""
    found: set[str] = set()
    for user in db_session.exec(select(User)):
        if students_only and user.role != "student":
            continue
        found |= {user.username, user.display_name, user.family_name + user.given_name, str(user.email or "")}
        found |= {user.sourced_id or "", user.user_master_identifier or ""}
        if not students_only:
            found |= {user.given_name, user.family_name}
    for org in db_session.exec(select(Org)):
        found |= {org.sourced_id, org.name, org.identifier or ""}
    for klass in db_session.exec(select(SchoolClass)):
        found.add(klass.sourced_id)
    for enrollment in db_session.exec(select(Enrollment)):
        found.add(enrollment.sourced_id)
    return {s for s in found if s}


def values_of(folder: Path) -> set[str]:
    """Every CSV cell and every JSON string or number of an export."""
    cells: set[str] = set()
    for name in ("scores.csv", "aggregates.csv"):
        for row in read_csv(folder / name):
            cells |= set(row.values())

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                cells.add(str(key))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        else:
            cells.add(str(node))

    walk(json.loads((folder / "metadata.json").read_text(encoding="utf-8")))
    return cells


def export(db_session: Session, out: Path, **kwargs: Any) -> Any:
    result = export_research(
        session=db_session, out_dir=out, actor=None, purpose=PURPOSE, now=datetime.now(UTC), **kwargs
    )
    db_session.commit()
    return result


def test_no_identifier_leaks_and_pseudonyms_are_stable_within_an_export(
    db_session: Session, history: Any, tmp_path: Path
) -> None:
    result = export(db_session, tmp_path / "one", recipient="みどり大学 教育学部")
    assert (
        sorted(p.name for p in (tmp_path / "one").iterdir())
        == sorted(result.files)
        == [
            "aggregates.csv",
            "data_use_note.md",
            "metadata.json",
            "scores.csv",
        ]
    )
    # no cell or metadata value is a name, username, sourcedId, e-mail, school code or database id …
    assert values_of(tmp_path / "one") & identifiers(db_session) == set()
    # … and no student's or school's identifier appears anywhere in any file, even inside other text
    text = "\n".join((tmp_path / "one" / name).read_text(encoding="utf-8-sig") for name in result.files)
    leaks = sorted(s for s in identifiers(db_session, students_only=True) if len(s) >= 3 and s in text)
    assert leaks == []
    # no database ids either: pseudonyms are 16 hex digits of an HMAC, not ids
    scores = read_csv(tmp_path / "one" / "scores.csv")
    assert all(re.fullmatch(r"S[0-9a-f]{16}", r["student"]) for r in scores)
    assert all(re.fullmatch(r"K[0-9a-f]{16}|SMALL", r["school"]) for r in scores)
    assert set(scores[0]) == {
        "student", "school", "grade", "school_year", "term", "skill", "theta", "se", "scale_score", "band",
        "guessing", "n_items",
    }  # fmt: skip
    students = db_session.exec(select(User).where(User.role == "student")).all()
    per_student = Counter(row["student"] for row in scores)
    # every student took both tests (one last year in the past class, one this year): 2 × 8 rows each
    assert len(per_student) == len(students) == result.students
    assert set(per_student.values()) == {len(TERMS) * (len(SKILLS) + 1)}
    # stable within the export: a pseudonym always has the same grade in the same year
    grade_of = {(r["student"], r["school_year"]): r["grade"] for r in scores}
    assert all(grade_of[(r["student"], r["school_year"])] == r["grade"] for r in scores)
    assert {r["grade"] for r in scores if r["school_year"] == "2026"} == {"P3", "J1", "J2"}
    # the three 中2 students (中1 last year) are merged into SMALL, not named by their school
    small = {(r["grade"], r["school_year"]) for r in scores if r["school"] == SMALL_SCHOOL}
    assert small == {("J2", "2026"), ("J1", "2025")}
    assert len({r["school"] for r in scores if r["grade"] == "P3"}) == 1
    meta = json.loads((tmp_path / "one" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["purpose"] == PURPOSE and meta["students"] == len(students) and meta["min_cell_size"] == 10
    note = (tmp_path / "one" / "data_use_note.md").read_text(encoding="utf-8")
    assert "教育データの利活用に係る留意事項" in note and "削除" in note and PURPOSE in note


def test_pseudonyms_differ_across_exports_and_the_key_is_not_kept(
    db_session: Session, history: Any, tmp_path: Path
) -> None:
    first = read_csv(tmp_path / "a" / "scores.csv") if export(db_session, tmp_path / "a") else []
    second = read_csv(tmp_path / "b" / "scores.csv") if export(db_session, tmp_path / "b") else []
    assert {r["student"] for r in first}.isdisjoint({r["student"] for r in second})
    schools_a = {r["school"] for r in first} - {SMALL_SCHOOL}
    schools_b = {r["school"] for r in second} - {SMALL_SCHOOL}
    assert schools_a and schools_a.isdisjoint(schools_b)
    # the same data apart from the pseudonyms
    strip = sorted((r["grade"], r["school_year"], r["term"], r["skill"], r["scale_score"]) for r in first)
    assert strip == sorted(
        (r["grade"], r["school_year"], r["term"], r["skill"], r["scale_score"]) for r in second
    )
    logs = db_session.exec(select(ResearchExport)).all()
    assert len(logs) == 2 and all(log.rows == len(first) for log in logs)
    stored = json.dumps([log.model_dump(mode="json") for log in logs], ensure_ascii=False)
    assert first[0]["student"] not in stored  # neither pseudonyms nor a key are kept
    actions = [e.action for e in db_session.exec(select(AuditEvent))]
    assert actions.count("research.export") == 2


def test_aggregates_follow_the_suppression_rule(db_session: Session, history: Any, tmp_path: Path) -> None:
    export(db_session, tmp_path / "agg")
    rows = read_csv(tmp_path / "agg" / "aggregates.csv")
    scores = read_csv(tmp_path / "agg" / "scores.csv")
    visible = [r for r in rows if not r["suppressed"]]
    hidden = [r for r in rows if r["suppressed"]]
    assert visible and hidden
    for row in hidden:
        assert row["n_students"] == "" and row["mean_scale_score"] == ""
    # no visible figure describes fewer than 10 students (counted from the microdata)
    for row in visible:
        keys = ("grade", "school_year", "term", "skill")
        n = sum(
            1
            for r in scores
            if all(r[k] == row[k] for k in keys) and (row["school"] == "CITY" or r["school"] == row["school"])
        )
        assert n >= 10, row
        assert int(row["n_students"]) % 5 == 0 and abs(int(row["n_students"]) - n) <= 2
    this_year = [r for r in rows if r["school_year"] == "2026" and r["skill"] == "ALL"]
    state = {(r["school"] == "CITY", r["grade"]): r["suppressed"] for r in this_year}
    assert state[(False, "P3")] == "" and state[(True, "P3")] == ""  # 15 students: shown
    assert state[(False, "J2")] == "primary"  # 3 students
    # 中1 has 13 students, but with 中2 hidden, school B's total would give 中2 away: hidden too
    assert state[(False, "J1")] == "secondary"
    assert state[(True, "J1")] and state[(True, "J2")]


def test_cli_and_admin_page(
    db_session: Session, history: Any, tmp_path: Path, client: Any, sign_in: Any, settings: Any
) -> None:
    from lms.cli import app

    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["board", "research-export", "--out", str(out), "--purpose", PURPOSE])
    assert result.exit_code == 0, result.output
    assert (out / "scores.csv").exists() and "score rows" in result.output
    again = runner.invoke(app, ["board", "research-export", "--out", str(out)])
    assert again.exit_code == 2 and "not an empty folder" in again.output
    short = runner.invoke(app, ["board", "research-export", "--out", str(tmp_path / "x"), "--purpose", "a"])
    assert short.exit_code == 2 and "利用目的" in short.output

    sign_in("board")
    assert client.get("/admin/research-export").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/home").text)})
    sign_in("admin")
    page = client.get("/admin/research-export")
    assert page.status_code == 200
    refused = client.post("/admin/research-export", data={"csrf_token": csrf_of(page.text), "purpose": ""})
    assert refused.status_code == 400 and "利用目的" in refused.text
    download = client.post(
        "/admin/research-export",
        data={"csrf_token": csrf_of(page.text), "purpose": PURPOSE, "recipient": "みどり大学"},
    )
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert sorted(names) == ["aggregates.csv", "data_use_note.md", "metadata.json", "scores.csv"]
