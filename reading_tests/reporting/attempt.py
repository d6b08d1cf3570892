"""One entry point for the LMS: the honest report of one test attempt, and growth between two attempts.

``report_attempt`` turns the answered items of a test (3PL parameters, skill, 0/1, seconds) into:

* the overall score: EAP θ̂ under N(0, 1) on an 81-point grid (the scoring of
  :func:`reading_tests.estimation.eap`), rapid guesses left out (effort-moderated), with its 95 %
  interval, a child range and band probabilities (:mod:`~reading_tests.reporting.intervals`);
* its position within the student's grade when norms are given (:mod:`~reading_tests.reporting.norms`);
* per skill: the PRMSE comparison (:mod:`~reading_tests.reporting.skills`); a number (the higher-order
  augmented score with its interval) only where the skill adds value, otherwise a relative
  strength/weakness statement only where the 95 % interval of δ_s excludes 0;
* disengagement evidence with a neutral teacher note (:mod:`~reading_tests.reporting.engagement`).

Practice sets must not be passed here: their record is separate and never changes test results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from reading_tests.errors import InvalidInput
from reading_tests.irt import prob
from reading_tests.practice import skill_name
from reading_tests.reporting.engagement import Engagement, assess_engagement, rapid_thresholds
from reading_tests.reporting.growth import GrowthReport, growth
from reading_tests.reporting.intervals import ScoreReport
from reading_tests.reporting.norms import GradeNorms, GradePosition
from reading_tests.reporting.skills import (
    DEFAULT_SKILL_CORRELATION,
    AddedValue,
    SkillItems,
    added_value,
    skill_posteriors,
)
from reading_tests.scoring import SCALE_SD

_EAP_GRID = np.linspace(-4.0, 4.0, 81)
Relative = Literal["stronger", "weaker"]


@dataclass(frozen=True)
class AnsweredItem:
    """One answered test item.

    Attributes
    ----------
    item_id, skill : str
    a, b, c : float
        3PL parameters (c = 0 for 1PL/2PL).
    correct : bool
    seconds : float or None
        Response time; None when unknown.
    mean_seconds : float or None
        The item's mean response time in the calibration population (for the rapid-guess threshold).
    """

    item_id: str
    skill: str
    a: float
    b: float
    c: float
    correct: bool
    seconds: float | None = None
    mean_seconds: float | None = None


@dataclass(frozen=True)
class SkillReport:
    """What may be said about one skill.

    ``score`` is set only when ``added_value.adds_value``; otherwise ``relative`` (with the interval of
    the difference from the general level, in scale points) is set only when that interval excludes 0.
    """

    skill: str
    name_ja: str
    n_items: int
    added_value: AddedValue
    score: ScoreReport | None
    delta: float
    delta_lower: float
    delta_upper: float
    relative: Relative | None
    teacher_text_ja: str | None
    child_text_ja: str | None

    @property
    def show_number(self) -> bool:
        return self.score is not None

    def to_dict(self) -> dict[str, Any]:
        av = self.added_value
        return {
            "skill": self.skill,
            "name_ja": self.name_ja,
            "n_items": self.n_items,
            "show_number": self.show_number,
            "prmse_skill": round(av.prmse_skill, 3),
            "prmse_overall": round(av.prmse_overall, 3),
            "prmse_augmented": round(av.prmse_augmented, 3),
            "score": None if self.score is None else self.score.to_dict(),
            "delta": round(self.delta, 1),
            "delta_lower": round(self.delta_lower, 1),
            "delta_upper": round(self.delta_upper, 1),
            "relative": self.relative,
            "teacher_text_ja": self.teacher_text_ja,
            "child_text_ja": self.child_text_ja,
        }


NO_SKILL_NUMBER_JA = (
    "技能ごとの点数は出していません。問題数が少なく、技能ごとの点数は全体の点数以上のことを"
    "正確には伝えられないためです。"
)


@dataclass(frozen=True)
class AttemptReport:
    """The honest report of one test attempt (JSON via :meth:`to_dict`)."""

    overall: ScoreReport
    grade_position: GradePosition | None
    skills: tuple[SkillReport, ...]
    engagement: Engagement
    n_items: int
    n_scored: int
    provisional: bool
    skills_note_ja: str | None
    notes_ja: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "grade_position": None if self.grade_position is None else self.grade_position.to_dict(),
            "skills": [s.to_dict() for s in self.skills],
            "engagement": self.engagement.to_dict(),
            "n_items": self.n_items,
            "n_scored": self.n_scored,
            "provisional": self.provisional,
            "skills_note_ja": self.skills_note_ja,
            "notes_ja": list(self.notes_ja),
        }


def eap_overall(items: Sequence[AnsweredItem]) -> tuple[float, float]:
    """Unidimensional EAP θ̂ and posterior SD under N(0, 1) on an 81-point grid over [−4, 4]."""
    log_post = -0.5 * _EAP_GRID**2
    if items:
        a, b, c = (np.array([getattr(i, k) for i in items], dtype=float) for k in "abc")
        x = np.array([1.0 if i.correct else 0.0 for i in items])
        p = np.clip(prob(_EAP_GRID[:, None], a, b, c), 1e-12, 1 - 1e-12)
        log_post = log_post + (x * np.log(p) + (1 - x) * np.log1p(-p)).sum(axis=1)
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = float(w @ _EAP_GRID)
    return mean, math.sqrt(max(float(w @ _EAP_GRID**2) - mean**2, 0.0))


def _validate(answers: Sequence[AnsweredItem]) -> None:
    if not answers:
        raise InvalidInput("a report needs at least one answered item")
    seen: set[str] = set()
    for item in answers:
        if item.item_id in seen:
            raise InvalidInput(f"item '{item.item_id}' is answered twice in one attempt")
        seen.add(item.item_id)
        if not (math.isfinite(item.a) and item.a > 0 and math.isfinite(item.b) and 0 <= item.c < 1):
            raise InvalidInput(f"item '{item.item_id}' has invalid 3PL parameters")
        if item.seconds is not None and not (math.isfinite(item.seconds) and item.seconds >= 0):
            raise InvalidInput(f"item '{item.item_id}' has an invalid response time {item.seconds!r}")


def _skill_texts(name: str, relative: Relative | None, lo: float, hi: float) -> tuple[str | None, str | None]:
    if relative is None:
        return None, None
    if relative == "stronger":
        teacher = f"{name}: 全体の力から見込まれるより高い（差の95%区間 {lo:+.0f}〜{hi:+.0f} 点）。"
        return teacher, f"「{name}」は、ほかの力とくらべて とくいなようです。"
    teacher = f"{name}: 全体の力から見込まれるより低い（差の95%区間 {lo:+.0f}〜{hi:+.0f} 点）。"
    return teacher, f"「{name}」は、これから のびそうな力です。"


def report_attempt(
    answers: Sequence[AnsweredItem],
    *,
    grade: int | None = None,
    norms: GradeNorms | None = None,
    skill_correlation: float = DEFAULT_SKILL_CORRELATION,
    prmse_margin: float = 0.0,
    provisional: bool = True,
    effort_moderated: bool = True,
) -> AttemptReport:
    """The honest report of one test attempt (see the module docstring).

    Parameters
    ----------
    answers : sequence of AnsweredItem
        The attempt's scored items in order (pilot items excluded).
    grade : int, optional
        School year 1–9, for the grade position.
    norms : GradeNorms, optional
    skill_correlation : float
        ρ between skills in the higher-order model (provisional default 0.8).
    prmse_margin : float
        A skill number needs ``PRMSE(s) > PRMSE(x) + margin``.
    provisional : bool
        True while the item parameters are provisional; screens must say so.
    effort_moderated : bool
        Leave rapid guesses out of every score.

    Raises
    ------
    InvalidInput
        No items, an item answered twice, invalid parameters or response times.
    """
    _validate(answers)
    mean_rt = [i.mean_seconds if i.mean_seconds and i.mean_seconds > 0 else math.nan for i in answers]
    thresholds = np.full(len(answers), math.nan)
    known = np.isfinite(mean_rt)
    if known.any():
        thresholds[known] = rapid_thresholds(np.asarray(mean_rt)[known])
    seconds = np.array([math.nan if i.seconds is None else i.seconds for i in answers])
    engagement = assess_engagement(
        [int(i.correct) for i in answers],
        [i.a for i in answers],
        [i.b for i in answers],
        [i.c for i in answers],
        seconds=seconds,
        thresholds=thresholds,
    )
    scored = [
        item
        for item, rapid in zip(answers, engagement.rapid, strict=True)
        if not (effort_moderated and rapid)
    ]
    theta, se = eap_overall(scored)
    overall = ScoreReport.from_theta(theta, se)
    position = norms.position(grade, theta, se) if norms is not None and grade is not None else None

    by_skill: dict[str, list[AnsweredItem]] = {}
    for item in answers:
        by_skill.setdefault(item.skill, [])
    for item in scored:
        by_skill[item.skill].append(item)
    skill_items = {
        s: SkillItems.of([i.a for i in v], [i.b for i in v], [i.c for i in v], [int(i.correct) for i in v])
        for s, v in sorted(by_skill.items())
    }
    values = added_value(skill_items, rho=skill_correlation, margin=prmse_margin)
    posteriors = skill_posteriors(skill_items, rho=skill_correlation)
    reports: list[SkillReport] = []
    for s, items in skill_items.items():
        post = posteriors[s]
        av = values[s]
        lo, hi = SCALE_SD * post.delta_lower, SCALE_SD * post.delta_upper
        relative: Relative | None = "stronger" if lo > 0 else "weaker" if hi < 0 else None
        name = skill_name(s)
        teacher, child = _skill_texts(name, relative, lo, hi)
        reports.append(
            SkillReport(
                skill=s,
                name_ja=name,
                n_items=items.n,
                added_value=av,
                score=ScoreReport.from_theta(post.theta, post.se) if av.adds_value else None,
                delta=SCALE_SD * post.delta,
                delta_lower=lo,
                delta_upper=hi,
                relative=relative,
                teacher_text_ja=teacher,
                child_text_ja=child,
            )
        )
    notes: list[str] = []
    if provisional:
        notes.append("問題のパラメータは暫定値です。点数は今後の調整で少し変わることがあります。")
    if position is not None and position.provisional:
        notes.append("学年内の位置は暫定の基準によるものです。")
    return AttemptReport(
        overall=overall,
        grade_position=position,
        skills=tuple(reports),
        engagement=engagement,
        n_items=len(answers),
        n_scored=len(scored),
        provisional=provisional,
        skills_note_ja=None if all(r.show_number for r in reports) else NO_SKILL_NUMBER_JA,
        notes_ja=tuple(notes),
    )


def report_growth(previous: AttemptReport, current: AttemptReport) -> GrowthReport:
    """Growth of the overall score from ``previous`` to ``current`` test (never practice).

    No direction is claimed when either attempt carries the disengagement flag.
    """
    return growth(
        previous.overall,
        current.overall,
        disengaged=previous.engagement.flagged or current.engagement.flagged,
    )
