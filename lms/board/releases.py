"""Releases: the board's figures are made once per term close (or on demand by an admin) and never change.

``make_release`` reads the pupils' latest skill estimates of one term into a :class:`Microdata` frame
(plausible values conditioned on school × grade, as ``refresh_aggregates`` draws them), builds every
published figure through lms.board.disclosure (checked against the previous release of the same term:
a change of fewer than k pupils is withheld), runs the attacker of lms.board.disclosure_audit on the result
and stores it only if the attack finds nothing.  The stored row is immutable and numbered; the audit log
records who made it.  Services flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, replace
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from lms.audit.service import record_event
from lms.board import messages as msg
from lms.board.aggregates import condition_on_group, plausible_values, standard_normal_draws
from lms.board.disclosure import (
    ALL,
    GroupKey,
    Microdata,
    Protection,
    PublishedGroup,
    Release,
    SkillFigures,
    SkillScores,
    as_dict,
    build_release,
    round_to,
)
from lms.board.disclosure_audit import AuditReport, audit_release
from lms.board.release_models import RELEASE_REASONS, BoardRelease
from lms.board.service import SKILL_CODES, _latest_estimates
from lms.board.settings import BoardSettings, get_board_settings
from lms.core.errors import InvalidInput, NotFound
from lms.ops.locks import xact_lock
from lms.roster.models import User


def microdata_from_db(session: Session, school_year: int, term: int, pv_count: int) -> Microdata:
    """The term's pupils who have every skill estimate, with plausible values (module docstring)."""
    rows = _latest_estimates(session, (school_year, term))
    by_student: dict[int, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    for row in rows:
        by_student[row[0]][row[4]] = row
    skills = sorted({r[4] for r in rows}, key=SKILL_CODES.index)
    pupils = sorted(s for s, per_skill in by_student.items() if len(per_skill) == len(skills))
    if not pupils:
        return Microdata(
            school=np.zeros(0, np.int64), grade=np.zeros(0, np.str_), class_id=np.zeros(0, np.int64),
            special_needs=np.zeros(0, bool), skills={}, school_year=school_year, term=term,
        )  # fmt: skip
    first = [by_student[s][skills[0]] for s in pupils]
    school = np.array([r[1] for r in first], dtype=np.int64)
    grade = np.array([r[3] for r in first], dtype=np.str_)
    students = np.array(pupils, dtype=np.int64)
    scores: dict[str, SkillScores] = {}
    for skill in skills:
        per = [by_student[s][skill] for s in pupils]
        eap = np.array([r[7] for r in per])
        se = np.array([r[8] for r in per])
        pv = np.zeros((len(pupils), pv_count))
        keys = ((students * 16 + SKILL_CODES.index(skill)) * 4096 + (school_year % 4096)) * 4 + term
        for cell in {(int(a), str(b)) for a, b in zip(school, grade, strict=True)}:
            idx = np.flatnonzero((school == cell[0]) & (grade == cell[1]))
            post_mean, post_sd, _mu, _tau = condition_on_group(eap[idx], se[idx])
            pv[idx] = plausible_values(post_mean, post_sd, standard_normal_draws(keys[idx], pv_count))
        guessing = np.array([r[9] for r in per], dtype=bool)
        scores[skill] = SkillScores(eap=eap, se=se, guessing=guessing, pv=pv)
    return Microdata(
        school=school, grade=grade, class_id=np.array([r[2] for r in first], dtype=np.int64),
        special_needs=np.zeros(len(pupils), bool), skills=scores, school_year=school_year, term=term,
    )  # fmt: skip


def _key_text(key: GroupKey) -> str:
    return f"{'' if key[0] is None else key[0]}|{key[1]}"


def _key_of(text: str) -> GroupKey:
    school, grade = text.split("|")
    return (int(school) if school else None, grade)


def group_from_dict(data: dict[str, Any]) -> PublishedGroup:
    """The inverse of :func:`lms.board.disclosure.as_dict` (a stored release read back)."""
    figures = {
        skill: SkillFigures(
            mean=f["mean"], se=f["se"], sd=f["sd"], ci_low=f["ci_low"], ci_high=f["ci_high"],
            bands=None if f["bands"] is None else tuple(f["bands"]), guessing=f["guessing"],
            hist=None if f["hist"] is None else tuple((int(a), int(b), float(c)) for a, b, c in f["hist"]),
        )
        for skill, f in data["skills"].items()
    }  # fmt: skip
    return PublishedGroup(key=(data["school"], data["grade"]), hidden=data["hidden"], n=data["n"],
                          figures=figures, held=data.get("held", False))  # fmt: skip


def _as_release(row: BoardRelease) -> Release:
    groups = {g.key: g for g in (group_from_dict(d) for d in row.figures)}
    protection = Protection(**row.protection)
    return Release(
        school_year=row.school_year, term=row.term, protection=protection, cells=[], groups=groups,
        members={}, basis_n={_key_of(k): int(v) for k, v in row.basis.items()}, pv_count=0,
    )  # fmt: skip


#: share steps tried in turn when the audit can still narrow a hidden cell's band or guessing count
#: through the 5 % shares of the groups around it (0: no shares for groups containing a hidden cell)
SHARE_STEPS = (5, 10, 20)


def protect_and_audit(
    frame: Microdata, protection: Protection, previous: Release | None = None
) -> tuple[Release, AuditReport]:
    """The release of ``frame`` and its audit, with shares coarsened until the attacker finds nothing.

    The count rules are safe by construction; shares of linked groups, though, can jointly bound a hidden
    cell's band count to under one pupil (e.g. 「5%未満」 of a city grade minus a school's).  Each retry
    publishes shares in coarser steps (10 %, then 20 %) — a rare case, decided by the audit itself.
    """
    release, report = build_release(frame, protection, previous), AuditReport()
    seconds = 0.0
    for step in SHARE_STEPS:
        if step < protection.share_step:
            continue
        attempt = replace(protection, share_step=step)
        release = build_release(frame, attempt, previous)
        report = audit_release(release, frame, min_cell=protection.min_cell)
        seconds += report.seconds
        if not report.leaks:
            break
    report.seconds = seconds
    return release, report


def make_release(
    *, session: Session, actor: User | None, school_year: int, term: int, reason: str = "admin",
    settings: BoardSettings | None = None, ip: str | None = None,
) -> BoardRelease:  # fmt: skip
    """Build, audit and store the next release of ``school_year``/``term`` (module docstring)."""
    if reason not in RELEASE_REASONS:
        raise InvalidInput(msg.BAD_RELEASE_REASON)
    if term not in (1, 2, 3):
        raise InvalidInput(msg.BAD_TERM_FILTER)
    cfg = settings or get_board_settings()
    xact_lock(session, "board_release")
    frame = microdata_from_db(session, school_year, term, cfg.plausible_values)
    if frame.size == 0:
        raise InvalidInput(msg.NO_RESULTS_FOR_TERM.format(school_year=school_year, term=term))
    protection = Protection(min_cell=cfg.min_cell_size, rounding=cfg.count_rounding)
    last_same_term = session.exec(
        select(BoardRelease)
        .where(BoardRelease.school_year == school_year, BoardRelease.term == term)
        .order_by(col(BoardRelease.number).desc())
    ).first()
    previous = _as_release(last_same_term) if last_same_term is not None else None
    release, report = protect_and_audit(frame, protection, previous)
    if report.leaks:  # pragma: no cover - shares are withheld before this can happen
        raise InvalidInput(msg.RELEASE_CHECK_FAILED.format(count=len(report.leaks)))
    number = int(session.exec(select(func.coalesce(func.max(BoardRelease.number), 0))).one()) + 1
    row = BoardRelease(
        number=number, school_year=school_year, term=term, reason=reason,
        made_by_id=actor.id if actor is not None else None,
        pupils_rounded=round_to(frame.size, protection.rounding),
        protection=asdict(release.protection),
        figures=[as_dict(g) for g in release.published()],
        basis={_key_text(k): v for k, v in release.basis_n.items()},
        audit={"leaks": 0, "lp": report.lp_solved, "ip": report.ip_solved,
               "seconds": round(report.seconds, 3), "share_step": release.protection.share_step},
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_event(
        session=session, actor_id=row.made_by_id, action="board.release", target_type="board_release",
        target_id=row.number, ip=ip, detail={"school_year": school_year, "term": term, "reason": reason},
    )  # fmt: skip
    return row


def list_releases(session: Session) -> list[BoardRelease]:
    return list(session.exec(select(BoardRelease).order_by(col(BoardRelease.number).desc())))


def get_release(session: Session, number: int | None = None) -> BoardRelease:
    """Release ``number``, or the latest one with data (the landing page's default)."""
    query = select(BoardRelease)
    query = (
        query.where(BoardRelease.number == number)
        if number is not None
        else query.where(BoardRelease.pupils_rounded > 0).order_by(col(BoardRelease.number).desc())
    )
    row = session.exec(query).first()
    if row is None:
        raise NotFound(msg.NO_RELEASE_YET if number is None else msg.RELEASE_NOT_FOUND)
    return row


def public_view(row: BoardRelease, *, school_ids: set[int] | None = None) -> dict[str, Any]:
    """What the board's API returns: never ``basis``; ``school_ids`` limits a school admin to their own."""
    figures = [
        f
        for f in row.figures
        if school_ids is None or (f["school"] is not None and f["school"] in school_ids)
    ]
    return {
        "number": row.number, "school_year": row.school_year, "term": row.term, "reason": row.reason,
        "made_at": row.made_at.isoformat(), "pupils": row.pupils_rounded,
        "rules": {"min_cell": row.protection.get("min_cell"), "rounding": row.protection.get("rounding"),
                  "share_min": row.protection.get("share_min"),
                  "share_step": row.protection.get("share_step", 5)},
        "groups": figures, "all_grades_code": ALL,
    }  # fmt: skip


def release_closed_terms(session: Session, *, before: tuple[int, int] | None = None) -> list[BoardRelease]:
    """The first release of every term with results that has none yet (terms before ``before`` only, when
    given: the current term is still open).  The demo seed calls this so that the board's landing page
    opens on a release in a plain ``make run``."""
    periods = sorted({(int(r[5]), int(r[6])) for r in _latest_estimates(session)})
    released = set(session.exec(select(BoardRelease.school_year, BoardRelease.term)).all())
    made = []
    for year, term in periods:
        if (year, term) in released or (before is not None and (year, term) >= before):
            continue
        made.append(make_release(session=session, actor=None, school_year=year, term=term,
                                 reason="term_closed"))  # fmt: skip
    return made
