"""Open data: the published figures as CSV (UTF-8 with BOM, opens in Excel) plus ``metadata.json``.

``reading_scores.csv`` has one row per published cell — every school × grade, school, grade-of-the-city
and city cell of every skill, school year and term — with the stable columns of
:data:`lms.board.present.COLUMNS`; suppressed cells are rows with ``suppressed = 1`` and empty figures
(so a reader sees that the cell exists but is not published).  ``metadata.json`` states the period, the
population, the tested counts, the suppression rule, the rounding, the method, the licence (CC BY 4.0)
and the columns in Japanese and English.  Nothing in either names or identifies a student.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.board.models import BoardFigure
from lms.board.present import COLUMNS, figure_row
from lms.board.service import published_figures
from lms.board.settings import BoardSettings, get_board_settings
from lms.board.suppression import round_count
from lms.core.db import utc_now
from lms.roster.models import Org, User

CSV_NAME = "reading_scores.csv"
METADATA_NAME = "metadata.json"

SUPPRESSION_RULE = {
    "ja": (
        "受検者が{k}人未満の集計区分（学校×学年×スキル×学期、学校計、市の学年計、市全体）は、すべての値を"
        "非公表とします（一次秘匿）。学校×学年の表で、行または列の合計と他の区分から非公表の値を引き算で"
        "求められないよう、さらに別の区分も非公表にします（二次秘匿。線形計画法で復元できないことを確認）。"
        "段階別・当て推量レベルの割合は、{k}人未満に当たる割合を非公表とし、一つだけ非公表にならないよう"
        "次に小さい割合も非公表にします。"
    ),
    "en": (
        "Every figure of a cell (school × grade × skill × term, school total, city grade total, city) with "
        "fewer than {k} students tested is suppressed (primary). In each schools × grades table, further "
        "cells are suppressed so that no suppressed value can be recovered by subtraction from totals and "
        "visible cells (secondary; checked by linear programming). Band and guessing-level shares that "
        "describe fewer than {k} students are suppressed, with a second share when only one would be."
    ),
}
ROUNDING = {
    "ja": "人数は{r}人単位に四捨五入した概数、割合は整数の百分率、平均・標準偏差は整数、標準誤差は小数第1位",
    "en": "Counts rounded to the nearest multiple of {r}; shares in whole percent; means and SDs to whole "
    "points; standard errors to one decimal.",
}
METHOD = {
    "ja": (
        "尺度得点は 500 + 100θ（IRT）。平均・標準偏差・段階別割合は、各児童生徒の事後分布（EAP推定値と"
        "標準誤差による正規近似）を集計区分ごとの母集団分布で条件付けした推算値（plausible values, 5個）から"
        "求め、Rubinの規則で統合しています。EAP推定値を単純に平均・分散すると散らばりを過小評価するためです。"
    ),
    "en": (
        "Scale 500 + 100θ (IRT). Means, SDs and band shares are computed from 5 plausible values per "
        "student drawn from the normal approximation of each posterior (EAP and SE), re-conditioned on the "
        "reporting group's fitted normal population, and combined with Rubin's rules; plain EAP statistics "
        "would understate the spread."
    ),
}


@dataclass(frozen=True)
class ExportReport:
    rows: int
    suppressed: int
    path: Path

    def summary(self) -> str:
        return f"wrote {self.rows} rows ({self.suppressed} suppressed) to {self.path}"


def write_opendata(*, session: Session, out_dir: Path, settings: BoardSettings | None = None) -> ExportReport:
    """Write ``reading_scores.csv`` and ``metadata.json`` into ``out_dir`` (created if needed)."""
    cfg = settings or get_board_settings()
    out_dir.mkdir(parents=True, exist_ok=True)
    schools = {o.id: o for o in session.exec(select(Org).where(Org.type == "school")) if o.id is not None}
    figures = list(published_figures(session=session))
    rows = [
        figure_row(f, schools=schools, city_name=cfg.city_name, count_rounding=cfg.count_rounding)
        for f in figures
    ]
    path = out_dir / CSV_NAME
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[c[0] for c in COLUMNS], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / METADATA_NAME).write_text(
        json.dumps(metadata(session=session, figures=figures, settings=cfg), ensure_ascii=False, indent=2)
        + "\n",
        encoding="utf-8",
    )
    return ExportReport(rows=len(rows), suppressed=sum(r["suppressed"] for r in rows), path=path)


def metadata(*, session: Session, figures: list[BoardFigure], settings: BoardSettings) -> dict[str, Any]:
    """The ``metadata.json`` document."""
    k, r = settings.min_cell_size, settings.count_rounding
    periods = sorted({(f.school_year, f.term) for f in figures})
    tested = []
    for year, term in periods:
        city = next(
            (f for f in figures if f.school_year == year and f.term == term and f.skill == "ALL"
             and f.school_id is None and f.grade == "ALL"),
            None,
        )  # fmt: skip
        if city is not None and not city.hidden:
            tested.append({"school_year": year, "term": term, "n_tested": round_count(city.n, r)})
    students = session.exec(
        select(func.count())
        .select_from(User)
        .where(User.role == "student", User.status == "active", col(User.graduated).is_(False))
    ).one()
    n_schools = session.exec(select(func.count()).select_from(Org).where(Org.type == "school")).one()
    return {
        "title": {
            "ja": f"{settings.city_name} 読解力調査 集計結果",
            "en": f"{settings.city_name} reading comprehension results",
        },
        "publisher": {
            "ja": f"{settings.city_name}教育委員会",
            "en": f"Board of Education of {settings.city_name}",
        },
        "licence": settings.licence,
        "licence_url": "https://creativecommons.org/licenses/by/4.0/deed.ja",
        "generated_at": utc_now().isoformat(timespec="seconds"),
        "period": {
            "from": {"school_year": periods[0][0], "term": periods[0][1]} if periods else None,
            "to": {"school_year": periods[-1][0], "term": periods[-1][1]} if periods else None,
            "terms": {
                "1": "4月〜8月 / April–August",
                "2": "9月〜12月 / September–December",
                "3": "1月〜3月 / January–March",
            },
        },
        "population": {
            "schools": int(n_schools),
            "students_enrolled": round_count(int(students), r),
            "note": {"ja": "在籍児童生徒数（概数）", "en": "students enrolled now (rounded)"},
        },
        "tested_counts": tested,
        "suppression": {
            "min_cell_size": k,
            "rule": {lang: text.format(k=k) for lang, text in SUPPRESSION_RULE.items()},
        },
        "rounding": {"count_rounding": r, **{lang: text.format(r=r) for lang, text in ROUNDING.items()}},
        "method": METHOD,
        "files": {
            CSV_NAME: {
                "encoding": "UTF-8 with BOM",
                "rows": {"ja": "公表区分1つにつき1行", "en": "one row per published cell"},
                "columns": [{"name": key, "ja": ja, "en": en} for key, ja, en in COLUMNS],
            }
        },
    }
