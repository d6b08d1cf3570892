"""Class report computations: pure functions over plain rows (no database, no web).

The service loads rows (students, skill estimates, responses) with a few bulk queries; everything here is
in-memory arithmetic over them, so the report of a class of 40 with a year of data costs milliseconds.

- `heatmap`: students × skills, the latest estimate of each student in each skill (scale score, band, the
  guessing-level flag), optionally limited to one assignment's attempts.
- `distributions`: per skill, counts per band and a histogram of scale scores (50-point bins), mean and SD.
- `distribution_svg`: a small, accessible SVG of one skill's histogram (bars coloured by band, text title).
- `item_analysis`: for a fixed form, per item the facility (share correct) and the choice rate of every
  option (distractor analysis), with the key marked.
- `report_csv`: the Excel-friendly CSV (UTF-8 with BOM, CRLF) with 出席番号, names and scores.
- `live_state`: a student's state in the live view (not started / in progress / offline / finished).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from lms.reading import messages
from reading_tests.scoring import BANDS, band_name

SKILL_ORDER: tuple[str, ...] = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
OVERALL = "ALL"
SKILL_NAMES_JA: dict[str, str] = dict(messages.SKILL_NAMES_JA)
# Band colours: one light-to-dark blue ramp (no red/green contrast needed to read it), every shade dark
# text on it at a contrast above 4.5:1; the band number and name are always printed as text too.
BAND_COLOURS: dict[int, str] = {1: "#f3f6fb", 2: "#dce8f5", 3: "#bcd4ec", 4: "#93bbe0", 5: "#6fa3d4"}
OFFLINE_AFTER = timedelta(seconds=60)
HIST_LOW, HIST_HIGH, HIST_STEP = 200, 800, 50


def skill_name(code: str) -> str:
    """Japanese name of a skill code (the code itself when unknown)."""
    return SKILL_NAMES_JA.get(code, code)


def ordered_skills(codes: Iterable[str]) -> list[str]:
    """Skill codes in the report's column order: the seven skills in DESIGN §5.1 order, then the overall."""
    present = set(codes)
    known = [s for s in SKILL_ORDER if s in present]
    others = sorted(present - set(SKILL_ORDER) - {OVERALL})
    return known + others + ([OVERALL] if OVERALL in present else [])


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
    """One heatmap cell: the student's latest estimate in a skill."""

    score: int
    band: int
    guessing: bool
    se_scale: int
    n_items: int

    @property
    def band_label(self) -> str:
        return band_name(self.band)

    @property
    def colour(self) -> str:
        return BAND_COLOURS.get(self.band, "#ffffff")

    @property
    def text(self) -> str:
        """Everything the colour says, in words (for screen readers and black-and-white print)."""
        words = f"{self.score}（段階{self.band} {self.band_label}）"
        if self.guessing:
            words += " 当て推量の水準"
        return words


@dataclass
class HeatmapRow:
    student: StudentLine
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass
class Heatmap:
    skills: list[str]
    rows: list[HeatmapRow]

    @property
    def guessing_count(self) -> int:
        return sum(1 for row in self.rows for cell in row.cells.values() if cell.guessing)


def latest_estimates(estimates: Iterable[EstimateRow]) -> dict[tuple[int, str], EstimateRow]:
    """The newest estimate per (student, skill); ties broken by the larger attempt id."""
    latest: dict[tuple[int, str], EstimateRow] = {}
    for row in estimates:
        key = (row.student_id, row.skill)
        old = latest.get(key)
        if old is None or (row.created_at, row.attempt_id or 0) > (old.created_at, old.attempt_id or 0):
            latest[key] = row
    return latest


def heatmap(
    students: Sequence[StudentLine],
    estimates: Iterable[EstimateRow],
    *,
    skills: Sequence[str] | None = None,
) -> Heatmap:
    """Students (by 出席番号) × skills, each cell the student's latest estimate in that skill.

    ``skills`` fixes the columns; by default every skill with at least one estimate, in report order.
    """
    latest = latest_estimates(estimates)
    columns = list(skills) if skills is not None else ordered_skills(skill for _, skill in latest)
    rows = []
    for student in sorted(students, key=lambda s: (s.shusseki_no is None, s.shusseki_no or 0, s.kana)):
        row = HeatmapRow(student)
        for skill in columns:
            est = latest.get((student.user_id, skill))
            if est is not None:
                row.cells[skill] = Cell(
                    score=int(est.scale_score),
                    band=int(est.band),
                    guessing=bool(est.guessing),
                    se_scale=round(100 * est.se),
                    n_items=int(est.n_items),
                )
        rows.append(row)
    return Heatmap(columns, rows)


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
    guessing: int

    @property
    def name_ja(self) -> str:
        return skill_name(self.skill)

    def summary_ja(self) -> str:
        """One sentence that says what the chart shows."""
        if self.n == 0:
            return f"{self.name_ja}: まだ結果がありません。"
        bands = "、".join(f"段階{level} {self.band_counts[level]}人" for level in sorted(self.band_counts))
        return f"{self.name_ja}: {self.n}人、平均 {self.mean:.0f}（標準偏差 {self.sd:.0f}）。{bands}。"


def distributions(grid: Heatmap) -> list[Distribution]:
    """Per skill of ``grid``: band counts, a 50-point histogram, mean, SD and the guessing count."""
    out = []
    for skill in grid.skills:
        cells = [row.cells[skill] for row in grid.rows if skill in row.cells]
        scores = [c.score for c in cells]
        n = len(scores)
        mean = sum(scores) / n if n else None
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / n) if n and mean is not None else None
        band_counts = {b.level: 0 for b in BANDS}
        for c in cells:
            band_counts[c.band] = band_counts.get(c.band, 0) + 1
        edges = list(range(HIST_LOW, HIST_HIGH + 1, HIST_STEP))
        counts = [0] * (len(edges) - 1)
        for s in scores:
            k = min(max((s - HIST_LOW) // HIST_STEP, 0), len(counts) - 1)
            counts[k] += 1
        bins = [(edges[k], edges[k + 1], counts[k]) for k in range(len(counts))]
        out.append(Distribution(skill, n, mean, sd, band_counts, bins, sum(c.guessing for c in cells)))
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
    """UTF-8 with BOM, CRLF: 出席番号, 氏名, ふりがな, then per skill score, band and guessing flag."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["出席番号", "氏名", "ふりがな"]
    for skill in grid.skills:
        name = skill_name(skill)
        header += [f"{name} スコア", f"{name} 段階", f"{name} 当て推量の水準"]
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
                line += ["", "", ""]
            else:
                line += [str(cell.score), str(cell.band), "はい" if cell.guessing else ""]
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
