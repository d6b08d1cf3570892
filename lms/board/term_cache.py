"""Incremental board refresh: a term's aggregates are computed once and reused until their inputs change.

``refresh_aggregates`` of a 5-year city rebuilds every term (minutes); a closed term's figures do not change
unless something reaches back into it.  :func:`refresh_changed_terms` reads one *fingerprint* per term in one
grouped query — per class of the term's submitted attempts: the class's school and grades, the count, the
largest and the sum of the skill-estimate ids, plus the board settings that shape the figures — and rebuilds
(``refresh_aggregates(period=…)``, the same code as a full rebuild) only the terms whose fingerprint differs
from the one stored in ``board_term_state``.  What invalidates a term:

- a late answer (a submitted attempt finished in that term: a new estimate id), an attempt voided or deleted;
- a roster correction of a class that has results in that term (its school or its grades);
- another ``GIGA_BOARD_*`` setting (plausible values, minimum cell size).

The fingerprint is read *before* the rebuild, under the ``board_refresh`` lock: an answer arriving between the
two makes the stored fingerprint older than the figures, so the next refresh rebuilds that term once more
(never the reverse).  Releases (lms.board.releases) are not cached: a release reads its term's pupils and
builds and audits all its tables together, as before.  Services flush, never commit.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, case, delete, func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from lms.board.models import BoardCell, BoardFigure, BoardTermState
from lms.board.service import refresh_aggregates
from lms.board.settings import BoardSettings, get_board_settings
from lms.core.db import utc_now
from lms.core.jst import school_year_and_term, term_bounds
from lms.ops.locks import xact_lock
from lms.reading.models import Assignment, Attempt, SkillEstimate
from lms.roster.models import SchoolClass

#: bump when the stored figures' meaning changes (a new column, another estimator): every term is rebuilt
FORMAT = 1

Term = tuple[int, int]


@dataclass
class TermRefreshReport:
    """What an incremental refresh did; ``estimates``/``cells``/``figures``/``tables`` count rebuilt terms."""

    estimates: int = 0
    cells: int = 0
    figures: int = 0
    tables: int = 0
    rebuilt: list[Term] = field(default_factory=list)
    reused: list[Term] = field(default_factory=list)
    removed: list[Term] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.rebuilt)} terms rebuilt, {len(self.reused)} reused, {len(self.removed)} removed: "
            f"{self.estimates} estimates → {self.cells} cells, {self.tables} tables, "
            f"{self.figures} published figures"
        )


def _terms_between(first: Term, last: Term) -> list[Term]:
    terms, (year, term) = [], first
    while (year, term) <= last:
        terms.append((year, term))
        year, term = (year, term + 1) if term < 3 else (year + 1, 1)
    return terms


def term_fingerprints(session: Session, settings: BoardSettings) -> dict[Term, str]:
    """The fingerprint of every term with submitted attempts (module docstring); two queries."""
    finished = col(Attempt.finished_at)
    submitted = and_(col(Attempt.status) == "submitted", finished.is_not(None))
    low, high = session.execute(sa_select(func.min(finished), func.max(finished)).where(submitted)).one()
    if low is None or high is None:
        return {}
    terms = _terms_between(school_year_and_term(low), school_year_and_term(high))
    bounds = [term_bounds(*t) for t in terms]
    term_index = case(
        *[(and_(finished >= start, finished < end), i) for i, (start, end) in enumerate(bounds)], else_=-1
    )
    query = (
        sa_select(
            term_index,
            col(SchoolClass.id),
            col(SchoolClass.school_id),
            col(SchoolClass.grades),
            func.count(col(SkillEstimate.id)),
            func.max(col(SkillEstimate.id)),
            func.sum(col(SkillEstimate.id)),
        )
        .join(Attempt, col(Attempt.id) == col(SkillEstimate.attempt_id))
        .join(Assignment, col(Assignment.id) == col(Attempt.assignment_id))
        .join(SchoolClass, col(SchoolClass.id) == col(Assignment.class_id))
        .where(submitted)
        # by position: the CASE's bound values would otherwise be two different parameters on PostgreSQL
        .group_by(text("1"), text("2"), text("3"), text("4"))
    )
    per_term: dict[int, list[tuple[object, ...]]] = defaultdict(list)
    for index, *rest in session.execute(query):
        if index >= 0:
            per_term[int(index)].append(tuple(rest))
    head = f"{FORMAT}|{settings.plausible_values}|{settings.min_cell_size}"
    prints = {}
    for index, rows in per_term.items():
        digest = hashlib.sha256(head.encode())
        for row in sorted(rows, key=lambda r: int(r[0])):  # type: ignore[call-overload]
            digest.update(repr(row).encode())
        prints[terms[index]] = digest.hexdigest()
    return prints


def refresh_changed_terms(
    *, session: Session, settings: BoardSettings | None = None, full: bool = False
) -> TermRefreshReport:
    """Rebuild the board aggregates of the terms whose fingerprint changed (all of them when ``full``),
    drop those of terms with no results left, and store the new fingerprints."""
    cfg = settings or get_board_settings()
    xact_lock(session, "board_refresh")
    prints = term_fingerprints(session, cfg)
    stored = {(s.school_year, s.term): s for s in session.exec(select(BoardTermState))}
    report = TermRefreshReport()
    if full:
        for table in (BoardCell, BoardFigure, BoardTermState):
            session.execute(delete(table))
        stored = {}
    for gone in sorted(set(stored) - set(prints)):
        for table in (BoardCell, BoardFigure, BoardTermState):
            session.execute(
                delete(table).where(col(table.school_year) == gone[0], col(table.term) == gone[1])
            )
        report.removed.append(gone)
    now = utc_now()
    for period, fingerprint in sorted(prints.items()):
        state = stored.get(period)
        if state is not None and state.fingerprint == fingerprint:
            report.reused.append(period)
            continue
        done = refresh_aggregates(session=session, settings=cfg, period=period)
        report.estimates += done.estimates
        report.cells += done.cells
        report.figures += done.figures
        report.tables += done.tables
        report.rebuilt.append(period)
        if state is None:
            state = BoardTermState(school_year=period[0], term=period[1], fingerprint=fingerprint)
        state.fingerprint, state.refreshed_at = fingerprint, now
        session.add(state)
    session.flush()
    return report
