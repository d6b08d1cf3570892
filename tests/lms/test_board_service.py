"""The board's refresh and dashboard services on a small simulated history (lms.board.service).

``build_history`` (used by the other board tests too) adds to the ``world`` city a third, tiny school (C,
6 students: always suppressed) and a big one (D), classes over three terms of 2025 and the first term of
2026 (school A's 3rd-graders move on to 4th grade: one cohort followed across years), and skill estimates
drawn with a known mean per school.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session, select

from lms.board.aggregates import entry_year
from lms.board.models import BoardCell, BoardFigure
from lms.board.service import Filters, dashboard_data, refresh_aggregates
from lms.core.errors import InvalidInput, NotFound
from lms.reading.models import Assessment, Assignment, Attempt, SkillEstimate
from lms.roster.models import Org, SchoolClass, User
from tests.factories import pk

TERM_MONTH = {1: (6, 0), 2: (11, 0), 3: (2, 1)}  # month and year offset of a test in each term
STUDENT_FAMILY = "鬼瓦"  # every simulated student's family name: no page or export may contain it


@dataclass
class History:
    schools: dict[str, Org] = field(default_factory=dict)
    students: list[User] = field(default_factory=list)
    n_estimates: int = 0


def build_history(session: Session, world: Any, seed: int = 1) -> History:
    rng = np.random.default_rng(seed)
    h = History(schools={"A": world.orgs["A"], "B": world.orgs["B"]})
    for key, name, code in (
        ("C", "みどり山の分校", "B123456789099"),
        ("D", "みどり第二小学校", "B123456789013"),
    ):
        org = Org(sourced_id=f"school-{key}", name=name, type="school", identifier=code,
                  parent_id=world.orgs["district"].id)  # fmt: skip
        session.add(org)
        h.schools[key] = org
    session.flush()
    assessment = Assessment(title="読解力調査", kind="cat")
    session.add(assessment)
    session.flush()
    # (school, grade, size, school mean θ, [(year, term), ...], next year's grade or None)
    specs = [
        ("A", "P3", 16, 0.0, [(2025, 1), (2025, 2), (2025, 3)], "P4"),
        ("A", "P3", 12, 0.0, [(2025, 1), (2025, 2)], None),
        ("A", "P5", 22, 0.9, [(2025, 1), (2025, 2)], None),
        ("B", "J1", 25, 1.3, [(2025, 1), (2025, 2)], None),
        ("C", "P3", 6, -0.5, [(2025, 1), (2025, 2)], None),
        ("C", "P5", 12, 0.9, [(2025, 1), (2025, 2)], None),
        ("D", "P3", 30, 0.3, [(2025, 1), (2025, 2)], None),
        ("D", "P5", 25, 1.0, [(2025, 1), (2025, 2)], None),
    ]
    for number, (school_key, grade, size, mu, periods, next_grade) in enumerate(specs):
        school = h.schools[school_key]
        students = []
        for i in range(size):
            user = User(username=f"hist-{number}-{i}", role="student", family_name=STUDENT_FAMILY,
                        given_name=f"児童{number}の{i}", primary_org_id=school.id, grades=grade)  # fmt: skip
            session.add(user)
            students.append(user)
        session.flush()
        h.students.extend(students)
        ability = rng.normal(mu, 1.0, size)
        classes = [(grade, periods)]
        if next_grade:
            classes.append((next_grade, [(2026, 1)]))
        for class_grade, class_periods in classes:
            klass = SchoolClass(sourced_id=f"hist-class-{number}-{class_grade}", title=f"{class_grade} 組",
                                grades=class_grade, school_id=pk(school))  # fmt: skip
            session.add(klass)
            session.flush()
            for year, term in class_periods:
                month, offset = TERM_MONTH[term]
                finished = datetime(year + offset, month, 10, 3, 0, tzinfo=UTC)
                growth = 0.15 * ((year - 2025) * 3 + term - 1)
                assignment = Assignment(assessment_id=pk(assessment), class_id=pk(klass), title="調査",
                                        opens_at=finished, status="closed")  # fmt: skip
                session.add(assignment)
                session.flush()
                for student, theta in zip(students, ability + growth, strict=True):
                    attempt = Attempt(assignment_id=pk(assignment), student_id=pk(student),
                                      status="submitted", finished_at=finished)  # fmt: skip
                    session.add(attempt)
                    session.flush()
                    for skill in ("ALL", "DEP", "INF"):
                        se = 0.35 if skill == "ALL" else 0.5
                        eap = (theta + rng.normal(0, se)) / (1 + se**2)  # shrunk like an EAP
                        score = round(500 + 100 * eap)
                        session.add(SkillEstimate(student_id=pk(student), attempt_id=pk(attempt), skill=skill,
                                                  theta=eap, se=se / np.sqrt(1 + se**2), scale_score=score,
                                                  band=3, guessing=bool(eap < -1.2), n_items=12))  # fmt: skip
                        h.n_estimates += 1
    session.commit()
    return h


def test_refresh_builds_cells_and_suppressed_figures(db_session: Session, world: Any) -> None:
    h = build_history(db_session, world)
    report = refresh_aggregates(session=db_session)
    db_session.commit()
    assert report.estimates == h.n_estimates
    cells = list(db_session.exec(select(BoardCell)))
    assert sum(c.n for c in cells) == h.n_estimates
    figures = list(db_session.exec(select(BoardFigure)))
    assert figures and all(f.min_cell_size == 10 for f in figures)
    for f in figures:  # the rule: nothing about fewer than 10 students is visible
        if 0 < f.n < 10:
            assert f.hidden and f.mean is None and f.band_shares is None
        if f.hidden:
            assert f.mean is None and f.se_mean is None and f.hist is None
    small = [f for f in figures if f.school_id == h.schools["C"].id and f.grade == "P3"]
    assert small and all(f.hidden for f in small)
    # secondary suppression: school A's P3 (28 students) is hidden too, else C = city − A − D
    a_p3 = [f for f in figures if f.school_id == h.schools["A"].id and f.grade == "P3" and f.term == 1]
    assert all(f.hidden for f in a_p3)
    # ... and, in turn, a partner in A's row (A's 5th grade) and in that column (C's 5th grade, 12)
    assert all(
        f.hidden for f in figures if f.grade == "P5" and f.school_id in (h.schools["A"].id, h.schools["C"].id)
    )
    assert not any(f.hidden for f in figures if f.school_id == h.schools["B"].id)
    # the city's 5th grade (simulated means 590, 590 and 600) is visible and close
    b = next(
        f for f in figures if f.school_id is None and f.grade == "P5" and f.skill == "ALL" and f.term == 1
    )
    assert not b.hidden and b.mean is not None and b.se_mean is not None
    assert abs(b.mean - 594) < 4 * b.se_mean + 10
    assert b.band_shares is not None and abs(sum(s or 0 for s in b.band_shares) - 1) < 0.35
    # refreshing again gives the same figures (deterministic plausible values)
    before = sorted((f.skill, f.school_year, f.term, f.school_id or 0, f.grade, f.mean or 0) for f in figures)
    refresh_aggregates(session=db_session)
    after = sorted((f.skill, f.school_year, f.term, f.school_id or 0, f.grade, f.mean or 0)
                   for f in db_session.exec(select(BoardFigure)))  # fmt: skip
    assert before == after


def test_refreshing_one_term_leaves_the_others_and_gives_the_same_figures(
    db_session: Session, world: Any
) -> None:
    build_history(db_session, world)
    refresh_aggregates(session=db_session)

    def snapshot() -> list[tuple[Any, ...]]:
        rows = db_session.exec(select(BoardFigure))
        return sorted(
            (f.skill, f.school_year, f.term, f.school_id or 0, f.grade, f.n, f.hidden, f.mean) for f in rows
        )

    before = snapshot()
    report = refresh_aggregates(session=db_session, period=(2025, 2))
    assert report.tables == 3  # three skills of one term
    assert snapshot() == before


def test_dashboard_data_city_school_and_cohort(db_session: Session, world: Any) -> None:
    h = build_history(db_session, world)
    refresh_aggregates(session=db_session)
    board = world.users["board"]
    data = dashboard_data(session=db_session, filters=Filters(), viewer=board)
    assert data.years == [2025, 2026] and data.filters.school_year == 2026 and data.filters.term == 1
    data = dashboard_data(
        session=db_session, filters=Filters(school_year=2025, term=1, grade="P5"), viewer=board
    )
    assert data.city is not None and data.city.n == 59
    assert {f.school_id for f in data.comparison} == {h.schools[k].id for k in "ACD"}
    assert data.cohort == entry_year(2025, "P5")
    # school A's P3 cohort followed into P4 in 2026
    filters = Filters(school_year=2025, term=1, grade="P3", school_id=h.schools["A"].id)
    data = dashboard_data(session=db_session, filters=filters, viewer=board)
    assert [(y, t, g) for y, t, g, _s, _c in data.growth] == [
        (2025, 1, "P3"),
        (2025, 2, "P3"),
        (2025, 3, "P3"),
        (2026, 1, "P4"),
    ]
    school_points = [s for _y, _t, _g, s, _c in data.growth]
    assert all(p is not None and p.school_id == h.schools["A"].id for p in school_points)


def test_school_admin_sees_only_their_school(db_session: Session, world: Any) -> None:
    h = build_history(db_session, world)
    refresh_aggregates(session=db_session)
    admin_a = world.users["sa-a"]
    data = dashboard_data(session=db_session, filters=Filters(school_year=2025, term=1), viewer=admin_a)
    assert data.filters.school_id == h.schools["A"].id
    assert {f.school_id for f in data.table} <= {h.schools["A"].id, None}
    with pytest.raises(NotFound):
        dashboard_data(session=db_session, filters=Filters(school_id=h.schools["B"].id), viewer=admin_a)


def test_filters_refuse_wrong_values_with_a_message() -> None:
    with pytest.raises(InvalidInput, match="学年"):
        Filters.parse({"grade": "Z9"})
    with pytest.raises(InvalidInput, match="学期"):
        Filters.parse({"term": "5"})
    with pytest.raises(InvalidInput, match="年度"):
        Filters.parse({"year": "abc"})
    f = Filters.parse({"year": "2025", "term": "2", "skill": "DEP", "grade": "P3", "school": "4"})
    assert Filters.parse(dict(p.split("=") for p in f.query().split("&"))) == f
