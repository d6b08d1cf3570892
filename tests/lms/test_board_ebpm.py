"""The officer's evidence page (issue 14): same grade across years, the city's trend, school vs city — all
from releases, every difference with its 95 % interval, claimed only when the interval excludes 0."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session

from lms.board.disclosure import Microdata, Protection, as_dict, build_release
from lms.board.disclosure_cases import Layout, simulate
from lms.board.ebpm import NO_DIFFERENCE, Point, difference
from lms.board.release_models import BoardRelease
from lms.roster.models import Org


def _point(mean: float, se: float, n: int = 100) -> Point:
    return Point(2025, 1, 1, None, "P5", n, mean, se, mean - 1.96 * se, mean + 1.96 * se, False)


def test_difference_interval_and_verdict() -> None:
    clear = difference(_point(510, 3.0), _point(490, 3.0))
    assert clear is not None and clear.value == 20 and clear.claimed and clear.verdict == "高い"
    half = 1.96 * np.sqrt(2 * 3.05**2 + 2 / 12)
    assert (clear.low, clear.high) == (int(np.floor(20 - half)), int(np.ceil(20 + half)))
    vague = difference(_point(495, 6.0), _point(490, 6.0))
    assert vague is not None and not vague.claimed and vague.verdict == NO_DIFFERENCE and vague.low < 0
    assert difference(_point(480, 2.0), _point(500, 2.0), lower="市より低い").verdict == "市より低い"  # type: ignore[union-attr]
    hidden = Point(2025, 1, 1, 3, "P5", None, None, None, None, None, False)
    assert difference(hidden, _point(500, 2.0)) is None


def test_school_versus_city_intervals_cover_the_truth() -> None:
    """Simulated cities: a school (part of the city) with no true difference is called different in about
    5 % of cities or fewer (rounding makes the interval conservative); one 60 points higher (48 above the
    city it is part of) almost always."""
    rng = np.random.default_rng(5)
    claims = {0: 0, 60: 0}
    reps = 400
    for shift in claims:
        for _ in range(reps):
            school = rng.normal(shift, 100, 60)
            rest = rng.normal(0, 100, 240)
            city = np.concatenate([school, rest])

            def published(x: np.ndarray) -> Point:
                mean, se = 500 + x.mean(), x.std(ddof=1) / np.sqrt(x.size)
                return Point(2025, 1, 1, None, "P5", x.size, round(mean), round(se, 1), None, None, False)

            d = difference(published(school), published(city), share_of_b=60 / 300)
            assert d is not None
            claims[shift] += d.claimed
    assert 0.01 <= claims[0] / reps <= 0.07  # not an interval so wide that nothing is ever claimed
    assert claims[60] / reps >= 0.95


def _store(session: Session, frame: Microdata, number: int) -> BoardRelease:
    release = build_release(frame, Protection())
    row = BoardRelease(
        number=number, school_year=frame.school_year, term=frame.term, reason="term_closed",
        pupils_rounded=5 * round(frame.size / 5), protection={"min_cell": 10, "rounding": 5},
        figures=[as_dict(g) for g in release.published()], basis={}, audit={},
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def two_years(db_session: Session, world: Any) -> dict[str, Any]:
    tiny = Org(sourced_id="school-T", name="みどり山の分校", type="school", identifier="B123456789099",
               parent_id=world.orgs["district"].id)  # fmt: skip
    db_session.add(tiny)
    db_session.flush()
    a, b = world.orgs["A"].id, world.orgs["B"].id
    assert tiny.id is not None
    layout: Layout = [
        (a, "P5", [30, 28], [False, False]), (b, "P5", [25, 26], [False, False]),
        (tiny.id, "P5", [6], [False]), (a, "P3", [31], [False]), (b, "P3", [29], [False]),
    ]  # fmt: skip
    rows = [
        _store(db_session, simulate(layout, school_year=year, term=term, seed=seed), number)
        for number, (year, term, seed) in enumerate([(2024, 1, 3), (2024, 2, 4), (2025, 1, 5)], start=1)
    ]
    db_session.commit()
    return {"rows": rows, "tiny": tiny.id, "A": a, "B": b}


def _group(row: BoardRelease, school: int | None, grade: str) -> dict[str, Any]:
    return next(g for g in row.figures if g["school"] == school and g["grade"] == grade)


ROW = re.compile(r'<tr data-school="(\d+)">(.*?)</tr>', re.S)


def test_board_reads_the_evidence_page(client: Any, sign_in: Any, two_years: dict[str, Any]) -> None:
    sign_in("board")
    dashboard = client.get("/board").text
    assert 'id="ebpm-link"' in dashboard
    page = client.get("/board/ebpm?skill=ALL&grade=P5&year=2025&term=1")
    assert page.status_code == 200, page.text
    html = page.text
    first, _second, latest = two_years["rows"]
    # same grade across years: 2024 and 2025 term 1, the change = the difference of the published means
    years = html.split('id="years-table"', 1)[1].split("</table>", 1)[0]
    means = [int(m) for m in re.findall(r'data-mean="(-?\d+)"', years)]
    published = [round(_group(r, None, "P5")["skills"]["ALL"]["mean"]) for r in (first, latest)]
    assert means == published
    change = re.search(r'data-diff="(-?\d+)"', years)
    assert change is not None and int(change.group(1)) == published[1] - published[0]
    # the trend: every release's city figure
    trend = html.split('id="trend-table"', 1)[1].split("</table>", 1)[0]
    assert trend.count("<tr data-year") == 3 and 'id="trend"' in html  # the chart and its table
    # school vs city: the difference of published figures; the tiny school is not published
    versus = html.split('id="versus-table"', 1)[1].split("</table>", 1)[0]
    rows = dict(ROW.findall(versus))
    city_mean = _group(latest, None, "P5")["skills"]["ALL"]["mean"]
    shown = 0
    for school in (two_years["A"], two_years["B"], two_years["tiny"]):
        cells, group = rows[str(school)], _group(latest, school, "P5")
        if group["hidden"]:  # small, or hidden as a complement of the small school
            assert "data-mean" not in cells and "data-diff" not in cells and "非公表" in cells
            continue
        shown += 1
        mean = group["skills"]["ALL"]["mean"]
        assert f'data-mean="{round(mean)}"' in cells
        diff = re.search(r'data-diff="(-?\d+)" data-low="(-?\d+)" data-high="(-?\d+)"', cells)
        assert diff is not None and int(diff.group(1)) == round(mean - city_mean)
        low, high = int(diff.group(2)), int(diff.group(3))
        verdict = "市より高い" if low > 0 else "市より低い" if high < 0 else NO_DIFFERENCE
        assert verdict in cells
    assert shown >= 1 and _group(latest, two_years["tiny"], "P5")["hidden"]
    assert "20校に1校" in html  # the multiple-comparison note


def test_evidence_page_roles_and_bad_input(client: Any, sign_in: Any, two_years: dict[str, Any]) -> None:
    for username in ("sa-a", "t-a1"):
        client.cookies.clear()
        sign_in(username)
        assert client.get("/board/ebpm").status_code == 403
    client.cookies.clear()
    sign_in("admin")
    assert client.get("/board/ebpm").status_code == 200
    assert client.get("/board/ebpm?skill=XYZ").status_code == 400
    assert client.get("/board/ebpm?year=abc").status_code == 400
    assert client.get("/board/ebpm?term=7").status_code == 400
    with_school = client.get(f"/board/ebpm?grade=P5&term=1&school={two_years['A']}").text
    assert with_school.count(f'data-school="{two_years["A"]}"') >= 2  # year rows of the school
