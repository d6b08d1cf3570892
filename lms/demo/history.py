"""A simulated reading-test history for the demo city, generated through the engine's IRT model.

For four terms over two school years (last year's terms 1–3 and this year's term 1) every student of the
current roster takes a short adaptive-like test in each of the seven skills:

- true ability per student and skill, ``θ = μ_grade + u_school + v_student + w_student,skill + growth``:
  ``μ_grade`` rises 0.35 per grade from −1.4 (小1) with 0.12 growth per term inside a year, the school effect
  ``u ~ N(0, 0.15²)``, a general reading ability ``v ~ N(0, 0.75²)`` and a skill-specific part
  ``w ~ N(0, 0.35²)``, plus individual growth ``g ~ N(0.12, 0.05²)`` per term;
- items: per skill the eight items of the bank with most information near the student's ability (the true θ
  plus N(0, 0.4²) noise, as a CAT's θ̂ would be), answered with ``P(x=1) = reading_tests.irt.prob``;
- scores: EAP θ̂ and posterior SD per skill and overall with the bank's provisional parameters
  (`reading_tests.estimation.eap`), scale ``500 + 100θ̂`` and bands — the same computation as a real
  finished attempt. ``skill_estimate.guessing`` holds the disengagement flag of the honest report (issue
  13: rapid answers or an aberrant pattern); the simulated children answer every item in 30 s and by the
  IRT model, so it is off (the old "accuracy not above chance" rule flagged most careful weak readers).

Students are placed in last year's classes one grade lower (read-only classes of the previous school year,
created here, like the roll-over keeps them); 小1 students have no history, 中1 students took last year's
tests in a 小学校's 6年. Everything is stored through the assessment models with bulk INSERTs, every
assessment's title starts with 「【デモ】」, and the whole run is deterministic for a seed.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import column as sa_column
from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy import table as sa_table
from sqlmodel import Session, col, select

from lms.board.releases import release_closed_terms
from lms.board.term_cache import refresh_changed_terms
from lms.core.jst import JST, school_year_of
from lms.reading.delivery import item_bank
from lms.reading.models import Assessment, Assignment, Attempt, Response, SkillEstimate
from lms.roster.models import AcademicSession, Enrollment, Org, SchoolClass, User
from reading_tests.estimation import eap
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import information, prob
from reading_tests.scoring import band, scale_score

DEMO_PREFIX = "【デモ】"
SOURCED_PREFIX = "demo-history"
SKILLS = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")
ITEMS_PER_SKILL = 8
GRADES = ("P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3")
TERM_DAYS = {1: (6, 15), 2: (11, 10), 3: (2, 10)}  # month, day of each term's test (JST)
GRADE_STEP, GRADE_BASE, TERM_GROWTH = 0.35, -1.4, 0.12
SD_SCHOOL, SD_STUDENT, SD_SKILL, SD_SELECT = 0.15, 0.75, 0.35, 0.4
SKILL_OFFSET = dict(zip(SKILLS, (0.15, 0.0, -0.1, -0.2, 0.05, -0.05, -0.15), strict=True))


@dataclass
class HistoryReport:
    skipped: bool = False
    terms: list[tuple[int, int]] = field(default_factory=list)
    attempts: int = 0
    responses: int = 0
    estimates: int = 0
    past_classes: int = 0
    seconds: float = 0.0
    aggregates: str = ""

    def summary(self) -> str:
        if self.skipped:
            return "demo test history already present: not generated again"
        terms = ", ".join(f"{y}年度{t}学期" for y, t in self.terms)
        return (
            f"demo test history ({terms}): {self.attempts} attempts, {self.responses} answers, "
            f"{self.estimates} skill estimates, {self.past_classes} past-year classes in {self.seconds:.1f} s"
            + (f"; {self.aggregates}" if self.aggregates else "")
        )


@dataclass(frozen=True)
class _Student:
    user_id: int
    grade_index: int  # 0 = P1 … 8 = J3, this school year
    school_id: int
    class_id: int
    section: int


def term_moment(school_year: int, term: int) -> datetime:
    """When the demo test of a term was taken: 10:00 JST on a fixed day of the term."""
    month, day = TERM_DAYS[term]
    year = school_year + 1 if term == 3 else school_year
    return datetime(year, month, day, 10, 0, tzinfo=JST).astimezone(UTC)


def default_terms(school_year: int) -> list[tuple[int, int]]:
    """Last school year's three terms and this year's first term."""
    return [(school_year - 1, 1), (school_year - 1, 2), (school_year - 1, 3), (school_year, 1)]


def _current_year(session: Session, today: date) -> int:
    years = session.exec(select(AcademicSession).where(AcademicSession.is_current)).all()
    if years:
        return max(y.school_year for y in years)
    return school_year_of(today)


def _section(title: str) -> int:
    digits = "".join(ch if ch.isdigit() else " " for ch in title).split()
    return int(digits[-1]) if len(digits) >= 2 else 1


def _students(session: Session) -> list[_Student]:
    rows = session.execute(
        sa_select(
            col(Enrollment.user_id),
            col(SchoolClass.id),
            col(SchoolClass.school_id),
            col(SchoolClass.grades),
            col(SchoolClass.title),
        )
        .join(SchoolClass, col(Enrollment.class_id) == col(SchoolClass.id))
        .join(User, col(Enrollment.user_id) == col(User.id))
        .where(
            col(Enrollment.role) == "student",
            col(Enrollment.status) == "active",
            col(SchoolClass.read_only).is_(False),
            col(SchoolClass.class_type) == "homeroom",
            col(User.role) == "student",
        )
        .order_by(col(Enrollment.user_id))
    ).all()
    seen: set[int] = set()
    out = []
    for user_id, class_id, school_id, grades, title in rows:
        grade = (grades or "").split(",")[0].strip()
        if grade not in GRADES or user_id in seen:
            continue
        seen.add(user_id)
        out.append(
            _Student(int(user_id), GRADES.index(grade), int(school_id), int(class_id), _section(title))
        )
    return out


def _class_title(grade: str, section: int) -> str:
    return f"{int(grade[1:])}年{section}組"


class _PastClasses:
    """Last year's classes (read-only), created on demand, with the students' enrollments."""

    def __init__(self, session: Session, year: int, elementary: list[int]) -> None:
        self.session, self.year, self.elementary = session, year, elementary
        self.ids: dict[tuple[int, str, int], int] = {}
        self.enrollments: list[dict[str, Any]] = []
        self.enrolled: set[tuple[int, int]] = set()
        self.numbers: dict[int, int] = {}
        sid = f"{SOURCED_PREFIX}-year-{year}"
        existing = session.exec(
            select(AcademicSession).where(
                AcademicSession.school_year == year, AcademicSession.type == "schoolYear"
            )
        ).first()
        if existing is None:
            existing = AcademicSession(
                sourced_id=sid,
                title=f"{year}年度",
                type="schoolYear",
                start_date=date(year, 4, 1),
                end_date=date(year + 1, 3, 31),
                school_year=year,
            )
            session.add(existing)
            session.flush()
        self.session_id = existing.id

    def class_for(self, student: _Student) -> tuple[int, str] | None:
        if student.grade_index == 0:
            return None  # 小1: no school last year
        grade = GRADES[student.grade_index - 1]
        school = student.school_id
        if grade == "P6" and GRADES[student.grade_index] == "J1":
            if not self.elementary:
                return None
            school = self.elementary[student.user_id % len(self.elementary)]
        key = (school, grade, student.section)
        if key not in self.ids:
            klass = SchoolClass(
                sourced_id=f"{SOURCED_PREFIX}-class-{school}-{self.year}-{grade}-{student.section}",
                title=_class_title(grade, student.section),
                grades=grade,
                school_id=school,
                academic_session_id=self.session_id,
                read_only=True,
            )
            self.session.add(klass)
            self.session.flush()
            assert klass.id is not None
            self.ids[key] = klass.id
        class_id = self.ids[key]
        if (class_id, student.user_id) in self.enrolled:
            return class_id, grade
        self.enrolled.add((class_id, student.user_id))
        self.numbers[class_id] = self.numbers.get(class_id, 0) + 1
        self.enrollments.append(
            {
                "sourced_id": f"{SOURCED_PREFIX}-enr-{class_id}-{student.user_id}",
                "status": "active",
                "class_id": class_id,
                "user_id": student.user_id,
                "school_id": school,
                "role": "student",
                "primary": True,
                "shusseki_no": self.numbers[class_id],
                "created_at": datetime.now(UTC),
                "updated_at": datetime.now(UTC),
            }
        )
        return class_id, grade


@dataclass
class _Bank:
    ids: list[str]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    skill: np.ndarray
    chance: dict[str, float]
    key: dict[str, list[str]]
    wrong: dict[str, list[str]]


def _bank() -> _Bank:
    items = [i for i in item_bank() if i.irt is not None and i.status == "operational" and i.skill in SKILLS]
    if not items:
        items = [i for i in item_bank() if i.irt is not None and i.skill in SKILLS]
    ids = [i.id for i in items]
    return _Bank(
        ids,
        np.array([i.irt.a for i in items if i.irt]),
        np.array([i.irt.b for i in items if i.irt]),
        np.array([i.irt.c for i in items if i.irt]),
        np.array([i.skill for i in items]),
        {i.id: i.chance_level for i in items},
        {i.id: list(i.key) for i in items},
        {i.id: [next(o for o in i.option_ids if o not in i.key)] for i in items},
    )


def _simulate_term(rng: np.random.Generator, bank: _Bank, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items chosen (students × skills·k, bank indices) and 0/1 answers for true abilities ``theta``."""
    n = theta.shape[0]
    chosen = np.empty((n, len(SKILLS) * ITEMS_PER_SKILL), dtype=np.int64)
    for s, skill in enumerate(SKILLS):
        pool = np.flatnonzero(bank.skill == skill)
        guess = theta[:, s] + rng.normal(0.0, SD_SELECT, n)
        info = information(guess[:, None], bank.a[pool], bank.b[pool], bank.c[pool])
        info = info * rng.uniform(0.7, 1.0, info.shape)  # exposure control: not always the same best items
        top = np.argsort(-info, axis=1)[:, :ITEMS_PER_SKILL]
        chosen[:, s * ITEMS_PER_SKILL : (s + 1) * ITEMS_PER_SKILL] = pool[top]
    skill_col = np.repeat(np.arange(len(SKILLS)), ITEMS_PER_SKILL)
    p = prob(theta[:, skill_col], bank.a[chosen], bank.b[chosen], bank.c[chosen])
    answers = (rng.random(p.shape) < p).astype(np.int64)
    return chosen, answers


def _score(bank: _Bank, chosen: np.ndarray, answers: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """EAP θ̂, SE, n and guessing flag per skill and overall ("ALL") for every simulated student."""
    n = chosen.shape[0]
    rows = np.repeat(np.arange(n), chosen.shape[1])
    data = ResponseData.from_triplets(
        rows, chosen.ravel(), answers.ravel(), [str(i) for i in range(n)], bank.ids
    )
    used = sorted({int(j) for j in np.unique(chosen)})
    used_ids = [bank.ids[j] for j in used]
    data = data.subset_items(used_ids)
    params = ItemParams.create(used_ids, bank.a[used], bank.b[used], bank.c[used], model=["3pl"] * len(used))
    skill_of = {bank.ids[j]: str(bank.skill[j]) for j in used}
    out: dict[str, dict[str, np.ndarray]] = {}
    for skill in (*SKILLS, "ALL"):
        items = used_ids if skill == "ALL" else [i for i in used_ids if skill_of[i] == skill]
        est = eap(data.subset_items(items), params.subset(items))
        out[skill] = {"theta": est.theta, "se": est.se, "n": est.n_items, "guessing": np.zeros(n, dtype=bool)}
    return out


def _plain(value: Any, sqlite: bool) -> Any:
    """A value as the column types would bind it (UTC timestamps, JSON text), without per-row type work."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else utc
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def _bulk(
    session: Session, model: Any, rows: list[dict[str, Any]], *, convert: bool = False, chunk: int = 10000
) -> None:
    """Core INSERTs in chunks through an untyped table construct (≈10× faster than ORM bulk inserts here);
    values must already be plain (see `_plain`) unless ``convert``."""
    if not rows:
        return
    sqlite = session.get_bind().dialect.name == "sqlite"
    names = list(rows[0])
    light = sa_table(model.__tablename__, *[sa_column(name) for name in names])
    connection = session.connection()
    for start in range(0, len(rows), chunk):
        batch = rows[start : start + chunk]
        if convert:
            batch = [{k: _plain(v, sqlite) for k, v in row.items()} for row in batch]
        connection.execute(insert(light), batch)


def seed_history(
    *,
    session: Session,
    seed: int = 2026,
    terms: list[tuple[int, int]] | None = None,
    today: date | None = None,
    refresh: bool = True,
) -> HistoryReport:
    """Generate and store the demo history (skipped when it is already there). Flushes; the caller commits."""
    started = time.perf_counter()
    if session.exec(select(Assessment.id).where(col(Assessment.title).startswith(DEMO_PREFIX))).first():
        return HistoryReport(skipped=True)
    year = _current_year(session, today or date.today())
    terms = terms or default_terms(year)
    students = _students(session)
    report = HistoryReport(terms=list(terms))
    if not students:
        return report
    rng = np.random.default_rng(seed)
    bank = _bank()
    n = len(students)
    schools = sorted({s.school_id for s in students})
    school_effect = dict(zip(schools, rng.normal(0.0, SD_SCHOOL, len(schools)), strict=True))
    general = rng.normal(0.0, SD_STUDENT, n)
    specific = rng.normal(0.0, SD_SKILL, (n, len(SKILLS))) + np.array([SKILL_OFFSET[s] for s in SKILLS])
    growth = rng.normal(TERM_GROWTH, 0.05, n)
    base = np.array([school_effect[s.school_id] for s in students]) + general
    elementary = [
        int(o.id)
        for o in session.exec(select(Org).where(Org.type == "school").order_by(col(Org.id)))
        if o.id is not None and o.identifier and o.identifier.startswith("B")
    ] or [s for s in schools if any(x.school_id == s and x.grade_index < 6 for x in students)]
    past: dict[int, _PastClasses] = {}
    now = datetime.now(UTC)
    for school_year, term in terms:
        moment = term_moment(school_year, term)
        shift = year - school_year
        title = f"{DEMO_PREFIX}読解力テスト {school_year}年度 {term}学期"
        assessment = Assessment(
            title=title,
            kind="cat",
            skills=list(SKILLS),
            min_items=len(SKILLS) * ITEMS_PER_SKILL,
            max_items=len(SKILLS) * ITEMS_PER_SKILL,
            se_target=None,
            created_at=moment,
        )
        session.add(assessment)
        session.flush()
        # who takes it, in which class, at which grade
        takers: list[tuple[int, int, int]] = []  # (student index, class id, grade index then)
        for i, s in enumerate(students):
            if shift == 0:
                takers.append((i, s.class_id, s.grade_index))
                continue
            if shift != 1:
                continue
            if school_year not in past:
                past[school_year] = _PastClasses(session, school_year, elementary)
            placed = past[school_year].class_for(s)
            if placed is not None:
                takers.append((i, placed[0], s.grade_index - 1))
        if not takers:
            continue
        idx = np.array([t[0] for t in takers])
        grade_then = np.array([t[2] for t in takers])
        terms_elapsed = (school_year - (year - 1)) * 3 + (term - 1)
        theta = (
            (GRADE_BASE + GRADE_STEP * grade_then + TERM_GROWTH * (term - 1))[:, None]
            + base[idx, None]
            + specific[idx]
            + (growth[idx] * terms_elapsed)[:, None] * 0.3
        )
        chosen, answers = _simulate_term(rng, bank, theta)
        scores = _score(bank, chosen, answers)
        classes = sorted({t[1] for t in takers})
        assert assessment.id is not None
        assignment_ids: dict[int, int] = {}
        for class_id in classes:
            assignment = Assignment(
                assessment_id=assessment.id,
                class_id=class_id,
                title=title,
                opens_at=moment - timedelta(hours=1),
                closes_at=moment + timedelta(days=14),
                status="closed",
                created_at=moment - timedelta(days=1),
            )
            session.add(assignment)
            session.flush()
            assert assignment.id is not None
            assignment_ids[class_id] = assignment.id
        k = chosen.shape[1]
        _bulk(
            session,
            Attempt,
            [
                {
                    "assignment_id": assignment_ids[cls],
                    "student_id": students[i].user_id,
                    "attempt_no": 1,
                    "status": "submitted",
                    "cat_state": "{}",
                    "prepared_at": moment - timedelta(days=1),
                    "started_at": moment,
                    "deadline_at": None,
                    "finished_at": moment + timedelta(minutes=15),
                    "position": k,
                    "last_seen_at": moment + timedelta(minutes=15),
                    "theta": float(scores["ALL"]["theta"][row]),
                    "se": float(scores["ALL"]["se"][row]),
                    "device_hint": "demo",
                }
                for row, (i, cls, _g) in enumerate(takers)
            ],
            convert=True,
        )
        attempt_of: dict[tuple[int, int], int] = {
            (int(a), int(s)): int(x)
            for x, a, s in session.execute(
                sa_select(col(Attempt.id), col(Attempt.assignment_id), col(Attempt.student_id)).where(
                    col(Attempt.assignment_id).in_(list(assignment_ids.values()))
                )
            )
        }
        attempt_ids = [attempt_of[(assignment_ids[cls], students[i].user_id)] for i, cls, _g in takers]
        sqlite = session.get_bind().dialect.name == "sqlite"
        finished = _plain(moment + timedelta(minutes=15), sqlite)
        at = [_plain(moment + timedelta(seconds=40 * (pos + 1)), sqlite) for pos in range(k)]
        key_json = {i: json.dumps(bank.key[i]) for i in bank.ids}
        wrong_json = {i: json.dumps(bank.wrong[i]) for i in bank.ids}
        answered, estimates = [], []
        for row, attempt_id in enumerate(attempt_ids):
            for pos in range(k):
                item_id = bank.ids[chosen[row, pos]]
                ok = bool(answers[row, pos])
                answered.append(
                    {
                        "attempt_id": attempt_id,
                        "item_id": item_id,
                        "position": pos + 1,
                        "answer": key_json[item_id] if ok else wrong_json[item_id],
                        "correct": ok,
                        "response_time_ms": 30000,
                        "accommodations": "{}",
                        "device_hint": "demo",
                        "client_event_id": f"demo-{attempt_id}-{pos + 1}",
                        "pilot": False,
                        "created_at": at[pos],
                    }
                )
        for skill in (*SKILLS, "ALL"):
            sc = scores[skill]
            points = scale_score(sc["theta"])
            bands = band(points)
            for row, attempt_id in enumerate(attempt_ids):
                estimates.append(
                    {
                        "student_id": students[takers[row][0]].user_id,
                        "attempt_id": attempt_id,
                        "skill": skill,
                        "theta": float(sc["theta"][row]),
                        "se": float(sc["se"][row]),
                        "scale_score": int(points[row]),
                        "band": int(bands[row]),
                        "guessing": bool(sc["guessing"][row]),
                        "n_items": int(sc["n"][row]),
                        "created_at": finished,
                    }
                )
        _bulk(session, Response, answered)
        _bulk(session, SkillEstimate, estimates)
        report.attempts += len(attempt_ids)
        report.responses += len(answered)
        report.estimates += len(estimates)
    for past_classes in past.values():
        _bulk(session, Enrollment, past_classes.enrollments, convert=True)
        report.past_classes += len(past_classes.ids)
    del now
    session.flush()
    if refresh:
        report.aggregates = refresh_board(session)
    report.seconds = time.perf_counter() - started
    return report


def refresh_board(session: Session) -> str:
    """Run the board's ``refresh_aggregates`` so the demo city's dashboard shows the generated year, then
    release every closed term (issue 14: the board reads releases)."""
    result = refresh_changed_terms(session=session).summary()
    releases = len(release_closed_terms(session))
    return f"board aggregates refreshed ({result}); {releases} releases made"


def count_by_term(session: Session) -> dict[str, int]:
    """Attempts per demo assessment title (for tests and the seed's summary)."""
    counts: dict[str, int] = defaultdict(int)
    for (title,) in session.execute(
        sa_select(col(Assessment.title))
        .join(Assignment, col(Assignment.assessment_id) == col(Assessment.id))
        .join(Attempt, col(Attempt.assignment_id) == col(Assignment.id))
        .where(col(Assessment.title).startswith(DEMO_PREFIX))
    ):
        counts[str(title)] += 1
    return dict(counts)
