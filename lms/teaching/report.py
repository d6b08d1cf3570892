"""Class report computations: pure functions over plain rows (no database, no web).

The service loads rows (students, skill estimates, responses) with a few bulk queries; everything here is
in-memory arithmetic over them, so the report of a class of 40 with a year of data costs milliseconds.

- `heatmap`: students × skills, from the honest report of each student's latest test in each skill (issue
  13): every score with its 95 % interval and band statement, skill numbers only where they add value
  (otherwise the credible stronger/weaker statement), the neutral engagement note, the provisional notes.
- `distributions`: per skill, counts per band and a histogram of the shown scores (50-point bins), mean, SD.
- `distribution_svg`: a small, accessible SVG of one skill's histogram (bars coloured by band, text title).
- `item_analysis`: for a fixed form, per item the facility (share correct) and the choice rate of every
  option (distractor analysis), with the key marked.
- `report_csv`: the Excel-friendly CSV (UTF-8 with BOM, CRLF) with 出席番号, names, scores and intervals.
- `live_state`: a student's state in the live view (not started / in progress / offline / finished).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from html import escape
from typing import Any

from lms.reading import messages
from lms.reading.scoring import grade_position_text
from reading_tests.reporting import ScoreReport
from reading_tests.scoring import BANDS, band_name

SKILL_ORDER: tuple[str, ...] = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
OVERALL = "ALL"
SKILL_NAMES_JA: dict[str, str] = dict(messages.SKILL_NAMES_JA)
# Band colours: one light-to-dark blue ramp (no red/green contrast needed to read it), every shade dark
# text on it at a contrast above 4.5:1; the band number and name are always printed as text too.
BAND_COLOURS: dict[int, str] = {1: "#f3f6fb", 2: "#dce8f5", 3: "#bcd4ec", 4: "#93bbe0", 5: "#6fa3d4"}
# The runner sends a heartbeat every 30 s while its page is open (lms/reading/heartbeat.py): two missed beats
# and a margin mean the device is gone; a child reading one passage for minutes keeps beating.
OFFLINE_AFTER = timedelta(seconds=75)
HIST_LOW, HIST_HIGH, HIST_STEP = 200, 800, 50


def skill_name(code: str) -> str:
    """Japanese name of a skill code (the code itself when unknown)."""
    return SKILL_NAMES_JA.get(code, code)


def ordered_skills(codes: Iterable[str]) -> list[str]:
    """Skill codes in the report's column order: the overall first (issue 13: the one score that always
    carries information, visible without scrolling), then the seven skills in DESIGN §5.1 order."""
    present = set(codes)
    known = [s for s in SKILL_ORDER if s in present]
    others = sorted(present - set(SKILL_ORDER) - {OVERALL})
    return ([OVERALL] if OVERALL in present else []) + known + others


# --- input rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentLine:
    """One student of the class: id, 出席番号, name and reading of the name."""

    user_id: int
    shusseki_no: int | None
    name: str
    kana: str = ""


@dataclass(frozen=True)
class EstimateRow:
    """One stored skill estimate (a row of ``skill_estimate``)."""

    student_id: int
    skill: str
    scale_score: int
    band: int
    guessing: bool
    se: float
    n_items: int
    created_at: datetime
    attempt_id: int | None = None


@dataclass(frozen=True)
class ResponseRow:
    """One stored answer of a student to an item."""

    student_id: int
    item_id: str
    answer: tuple[str, ...]
    correct: bool


@dataclass(frozen=True)
class ItemInfo:
    """What the item analysis needs of an item: its skill, options and key."""

    item_id: str
    skill: str
    option_ids: tuple[str, ...]
    key: tuple[str, ...]


# --- heatmap -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One heatmap cell: what the student's latest test report lets us say about a skill (or overall).

    ``score`` is None when the skill number adds nothing beyond the overall score (PRMSE): the cell then
    shows — and, where credible, the relative statement. Every shown score has its 95 % interval."""

    score: int | None
    lower: int | None
    upper: int | None
    band: int | None  # the likeliest band of a shown score (colour); the statement says how sure
    band_text: str | None
    relative_text: str | None
    n_items: int
    se_scale: int | None = None
    grade_text: str | None = None  # overall only: the provisional position within the grade

    @property
    def band_label(self) -> str | None:
        return None if self.band is None else band_name(self.band)

    @property
    def colour(self) -> str:
        return "#ffffff" if self.band is None else BAND_COLOURS.get(self.band, "#ffffff")

    @property
    def interval_text(self) -> str:
        return "" if self.lower is None or self.upper is None else f"{self.lower}〜{self.upper}"

    @property
    def text(self) -> str:
        """Everything the colour says, in words (for screen readers and black-and-white print)."""
        if self.score is None:
            return self.relative_text or "点数なし（問題数が少ないため）"
        return f"{self.score}（95%区間 {self.interval_text}）{self.band_text or ''}"

    @classmethod
    def of_score(cls, score: Mapping[str, Any], n_items: int, relative_text: str | None = None) -> Cell:
        """From a stored ``ScoreReport.to_dict()``."""
        probabilities = list(score["band_probabilities"])
        return cls(
            score=int(score["scale_score"]),
            lower=int(score["lower"]),
            upper=int(score["upper"]),
            band=probabilities.index(max(probabilities)) + 1,
            band_text=str(score["band"]["text_ja"]),
            relative_text=relative_text,
            n_items=n_items,
            se_scale=round(float(score["scale_se"])),
        )


@dataclass
class HeatmapRow:
    student: StudentLine
    cells: dict[str, Cell] = field(default_factory=dict)
    note: str | None = None  # the neutral engagement note of the latest test, for the teacher


@dataclass
class Heatmap:
    skills: list[str]
    rows: list[HeatmapRow]
    notes: list[str] = field(default_factory=list)  # provisional parameters / norms, for the header

    @property
    def flagged_count(self) -> int:
        return sum(1 for row in self.rows if row.note)


def latest_estimates(estimates: Iterable[EstimateRow]) -> dict[tuple[int, str], EstimateRow]:
    """The newest estimate per (student, skill); ties broken by the larger attempt id."""
    latest: dict[tuple[int, str], EstimateRow] = {}
    for row in estimates:
        key = (row.student_id, row.skill)
        old = latest.get(key)
        if old is None or (row.created_at, row.attempt_id or 0) > (old.created_at, old.attempt_id or 0):
            latest[key] = row
    return latest


def _cell(est: EstimateRow, report: Mapping[str, Any] | None) -> Cell:
    if est.skill == OVERALL:
        if report is not None:
            cell = Cell.of_score(report["overall"], int(report.get("n_scored", est.n_items)))
            return replace(cell, grade_text=grade_position_text(report.get("grade_position")))
        theta = (est.scale_score - 500) / 100
        return Cell.of_score(ScoreReport.from_theta(theta, est.se).to_dict(), est.n_items)
    skill = next((s for s in (report or {}).get("skills", []) if s["skill"] == est.skill), None)
    if skill is None:
        return Cell(None, None, None, None, None, None, est.n_items)
    if skill["show_number"] and skill["score"]:
        return Cell.of_score(skill["score"], int(skill["n_items"]), skill["teacher_text_ja"])
    return Cell(None, None, None, None, None, skill["teacher_text_ja"], int(skill["n_items"]))


def heatmap(
    students: Sequence[StudentLine],
    estimates: Iterable[EstimateRow],
    reports: Mapping[int, Mapping[str, Any]] | None = None,
    *,
    skills: Sequence[str] | None = None,
) -> Heatmap:
    """Students (by 出席番号) × skills, each cell from the report of the student's latest test of that skill.

    ``reports`` maps attempt ids to stored reports (`lms.reading.scoring.test_reports`); a cell whose
    attempt has none keeps only what its estimate row supports (the overall score with its interval).
    ``skills`` fixes the columns; by default every skill with at least one estimate, in report order.
    """
    reports = reports or {}
    latest = latest_estimates(estimates)
    columns = list(skills) if skills is not None else ordered_skills(skill for _, skill in latest)
    rows = []
    notes: list[str] = []
    for student in sorted(students, key=lambda s: (s.shusseki_no is None, s.shusseki_no or 0, s.kana)):
        row = HeatmapRow(student)
        for skill in columns:
            est = latest.get((student.user_id, skill))
            if est is not None:
                report = reports.get(est.attempt_id or -1)
                row.cells[skill] = _cell(est, report)
        overall = latest.get((student.user_id, OVERALL))
        report = reports.get(overall.attempt_id or -1) if overall else None
        if report is not None:
            row.note = (
                report["engagement"].get("teacher_note_ja") if report["engagement"]["flagged"] else None
            )
            notes += [n for n in report.get("notes_ja", []) if n not in notes]
        rows.append(row)
    return Heatmap(columns, rows, notes)


# --- class distribution ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Distribution:
    """One skill's class distribution."""

    skill: str
    n: int
    mean: float | None
    sd: float | None
    band_counts: dict[int, int]
    bins: list[tuple[int, int, int]]  # (lower, upper, count); the outer bins are open-ended
    without_number: int = 0  # students with a result but no number in this skill (PRMSE)

    @property
    def name_ja(self) -> str:
        return skill_name(self.skill)

    def summary_ja(self) -> str:
        """One sentence that says what the chart shows."""
        if self.n == 0 and self.without_number:
            return f"{self.name_ja}: 技能ごとの点数を出せるだけの問題数がないため、分布はありません。"
        if self.n == 0:
            return f"{self.name_ja}: まだ結果がありません。"
        bands = "、".join(f"段階{level} {self.band_counts[level]}人" for level in sorted(self.band_counts))
        return f"{self.name_ja}: {self.n}人、平均 {self.mean:.0f}（標準偏差 {self.sd:.0f}）。{bands}。"


def distributions(grid: Heatmap) -> list[Distribution]:
    """Per skill of ``grid``: band counts (likeliest band), a 50-point histogram, mean and SD of the shown
    scores; skills without numbers are counted, not drawn."""
    out = []
    for skill in grid.skills:
        present = [row.cells[skill] for row in grid.rows if skill in row.cells]
        cells = [c for c in present if c.score is not None and c.band is not None]
        scores = [c.score for c in cells if c.score is not None]
        n = len(scores)
        mean = sum(scores) / n if n else None
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / n) if n and mean is not None else None
        band_counts = {b.level: 0 for b in BANDS}
        for c in cells:
            if c.band is not None:
                band_counts[c.band] = band_counts.get(c.band, 0) + 1
        edges = list(range(HIST_LOW, HIST_HIGH + 1, HIST_STEP))
        counts = [0] * (len(edges) - 1)
        for s in scores:
            k = min(max((s - HIST_LOW) // HIST_STEP, 0), len(counts) - 1)
            counts[k] += 1
        bins = [(edges[k], edges[k + 1], counts[k]) for k in range(len(counts))]
        out.append(Distribution(skill, n, mean, sd, band_counts, bins, len(present) - len(cells)))
    return out


def _band_of_score(score: float) -> int:
    for b in BANDS:
        if b.lower <= score < b.upper:
            return b.level
    return BANDS[-1].level


def distribution_svg(dist: Distribution, *, width: int = 300, height: int = 110) -> str:
    """A small histogram (bars coloured by band, outlined for print), with a text title for screen readers."""
    pad_left, pad_bottom, pad_top = 14, 18, 14
    plot_w, plot_h = width - 2 * pad_left, height - pad_bottom - pad_top
    peak = max((count for _, _, count in dist.bins), default=0) or 1
    bar_w = plot_w / max(len(dist.bins), 1)
    title = escape(dist.summary_ja())
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dist" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}">',
        f"<title>{title}</title>",
    ]
    for k, (lower, upper, count) in enumerate(dist.bins):
        x = pad_left + k * bar_w
        if count:
            h = plot_h * count / peak
            y = pad_top + plot_h - h
            colour = BAND_COLOURS[_band_of_score((lower + upper) / 2)]
            label = escape(f"{lower}–{upper - 1}: {count}人")
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{colour}" stroke="#1d2433" stroke-width="0.8"><title>{label}</title></rect>'
            )
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 2:.1f}" font-size="10" text-anchor="middle" '
                f'fill="#1d2433">{count}</text>'
            )
    base = pad_top + plot_h
    parts.append(f'<line x1="{pad_left}" y1="{base}" x2="{width - pad_left}" y2="{base}" stroke="#556070"/>')
    for k, (lower, _upper, _count) in enumerate(dist.bins):
        if lower % 100 == 0:
            x = pad_left + k * bar_w
            parts.append(
                f'<text x="{x:.1f}" y="{height - 4}" font-size="9" text-anchor="middle" '
                f'fill="#1d2433">{lower}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


# --- item analysis (fixed forms) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionRate:
    option_id: str
    rate: float
    count: int
    is_key: bool


@dataclass(frozen=True)
class ItemStat:
    item_id: str
    skill: str
    n: int
    facility: float | None
    options: list[OptionRate]

    @property
    def strongest_distractor(self) -> OptionRate | None:
        """The wrong option chosen most often (what to talk about in class), if any was chosen."""
        wrong = [o for o in self.options if not o.is_key and o.count > 0]
        return max(wrong, key=lambda o: o.count) if wrong else None


def item_analysis(items: Sequence[ItemInfo], responses: Iterable[ResponseRow]) -> list[ItemStat]:
    """Facility and option choice rates per item, in the order of ``items``.

    facility = (number correct) / (number answered); an option's choice rate = (answers that include it) /
    (number answered) — for select-all items the rates of one item can add up to more than 1.
    """
    by_item: dict[str, list[ResponseRow]] = {item.item_id: [] for item in items}
    for response in responses:
        if response.item_id in by_item:
            by_item[response.item_id].append(response)
    stats = []
    for item in items:
        answered = by_item[item.item_id]
        n = len(answered)
        counts = dict.fromkeys(item.option_ids, 0)
        for response in answered:
            for option in set(response.answer):
                if option in counts:
                    counts[option] += 1
        options = [
            OptionRate(option, counts[option] / n if n else 0.0, counts[option], option in item.key)
            for option in item.option_ids
        ]
        facility = sum(r.correct for r in answered) / n if n else None
        stats.append(ItemStat(item.item_id, item.skill, n, facility, options))
    return stats


# --- CSV ---------------------------------------------------------------------------------------------------


def _cell_text(value: str) -> str:
    """Keep spreadsheet programs from running a name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(grid: Heatmap) -> bytes:
    """UTF-8 with BOM, CRLF: 出席番号, 氏名, ふりがな, then per skill the score with its 95 % interval (lower,
    upper), the band statement and the relative statement, and the teacher's note on how the test was
    taken. A skill without a number has empty score columns and, where credible, its statement."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["出席番号", "氏名", "ふりがな"]
    for skill in grid.skills:
        name = skill_name(skill)
        header += [f"{name} スコア", f"{name} 95%下限", f"{name} 95%上限", f"{name} 段階", f"{name} 所見"]
    header += ["学年の中での位置（暫定）", "解答の様子"]
    writer.writerow(header)
    for row in grid.rows:
        line = [
            "" if row.student.shusseki_no is None else str(row.student.shusseki_no),
            _cell_text(row.student.name),
            _cell_text(row.student.kana),
        ]
        for skill in grid.skills:
            cell = row.cells.get(skill)
            if cell is None:
                line += ["", "", "", "", ""]
            else:
                line += [
                    "" if cell.score is None else str(cell.score),
                    "" if cell.lower is None else str(cell.lower),
                    "" if cell.upper is None else str(cell.upper),
                    cell.band_text or "",
                    cell.relative_text or "",
                ]
        overall = row.cells.get(OVERALL)
        line += [overall.grade_text or "" if overall else "", row.note or ""]
        writer.writerow(line)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


# --- live view -------------------------------------------------------------------------------------------

LIVE_LABELS: dict[str, str] = {
    "not_started": "未開始",
    "in_progress": "解答中",
    "offline": "通信が途切れています",
    "finished": "終了",
    "expired": "時間切れ",
    "reset": "リセット済み",
    "not_assigned": "対象外",
}


def live_state(
    *,
    status: str | None,
    last_seen_at: datetime | None,
    now: datetime,
    offline_after: timedelta = OFFLINE_AFTER,
) -> str:
    """A student's state in the live view from the attempt's status and when the server last heard of it.

    ``offline`` = in progress and nothing heard for more than ``offline_after`` (server clock).
    """
    if status is None or status == "created":
        return "not_started"
    if status == "in_progress":
        if last_seen_at is not None and now - last_seen_at > offline_after:
            return "offline"
        return "in_progress"
    if status == "submitted":
        return "finished"
    if status in ("expired", "reset"):
        return status
    return "not_started"


def progress_text(*, state: str, position: int, expected_length: int | None) -> str:
    """「5 / 約12問」 for a student in progress; the state's label otherwise."""
    if state in ("in_progress", "offline"):
        total = f"約{expected_length}問" if expected_length else "?問"
        text = f"{position + 1} / {total}"
        return text if state == "in_progress" else f"{text}（{LIVE_LABELS['offline']}）"
    return LIVE_LABELS.get(state, state)


def count_states(states: Iterable[str]) -> Mapping[str, int]:
    """How many students are in each live state (every state present, zeros included)."""
    counts = dict.fromkeys(("not_started", "in_progress", "offline", "finished", "expired", "reset"), 0)
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return counts
