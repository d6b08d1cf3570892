"""Issue 14's attacks re-run on what actually leaves the system: every figure the board can read through
the JSON API, every histogram bar of the dashboard's data tables and every size and mean of the officer's
evidence page (/board/ebpm), collected over HTTP and handed to the
attacker of lms.board.disclosure_audit (integer programming over all linked tables, histogram
reconstruction, 0 %/100 % shares, differencing of consecutive releases).

The same collection on a release stored *without* protection (what the live figures used to be) finds the
leaks — so these tests would fail if any channel bypassed the release.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from lms.board.disclosure import (
    ALL,
    GroupKey,
    Microdata,
    Protection,
    PublishedGroup,
    Release,
    SkillFigures,
    as_dict,
    build_release,
)
from lms.board.disclosure_audit import audit_history, audit_release
from lms.board.release_models import BoardRelease
from lms.board.releases import make_release, microdata_from_db
from lms.board.settings import get_board_settings
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import Enrollment, Org, SchoolClass, User
from tests.factories import pk
from tests.lms.test_board_service import build_history

SKILLS = ("ALL", "DEP", "INF")
EBPM_ROW = re.compile(r'<tr data-school="(\d+)"><th scope="row">[^<]*</th>(.*?)</tr>', re.S)
TREND_ROW = re.compile(r'<tr data-year="(\d+)" data-term="(\d+)">(.*?)</tr>', re.S)
BAR = re.compile(r'<tr><th scope="row">(\d+)〜(\d+)</th><td class="num">(\d+)</td>')


@pytest.fixture
def history(db_session: Session, world: Any) -> Any:
    h = build_history(db_session, world)
    db_session.commit()
    return h


def _frame(session: Session) -> Microdata:
    return microdata_from_db(session, 2025, 1, get_board_settings().plausible_values)


def _store_unprotected(session: Session, frame: Microdata) -> None:
    """A release row with exact figures, as the board used to see them (bypassing make_release)."""
    release = build_release(frame, Protection.off())
    session.add(
        BoardRelease(
            number=1,
            school_year=2025,
            term=1,
            reason="admin",
            pupils_rounded=frame.size,
            protection={"min_cell": 10, "rounding": 1, "share_step": 1},
            figures=[as_dict(g) for g in release.published()],
            basis={},
            audit={},
        )
    )
    session.commit()


def _share(value: Any) -> Any:
    return None if value == "" else value


def _collect(client: Any, session: Session, frame: Microdata, protection: Protection) -> Release:
    """Every group × skill the board's API and pages publish for the latest release, as a Release."""
    by_name = {o.name: o.id for o in session.exec(select(Org).where(Org.type == "school"))}
    city_name = get_board_settings().city_name
    structure = build_release(frame, protection)  # the public structure: which school has which grades
    rows: dict[GroupKey, dict[str, dict[str, Any]]] = {}
    grades = sorted({g for _s, g in structure.cells})
    for grade in [ALL, *grades]:
        for skill in SKILLS:
            data = client.get(f"/api/v1/board/dashboard?grade={grade}&skill={skill}").json()
            assert data["release"] is not None
            for row in data["table"]:
                school = None if row["school_name"] == city_name else by_name[row["school_name"]]
                rows.setdefault((school, row["grade"]), {})[skill] = row
    groups: dict[GroupKey, PublishedGroup] = {}
    for key, per_skill in rows.items():
        first = next(iter(per_skill.values()))
        if first["suppressed"]:
            groups[key] = PublishedGroup(key=key, hidden=True, n=None)
            continue
        figures = {}
        for skill, row in per_skill.items():
            bands = tuple(_share(row[f"band{i}_pct"]) for i in range(1, 6))
            hist = _page_histogram(client, key, skill)
            figures[skill] = SkillFigures(
                mean=float(row["mean_scale_score"]), se=float(row["se_mean"]), sd=float(row["sd"]),
                ci_low=float(row["ci95_low"]), ci_high=float(row["ci95_high"]),
                bands=None if all(b is None for b in bands) else bands,
                guessing=_share(row["guessing_pct"]), hist=hist,
            )  # fmt: skip
        groups[key] = PublishedGroup(key=key, hidden=False, n=int(first["n_tested"]), figures=figures)
    assert set(groups) == set(structure.groups)  # every group of the release reached the board
    return replace(structure, groups=groups)


def _page_histogram(client: Any, key: GroupKey, skill: str) -> tuple[tuple[int, int, float], ...] | None:
    """The bars of the dashboard's histogram data table (the screen-reader alternative of the chart)."""
    school = "" if key[0] is None else str(key[0])
    page = client.get(f"/board?skill={skill}&grade={key[1]}&school={school}").text
    table = page.split('id="hist-table"', 1)
    if len(table) == 1:
        return None
    body = table[1].split("</table>", 1)[0]
    bars = [(int(lo), int(hi) + 1, float(n)) for lo, hi, n in BAR.findall(body)]
    return tuple(bars) or None


def _table(page: str, table_id: str) -> str:
    parts = page.split(f'id="{table_id}"', 1)
    return "" if len(parts) == 1 else parts[1].split("</table>", 1)[0]


def _ebpm_cells(cells: str) -> tuple[int | None, float | None, int | None]:
    """(size, mean, difference) as a row of the evidence page shows them; ``None``: not published."""
    n, mean, diff = (re.search(rf'data-{a}="(-?\d+)"', cells) for a in ("n", "mean", "diff"))
    return (int(n.group(1)) if n else None, float(mean.group(1)) if mean else None,
            int(diff.group(1)) if diff else None)  # fmt: skip


def _collect_ebpm(client: Any, frame: Microdata, protection: Protection) -> Release:
    """Every group the evidence page shows for release 2025/1 (sizes and means), as a Release; every
    difference it shows is checked to be the difference of two of those published means."""
    structure = build_release(frame, protection)
    rows: dict[GroupKey, dict[str, tuple[int | None, float | None, int | None]]] = {}
    for grade in [ALL, *sorted({g for _s, g in structure.cells})]:
        for skill in SKILLS:
            page = client.get(f"/board/ebpm?grade={grade}&skill={skill}&year=2025&term=1").text
            for year, term, cells in TREND_ROW.findall(_table(page, "trend-table")):
                if (year, term) == ("2025", "1"):
                    rows.setdefault((None, grade), {})[skill] = _ebpm_cells(cells)
            for school, cells in EBPM_ROW.findall(_table(page, "versus-table")):
                rows.setdefault((int(school), grade), {})[skill] = _ebpm_cells(cells)
    groups: dict[GroupKey, PublishedGroup] = {}
    for key, per_skill in rows.items():
        sizes = {n for n, _m, _d in per_skill.values()}
        if sizes == {None}:
            groups[key] = PublishedGroup(key=key, hidden=True, n=None)
            continue
        assert len(sizes) == 1  # one size per group, whatever the skill
        city = rows.get((None, key[1]), {})
        figures = {}
        for skill, (_n, mean, diff) in per_skill.items():
            assert mean is not None
            if diff is not None:  # school − city: derived from the published means only
                assert diff == round(mean - (city[skill][1] or 0.0))
            figures[skill] = SkillFigures(mean=mean, se=0.0, sd=0.0, ci_low=mean, ci_high=mean, bands=None,
                                          guessing=None, hist=None)  # fmt: skip
        groups[key] = PublishedGroup(key=key, hidden=False, n=sizes.pop(), figures=figures)
    assert set(groups) == set(structure.groups)  # every group of the release is on the page
    return replace(structure, groups=groups)


def test_the_evidence_page_adds_nothing_and_holds(
    client: Any, sign_in: Any, db_session: Session, world: Any, history: Any
) -> None:
    make_release(session=db_session, actor=None, school_year=2025, term=1)
    db_session.commit()
    frame = _frame(db_session)
    protection = Protection(**db_session.exec(select(BoardRelease)).one().protection)
    sign_in("board")
    page = _collect_ebpm(client, frame, protection)
    api = _collect(client, db_session, frame, protection)
    for key, group in page.groups.items():  # the same figures as the release's other channels
        assert group.hidden == api.groups[key].hidden and group.n == api.groups[key].n
        for skill, f in group.figures.items():
            assert f.mean == round(api.groups[key].figures[skill].mean)
    assert any(g.hidden for g in page.groups.values())
    report = audit_release(page, frame)
    assert report.leaks == [], report.kinds()


def test_the_evidence_page_leaks_an_unprotected_release(
    client: Any, sign_in: Any, db_session: Session, world: Any, history: Any
) -> None:
    frame = _frame(db_session)
    _store_unprotected(db_session, frame)
    sign_in("board")
    kinds = audit_release(_collect_ebpm(client, frame, Protection.off()), frame).kinds()
    assert kinds.get("direct", 0) > 0, kinds  # the small school's size and means are on the page


def test_every_channel_holds_on_a_protected_release(
    client: Any, sign_in: Any, db_session: Session, world: Any, history: Any
) -> None:
    make_release(session=db_session, actor=None, school_year=2025, term=1)
    db_session.commit()
    frame = _frame(db_session)
    stored = db_session.exec(select(BoardRelease)).one()
    sign_in("board")
    seen = _collect(client, db_session, frame, Protection(**stored.protection))
    assert any(g.hidden for g in seen.groups.values())  # the tiny school is there, and hidden
    assert any(f.hist for g in seen.groups.values() for f in g.figures.values())  # bars were collected
    report = audit_release(seen, frame)
    assert report.leaks == [], report.kinds()
    assert report.lp_solved > 0


def test_the_same_collection_finds_the_leaks_without_protection(
    client: Any, sign_in: Any, db_session: Session, world: Any, history: Any
) -> None:
    frame = _frame(db_session)
    _store_unprotected(db_session, frame)
    sign_in("board")
    seen = _collect(client, db_session, frame, Protection.off())
    kinds = audit_release(seen, frame).kinds()
    assert kinds.get("direct", 0) > 0  # the school of 6 + 12 pupils is published
    assert kinds.get("histogram", 0) > 0  # bars add up to band counts
    # the board's API also gave exact sizes
    sizes = {g.n for g in seen.groups.values() if g.n is not None}
    assert any(n % 5 for n in sizes)


def _late_pupil(session: Session, school_id: int) -> None:
    klass = session.exec(
        select(SchoolClass).where(SchoolClass.school_id == school_id, SchoolClass.grades == "P3")
    ).one()
    assignment = next(
        a for a in session.exec(select(Assignment).where(Assignment.class_id == klass.id))
        if a.opens_at is not None and (a.opens_at.year, a.opens_at.month) == (2025, 6)
    )  # fmt: skip
    late = User(username="late-9", role="student", family_name="遅", given_name="九",
                primary_org_id=school_id, grades="P3")  # fmt: skip
    session.add(late)
    session.flush()
    attempt = Attempt(assignment_id=pk(assignment), student_id=pk(late), status="submitted",
                      finished_at=datetime(2025, 6, 20, 3, tzinfo=UTC))  # fmt: skip
    session.add(attempt)
    session.flush()
    for skill in SKILLS:
        session.add(SkillEstimate(student_id=pk(late), attempt_id=pk(attempt), skill=skill, theta=2.5, se=0.3,
                                  scale_score=750, band=5, guessing=False, n_items=12))  # fmt: skip
    session.commit()


def test_two_releases_do_not_reveal_one_late_pupil(
    client: Any, sign_in: Any, db_session: Session, world: Any, history: Any
) -> None:
    make_release(session=db_session, actor=None, school_year=2025, term=1)
    db_session.commit()
    sign_in("board")
    before_frame = _frame(db_session)
    protection = Protection(**db_session.exec(select(BoardRelease)).one().protection)
    before = _collect(client, db_session, before_frame, protection)
    _late_pupil(db_session, history.schools["D"].id)
    make_release(session=db_session, actor=None, school_year=2025, term=1)
    db_session.commit()
    after_frame = _frame(db_session)
    after = _collect(client, db_session, after_frame, protection)
    assert after_frame.size == before_frame.size + 1
    assert audit_history([before, after], [before_frame, after_frame]).leaks == []
    # without the rule the city's figures would have moved with that one pupil
    unprotected = [
        build_release(before_frame, Protection.off()),
        build_release(after_frame, Protection.off()),
    ]
    assert audit_history(unprotected, [before_frame, after_frame]).kinds().get("difference", 0) > 0


def test_board_roster_api_gives_no_exact_or_small_class_sizes(
    client: Any, sign_in: Any, db_session: Session, history: Any
) -> None:
    # enrol the history's pupils in their classes: a school D class of 30 and a school C class of 6
    for klass in db_session.exec(select(SchoolClass).where(col(SchoolClass.sourced_id).startswith("hist-"))):
        pupils = db_session.exec(
            select(User).where(User.primary_org_id == klass.school_id, User.grades == klass.grades)
        ).all()
        for pupil in pupils:
            enrolment = Enrollment(sourced_id=f"e-{klass.id}-{pupil.id}", class_id=pk(klass),
                                   user_id=pk(pupil), school_id=klass.school_id, role="student")  # fmt: skip
            db_session.add(enrolment)
    db_session.commit()
    sign_in("admin")
    exact = client.get("/api/v1/classes").json()
    small = [c for c in exact if 0 < c["student_count"] < 10]
    assert small and any(c["student_count"] % 5 for c in exact)  # the attack's data: a class of 6
    schools_exact = {s["id"]: s["student_count"] for s in client.get("/api/v1/schools").json()}
    client.cookies.clear()
    sign_in("board")
    seen = client.get("/api/v1/classes").json()
    assert seen and all(c["student_count"] % 5 == 0 and c["student_count"] >= 10 for c in seen)
    assert not {c["id"] for c in small} & {c["id"] for c in seen}  # no small class by name
    schools = client.get("/api/v1/schools").json()
    assert all(s["student_count"] % 5 == 0 for s in schools)
    assert any(s["student_count"] != schools_exact[s["id"]] for s in schools)
