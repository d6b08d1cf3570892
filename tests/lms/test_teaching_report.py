"""Class report computations on plain rows (no database)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from lms.teaching.report import (
    EstimateRow,
    ItemInfo,
    ResponseRow,
    StudentLine,
    distribution_svg,
    distributions,
    heatmap,
    item_analysis,
    live_state,
    progress_text,
    report_csv,
)
from reading_tests.reporting import ScoreReport

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def est(
    student: int, skill: str, score: int, *, days: int = 0, guessing: bool = False, attempt: int = 1
) -> EstimateRow:
    band = 1 if score < 350 else 2 if score < 450 else 3 if score < 550 else 4 if score < 650 else 5
    return EstimateRow(student, skill, score, band, guessing, 0.4, 6, T0 + timedelta(days=days), attempt)


STUDENTS = [
    StudentLine(11, 2, "山田 花子", "ヤマダ ハナコ"),
    StudentLine(10, 1, "=HYPERLINK(1)", "イチ"),
    StudentLine(12, None, "転入 生", "テンニュウ"),
]


def _report(theta: float, se: float, skills: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A stored report as `reading_tests.reporting` writes it (overall only, or with given skill entries)."""
    return {
        "overall": ScoreReport.from_theta(theta, se).to_dict(),
        "skills": [{"skill": k, **v} for k, v in (skills or {}).items()],
        "engagement": {"flagged": False, "teacher_note_ja": None},
        "notes_ja": ["問題のパラメータは暫定値です。"],
        "n_scored": 15,
    }


def test_heatmap_keeps_the_latest_test_and_says_how_sure_each_score_is() -> None:
    rows = [
        est(10, "ALL", 420),
        est(10, "ALL", 515, days=30, attempt=2),
        est(10, "ANA", 515, days=30, attempt=2),
        est(11, "ALL", 610, attempt=3),
        est(11, "DEP", 640, attempt=3),
    ]
    weaker = "照応解決: 全体の力から見込まれるより低い（差の95%区間 -150〜-20 点）。"
    reports = {
        2: _report(
            0.15, 0.3, {"ANA": {"show_number": False, "score": None, "n_items": 2, "teacher_text_ja": weaker}}
        ),
        3: {
            **_report(1.1, 0.25, {"DEP": {"show_number": True, "n_items": 24, "teacher_text_ja": None}}),
            "engagement": {"flagged": True, "teacher_note_ja": "解答時間がとても短い問題が多くありました。"},
        },
    }
    reports[3]["skills"][0]["score"] = ScoreReport.from_theta(1.4, 0.2).to_dict()
    grid = heatmap(STUDENTS, rows, reports)
    assert grid.skills == ["ALL", "DEP", "ANA"]  # overall first, DESIGN order, only skills with data
    assert [r.student.user_id for r in grid.rows] == [10, 11, 12]  # no 出席番号 last
    overall = grid.rows[0].cells["ALL"]
    assert (overall.score, overall.lower, overall.upper) == (515, 456, 574)  # 515 ± 1.96·30, the newest
    assert overall.band == 3 and "95%区間 456〜574" in overall.text and "「標準」" in overall.text
    ana = grid.rows[0].cells["ANA"]
    assert ana.score is None and ana.lower is None and ana.text == weaker  # no number, the statement
    dep = grid.rows[1].cells["DEP"]
    assert (dep.score, dep.lower, dep.upper) == (640, 601, 679)
    assert grid.rows[1].note and grid.rows[0].note is None and grid.flagged_count == 1
    assert grid.rows[2].cells == {} and grid.notes == ["問題のパラメータは暫定値です。"]


def test_the_overall_cell_gives_the_provisional_position_within_the_grade() -> None:
    position = {
        "grade": 3,
        "percentile": 62.4,
        "lower": 41.0,
        "upper": 80.2,
        "band": 3,
        "band_probability": 0.55,
        "band_name_ja": "標準",
        "provisional": True,
    }
    grid = heatmap(STUDENTS, [est(10, "ALL", 420)], {1: {**_report(-0.8, 0.3), "grade_position": position}})
    text = grid.rows[0].cells["ALL"].grade_text
    assert (
        text
        == "小3の中で 下から約 62%（95%区間 41〜80%）、学年内の段階「標準」（確率 55%）。暫定の基準です。"
    )
    assert report_csv(grid).decode("utf-8-sig").splitlines()[1].split(",")[-2] == text


def test_heatmap_without_a_stored_report_keeps_the_interval_of_the_overall_score() -> None:
    grid = heatmap(STUDENTS, [est(10, "ALL", 480), est(10, "INF", 700)])
    overall, inf = grid.rows[0].cells["ALL"], grid.rows[0].cells["INF"]
    assert (overall.score, overall.lower, overall.upper) == (480, 402, 558)
    assert inf.score is None  # an unchecked skill number is not shown


def test_distribution_counts_bands_and_histogram() -> None:
    rows = [est(10, "ALL", 300, attempt=1), est(11, "ALL", 505, attempt=2), est(12, "ALL", 790, attempt=3)]
    rows.append(est(12, "INF", 700, attempt=3))
    reports = {1: _report(-2.0, 0.3), 2: _report(0.05, 0.3), 3: _report(2.9, 0.3)}
    dist, inf = distributions(heatmap(STUDENTS, rows, reports, skills=["ALL", "INF"]))
    assert dist.n == 3
    assert dist.band_counts == {1: 1, 2: 0, 3: 1, 4: 0, 5: 1}
    assert round(dist.mean or 0) == 532
    assert sum(count for _, _, count in dist.bins) == 3
    assert [lower for lower, _, count in dist.bins if count] == [300, 500, 750]
    svg = distribution_svg(dist)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and "読解力（総合）: 3人" in (root.get("aria-label") or "")
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == 3
    assert inf.n == 0 and inf.without_number == 1 and "分布はありません" in inf.summary_ja()


def test_distribution_of_an_empty_skill_says_so() -> None:
    (dist,) = distributions(heatmap(STUDENTS, [], skills=["REP"]))
    assert dist.n == 0 and dist.mean is None
    assert "まだ結果がありません" in dist.summary_ja()
    ET.fromstring(distribution_svg(dist))


def test_item_analysis_facility_and_distractors() -> None:
    items = [
        ItemInfo("ANA-001", "ANA", ("A", "B", "C", "D"), ("B",)),
        ItemInfo("DEP-002", "DEP", ("A", "B"), ("A",)),
    ]
    responses = [
        ResponseRow(1, "ANA-001", ("B",), True),
        ResponseRow(2, "ANA-001", ("C",), False),
        ResponseRow(3, "ANA-001", ("C",), False),
        ResponseRow(4, "ANA-001", ("B",), True),
        ResponseRow(1, "OTHER-001", ("A",), True),
    ]
    ana, dep = item_analysis(items, responses)
    assert ana.n == 4 and ana.facility == 0.5
    rates = {o.option_id: o.rate for o in ana.options}
    assert rates == {"A": 0.0, "B": 0.5, "C": 0.5, "D": 0.0}
    assert ana.strongest_distractor is not None and ana.strongest_distractor.option_id == "C"
    assert dep.n == 0 and dep.facility is None and dep.strongest_distractor is None


def test_csv_has_bom_crlf_intervals_and_neutralises_formulas() -> None:
    grid = heatmap(STUDENTS, [est(10, "ALL", 420), est(10, "ANA", 420)], {1: _report(-0.8, 0.3)})
    data = report_csv(grid)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "出席番号",
        "氏名",
        "ふりがな",
        *[f"読解力（総合） {c}" for c in ("スコア", "95%下限", "95%上限", "段階", "所見")],
        *[f"照応解決 {c}" for c in ("スコア", "95%下限", "95%上限", "段階", "所見")],
        "学年の中での位置（暫定）",
        "解答の様子",
    ]
    assert rows[1][:3] == ["1", "'=HYPERLINK(1)", "イチ"]
    assert rows[1][3:6] == ["420", "361", "479"] and rows[1][6].startswith("「")
    assert rows[1][8:13] == ["", "", "", "", ""]  # ANA: no number (no report entry), no interval
    assert rows[3] == ["", "転入 生", "テンニュウ", *[""] * 12]


def test_live_state_offline_after_two_missed_heartbeats() -> None:
    now = T0
    assert live_state(status=None, last_seen_at=None, now=now) == "not_started"
    assert live_state(status="created", last_seen_at=None, now=now) == "not_started"
    assert (
        live_state(status="in_progress", last_seen_at=now - timedelta(seconds=59), now=now) == "in_progress"
    )
    # a heartbeat every 30 s keeps a slow reader "in progress"; 75 s without one means the device is gone
    assert (
        live_state(status="in_progress", last_seen_at=now - timedelta(seconds=70), now=now) == "in_progress"
    )
    assert live_state(status="in_progress", last_seen_at=now - timedelta(seconds=76), now=now) == "offline"
    assert live_state(status="submitted", last_seen_at=now - timedelta(hours=1), now=now) == "finished"
    assert progress_text(state="in_progress", position=4, expected_length=12) == "5 / 約12問"
    assert "途切れ" in progress_text(state="offline", position=0, expected_length=None)


def test_the_stylesheet_uses_the_report_band_colours() -> None:
    import re
    from pathlib import Path

    from lms.teaching.report import BAND_COLOURS

    css = (Path(__file__).resolve().parents[2] / "lms" / "static" / "print.css").read_text()
    pattern = r"td\.band-(\d) \{ background: (#[0-9a-f]{6}); \}"
    found = {int(n): colour for n, colour in re.findall(pattern, css)}
    assert found == BAND_COLOURS
