"""The research export: no identifier of any person, school or roster row leaks; pseudonyms are stable inside
one export and unrelated across exports; quasi-identifiers are coarsened (k ≥ 5, small grades merged into
unlabeled groups ≥ 10); aggregates are the board's releases; and the two attacks of issue 14 — linking two
exports by content, re-identifying pupils from a teacher's class report — are run, their rates printed and
checked against what the data-use note says."""

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
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from lms.audit.models import AuditEvent
from lms.board.releases import make_release
from lms.board.research import Pseudonymizer, export_research, term_of
from lms.board.support_models import ResearchExport
from lms.demo.history import seed_history
from lms.reading.models import Assignment, Attempt, SkillEstimate
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
    for year, term in TERMS:
        make_release(session=db_session, actor=None, school_year=year, term=term, reason="term_closed")
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
    assert all(re.fullmatch(r"K[0-9a-f]{16}", r["group"]) for r in scores)  # merged groups look like schools
    assert set(scores[0]) == {"student", "group", "grade", "school_year", "term", "skill", "band"}
    students = db_session.exec(select(User).where(User.role == "student")).all()
    per_student = Counter(row["student"] for row in scores)
    assert len(per_student) == result.students <= len(students)
    # stable within the export: a pseudonym always has the same grade in the same year
    grade_of = {(r["student"], r["school_year"]): r["grade"] for r in scores}
    assert all(grade_of[(r["student"], r["school_year"])] == r["grade"] for r in scores)
    # the three 中2 students are the whole city's 中2: fewer than 10, so this year's 中2 is not exported
    assert ("J2", "2026") not in {(r["grade"], r["school_year"]) for r in scores}
    assert {r["grade"] for r in scores if r["school_year"] == "2026"} == {"P3", "J1"}
    assert len({r["group"] for r in scores if r["grade"] == "P3"}) == 1
    meta = json.loads((tmp_path / "one" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["purpose"] == PURPOSE and meta["students"] == result.students and meta["min_cell_size"] == 10
    assert meta["left_out_rows"] > 0 and meta["mode"] == "research"
    note = (tmp_path / "one" / "data_use_note.md").read_text(encoding="utf-8")
    assert "教育データの利活用に係る留意事項" in note and "削除" in note and PURPOSE in note
    assert "仮名だけでは個人を守れません" in note and "協定に基づく研究にだけ" in note


def test_quasi_identifiers_are_coarsened_to_k5(db_session: Session, history: Any, tmp_path: Path) -> None:
    export(db_session, tmp_path / "k")
    scores = read_csv(tmp_path / "k" / "scores.csv")
    combos: dict[tuple[str, ...], set[str]] = {}
    groups: dict[tuple[str, ...], set[str]] = {}
    for r in scores:
        key = (r["group"], r["grade"], r["school_year"], r["term"], r["skill"], r["band"])
        combos.setdefault(key, set()).add(r["student"])
        groups.setdefault((r["group"], r["grade"], r["school_year"]), set()).add(r["student"])
    assert min(len(s) for s in combos.values()) >= 5
    assert min(len(s) for s in groups.values()) >= 10
    assert all(re.fullmatch(r"[1-5](-[1-5])?", r["band"]) for r in scores)


def test_pseudonyms_differ_across_exports_and_the_key_is_not_kept(
    db_session: Session, history: Any, tmp_path: Path
) -> None:
    first = read_csv(tmp_path / "a" / "scores.csv") if export(db_session, tmp_path / "a") else []
    second = read_csv(tmp_path / "b" / "scores.csv") if export(db_session, tmp_path / "b") else []
    assert {r["student"] for r in first}.isdisjoint({r["student"] for r in second})
    schools_a = {r["group"] for r in first}
    schools_b = {r["group"] for r in second}
    assert schools_a and schools_a.isdisjoint(schools_b)
    # the same data apart from the pseudonyms
    strip = sorted((r["grade"], r["school_year"], r["term"], r["skill"], r["band"]) for r in first)
    assert strip == sorted((r["grade"], r["school_year"], r["term"], r["skill"], r["band"]) for r in second)
    logs = db_session.exec(select(ResearchExport)).all()
    assert len(logs) == 2 and all(log.rows == len(first) for log in logs)
    stored = json.dumps([log.model_dump(mode="json") for log in logs], ensure_ascii=False)
    assert first[0]["student"] not in stored  # neither pseudonyms nor a key are kept
    actions = [e.action for e in db_session.exec(select(AuditEvent))]
    assert actions.count("research.export") == 2


def test_aggregates_are_the_board_releases(db_session: Session, history: Any, tmp_path: Path) -> None:
    export(db_session, tmp_path / "agg")
    rows = read_csv(tmp_path / "agg" / "aggregates.csv")
    visible = [r for r in rows if r["suppressed"] == "0"]
    hidden = [r for r in rows if r["suppressed"] == "1"]
    assert visible and hidden
    assert all(r["n_students"] == "" and r["mean_scale_score"] == "" for r in hidden)
    assert all(int(r["n_students"]) % 5 == 0 and int(r["n_students"]) >= 10 for r in visible)
    assert {r["suppressed"] for r in rows} == {"0", "1"}  # no primary / secondary label
    state = {(r["school"] == "CITY", r["grade"]): r["suppressed"] for r in rows
             if r["school_year"] == "2026" and r["skill"] == "ALL"}  # fmt: skip
    assert state[(False, "J2")] == "1" and state[(False, "J1")] == "1"  # 3 pupils, and its complement
    assert state[(False, "P3")] == "0"
    public = export(db_session, tmp_path / "public", mode="public")
    assert public.files == ["aggregates.csv", "metadata.json", "data_use_note.md"]
    assert [
        r[5:] for r in map(list, (d.values() for d in read_csv(tmp_path / "public" / "aggregates.csv")))
    ] == [
        r[5:] for r in map(list, (d.values() for d in rows))
    ]  # the same published figures, under the export's own school pseudonyms
    note = (tmp_path / "public" / "data_use_note.md").read_text(encoding="utf-8")
    assert "公開モード" in note and "個人の行はありません" in note


def _profiles(
    rows: list[dict[str, str]], group_map: dict[str, str]
) -> dict[str, tuple[tuple[str, ...], ...]]:
    out: dict[str, list[tuple[str, ...]]] = {}
    for r in rows:
        out.setdefault(r["student"], []).append(
            (
                group_map.get(r["group"], r["group"]),
                r["grade"],
                r["school_year"],
                r["term"],
                r["skill"],
                r["band"],
            )
        )
    return {s: tuple(sorted(p)) for s, p in out.items()}


def test_linkage_of_two_exports_matches_the_note(
    db_session: Session, history: Any, tmp_path: Path, capsys: Any
) -> None:
    """Issue 14: pseudonyms differ, but students link by the content of their rows; the note says how many."""
    key_a, key_b = b"a" * 32, b"b" * 32
    export(db_session, tmp_path / "a", key=key_a)
    export(db_session, tmp_path / "b", key=key_b)
    first, second = read_csv(tmp_path / "a" / "scores.csv"), read_csv(tmp_path / "b" / "scores.csv")

    def signature(rows: list[dict[str, str]], group: str) -> tuple[tuple[str, ...], ...]:
        return tuple(sorted((r["grade"], r["school_year"], r["term"], r["skill"], r["band"])
                            for r in rows if r["group"] == group))  # fmt: skip

    # the attacker first matches groups by their content, then students by their profile
    sig_b = {signature(second, g): g for g in {r["group"] for r in second}}
    group_map = {g: sig_b.get(signature(first, g), g) for g in {r["group"] for r in first}}
    profiles_a, profiles_b = _profiles(first, group_map), _profiles(second, {})
    by_profile: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    for student, profile in profiles_b.items():
        by_profile.setdefault(profile, []).append(student)
    truth_a, truth_b = Pseudonymizer(key_a), Pseudonymizer(key_b)
    ids = [u.id for u in db_session.exec(select(User).where(User.role == "student")) if u.id is not None]
    same = {truth_a("student", i): truth_b("student", i) for i in ids}
    linked = sum(1 for s, p in profiles_a.items() if by_profile.get(p) == [same[s]])
    meta = json.loads((tmp_path / "a" / "metadata.json").read_text(encoding="utf-8"))
    rate = round(100 * linked / len(profiles_a))
    print(f"linkage of two exports by content: {linked} of {len(profiles_a)} students ({rate}%)")
    assert linked == meta["linkage"]["unique_profiles"]  # the note's figure is the attack's result
    note = (tmp_path / "a" / "data_use_note.md").read_text(encoding="utf-8")
    assert f"{len(profiles_a)} 人中 {linked} 人（{rate}%）" in note


def test_teacher_class_report_reidentification_is_bounded_by_the_note(
    db_session: Session, history: Any, tmp_path: Path, capsys: Any
) -> None:
    """Issue 14: the teacher of 3年1組 knows each pupil's results (the class report) and looks for them."""
    key = b"t" * 32
    export(db_session, tmp_path / "t", key=key)
    rows = read_csv(tmp_path / "t" / "scores.csv")
    klass = history.classes["A1"]
    report: dict[int, set[tuple[str, str, str, int, int]]] = {}
    exact: dict[int, set[tuple[str, str, int]]] = {}
    query = (
        select(SkillEstimate, Attempt)
        .join(Attempt, col(SkillEstimate.attempt_id) == col(Attempt.id))
        .join(Assignment, col(Attempt.assignment_id) == col(Assignment.id))
        .where(Assignment.class_id == klass.id)
    )
    for estimate, attempt in db_session.exec(query):
        year, term = term_of(attempt.finished_at or estimate.created_at)
        report.setdefault(estimate.student_id, set()).add(
            (str(year), str(term), estimate.skill, estimate.band, 0)
        )
        exact.setdefault(estimate.student_id, set()).add((str(term), estimate.skill, estimate.scale_score))
    by_student: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_student.setdefault(r["student"], []).append(r)

    def consistent(known: set[tuple[str, str, str, int, int]], theirs: list[dict[str, str]]) -> bool:
        for year, term, skill, band, _ in known:
            match = [r for r in theirs if (r["school_year"], r["term"], r["skill"]) == (year, term, skill)]
            if not match:
                return False
            low, _sep, high = match[0]["band"].partition("-")
            if not int(low) <= band <= int(high or low):
                return False
        return True

    truth = Pseudonymizer(key)
    found = 0
    for pupil, known in report.items():
        candidates = [s for s, theirs in by_student.items() if consistent(known, theirs)]
        found += candidates == [truth("student", pupil)]
    meta = json.loads((tmp_path / "t" / "metadata.json").read_text(encoding="utf-8"))
    rate = round(100 * found / len(report))
    # without coarsening the exact scale scores single out the class (the 25 of 25)
    exact_unique = sum(1 for p, scores in exact.items() if sum(scores == o for o in exact.values()) == 1)
    print(f"teacher's class report: {found} of {len(report)} pupils re-identified ({rate}%); "
          f"with exact scores {exact_unique} of {len(report)}")  # fmt: skip
    assert len(report) >= 10 and exact_unique == len(report)
    assert rate <= meta["linkage"]["unique_pct"]  # the note's "at most" holds
    assert "担任" in (tmp_path / "t" / "data_use_note.md").read_text(encoding="utf-8")


def test_cli_and_admin_page(
    db_session: Session, history: Any, tmp_path: Path, client: Any, sign_in: Any, settings: Any
) -> None:
    from lms.cli import app

    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["board", "research-export", "--out", str(out), "--purpose", PURPOSE])
    assert result.exit_code == 0, result.output
    assert (out / "scores.csv").exists() and " rows, " in result.output
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
