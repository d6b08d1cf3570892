"""Open data: the figures of the latest release of every term as CSV (UTF-8 with BOM) plus ``metadata.json``.

``reading_scores.csv`` has one row per published group of a release — every school × grade, school,
grade-of-the-city and city of every skill, school year and term — with the columns of
:data:`OPENDATA_COLUMNS`: 全国地方公共団体コード, 地方公共団体名, the release number and its date (JST),
then :data:`lms.board.present.COLUMNS`.  The header row is Japanese (an English key row is optional).
Suppressed groups are rows with ``suppressed = 1`` and empty figures.  Figures are exactly the release's
(protected by lms.board.disclosure, audited when the release was made); nothing here rounds again.
``metadata.json`` states the period, releases, population, the rules, the method, the licence and the
columns in Japanese and English.  Nothing in either names or identifies a student.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.board import messages as msg
from lms.board.present import COLUMNS, figure_row
from lms.board.release_view import ReleaseFigure, latest_per_term, release_figures
from lms.board.service import SKILL_CODES
from lms.board.settings import BoardSettings, get_board_settings
from lms.board.suppression import round_count
from lms.core.db import utc_now
from lms.core.errors import InvalidInput
from lms.roster.models import Org, User

JST = timezone(timedelta(hours=9))
CSV_NAME = "reading_scores.csv"
METADATA_NAME = "metadata.json"

SUPPRESSION_RULE = {
    "ja": (
        "受検者が{k}人未満の集計区分（学校×学年、学校計、市の学年計、市全体）は、すべての値を非公表とします"
        "（一次秘匿）。学校×学年の表の行・列の合計から引き算で{k}人未満の値がわからないよう、さらに別の区分も"
        "非公表にします（二次秘匿）。段階別・取り組み注意の割合は20人以上の区分だけに、5%刻み（必要なら"
        "10%・20%刻み）で公表し、0%・100%は「5%未満」「95%以上」と表します。公表は学期ごとの「公表回」"
        "単位で、一度公表した数値は変えません。前回から{k}人未満しか変わらない区分は前回の値のままです。"
        "公表前に、整数計画法による復元の試み（引き算・割合・分布の組み合わせ）で何も復元できないことを"
        "確認しています。"
    ),
    "en": (
        "Every figure of a group (school × grade, school total, city grade total, city) with fewer than {k} "
        "students tested is suppressed (primary); further groups are suppressed so that no value of fewer "
        "than {k} students follows by subtraction from row and column totals (secondary). Band and "
        "guessing-level shares are published for groups of 20 or more only, in 5 % steps (10 % or 20 % "
        "when needed), never as 0 % or 100 % (「5%未満」 below 5 %, 「95%以上」 above 95 %). Figures are "
        "published in numbered releases per term and never changed; a group whose size changed by fewer "
        "than {k} students keeps its previous figures. Before a release is stored, an integer-programming "
        "attack on all its linked figures must recover nothing."
    ),
}
ROUNDING = {
    "ja": "人数は{r}人単位に四捨五入した概数、割合は5%刻み、平均・標準偏差は整数、標準誤差は小数第1位",
    "en": "Counts rounded to the nearest multiple of {r}; shares in 5 % steps; means and SDs to whole "
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


#: columns only the open data has: who publishes (総務省の全国地方公共団体コード) and which release
OPENDATA_EXTRA: tuple[tuple[str, str, str], ...] = (
    ("city_code", "全国地方公共団体コード", "local government code (6 digits with check digit, MIC)"),
    ("city_name", "地方公共団体名", "local government name"),
    ("release", "公表回", "release number: figures of a release never change"),
    ("release_date", "公表日", "date the release was made (JST, YYYY-MM-DD)"),
)
OPENDATA_COLUMNS = OPENDATA_EXTRA + COLUMNS


def valid_city_code(code: str) -> bool:
    """全国地方公共団体コード: 5 digits and a check digit (weights 6…2, 11 − remainder, last digit)."""
    if len(code) != 6 or not code.isdigit():
        return False
    remainder = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True)) % 11
    return int(code[5]) == (11 - remainder) % 10


@dataclass(frozen=True)
class ExportReport:
    rows: int
    suppressed: int
    path: Path

    def summary(self) -> str:
        return f"wrote {self.rows} rows ({self.suppressed} suppressed) to {self.path}"


def released_figures(session: Session) -> list[ReleaseFigure]:
    """Every figure of the latest release of every term (what open data publishes), ordered."""
    out: list[ReleaseFigure] = []
    for (_year, _term), row in sorted(latest_per_term(session).items()):
        for skill in SKILL_CODES:
            out.extend(release_figures(row, skill))
    return out


def write_opendata(
    *, session: Session, out_dir: Path, settings: BoardSettings | None = None, english_header: bool = False
) -> ExportReport:
    """Write ``reading_scores.csv`` and ``metadata.json`` into ``out_dir`` (created if needed).

    The CSV's header row is Japanese; ``english_header`` adds a second row with the English column keys.
    """
    cfg = settings or get_board_settings()
    if cfg.city_code and not valid_city_code(cfg.city_code):
        raise InvalidInput(msg.BAD_CITY_CODE.format(city_code=cfg.city_code))
    out_dir.mkdir(parents=True, exist_ok=True)
    schools = {o.id: o for o in session.exec(select(Org).where(Org.type == "school")) if o.id is not None}
    figures = released_figures(session)
    rows = [
        {
            "city_code": cfg.city_code, "city_name": cfg.city_name, "release": f.release,
            "release_date": f.refreshed_at.astimezone(JST).date().isoformat(),
            **figure_row(f, schools=schools, city_name=cfg.city_name, count_rounding=cfg.count_rounding),
        }
        for f in figures
    ]  # fmt: skip
    path = out_dir / CSV_NAME
    keys = [c[0] for c in OPENDATA_COLUMNS]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([c[1] for c in OPENDATA_COLUMNS])
        if english_header:
            writer.writerow(keys)
        writer.writerows([[r[k] for k in keys] for r in rows])
    (out_dir / METADATA_NAME).write_text(
        json.dumps(metadata(session=session, figures=figures, settings=cfg), ensure_ascii=False, indent=2)
        + "\n",
        encoding="utf-8",
    )
    return ExportReport(rows=len(rows), suppressed=sum(r["suppressed"] for r in rows), path=path)


def metadata(*, session: Session, figures: list[ReleaseFigure], settings: BoardSettings) -> dict[str, Any]:
    """The ``metadata.json`` document."""
    k, r = settings.min_cell_size, settings.count_rounding
    periods = sorted({(f.school_year, f.term) for f in figures})
    tested = []
    releases = {}
    for year, term in periods:
        city = next(
            (f for f in figures if f.school_year == year and f.term == term and f.skill == "ALL"
             and f.school_id is None and f.grade == "ALL"),
            None,
        )  # fmt: skip
        if city is not None and not city.hidden:
            tested.append({"school_year": year, "term": term, "n_tested": city.n})
        if city is not None:
            releases[f"{year}-{term}"] = {
                "release": city.release,
                "release_date": city.refreshed_at.astimezone(JST).date().isoformat(),
            }
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
        "local_government": {"code": settings.city_code, "name": settings.city_name},
        "generated_at": utc_now().astimezone(JST).isoformat(timespec="seconds"),
        "releases": releases,
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
                "header": {
                    "ja": "1行目は日本語の列名（英語の列名の行は --english-header で追加）",
                    "en": "row 1: Japanese column names (an English row with --english-header)",
                },
                "columns": [{"name": key, "ja": ja, "en": en} for key, ja, en in OPENDATA_COLUMNS],
            }
        },
    }
