"""Class report computations on plain rows (no database)."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

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


def test_heatmap_keeps_the_latest_estimate_and_orders_by_shusseki_no() -> None:
    rows = [est(10, "ANA", 420), est(10, "ANA", 515, days=30, attempt=2), est(11, "DEP", 610, guessing=True)]
    grid = heatmap(STUDENTS, rows)
    assert grid.skills == ["DEP", "ANA"]  # DESIGN order, only skills with data
    assert [r.student.user_id for r in grid.rows] == [10, 11, 12]  # no 出席番号 last
    assert grid.rows[0].cells["ANA"].score == 515
    assert grid.rows[0].cells["ANA"].band == 3
    cell = grid.rows[1].cells["DEP"]
    assert cell.guessing and "当て推量" in cell.text and "よくできている" in cell.text
    assert grid.rows[2].cells == {}
    assert grid.guessing_count == 1


def test_distribution_counts_bands_and_histogram() -> None:
    rows = [est(10, "INF", 300), est(11, "INF", 505), est(12, "INF", 790)]
    (dist,) = distributions(heatmap(STUDENTS, rows, skills=["INF"]))
    assert dist.n == 3
    assert dist.band_counts == {1: 1, 2: 0, 3: 1, 4: 0, 5: 1}
    assert round(dist.mean or 0) == 532
    assert sum(count for _, _, count in dist.bins) == 3
    assert [lower for lower, _, count in dist.bins if count] == [300, 500, 750]
    svg = distribution_svg(dist)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and "推論: 3人" in (root.get("aria-label") or "")
    assert len(root.findall("{http://www.w3.org/2000/svg}rect")) == 3


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


def test_csv_has_bom_crlf_and_neutralises_formulas() -> None:
    grid = heatmap(STUDENTS, [est(10, "ANA", 420, guessing=True)])
    data = report_csv(grid)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "出席番号",
        "氏名",
        "ふりがな",
        "照応解決 スコア",
        "照応解決 段階",
        "照応解決 当て推量の水準",
    ]
    assert rows[1] == ["1", "'=HYPERLINK(1)", "イチ", "420", "2", "はい"]
    assert rows[3] == ["", "転入 生", "テンニュウ", "", "", ""]


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
