"""Student pages (lms/reading/runner): the runner shell, the results page, the list of tests on the home page;
who may open them (the student the test is given to; another student 404; staff 403 on the runner;
teacher of the class may read results; board 403)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from lms.reading.models import (
    Accommodation,
    Assessment,
    Assignment,
    AssignmentTarget,
    Attempt,
)
from tests.factories import pk, skill_estimate
from tests.support import missing


def _assignment(db: Session, world: Any, klass: str = "A1", **kwargs: Any) -> Assignment:
    assessment = Assessment(title="読解力テスト", kind="cat", skills=[], min_items=3, max_items=6)
    db.add(assessment)
    db.flush()
    fields: dict[str, Any] = {
        "title": "4月の読解力テスト",
        "opens_at": datetime.now(UTC) - timedelta(hours=1),
    }
    fields.update(kwargs)
    assignment = Assignment(assessment_id=pk(assessment), class_id=world.classes[klass].id, **fields)
    db.add(assignment)
    db.commit()
    return assignment


def _finished_attempt(
    db: Session, world: Any, assignment: Assignment, scores: dict[str, int], when: datetime
) -> Attempt:
    student = world.users["s-a1"]
    attempt = Attempt(
        assignment_id=pk(assignment), student_id=student.id, status="submitted", finished_at=when, position=6
    )
    db.add(attempt)
    db.flush()
    for skill, score in scores.items():
        band = 1 + sum(score >= cut for cut in (350, 450, 550, 650))
        db.add(skill_estimate(attempt, skill, score, band=band, guessing=skill == "INF", created_at=when))
    db.commit()
    return attempt


def test_runner_shell_for_the_student(client: Any, sign_in: Any, world: Any, db_session: Session) -> None:
    assignment = _assignment(db_session, world)
    db_session.add(
        Accommodation(
            assignment_id=pk(assignment), user_id=world.users["s-a1"].id, read_aloud=True, large_text=True
        )
    )
    db_session.commit()
    sign_in("s-a1")
    page = client.get(f"/test/{assignment.id}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="ja">' in html and "4月の読解力テスト" in html
    assert f'data-assignment-id="{assignment.id}"' in html
    assert 'data-read-aloud="1"' in html and 'data-large-text="1"' in html
    assert 'src="/static/runner.js"' in html and 'role="status"' in html and 'aria-live="polite"' in html
    assert "文字の大きさ" in html and "背景の色" in html and "おわり" in html
    assert page.headers["cache-control"] == "no-store"
    # a classmate without accommodation gets none
    client.cookies.clear()
    sign_in("s-a1b")
    html = client.get(f"/test/{assignment.id}").text
    assert 'data-read-aloud="0"' in html and 'data-large-text="0"' in html


@pytest.mark.parametrize("username", ["s-a2", "s-b1"])
def test_runner_for_another_student_is_404(
    client: Any, sign_in: Any, world: Any, db_session: Session, username: str
) -> None:
    assignment = _assignment(db_session, world)
    sign_in(username)
    page = client.get(f"/test/{assignment.id}")
    assert page.status_code == 404 and "そのテストは見つかりません" in page.text
    assert client.get("/test/999999").status_code == 404


def test_runner_targets_only_chosen_students(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    assignment = _assignment(db_session, world)
    db_session.add(AssignmentTarget(assignment_id=pk(assignment), user_id=world.users["s-a1b"].id))
    db_session.commit()
    sign_in("s-a1")
    assert client.get(f"/test/{assignment.id}").status_code == 404
    assert "4月の読解力テスト" not in client.get("/home").text
    client.cookies.clear()
    sign_in("s-a1b")
    assert client.get(f"/test/{assignment.id}").status_code == 200
    assert f'href="/test/{assignment.id}"' in client.get("/home").text


@pytest.mark.parametrize("username", ["t-a1", "sa-a", "board", "admin"])
def test_runner_is_for_students_only(
    client: Any, sign_in: Any, world: Any, db_session: Session, username: str
) -> None:
    assignment = _assignment(db_session, world)
    sign_in(username)
    page = client.get(f"/test/{assignment.id}")
    assert page.status_code == 403 and "児童生徒のアカウントだけ" in page.text


def test_runner_needs_sign_in(client: Any, world: Any, db_session: Session) -> None:
    assignment = _assignment(db_session, world)
    response = client.get(f"/test/{assignment.id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/test/")


def test_home_lists_tests_with_their_state(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    open_one = _assignment(db_session, world, title="読解テストA")
    done_one = _assignment(db_session, world, title="読解テストB")
    closed_one = _assignment(db_session, world, title="読解テストC", status="closed")
    _assignment(db_session, world, title="読解テストD", opens_at=datetime.now(UTC) + timedelta(days=2))
    _assignment(db_session, world, klass="A2", title="読解テストE")
    attempt = _finished_attempt(db_session, world, done_one, {"ALL": 520}, datetime.now(UTC))
    sign_in("s-a1")
    html = client.get("/home").text
    assert f'<a class="button primary" href="/test/{open_one.id}">はじめる</a>' in html
    assert f'href="/results/{attempt.id}">けっかを見る' in html
    assert "読解テストC" in html and "しめきりました" in html and f'href="/test/{closed_one.id}"' not in html
    assert "読解テストD" not in html  # not open yet
    assert "読解テストE" not in html  # another class


def test_results_page_shows_ranges_and_growth_only_beyond_error(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    first = _assignment(db_session, world, title="4月のテスト")
    second = _assignment(db_session, world, title="7月のテスト")
    now = datetime.now(UTC)
    _finished_attempt(db_session, world, first, {"ALL": 480, "DEP": 470}, now - timedelta(days=90))
    attempt = _finished_attempt(db_session, world, second, {"ALL": 530, "DEP": 560, "INF": 330}, now)
    sign_in("s-a1")
    page = client.get(f"/results/{attempt.id}")
    assert page.status_code == 200
    html = page.text
    assert "わたしのけっか" in html and "7月のテスト" in html and "む力（ぜんたい）" in html
    # 530 ± 1.96·40 → 451.6–608.4, rounded outwards to tens
    assert "だいたい 450〜610 点" in html and '<svg class="range-bar"' in html
    assert "「あと一歩」か「標準」のあたり" not in html and "「標準」か「よくできている」のあたり" in html
    # +50 with SE(Δ) = 100·√(0.4² + 0.4²) ≈ 57: within the error
    assert "前回とほぼ同じ（誤差の範囲）です。" in html and "50 点アップ" not in html
    # no bare skill number, no talk of guessing
    assert "あてずっぽう" not in html and "560 点" not in html and ">560<" not in html
    assert '<svg class="growth"' in html and 'class="interval"' in html and "だいたい402〜558点" in html


def test_results_page_claims_growth_beyond_error(
    client: Any, sign_in: Any, world: Any, db_session: Session
) -> None:
    first = _assignment(db_session, world, title="4月のテスト")
    second = _assignment(db_session, world, title="7月のテスト")
    now = datetime.now(UTC)
    _finished_attempt(db_session, world, first, {"ALL": 380}, now - timedelta(days=90))
    attempt = _finished_attempt(db_session, world, second, {"ALL": 560}, now)
    sign_in("s-a1")
    html = client.get(f"/results/{attempt.id}").text
    assert "前回より だいたい 180 点アップしました（誤差をこえる変化です）。" in html
    client.cookies.clear()
    sign_in("t-a1")
    html = client.get(f"/results/{attempt.id}").text
    assert "変化 +180 点（95%区間 +69〜+291 点）。誤差をこえる変化です。" in html
    assert "推定 560 点（95%区間 482〜638 点、標準誤差 40 点）" in html


def test_results_permissions(client: Any, sign_in: Any, world: Any, db_session: Session) -> None:
    assignment = _assignment(db_session, world)
    attempt = _finished_attempt(db_session, world, assignment, {"ALL": 500}, datetime.now(UTC))
    for username, status in (
        ("s-a1b", 404),
        ("s-b1", 404),
        ("t-b1", 404),
        ("board", 403),
        ("t-a1", 200),
        ("sa-a", 200),
    ):
        client.cookies.clear()
        sign_in(username)
        page = client.get(f"/results/{attempt.id}")
        assert page.status_code == status, username
        if status == 200:
            assert "一郎" in page.text and "わたしのけっか" not in page.text
    client.cookies.clear()
    sign_in("board")
    assert client.get("/results/999999").status_code == 403  # no hint whether the attempt exists


def test_results_of_an_unfinished_attempt(client: Any, sign_in: Any, world: Any, db_session: Session) -> None:
    assignment = _assignment(db_session, world)
    attempt = Attempt(assignment_id=pk(assignment), student_id=world.users["s-a1"].id, status="in_progress")
    db_session.add(attempt)
    db_session.commit()
    sign_in("s-a1")
    html = client.get(f"/results/{attempt.id}").text
    assert "まだ終わっていません" in html and f'href="/test/{assignment.id}"' in html


def test_growth_chart_needs_two_points_and_draws_intervals() -> None:
    import re

    from lms.reading.runner.results import HistoryPoint, growth_svg, history_points, range_bar_svg

    now = datetime.now(UTC)
    assert growth_svg([HistoryPoint(now, 500, 1)]) == ""
    points = history_points(
        [
            {"attempt_id": 2, "date": now.isoformat(), "scale_score": 610, "lower": 560, "upper": 660},
            {"attempt_id": 1, "date": (now - timedelta(days=30)).isoformat(), "scale_score": 420},
            {"attempt_id": 3, "date": None, "scale_score": 999},  # never finished: not drawn
        ]
    )
    assert [p.attempt_id for p in points] == [1, 2]
    svg = growth_svg(points, current_attempt_id=2)
    assert svg.count("<circle") == 2 and 'class="dot current"' in svg and "560〜660" in svg
    assert svg.count('class="interval"') == 1  # the point without an interval has no bar
    assert "999" not in svg
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert ys[1] < ys[0]  # a higher score is drawn higher
    bar = range_bar_svg(470, 530)
    xs = [float(v) for v in re.findall(r'<rect x="([\d.]+)"', bar)]
    widths = [float(v) for v in re.findall(r'width="([\d.]+)"', bar)]
    assert xs[1] > xs[0] and 0 < widths[1] < widths[0] / 5  # a band of 60 of the 600 points shown


def test_growth_chart_axis_names_the_year_where_it_changes() -> None:
    from lms.reading.runner.results import HistoryPoint, growth_svg

    dates = [
        datetime(2025, 6, 15, tzinfo=UTC),
        datetime(2025, 11, 2, tzinfo=UTC),
        datetime(2026, 6, 15, tzinfo=UTC),
    ]
    svg = growth_svg([HistoryPoint(d, 500, k + 1) for k, d in enumerate(dates)])
    labels = [t for t in re.findall(r'class="axis">([^<]+)</text>', svg) if "/" in t]  # not the score axis
    assert labels == ["2025/6/15", "11/2", "2026/6/15"]  # the same 06/15 no longer appears twice


def test_web_font_is_a_small_subset_covering_the_shown_text(tmp_path: Any) -> None:
    """The WOFF2 subset of fetch_fonts.py holds every character of the item bank and the templates,
    keeps the vertical-writing glyph substitutions, and is a fraction of the 4.6 MB TTF."""
    from fontTools.ttLib import TTFont

    from lms.static.fonts import fetch_fonts
    from reading_tests.items import load_bank

    source = fetch_fonts._source()
    if source is None:
        missing("BIZ UD P Gothic is not installed (apt-get install fonts-morisawa-bizud-gothic)")
    wanted = fetch_fonts.used_characters()
    subset = tmp_path / "subset.woff2"  # built afresh: other parts add text to the templates all the time
    fetch_fonts.make_subset(source, subset, wanted)
    font = TTFont(subset)
    glyphs = len(font.getGlyphOrder())
    cmap = set(font.getBestCmap())
    shown: set[str] = set()
    for item in load_bank():
        for text in (item.stimulus, item.instruction, item.compare or "", *(o.text for o in item.options)):
            shown.update(c for c in text if not c.isspace())
    template = fetch_fonts.ROOT / "lms/reading/runner/templates/runner_test.html"
    template_text = template.read_text(encoding="utf-8")
    shown.update(c for c in template_text if ord(c) > 0x3000)
    source_cmap = set(TTFont(source).getBestCmap())
    absent = sorted(c for c in shown if ord(c) in source_cmap and ord(c) not in cmap)
    assert absent == []
    assert {"あ", "ア", "。", "「", "A", "1", "読", "解"} <= {chr(c) for c in cmap}
    assert 1_000 < glyphs < 4_000
    assert subset.stat().st_size < 400_000 < source.stat().st_size / 10  # > 10× smaller than the TTF
    features = {r.FeatureTag for r in font["GSUB"].table.FeatureList.FeatureRecord}
    assert {"vert", "vrt2"} <= features  # vertical forms for items written vertically
    assert fetch_fonts.missing_characters(subset, wanted) == set()


def test_pages_point_at_the_subset(client: Any) -> None:
    css = client.get("/static/app.css").text
    assert "BIZUDPGothic-Regular.subset.woff2" in css and 'format("woff2")' in css and ".ttf" not in css
