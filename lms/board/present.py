"""Published figures as people read them: rounding, "非公表", labels; rows for screen, CSV, JSON, open data.

One function (:func:`figure_row`) turns a ``BoardFigure`` into the published row, so the page, its CSV, the
JSON API and the open data can never disagree, and a hidden figure has no number anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lms.board.aggregates import GRADE_LABELS, TERM_LABELS
from lms.board.models import BoardFigure
from lms.board.release_view import ReleaseFigure
from lms.board.suppression import round_count, round_share
from lms.roster.models import Org
from reading_tests.practice import skill_name

ALL_LABEL = "全学年"
CITY_LABEL = "市全体"
SKILL_LABELS = {"ALL": "読解力（総合）"}


def skill_label(code: str) -> str:
    return SKILL_LABELS.get(code) or skill_name(code)


def grade_label(code: str) -> str:
    return ALL_LABEL if code == "ALL" else GRADE_LABELS.get(code, code)


#: stable open-data columns: (key, 日本語, English description)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("school_year", "年度", "school year (April–March), e.g. 2025 = April 2025 – March 2026"),
    ("term", "学期", "term: 1 = April–August, 2 = September–December, 3 = January–March"),
    ("skill", "スキルコード", "reading skill code (ALL = overall reading score)"),
    ("skill_name_ja", "読解スキル", "reading skill name in Japanese"),
    ("school_code", "学校コード", "MEXT school code (学校コード); empty for the whole city"),
    ("school_name", "学校名", "school name; the city's name for the whole city"),
    ("grade", "学年コード", "grade code P1–P6 (小1–小6), J1–J3 (中1–中3); ALL = all grades"),
    ("grade_name_ja", "学年", "grade in Japanese"),
    ("cohort_entry_year", "入学年度（小1）", "school year the cohort entered grade 1 (empty for all grades)"),
    (
        "suppressed",
        "非公表",
        "1 when the cell is suppressed (fewer than min_cell_size students, or "
        "secondary suppression); then every figure of the row is empty",
    ),
    ("n_tested", "受検者数（概数）", "students tested, rounded to the nearest multiple of count_rounding"),
    ("mean_scale_score", "平均尺度得点", "population mean on the 500 + 100θ scale (plausible values)"),
    ("se_mean", "平均の標準誤差", "standard error of the mean (Rubin's rules over plausible values)"),
    ("ci95_low", "95%信頼区間下限", "mean − 1.96 SE"),
    ("ci95_high", "95%信頼区間上限", "mean + 1.96 SE"),
    ("sd", "標準偏差", "population standard deviation (plausible values)"),
    ("band1_pct", "段階1の割合(%)", "share of students in band 1 (score < 350), percent"),
    ("band2_pct", "段階2の割合(%)", "share in band 2 (350–449), percent"),
    ("band3_pct", "段階3の割合(%)", "share in band 3 (450–549), percent"),
    ("band4_pct", "段階4の割合(%)", "share in band 4 (550–649), percent"),
    ("band5_pct", "段階5の割合(%)", "share in band 5 (650 and above), percent"),
    (
        "guessing_pct",
        "取り組み注意の割合(%)",
        "share of students whose accuracy was not above chance, percent",
    ),
)


@dataclass(frozen=True)
class Published:
    """A figure as published; ``None`` means "not published" (suppressed or no data)."""

    school: str
    grade: str
    hidden: bool
    empty: bool
    n: int | None
    mean: int | None
    se: float | None
    ci_low: int | None
    ci_high: int | None
    sd: int | None
    bands: tuple[int | str | None, ...]  # percent; a release may publish 「5%未満」/「95%以上」
    guessing: int | str | None

    @property
    def n_text(self) -> str:
        if self.empty:
            return "—"
        return "非公表" if self.hidden or self.n is None else f"約{self.n}"


def share_text(value: int | str | None) -> str:
    """A published share as read: 「35%」, 「5%未満」, or 「非公表」."""
    if value is None:
        return "非公表"
    return value if isinstance(value, str) else f"{value}%"


def _from_release(f: ReleaseFigure, school: str) -> Published:
    """A release's figure is final (protected when the release was made): shown as stored."""
    if f.hidden or f.mean is None or f.se_mean is None:
        return Published(school, grade_label(f.grade), True, False, None, None, None, None, None, None,
                         (None,) * 5, None)  # fmt: skip
    return Published(
        school=school, grade=grade_label(f.grade), hidden=False, empty=False, n=f.n, mean=round(f.mean),
        se=f.se_mean, ci_low=None if f.ci_low is None else round(f.ci_low),
        ci_high=None if f.ci_high is None else round(f.ci_high), sd=None if f.sd is None else round(f.sd),
        bands=f.band_shares if f.band_shares is not None else (None,) * 5, guessing=f.guessing_share,
    )  # fmt: skip


def publish(
    f: BoardFigure | ReleaseFigure | None, *, school: str, count_rounding: int, grade: str | None = None
) -> Published:
    """The published form of ``f`` (rounded; nothing of a hidden figure)."""
    if isinstance(f, ReleaseFigure):
        return _from_release(f, school)
    if f is None:
        return Published(school, grade_label(grade or "ALL"), False, True, None, None, None, None, None, None,
                         (None,) * 5, None)  # fmt: skip
    if f.hidden or f.mean is None or f.se_mean is None:
        return Published(school, grade_label(f.grade), True, False, None, None, None, None, None, None,
                         (None,) * 5, None)  # fmt: skip
    shares = f.band_shares or [None] * 5
    return Published(
        school=school,
        grade=grade_label(f.grade),
        hidden=False,
        empty=False,
        n=round_count(f.n, count_rounding),
        mean=round(f.mean),
        se=round(f.se_mean, 1),
        ci_low=round(f.mean - 1.96 * f.se_mean),
        ci_high=round(f.mean + 1.96 * f.se_mean),
        sd=round(f.sd) if f.sd is not None else None,
        bands=tuple(None if s is None else round_share(s) for s in shares),
        guessing=None if f.guessing_share is None else round_share(f.guessing_share),
    )


def figure_row(
    f: BoardFigure | ReleaseFigure, *, schools: dict[int, Org], city_name: str, count_rounding: int
) -> dict[str, Any]:
    """One open-data / CSV row (keys of :data:`COLUMNS`)."""
    org = schools.get(f.school_id) if f.school_id is not None else None
    p = publish(f, school=org.name if org else city_name, count_rounding=count_rounding)
    return {
        "school_year": f.school_year,
        "term": f.term,
        "skill": f.skill,
        "skill_name_ja": skill_label(f.skill),
        "school_code": (org.identifier or "") if org else "",
        "school_name": p.school,
        "grade": f.grade,
        "grade_name_ja": grade_label(f.grade),
        "cohort_entry_year": f.entry_year if f.entry_year is not None else "",
        "suppressed": 1 if p.hidden else 0,
        "n_tested": "" if p.n is None else p.n,
        "mean_scale_score": "" if p.mean is None else p.mean,
        "se_mean": "" if p.se is None else p.se,
        "ci95_low": "" if p.ci_low is None else p.ci_low,
        "ci95_high": "" if p.ci_high is None else p.ci_high,
        "sd": "" if p.sd is None else p.sd,
        **{f"band{i + 1}_pct": "" if v is None else v for i, v in enumerate(p.bands)},
        "guessing_pct": "" if p.guessing is None else p.guessing,
    }


def term_label(term: int) -> str:
    return TERM_LABELS.get(term, str(term))
