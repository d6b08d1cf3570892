"""Pseudonymous research export for university partners (issues 6 and 14).

Two modes, both UTF-8 with BOM and CRLF (Excel opens them), both with ``metadata.json`` and
``data_use_note.md``:

- ``research`` (under a data-use agreement): ``scores.csv`` — one row per finished test and skill: student
  pseudonym, group pseudonym, grade, school year, term, skill and the *band range* of the score.  The
  quasi-identifiers are coarsened until every (group, grade, year, term, skill, band range) that appears
  describes at least ``K_ROW`` (5) students: school × grade × year groups under ``min_cell_size`` are merged
  into a group of at least that size (its label looks like any school's, so it reveals no size), and
  adjacent bands are merged where fewer than 5 students share one.  Exact θ, SE, scale scores, item counts
  and guessing flags are not exported: with them a teacher's class report singled out every pupil.
- ``public``: only ``aggregates.csv``, the figures of the board's latest releases (protected by
  lms.board.disclosure; identical to what the board and the open data publish, so nothing can be
  learned by comparing them).

Pseudonyms are ``HMAC-SHA256(key, …)`` with a fresh random key per export that is never stored.  They are
*not* the whole story, and the note says so: a student's rows (terms × skills) together form a profile that
is often unique, so two exports of the same data can be linked by content, and a person who knows a
student's results can find that student's rows.  The export measures how many profiles are unique and
prints the rate in the note (tests/lms/test_research_export.py runs both attacks and checks the note).
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
from lms.board import messages as msg
from lms.board.support_models import ResearchExport
from lms.core.cli import fail, require_current_schema, settings_or_exit
from lms.core.db import engine_for
from lms.core.errors import InvalidInput
from lms.core.jst import JST
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import SchoolClass, User

MIN_PURPOSE_CHARS = 5
K_ROW = 5  # every published combination of quasi-identifiers describes at least this many students
SCORE_COLUMNS = (
    (
        "student",
        "児童生徒の仮名ID（この出力の中だけで一貫）",
        "student pseudonym (stable within this export)",
    ),
    (
        "group",
        "学校の仮名ID（少人数の学年は他校と統合した集団）",
        "school pseudonym (small grades merged with other schools into one group)",
    ),
    ("grade", "学年（P1–P6 小学校、J1–J3 中学校）", "grade (P1–P6 primary, J1–J3 lower secondary)"),
    ("school_year", "年度（4月始まり）", "school year (April–March)"),
    ("term", "学期（1: 4–8月, 2: 9–12月, 3: 1–3月）", "term (1: Apr–Aug, 2: Sep–Dec, 3: Jan–Mar)"),
    ("skill", "技能（ALL は総合）", "reading skill (ALL = overall)"),
    (
        "band",
        "段階（1–5。5人未満の段階は隣と統合し「1-2」などと表記）",
        "band 1–5; bands shared by fewer than 5 students are merged with a neighbour (e.g. 1-2)",
    ),
)
AGGREGATE_COLUMNS = (
    ("school", "学校の仮名ID（CITY は市全体）", "school pseudonym (CITY = the whole city)"),
    ("grade", "学年（ALL は全学年）", "grade (ALL = all grades)"),
    ("school_year", "年度", "school year"),
    ("term", "学期", "term"),
    ("skill", "技能", "skill"),
    ("release", "公表回", "board release the figures come from"),
    (
        "n_students",
        "受検者数（5人単位の概数、非公表は空欄）",
        "students tested (rounded to 5; empty when suppressed)",
    ),
    ("mean_scale_score", "平均スコア", "mean scale score (plausible values)"),
    ("se_mean", "平均の標準誤差", "standard error of the mean"),
    ("sd", "標準偏差", "standard deviation (plausible values)"),
    *((f"band{i}_pct", f"段階{i}の割合(%)", f"share in band {i}, percent") for i in range(1, 6)),
    ("guessing_pct", "取り組み注意の割合(%)", "share at guessing level, percent"),
    ("suppressed", "非公表（1）", "1 when suppressed (small, or hidden so that no small group follows)"),
)
MODES = ("research", "public")


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

    def __call__(self, kind: str, value: int | str) -> str:
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        prefix = {"student": "S", "school": "K", "group": "K"}.get(kind, "X")  # a group reads like a school
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
            f"research export {self.export_id}: {self.rows} rows, {self.students} students, "
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


def coarsen_groups(rows: list[_Row], k: int) -> dict[tuple[int, str, int], tuple[str, ...] | None]:
    """(school, grade, year) → the key of the group it is published in, or None (dropped).

    A school × grade × year of fewer than ``k`` students joins every other such group of the same grade and
    year; if that merged group is still under ``k``, the smallest school of that grade and year joins it
    too.  When the whole city's grade has fewer than ``k`` students it is not exported at all.
    """
    members: dict[tuple[int, str, int], set[int]] = defaultdict(set)
    for r in rows:
        members[(r.school_id, r.grade, r.school_year)].add(r.student_id)
    out: dict[tuple[int, str, int], tuple[str, ...] | None] = {}
    by_grade: dict[tuple[str, int], list[tuple[int, str, int]]] = defaultdict(list)
    for key in members:
        by_grade[(key[1], key[2])].append(key)
    for (grade, year), keys in by_grade.items():
        small = sorted(key for key in keys if len(members[key]) < k)
        large = sorted((key for key in keys if len(members[key]) >= k), key=lambda c: (len(members[c]), c))
        for key in large:
            out[key] = ("school", str(key[0]))
        if not small:
            continue
        merged = list(small)
        while sum(len(members[c]) for c in merged) < k and large:
            merged.append(large.pop(0))
        label: tuple[str, ...] | None = (
            ("group", grade, str(year), *(str(c[0]) for c in sorted(merged)))
            if sum(len(members[c]) for c in merged) >= k
            else None
        )
        for key in merged:
            out[key] = label
    return out


def band_ranges(counts: dict[int, int], k_row: int = K_ROW) -> dict[int, str]:
    """Band → its published range (「3」, 「1-2」 …): adjacent bands merged until each range that is used
    holds at least ``k_row`` students; bands of a group too small for any range map to ""."""
    segments = [[b] for b in range(1, 6)]

    def size(seg: list[int]) -> int:
        return sum(counts.get(b, 0) for b in seg)

    while len(segments) > 1:
        sparse = [i for i, seg in enumerate(segments) if 0 < size(seg) < k_row]
        if not sparse:
            break
        i = min(sparse, key=lambda j: (size(segments[j]), j))
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(segments)]
        j = min(neighbours, key=lambda n: (size(segments[n]) == 0, size(segments[n]), n))
        lo, hi = sorted((i, j))
        segments[lo : hi + 1] = [segments[lo] + segments[hi]]
    out = {}
    for seg in segments:
        text = str(seg[0]) if len(seg) == 1 else f"{seg[0]}-{seg[-1]}"
        for b in seg:
            out[b] = text if size(seg) >= k_row else ""
    return out


def unique_profile_rate(score_rows: list[list[Any]]) -> tuple[int, int]:
    """(students whose rows, pseudonym aside, match no other student's, all students)."""
    profiles: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in score_rows:
        profiles[row[0]].append(tuple(row[1:]))
    counts: dict[tuple[tuple[Any, ...], ...], int] = defaultdict(int)
    keyed = {s: tuple(sorted(rows)) for s, rows in profiles.items()}
    for profile in keyed.values():
        counts[profile] += 1
    return sum(1 for p in keyed.values() if counts[p] == 1), len(keyed)


def _score_rows(rows: list[_Row], pseudonym: Pseudonymizer, k: int) -> tuple[list[list[Any]], int]:
    """The coarsened ``scores.csv`` rows (module docstring) and how many test rows were left out."""
    group_of = coarsen_groups(rows, k)
    band_counts: dict[tuple[Any, ...], dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    kept = []
    for r in rows:
        group = group_of[(r.school_id, r.grade, r.school_year)]
        if group is None:
            continue
        cell = (group, r.grade, r.school_year, r.term, r.skill)
        band_counts[cell][r.band].add(r.student_id)
        kept.append((r, group, cell))
    ranges = {cell: band_ranges({b: len(s) for b, s in per.items()}) for cell, per in band_counts.items()}
    out = []
    for r, group, cell in kept:
        band = ranges[cell][r.band]
        if band == "":
            continue
        label = (
            pseudonym("school", int(group[1]))
            if group[0] == "school"
            else pseudonym("group", "|".join(group))
        )
        out.append([pseudonym("student", r.student_id), label, r.grade, r.school_year, r.term, r.skill, band])
    out.sort()
    return out, len(rows) - len(out)


def _aggregates(session: Session, pseudonym: Pseudonymizer) -> tuple[list[list[Any]], int]:
    """The latest release of every term, school ids replaced by the export's pseudonyms (public figures)."""
    from lms.board.release_view import latest_per_term, release_figures
    from lms.board.service import SKILL_CODES

    out: list[list[Any]] = []
    hidden = 0
    for (_year, _term), release in sorted(latest_per_term(session).items()):
        for skill in SKILL_CODES:
            for f in release_figures(release, skill):
                school = "CITY" if f.school_id is None else pseudonym("school", f.school_id)
                if f.hidden:
                    hidden += 1
                    out.append([school, f.grade, f.school_year, f.term, skill, f.release, *[""] * 10, 1])
                    continue
                bands = list(f.band_shares) if f.band_shares is not None else [None] * 5
                out.append(
                    [school, f.grade, f.school_year, f.term, skill, f.release, f.n, f.mean, f.se_mean, f.sd,
                     *["" if b is None else b for b in bands],
                     "" if f.guessing_share is None else f.guessing_share, 0]
                )  # fmt: skip
    return out, hidden


def data_use_note(meta: dict[str, Any]) -> str:
    """The data-use note that goes with every export (Japanese, with an English summary)."""
    k, k_row = meta["min_cell_size"], meta["k_row"]
    if meta["mode"] == "public":
        body = f"""## この出力の内容（公開モード）
- 教育委員会が公表した集計（公表回ごと、{k}人未満と逆算できる区分は非公表、人数は概数）だけを含みます。
  個人の行はありません。オープンデータと同じ数値です。
"""
        summary = "Public mode: only the board's published (protected) aggregates; no individual rows."
    else:
        unique, students = meta["linkage"]["unique_profiles"], meta["students"]
        pct = meta["linkage"]["unique_pct"]
        body = f"""## 仮名化について（正直な説明）
- 氏名・ユーザー名・OneRoster の sourcedId・データベースの ID は含みません。仮名は、この出力のためだけに
  作って保存しない鍵による HMAC-SHA256 です。
- **ただし、仮名だけでは個人を守れません。** 一人の児童生徒の行（学期 × 技能）の組み合わせは、多くの場合
  その子だけのものです。この出力では {students} 人中 {unique} 人（{pct}%）の組み合わせが
  他の誰とも一致しません。
  そのため、同じデータの別の出力とは内容で結び付けられ（約{pct}%）、子どもの結果を知っている人（例：
  学級の個人票を持つ担任）は、その子の行を見つけられる可能性があります（最大で約{pct}%）。
- 危険を減らすため、準識別子を粗くしています。学校・学年・年度・学期・技能・段階の組み合わせは、どれも
  {k_row}人以上の児童生徒に当てはまります。1校1学年1年度で{k}人未満の集団は、他校と統合した集団
  （ラベルは学校と同じ形式で、人数は分かりません）として出力します。得点は段階（5人未満の段階は隣と統合）
  だけで、θ・標準誤差・得点・問題数・取り組み注意の印は含みません。
- このため、データは**協定に基づく研究にだけ**使えるものです（匿名加工情報ではありません）。
"""
        summary = (
            f"Pseudonymised, not anonymous: {pct}% of students ({unique} of {students}) have a combination "
            f"of rows no other student shares, so exports of the same data can be linked by content and a "
            "person "
            f"who knows a student's results (e.g. a class teacher) may find that student's rows. Quasi-"
            f"identifiers are coarsened so that every combination describes at least {k_row} students; "
            f"grades under {k} students are merged with other schools into unlabeled groups; scores are "
            "bands only. For research under the data-use agreement only."
        )
    return f"""# 研究用データの利用上の注意 / Data-use note

- 作成日時: {meta["created_at"]}
- 目的: {meta["purpose"]}
- 提供先: {meta["recipient"] or "（記載なし）"}
- 出力の種類: {"公開モード（集計のみ）" if meta["mode"] == "public" else "研究モード（仮名化した個票）"}
- 件数: {meta["rows"]} 行、児童生徒 {meta["students"]} 人

{body}
## 許される利用
- 協定書に書かれた研究目的（読解力の伸びの分析など）に限ります。
- 個人の再識別、ほかのデータとの突合による特定、第三者への提供は禁止します。
- 論文・発表では、{k}人未満の集団についての数値を公表しないでください。

## 保管と削除
- アクセスを限定した場所に保管し、協定の終了時（遅くとも作成から1年後）に全ファイルを削除して、削除したことを
  教育委員会に書面で報告してください。

## 文部科学省の留意事項
- 「教育データの利活用に係る留意事項」（文部科学省）に従い、児童生徒の解答・スコアは個人情報として扱い、
  利用目的の明示、必要最小限の項目、安全管理措置、目的外利用の禁止を守ってください。
- 「教育情報セキュリティポリシーに関するガイドライン」の重要性分類では、成績は機微な情報（II）にあたります。

## English summary
{summary} Do not attempt re-identification, do not link with other data, do not pass the data on, do not
publish figures about fewer than {k} students, and delete every file when the agreement ends (at the latest
one year after creation), confirming the deletion in writing.
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
    mode: str = "research",
) -> ExportResult:
    """Write the export to ``out_dir`` and log it (``research.export``; the key is not kept)."""
    purpose = purpose.strip()
    if len(purpose) < MIN_PURPOSE_CHARS:
        raise InvalidInput(msg.PURPOSE_TOO_SHORT.format(min_chars=MIN_PURPOSE_CHARS))
    if mode not in MODES:
        raise InvalidInput(msg.BAD_EXPORT_KIND)
    k = min_cell_size()
    pseudonym = Pseudonymizer(key)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    score_rows: list[list[Any]] = []
    dropped = 0
    if mode == "research":
        score_rows, dropped = _score_rows(_load_rows(session), pseudonym, k)
        _write_csv(out_dir / "scores.csv", [c[0] for c in SCORE_COLUMNS], score_rows)
        files.append("scores.csv")
    aggregate_rows, n_hidden = _aggregates(session, pseudonym)
    _write_csv(out_dir / "aggregates.csv", [c[0] for c in AGGREGATE_COLUMNS], aggregate_rows)
    files.append("aggregates.csv")
    unique, students = unique_profile_rate(score_rows)
    years = sorted({(r[3], r[4]) for r in score_rows} | {(r[2], r[3]) for r in aggregate_rows})
    meta: dict[str, Any] = {
        "title": "読解力テスト 研究用データ / reading-test data for research",
        "mode": mode,
        "created_at": now.astimezone(JST).isoformat(timespec="seconds"),
        "purpose": purpose,
        "recipient": recipient.strip(),
        "rows": len(score_rows) if mode == "research" else len(aggregate_rows),
        "students": students,
        "period": {
            "from": {"school_year": years[0][0], "term": years[0][1]} if years else None,
            "to": {"school_year": years[-1][0], "term": years[-1][1]} if years else None,
        },
        "min_cell_size": k,
        "k_row": K_ROW,
        "linkage": {
            "unique_profiles": unique,
            "unique_pct": round(100 * unique / students) if students else 0,
            "meaning": "students whose rows (pseudonym aside) match no other student's: the share two "
            "exports "
            "of the same data link by content, and the most a person knowing a student's results can find",
        },
        "left_out_rows": dropped,
        "pseudonymisation": "HMAC-SHA256 with a random per-export key that is not stored; pseudonymised, "
        "not anonymous (see linkage)",
        "coarsening": f"every (group, grade, year, term, skill, band) combination describes >= {K_ROW} "
        f"students; school x grade x year groups under {k} merged with other schools into a group of >= {k} "
        "whose label looks like a school's; adjacent bands merged where fewer than 5 students share one",
        "aggregates": "the latest board release of every term (lms.board.disclosure), as published",
        "scale": "bands 1–5 of the scale 500 + 100θ (<350, 350–449, 450–549, 550–649, ≥650)",
        "permitted_use": "research under the partner agreement only; no re-identification, no linkage, "
        "no onward transfer",
        "deletion": "delete all files when the agreement ends, at the latest one year after creation",
        "mext_notes": "文部科学省「教育データの利活用に係る留意事項」; "
        "「教育情報セキュリティポリシーに関するガイドライン」",
        "files": {
            **(
                {"scores.csv": [{"name": c, "ja": ja, "en": en} for c, ja, en in SCORE_COLUMNS]}
                if mode == "research"
                else {}
            ),
            "aggregates.csv": [{"name": c, "ja": ja, "en": en} for c, ja, en in AGGREGATE_COLUMNS],
        },
    }
    (out_dir / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "data_use_note.md").write_text(data_use_note(meta), encoding="utf-8")
    files += ["metadata.json", "data_use_note.md"]
    log = ResearchExport(
        created_by_id=actor.id if actor else None,
        created_at=now,
        purpose=purpose,
        recipient=recipient.strip()[:255],
        rows=meta["rows"],
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
        detail={
            "rows": meta["rows"],
            "students": students,
            "purpose": purpose,
            "recipient": recipient,
            "mode": mode,
            "unique_pct": meta["linkage"]["unique_pct"],
        },
    )
    return ExportResult(out_dir, files, meta["rows"], students, len(aggregate_rows), n_hidden, log.id)


def research_export_command(
    out: Annotated[Path, typer.Option("--out", help="an empty folder to write the export to")],
    purpose: Annotated[
        str, typer.Option(help="the research purpose (goes into the data-use note)")
    ] = "研究協定に基づく読解力の伸びの分析",
    recipient: Annotated[str, typer.Option(help="the university partner")] = "",
    public: Annotated[
        bool, typer.Option("--public", help="only the board's published aggregates (no individual rows)")
    ] = False,
) -> None:
    """Research export for a university partner: coarsened pseudonymous scores (or, with --public, only
    published aggregates), aggregates and an honest data-use note."""
    from lms.core.db import session_scope, utc_now
    from lms.core.errors import DomainError

    settings = settings_or_exit()
    require_current_schema(settings)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fail(f"{out} is not an empty folder; choose a new one so that no older export is mixed in")
    try:
        with session_scope(engine_for(settings)) as session:
            result = export_research(
                session=session, out_dir=out, actor=None, purpose=purpose, recipient=recipient, now=utc_now(),
                mode="public" if public else "research",
            )  # fmt: skip
    except DomainError as error:
        fail(error.message)
    typer.echo(result.summary())
