"""Pseudonymous research export for university partners (issue 6).

What is written to ``DIR`` (all UTF-8 with BOM, CRLF, so Excel opens them):

- ``scores.csv``: one row per finished test and skill — student pseudonym, school pseudonym, grade, school
  year, term, skill, θ̂ (EAP), SE, scale score, band, guessing flag, number of items.  No names, no
  usernames, no sourcedIds, no database ids, no dates finer than the term.
- ``aggregates.csv``: per school pseudonym × grade × school year × term × skill, the number of students and
  the mean scale score, with the board's suppression rules (cells below ``min_cell_size`` hidden, and a
  second cell hidden where one hidden cell could otherwise be recovered from the city total).
- ``metadata.json`` and ``data_use_note.md``: purpose, permitted use, deletion, the MEXT notes, columns.

Pseudonyms are ``HMAC-SHA256(key, "student:<id>")`` with a fresh random key per export that is never stored
or shown, so they are stable inside one export and cannot be linked across exports or back to a person.
Students of a school × grade × year group smaller than ``min_cell_size`` get the merged school pseudonym
``SMALL`` so that a tiny group cannot be singled out by its school.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from lms.audit.service import record_event
from lms.board.support_models import ResearchExport
from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for
from lms.core.errors import InvalidInput
from lms.core.jst import JST
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import SchoolClass, User

SMALL_SCHOOL = "SMALL"
MIN_PURPOSE_CHARS = 5
SCORE_COLUMNS = (
    (
        "student",
        "児童生徒の仮名ID（この出力の中だけで一貫）",
        "student pseudonym (stable within this export)",
    ),
    (
        "school",
        "学校の仮名ID（小さい集団は SMALL に統合）",
        "school pseudonym (small groups merged into SMALL)",
    ),
    ("grade", "学年（P1–P6 小学校、J1–J3 中学校）", "grade (P1–P6 primary, J1–J3 lower secondary)"),
    ("school_year", "年度（4月始まり）", "school year (April–March)"),
    ("term", "学期（1: 4–8月, 2: 9–12月, 3: 1–3月）", "term (1: Apr–Aug, 2: Sep–Dec, 3: Jan–Mar)"),
    ("skill", "技能（ALL は総合）", "reading skill (ALL = overall)"),
    ("theta", "能力推定値 θ̂（EAP）", "ability estimate θ̂ (EAP)"),
    ("se", "θ̂ の標準誤差（事後標準偏差）", "standard error of θ̂ (posterior SD)"),
    ("scale_score", "スコア（500 + 100θ̂）", "scale score (500 + 100θ̂)"),
    ("band", "段階（1–5）", "band (1–5)"),
    ("guessing", "当て推量の水準（1 = はい）", "guessing level (1 = yes)"),
    ("n_items", "解答した問題数", "number of items answered"),
)
AGGREGATE_COLUMNS = (
    ("school", "学校の仮名ID（CITY は市全体）", "school pseudonym (CITY = the whole city)"),
    ("grade", "学年", "grade"),
    ("school_year", "年度", "school year"),
    ("term", "学期", "term"),
    ("skill", "技能", "skill"),
    (
        "n_students",
        "受検者数（5人単位に丸め、秘匿時は空欄）",
        "students tested (rounded to 5; empty when suppressed)",
    ),
    (
        "mean_scale_score",
        "平均スコア（整数に丸め、秘匿時は空欄）",
        "mean scale score (whole points; empty when suppressed)",
    ),
    ("suppressed", "秘匿（primary: 少人数, secondary: 逆算防止）", "suppression (primary / secondary)"),
)


def min_cell_size() -> int:
    """The board's suppression threshold (``GIGA_BOARD_MIN_CELL_SIZE``)."""
    from lms.board.settings import get_board_settings

    return get_board_settings().min_cell_size


def term_of(moment: datetime) -> tuple[int, int]:
    """(school year, term) of a UTC moment in Japan time: Apr–Aug 1, Sep–Dec 2, Jan–Mar 3."""
    local = moment.astimezone(JST)
    year = local.year if local.month >= 4 else local.year - 1
    term = 1 if 4 <= local.month <= 8 else 2 if local.month >= 9 else 3
    return year, term


class Pseudonymizer:
    """HMAC-SHA256 pseudonyms under a random key that lives only as long as this object."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def __call__(self, kind: str, value: int) -> str:
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        prefix = {"student": "S", "school": "K"}.get(kind, "X")
        return prefix + digest[:16]


@dataclass
class ExportResult:
    out_dir: Path
    files: list[str] = field(default_factory=list)
    rows: int = 0
    students: int = 0
    aggregates: int = 0
    suppressed: int = 0
    export_id: int | None = None

    def summary(self) -> str:
        return (
            f"research export {self.export_id}: {self.rows} score rows, {self.students} students, "
            f"{self.aggregates} aggregate cells ({self.suppressed} suppressed) → {self.out_dir}"
        )


@dataclass(frozen=True)
class _Row:
    student_id: int
    school_id: int
    grade: str
    school_year: int
    term: int
    skill: str
    theta: float
    se: float
    scale_score: int
    band: int
    guessing: bool
    n_items: int


def _load_rows(session: Session) -> list[_Row]:
    query = (
        sa_select(
            col(SkillEstimate.student_id),
            col(SchoolClass.school_id),
            col(SchoolClass.grades),
            col(Attempt.finished_at),
            col(SkillEstimate.created_at),
            col(SkillEstimate.skill),
            col(SkillEstimate.theta),
            col(SkillEstimate.se),
            col(SkillEstimate.scale_score),
            col(SkillEstimate.band),
            col(SkillEstimate.guessing),
            col(SkillEstimate.n_items),
        )
        .join(Attempt, col(SkillEstimate.attempt_id) == col(Attempt.id))
        .join(Assignment, col(Attempt.assignment_id) == col(Assignment.id))
        .join(SchoolClass, col(Assignment.class_id) == col(SchoolClass.id))
        .join(User, col(SkillEstimate.student_id) == col(User.id))
        .where(col(Attempt.status).in_(("submitted", "expired")), col(User.role) == "student")
    )
    rows = []
    for (
        sid,
        school,
        grades,
        finished,
        created,
        skill,
        theta,
        se,
        score,
        band,
        guess,
        n,
    ) in session.connection().execute(query):
        year, term = term_of(finished or created)
        grade = (grades or "").split(",")[0].strip()
        rows.append(
            _Row(
                int(sid),
                int(school),
                grade,
                year,
                term,
                str(skill),
                float(theta),
                float(se),
                int(score),
                int(band),
                bool(guess),
                int(n),
            )
        )
    return rows


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


def _aggregates(rows: list[_Row], school_name: dict[int, str], k: int) -> tuple[list[list[Any]], int]:
    """Mean scale score per school × grade for each (year, term, skill), plus the city row per grade, with the
    board's suppression (`lms.board.suppression.suppress_table`: primary, secondary, audited) and rounding."""
    from lms.board.settings import get_board_settings
    from lms.board.suppression import round_count, suppress_table

    base = get_board_settings().count_rounding
    sums: dict[tuple[str, int, int, str], dict[tuple[str, str], list[float]]] = defaultdict(dict)
    for r in rows:
        table = sums[(r.skill, r.school_year, r.term, "")]
        cell = table.setdefault((school_name[r.school_id], r.grade), [0.0, 0.0])
        cell[0] += 1
        cell[1] += r.scale_score
    out: list[list[Any]] = []
    n_hidden = 0
    for (skill, year, term, _), table in sorted(sums.items()):
        schools = sorted({s for s, _g in table})
        grades = sorted({g for _s, g in table}, key=lambda g: (g[0] != "P", g))
        counts = [[int(table.get((s, g), (0, 0))[0]) for g in grades] for s in schools]
        result = suppress_table(counts, k)
        totals = [[0.0, 0.0] for _ in grades]
        for i, school in enumerate([*schools, "CITY"]):
            for j, grade in enumerate(grades):
                if i < len(schools):
                    n, total = table.get((school, grade), (0.0, 0.0))
                    totals[j][0] += n
                    totals[j][1] += total
                else:
                    n, total = totals[j]
                if n == 0:
                    continue
                if result.hidden[i, j]:
                    n_hidden += 1
                    out.append(
                        [school, grade, year, term, skill, "", "", "primary" if n < k else "secondary"]
                    )
                else:
                    out.append(
                        [school, grade, year, term, skill, round_count(int(n), base), round(total / n), ""]
                    )
    return out, n_hidden


def data_use_note(meta: dict[str, Any]) -> str:
    """The data-use note that goes with every export (Japanese, with an English summary)."""
    return f"""# 研究用データの利用上の注意 / Data-use note

- 作成日時: {meta["created_at"]}
- 目的: {meta["purpose"]}
- 提供先: {meta["recipient"] or "（記載なし）"}
- 件数: {meta["rows"]} 行、仮名の児童生徒 {meta["students"]} 人

## 仮名化について
- 氏名・ユーザー名・OneRoster の sourcedId・データベースの ID は含みません。
- 児童生徒と学校の ID は、この出力のためだけに作った鍵による HMAC-SHA256 の仮名です。鍵は保存していない
  ため、教育委員会も含めて誰も元の個人に戻せず、別の出力の仮名とも結び付けられません。
- 1学年・1学校・1年度で {meta["min_cell_size"]} 人未満の集団は、学校の仮名を `SMALL` に統合しています。
- 集計表（aggregates.csv）は {meta["min_cell_size"]} 人未満のセルを秘匿し、市全体の合計から逆算できない
  よう二次秘匿をしています。

## 許される利用
- 協定書に書かれた研究目的（読解力の伸びの分析など）に限ります。
- 個人の再識別、ほかのデータとの突合による特定、第三者への提供は禁止します。
- 論文・発表では、{meta["min_cell_size"]} 人未満の集団についての数値を公表しないでください。

## 保管と削除
- アクセスを限定した場所に保管し、協定の終了時（遅くとも作成から1年後）に全ファイルを削除して、削除したことを
  教育委員会に書面で報告してください。

## 文部科学省の留意事項
- 「教育データの利活用に係る留意事項」（文部科学省）に従い、児童生徒の解答・スコアは個人情報として扱い、
  利用目的の明示、必要最小限の項目、安全管理措置、目的外利用の禁止を守ってください。
- 「教育情報セキュリティポリシーに関するガイドライン」の重要性分類では、成績は機微な情報（II）にあたります。

## English summary
Pseudonymous reading-test scores for research under the partner agreement only. No names, usernames,
sourcedIds or database ids; pseudonyms are HMAC-SHA256 under a per-export key that was not stored, so they
cannot be linked back to a person or across exports. Do not attempt re-identification, do not link with
other data, do not pass the data on, do not publish figures about fewer than {meta["min_cell_size"]}
students, and delete every file when the agreement ends (at the latest one year after creation),
confirming the deletion in writing.
"""


def export_research(
    *,
    session: Session,
    out_dir: Path,
    actor: User | None,
    purpose: str,
    recipient: str = "",
    now: datetime,
    ip: str | None = None,
    key: bytes | None = None,
) -> ExportResult:
    """Write the pseudonymous export to ``out_dir`` and log it (``research.export``; the key is not kept)."""
    purpose = purpose.strip()
    if len(purpose) < MIN_PURPOSE_CHARS:
        raise InvalidInput(
            f"利用目的を{MIN_PURPOSE_CHARS}文字以上で書いてください（データ利用の注意書きに載ります）。"
        )
    k = min_cell_size()
    pseudonym = Pseudonymizer(key)
    rows = _load_rows(session)
    group_size: dict[tuple[int, str, int], set[int]] = defaultdict(set)
    for r in rows:
        group_size[(r.school_id, r.grade, r.school_year)].add(r.student_id)
    school_name = {r.school_id: pseudonym("school", r.school_id) for r in rows}
    small = {g for g, members in group_size.items() if len(members) < k}
    out_dir.mkdir(parents=True, exist_ok=True)
    score_rows = []
    for r in rows:
        school = SMALL_SCHOOL if (r.school_id, r.grade, r.school_year) in small else school_name[r.school_id]
        score_rows.append(
            [
                pseudonym("student", r.student_id),
                school,
                r.grade,
                r.school_year,
                r.term,
                r.skill,
                round(r.theta, 4),
                round(r.se, 4),
                r.scale_score,
                r.band,
                int(r.guessing),
                r.n_items,
            ]
        )
    score_rows.sort()
    _write_csv(out_dir / "scores.csv", [c[0] for c in SCORE_COLUMNS], score_rows)
    aggregate_rows, n_hidden = _aggregates(rows, school_name, k)
    _write_csv(out_dir / "aggregates.csv", [c[0] for c in AGGREGATE_COLUMNS], aggregate_rows)
    students = len({r.student_id for r in rows})
    years = sorted({(r.school_year, r.term) for r in rows})
    meta: dict[str, Any] = {
        "title": "読解力テスト 研究用仮名化データ / pseudonymous reading-test data for research",
        "created_at": now.astimezone(JST).isoformat(timespec="seconds"),
        "purpose": purpose,
        "recipient": recipient.strip(),
        "rows": len(score_rows),
        "students": students,
        "period": {
            "from": {"school_year": years[0][0], "term": years[0][1]} if years else None,
            "to": {"school_year": years[-1][0], "term": years[-1][1]} if years else None,
        },
        "min_cell_size": k,
        "pseudonymisation": "HMAC-SHA256 with a random per-export key that is not stored",
        "small_groups": f"school × grade × year groups under {k} students use school = {SMALL_SCHOOL}",
        "suppression": f"aggregates.csv: per year × term × skill a schools × grades table with margins; "
        f"cells with 0 < n < {k} hidden (primary), then more so that no hidden cell can be recovered "
        "from totals (secondary, checked by linear programming) — the board's open-data rule",
        "rounding": "scores.csv: theta and se to 4 decimals; aggregates.csv: counts to multiples of "
        "GIGA_BOARD_COUNT_ROUNDING (default 5), means to whole points",
        "scale": "scale score = 500 + 100θ; bands 1–5 (<350, 350–449, 450–549, 550–649, ≥650)",
        "permitted_use": "research under the partner agreement only; no re-identification, no linkage, "
        "no onward transfer",
        "deletion": "delete all files when the agreement ends, at the latest one year after creation",
        "mext_notes": "文部科学省「教育データの利活用に係る留意事項」; "
        "「教育情報セキュリティポリシーに関するガイドライン」",
        "files": {
            "scores.csv": [{"name": c, "ja": ja, "en": en} for c, ja, en in SCORE_COLUMNS],
            "aggregates.csv": [{"name": c, "ja": ja, "en": en} for c, ja, en in AGGREGATE_COLUMNS],
        },
    }
    (out_dir / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "data_use_note.md").write_text(data_use_note(meta), encoding="utf-8")
    files = ["scores.csv", "aggregates.csv", "metadata.json", "data_use_note.md"]
    log = ResearchExport(
        created_by_id=actor.id if actor else None,
        created_at=now,
        purpose=purpose,
        recipient=recipient.strip()[:255],
        rows=len(score_rows),
        students=students,
        min_cell_size=k,
        files=json.dumps(files),
    )
    session.add(log)
    session.flush()
    record_event(
        session=session,
        actor_id=actor.id if actor else None,
        action="research.export",
        target_type="research_export",
        target_id=log.id,
        ip=ip,
        detail={"rows": len(score_rows), "students": students, "purpose": purpose, "recipient": recipient},
    )
    return ExportResult(out_dir, files, len(score_rows), students, len(aggregate_rows), n_hidden, log.id)


def research_export_command(
    out: Annotated[Path, typer.Option("--out", help="an empty folder to write the export to")],
    purpose: Annotated[
        str, typer.Option(help="the research purpose (goes into the data-use note)")
    ] = "研究協定に基づく読解力の伸びの分析",
    recipient: Annotated[str, typer.Option(help="the university partner")] = "",
) -> None:
    """Pseudonymous research export for a university partner (scores, aggregates, data-use note)."""
    from lms.core.db import session_scope, utc_now
    from lms.core.errors import DomainError

    settings = settings_or_exit()
    require_current_schema(settings)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fail(f"{out} is not an empty folder; choose a new one so that no older export is mixed in")
    try:
        with session_scope(engine_for(settings)) as session:
            result = export_research(
                session=session, out_dir=out, actor=None, purpose=purpose, recipient=recipient, now=utc_now()
            )
    except DomainError as error:
        fail(error.message)
    typer.echo(result.summary())
