"""Board service: refresh the pre-aggregated cells and published figures; read a dashboard; reference values.

``refresh_aggregates`` (after a test closes, or ``giga board refresh``) rebuilds two small tables from the
students' latest skill estimate per (skill, school year, term):
- ``board_cell`` — additive sums per (school, class, grade, skill, school year, term) (lms.board.aggregates);
- ``board_figure`` — for every *base table* (one skill, school year and term: schools × grades with their
  totals) the figures after suppression (lms.board.suppression).  Every published figure — a school's
  grade, a school's total, the city's grade, the city — is a cell of exactly one base table, so pages and
  open data can never show a cell that its own table hid, and cohort-growth series are read from the
  same cells.
``dashboard_data`` only reads ``board_figure`` (a few hundred rows): no statistics at request time.
Services flush, never commit (the request or ``session_scope`` owns the transaction).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Union, cast

import numpy as np
from sqlalchemy import JSON, Table, delete, insert, literal, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from lms.board import messages as msg
from lms.board.aggregates import (
    GRADES,
    CellSums,
    PopulationEstimate,
    cells_sums,
    condition_on_groups,
    entry_year,
    estimate,
    merge,
    plausible_values,
    school_year_and_term,
    standard_normal_draws,
    term_bounds,
)
from lms.board.models import REFERENCE_SOURCES, BoardCell, BoardFigure, ReferenceValue
from lms.board.settings import BoardSettings, get_board_settings
from lms.board.suppression import suppress_shares, suppress_table
from lms.core.db import utc_now
from lms.core.errors import InvalidInput, NotFound
from lms.ops.locks import xact_lock
from lms.permissions import school_ids
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import Org, SchoolClass, User
from reading_tests.items import SKILLS

if TYPE_CHECKING:
    from lms.board.release_view import ReleaseFigure

ALL = "ALL"
Figure = Union["BoardFigure", "ReleaseFigure"]  # a release's figures read like live ones
SKILL_CODES: tuple[str, ...] = (ALL, *SKILLS)


@dataclass(frozen=True)
class RefreshReport:
    estimates: int
    cells: int
    figures: int
    tables: int

    def summary(self) -> str:
        return (
            f"{self.estimates} estimates → {self.cells} cells, {self.tables} tables, "
            f"{self.figures} published figures"
        )


def _grade_of(grades: str | None) -> str | None:
    for code in (grades or "").replace(" ", "").split(","):
        if code in GRADES:
            return code
    return None


def _latest_estimates(
    session: Session, period: tuple[int, int] | None = None
) -> list[tuple[int, int, int, str, str, int, int, float, float, bool]]:
    """(student, school, class, grade, skill, year, term, θ̂, SE, guessing): the latest per student,
    skill, school year and term, of submitted attempts.  Core rows, not ORM ones; the classes' school and
    grade read once per class (issue 22: a term of a 14,000-pupil city is ~110,000 rows)."""
    query = (
        sa_select(
            col(SkillEstimate.student_id),
            col(SkillEstimate.skill),
            col(SkillEstimate.theta),
            col(SkillEstimate.se),
            col(SkillEstimate.guessing),
            col(Assignment.class_id),
            # the moment only when the rows span terms (a term's rows: its year and term)
            col(Attempt.finished_at) if period is None else literal(None),
        )
        .join(Attempt, col(Attempt.id) == col(SkillEstimate.attempt_id))
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .where(col(Attempt.status) == "submitted", col(Attempt.finished_at).is_not(None))
        .order_by(col(Attempt.finished_at), col(SkillEstimate.id))
    )
    if period is not None:
        start, end = term_bounds(*period)
        query = query.where(col(Attempt.finished_at) >= start, col(Attempt.finished_at) < end)
    connection = session.connection()
    classes = {
        class_id: (school_id, _grade_of(grades))
        for class_id, school_id, grades in connection.execute(
            sa_select(col(SchoolClass.id), col(SchoolClass.school_id), col(SchoolClass.grades))
        )
    }
    latest: dict[tuple[int, str, int, int], tuple[Any, ...]] = {}
    for student, skill, theta, se, guessing, class_id, finished in connection.execute(query).all():
        school_id, grade = classes.get(class_id, (None, None))
        if grade is None or skill not in SKILL_CODES:
            continue
        year, term = period or school_year_and_term(cast(datetime, finished))
        latest[(student, skill, year, term)] = (
            student, school_id, class_id, grade, skill, year, term, float(theta), float(se), bool(guessing)
        )  # fmt: skip
    return list(latest.values())


def refresh_aggregates(
    *, session: Session, settings: BoardSettings | None = None, period: tuple[int, int] | None = None
) -> RefreshReport:
    """Rebuild ``board_cell`` and ``board_figure`` from the skill estimates (see the module docstring).

    ``period`` = (school year, term) rebuilds only that term (its base tables are self-contained): what
    to call when a test closes; None rebuilds everything (``giga board refresh``, a changed setting).
    """
    cfg = settings or get_board_settings()
    m = cfg.plausible_values
    rows = _latest_estimates(session, period)
    cells = _cells(rows, m)
    now = utc_now()
    # Two refreshes at once (two workers, or a worker and `giga board refresh`) would each delete only the
    # rows their snapshot saw and both insert: duplicated figures on PostgreSQL.  One at a time, across
    # processes; the lock ends with this transaction (lms.ops.locks).
    xact_lock(session, "board_refresh")
    if period is None:
        session.execute(delete(BoardCell))
        session.execute(delete(BoardFigure))
    else:
        for table in (BoardCell, BoardFigure):
            session.execute(
                delete(table).where(
                    col(table.school_year) == period[0],
                    col(table.term) == period[1],
                )
            )
    if cells:
        _insert_rows(
            session,
            _table(BoardCell),
            [
                {
                    "school_id": school, "class_id": class_id, "grade": grade,
                    "entry_year": entry_year(year, grade), "skill": skill, "school_year": year, "term": term,
                    "n": s.n, "n_guessing": s.n_guessing, "sum_eap": s.sum_eap, "sumsq_eap": s.sumsq_eap,
                    "sum_se2": s.sum_se2, "pv_sum": s.pv_sum, "pv_sumsq": s.pv_sumsq,
                    "pv_bands": s.pv_bands, "pv_hist": s.pv_hist, "refreshed_at": now,
                }
                for (school, class_id, grade, skill, year, term), s in cells.items()
            ],
        )  # fmt: skip
    figures = publish_figures(cells, m=m, min_cell_size=cfg.min_cell_size, now=now)
    _insert_rows(session, _table(BoardFigure), figures)
    session.flush()
    tables = len({(c[3], c[4], c[5]) for c in cells})
    return RefreshReport(estimates=len(rows), cells=len(cells), figures=len(figures), tables=tables)


def _cells(
    rows: list[tuple[int, int, int, str, str, int, int, float, float, bool]], m: int
) -> dict[tuple[int, int, str, str, int, int], CellSums]:
    """The sums of every (school, class, grade, skill, year, term) cell; the plausible values conditioned on
    each (school, grade, skill, year, term) group.  All groups at once (`condition_on_groups`; issue 22:
    group by group this was most of a term's rebuild); the rows sorted (numpy) by group, class and pupil,
    so each group and each cell is a contiguous slice."""
    if not rows:
        return {}
    columns = list(zip(*rows, strict=True))
    student, school, klass, year, term = (np.array(columns[i], dtype=np.int64) for i in (0, 1, 2, 5, 6))
    grade_index = {code: i for i, code in enumerate(GRADES)}
    skill_index = {code: i for i, code in enumerate(SKILL_CODES)}
    grade = np.array([grade_index[g] for g in columns[3]], dtype=np.int64)
    skill = np.array([skill_index[k] for k in columns[4]], dtype=np.int64)
    order = np.lexsort((student, klass, term, year, skill, grade, school))  # the last key sorts first
    student, school, klass, year, term, grade, skill = (
        a[order] for a in (student, school, klass, year, term, grade, skill)
    )
    eap = np.array(columns[7], dtype=float)[order]
    se = np.array(columns[8], dtype=float)[order]
    guessing = np.array(columns[9], dtype=bool)[order]
    new_group = np.ones(eap.size, dtype=bool)
    new_group[1:] = (
        (np.diff(school) != 0) | (np.diff(grade) != 0) | (np.diff(skill) != 0)
        | (np.diff(year) != 0) | (np.diff(term) != 0)
    )  # fmt: skip
    post_mean, post_sd, _mu, _tau = condition_on_groups(eap, se, np.flatnonzero(new_group))
    keys = ((student * 16 + skill) * 4096 + (year % 4096)) * 4 + term
    pv = plausible_values(post_mean, post_sd, standard_normal_draws(keys, m))
    new_cell = new_group.copy()
    new_cell[1:] |= np.diff(klass) != 0
    starts = np.flatnonzero(new_cell)
    cells: dict[tuple[int, int, str, str, int, int], CellSums] = {}
    for i, cell in zip(starts.tolist(), cells_sums(eap, se, guessing, pv, starts), strict=True):
        where = (int(school[i]), int(klass[i]), GRADES[grade[i]], SKILL_CODES[skill[i]])
        cells[(*where, int(year[i]), int(term[i]))] = cell
    return cells


def _insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys): COPY on PostgreSQL (issue 22: the ORM's bulk insert of a
    term's ~4,000 rows with JSON lists was a fifth of its rebuild), a Core executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}  # None → JSON null, as Core does
    quoted = ", ".join(f'"{name}"' for name in names)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([json.dumps(row[n]) if n in as_json else row[n] for n in names])


def _table(model: type[SQLModel]) -> Table:
    """A model's Core table (Core inserts skip the ORM's per-row bookkeeping)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _figure(
    key: dict[str, Any], sums: CellSums, hidden: bool, min_cell_size: int, now: datetime
) -> dict[str, Any]:
    est: PopulationEstimate | None = None if hidden else estimate(sums)
    row: dict[str, Any] = {
        **key, "n": sums.n, "hidden": hidden or est is None, "mean": None, "se_mean": None, "sd": None,
        "band_shares": None, "guessing_share": None, "hist": None, "min_cell_size": min_cell_size,
        "refreshed_at": now,
    }  # fmt: skip
    if est is not None:
        band_hidden = suppress_shares(est.band_counts, min_cell_size)
        guess_hidden = suppress_shares([est.n_guessing, est.n - est.n_guessing], min_cell_size)
        row.update(
            mean=est.mean,
            se_mean=est.se_mean,
            sd=est.sd,
            band_shares=[None if h else s for s, h in zip(est.band_shares, band_hidden, strict=True)],
            guessing_share=None if guess_hidden[0] else est.guessing_share,
            hist=list(est.hist),
        )
    return row


def publish_figures(
    cells: dict[tuple[int, int, str, str, int, int], CellSums], *, m: int, min_cell_size: int, now: datetime
) -> list[dict[str, Any]]:
    """Suppressed figures of every base table (skill, year, term): schools × grades with totals."""
    tables: dict[tuple[str, int, int], dict[tuple[int, str], list[CellSums]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for (school, _class, grade, skill, year, term), sums in cells.items():
        tables[(skill, year, term)][(school, grade)].append(sums)
    out: list[dict[str, Any]] = []
    for (skill, year, term), parts in sorted(tables.items()):
        schools = sorted({s for s, _g in parts})
        grades = [g for g in GRADES if any(g == gg for _s, gg in parts)]
        merged = {k: merge(v, m) for k, v in parts.items()}
        counts = [[merged[(s, g)].n if (s, g) in merged else 0 for g in grades] for s in schools]
        table = suppress_table(counts, min_cell_size)
        base = {"skill": skill, "school_year": year, "term": term}
        for i, school in enumerate(schools):
            for j, grade in enumerate(grades):
                if (school, grade) in merged:
                    key = {**base, "school_id": school, "grade": grade, "entry_year": entry_year(year, grade)}
                    out.append(
                        _figure(key, merged[(school, grade)], bool(table.hidden[i, j]), min_cell_size, now)
                    )
            row_sum = merge((merged[(school, g)] for g in grades if (school, g) in merged), m)
            key = {**base, "school_id": school, "grade": ALL, "entry_year": None}
            out.append(_figure(key, row_sum, bool(table.hidden[i, -1]), min_cell_size, now))
        for j, grade in enumerate(grades):
            col_sum = merge((merged[(s, grade)] for s in schools if (s, grade) in merged), m)
            key = {**base, "school_id": None, "grade": grade, "entry_year": entry_year(year, grade)}
            out.append(_figure(key, col_sum, bool(table.hidden[-1, j]), min_cell_size, now))
        key = {**base, "school_id": None, "grade": ALL, "entry_year": None}
        out.append(_figure(key, merge(merged.values(), m), table.grand_hidden, min_cell_size, now))
    return out


# --- reading: the dashboard ------------------------------------------------------------------------------


@dataclass
class Filters:
    """What the dashboard shows; every field comes from the URL (shareable)."""

    school_year: int | None = None
    term: int | None = None
    skill: str = ALL
    grade: str = ALL
    school_id: int | None = None  # None: the city
    cohort: int | None = None  # entry year; None: the selected grade's cohort

    @classmethod
    def parse(cls, params: dict[str, str]) -> Filters:
        """Parse URL query values; a value a person typed wrong gives a Japanese 400 message."""

        def number(name: str, label: str) -> int | None:
            value = (params.get(name) or "").strip()
            if value == "":
                return None
            if not value.isdigit():
                raise InvalidInput(msg.FILTER_NOT_A_NUMBER.format(label=label, name=name))
            return int(value)

        skill = (params.get("skill") or ALL).strip()
        if skill not in SKILL_CODES:
            raise InvalidInput(msg.BAD_SKILL_FILTER.format(skills=", ".join(SKILL_CODES)))
        grade = (params.get("grade") or ALL).strip()
        if grade != ALL and grade not in GRADES:
            raise InvalidInput(msg.BAD_GRADE_FILTER)
        term = number("term", "学期")
        if term is not None and term not in (1, 2, 3):
            raise InvalidInput(msg.BAD_TERM_FILTER)
        return cls(
            school_year=number("year", "年度"),
            term=term,
            skill=skill,
            grade=grade,
            school_id=number("school", "学校"),
            cohort=number("cohort", "入学年度"),
        )

    def query(self, **changes: Any) -> str:
        """The URL query string of these filters (with ``changes``)."""
        from urllib.parse import urlencode

        values = {
            "year": self.school_year, "term": self.term, "skill": self.skill, "grade": self.grade,
            "school": self.school_id, "cohort": self.cohort,
        }  # fmt: skip
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v is not None and v != ""})


@dataclass
class Dashboard:
    filters: Filters
    years: list[int]
    terms: list[int]
    grades: list[str]
    schools: list[Org]
    school: Org | None
    min_cell_size: int
    table: list[Figure] = field(default_factory=list)  # the base table's figures
    focus: Figure | None = None  # the selected school (or city) and grade
    city: Figure | None = None  # the city at the selected grade
    comparison: list[Figure] = field(default_factory=list)  # schools at the selected grade
    cohort: int | None = None
    growth: list[tuple[int, int, str, Figure | None, Figure | None]] = field(default_factory=list)
    references: list[ReferenceValue] = field(default_factory=list)
    refreshed_at: datetime | None = None

    def cell(self, school_id: int | None, grade: str) -> Figure | None:
        for f in self.table:
            if f.school_id == school_id and f.grade == grade:
                return f
        return None


def visible_schools(*, session: Session, viewer: User) -> list[Org]:
    """Schools whose aggregates ``viewer`` may see: board and admin all, a school admin their own."""
    query = select(Org).where(Org.type == "school").order_by(col(Org.identifier), col(Org.id))
    schools = list(session.exec(query))
    if viewer.role in ("board", "admin"):
        return schools
    own = school_ids(session, viewer)
    return [s for s in schools if s.id in own]


def dashboard_data(*, session: Session, filters: Filters, viewer: User | None = None) -> Dashboard:
    """Everything the dashboard shows for ``filters`` (reads ``board_figure`` only).

    ``viewer`` None means the city's view (benchmarks, open data); a school admin asking for another
    school gets NotFound, and is shown their own school when none is asked for.
    """
    all_schools = list(session.exec(select(Org).where(Org.type == "school").order_by(col(Org.identifier))))
    schools = all_schools if viewer is None else visible_schools(session=session, viewer=viewer)
    visible_ids = {s.id for s in schools}
    city_allowed = viewer is None or viewer.role in ("board", "admin")
    if filters.school_id is not None and filters.school_id not in visible_ids:
        raise NotFound(msg.SCHOOL_NOT_FOUND)
    if filters.school_id is None and not city_allowed:
        if not schools:
            raise NotFound(msg.OWN_SCHOOL_NOT_FOUND)
        filters.school_id = schools[0].id
    school = next((s for s in schools if s.id == filters.school_id), None)
    periods = sorted(set(session.exec(select(BoardFigure.school_year, BoardFigure.term).distinct()).all()))
    years = sorted({y for y, _t in periods})
    if filters.school_year is None and years:
        filters.school_year = years[-1]
    terms = sorted({t for y, t in periods if y == filters.school_year})
    if filters.term is None and terms:
        filters.term = terms[-1]
    k = get_board_settings().min_cell_size
    board = Dashboard(filters=filters, years=years, terms=terms, grades=[], schools=schools, school=school,
                      min_cell_size=k)  # fmt: skip
    if not periods:
        return board
    table = list(
        session.exec(
            select(BoardFigure).where(
                BoardFigure.skill == filters.skill,
                BoardFigure.school_year == filters.school_year,
                BoardFigure.term == filters.term,
            )
        )
    )
    board.table = [f for f in table if f.school_id is None or f.school_id in visible_ids]
    board.grades = [g for g in GRADES if any(f.grade == g for f in table)]
    board.refreshed_at = max((f.refreshed_at for f in table), default=None)
    board.focus = board.cell(filters.school_id, filters.grade)
    board.city = board.cell(None, filters.grade) if city_allowed or filters.school_id else None
    board.comparison = [f for f in board.table if f.school_id is not None and f.grade == filters.grade]
    board.comparison.sort(key=lambda f: [s.id for s in schools].index(f.school_id))
    # the cohort: given, or the selected grade's
    cohort = filters.cohort
    if cohort is None and filters.grade != ALL and filters.school_year is not None:
        cohort = entry_year(filters.school_year, filters.grade)
    board.cohort = cohort
    if cohort is not None:
        series = list(
            session.exec(
                select(BoardFigure).where(
                    BoardFigure.skill == filters.skill,
                    BoardFigure.entry_year == cohort,
                    or_(
                        col(BoardFigure.school_id).is_(None), col(BoardFigure.school_id) == filters.school_id
                    ),
                )
            )
        )
        points: dict[tuple[int, int, str], list[BoardFigure | None]] = {}
        for f in series:
            slot = points.setdefault((f.school_year, f.term, f.grade), [None, None])
            slot[0 if f.school_id is None else 1] = f
        board.growth = [(y, t, g, v[1], v[0]) for (y, t, g), v in sorted(points.items())]
    if filters.school_year is not None:
        refs = select(ReferenceValue).where(
            ReferenceValue.school_year == filters.school_year, ReferenceValue.skill == filters.skill
        )
        if filters.grade != ALL:
            refs = refs.where(ReferenceValue.grade == filters.grade)
        board.references = list(
            session.exec(refs.order_by(col(ReferenceValue.grade), col(ReferenceValue.id)))
        )
    return board


def add_reference_value(
    *,
    session: Session,
    actor: User,
    source: str,
    label: str,
    school_year: int,
    grade: str,
    skill: str,
    correct_rate_pct: float | None = None,
    mean_scale_score: float | None = None,
    sd: float | None = None,
    share_per_band: dict[str, Any] | None = None,
    note: str | None = None,
) -> ReferenceValue:
    """Store a national / prefectural figure the board entered (validated; flushes).

    The published 平均正答率 is stored as published; a scale score only with the linking study in ``note``.
    """
    if source not in REFERENCE_SOURCES:
        raise InvalidInput(msg.REFERENCE_BAD_SOURCE)
    if grade not in GRADES or skill not in SKILL_CODES:
        raise InvalidInput(msg.REFERENCE_BAD_GRADE_OR_SKILL)
    if correct_rate_pct is None and mean_scale_score is None:
        raise InvalidInput(msg.REFERENCE_NO_PERCENT)
    if correct_rate_pct is not None and not 0 <= correct_rate_pct <= 100:
        raise InvalidInput(msg.REFERENCE_BAD_PERCENT)
    if mean_scale_score is not None and not (note or "").strip():
        raise InvalidInput(msg.REFERENCE_SCALE_NEEDS_LINKING_NOTE)
    if (mean_scale_score is not None and not 0 <= mean_scale_score <= 1000) or (
        sd is not None and not 0 < sd <= 500
    ):
        raise InvalidInput(msg.REFERENCE_BAD_SCALE)
    if not label.strip():
        raise InvalidInput(msg.REFERENCE_NO_NAME)
    value = ReferenceValue(
        source=source, label=label.strip(), school_year=school_year, grade=grade, skill=skill,
        mean_scale_score=mean_scale_score, correct_rate_pct=correct_rate_pct, sd=sd,
        share_per_band=share_per_band, note=note,
        entered_by_id=actor.id,
    )  # fmt: skip
    session.add(value)
    session.flush()
    return value


def published_figures(*, session: Session) -> Iterable[BoardFigure]:
    """Every published figure, ordered (open data)."""
    return session.exec(
        select(BoardFigure).order_by(
            col(BoardFigure.school_year),
            col(BoardFigure.term),
            col(BoardFigure.skill),
            col(BoardFigure.school_id).is_(None),
            col(BoardFigure.school_id),
            col(BoardFigure.grade),
        )
    )
