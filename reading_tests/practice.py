"""Individually optimised practice sets (個別最適な学び): which items a student should practise next.

A practice set mixes two kinds of items:

Growth items (のばす問題)
    in the student's weakest skills.  Skills are ranked by weakness: a skill at *guessing level*
    (accuracy not above chance, see :mod:`reading_tests.scoring`) comes first, then the lowest ability
    ``θ̂_s`` (equivalently the lowest scale score ``500 + 100 θ̂_s``).  A skill without an estimate uses
    the overall ability and comes after the estimated skills.
Review items (ふくしゅう)
    for skills the student *missed* earlier, on a Leitner-like schedule over skills: a wrong answer in
    skill ``s`` on day ``d`` puts ``s`` in box 1, due on ``d + 1``; a correct answer on or after the due
    day moves it up one box (due ``+3``, then ``+7`` days); a correct answer in the last box retires the
    skill from review; any wrong answer sends it back to box 1.  Intervals: :data:`REVIEW_INTERVALS_DAYS`.

Item choice within a skill
    Practice should be hard enough to learn from and easy enough to keep a child going, so items are
    chosen by the probability of success at the student's ability in that skill,

        P_j(θ̂_s) = c_j + (1 − c_j) / (1 + exp(−a_j (θ̂_s − b_j))),

    aiming at the band ``[p_low, p_high]`` (default 0.60–0.75, :data:`TARGET_P`).  Each candidate gets the
    distance ``δ_j = max(0, p_low − P_j, P_j − p_high)`` to the band; among the ``randomesque`` closest
    candidates one is drawn at random (seeded), so that two students with the same ability do not get
    exactly the same set.  Items the student saw recently are never chosen; an item is used at most once.

Everything here is deterministic given ``seed``.  Reasons are one Japanese sentence each
(:data:`REASONS`), shown to the child and to the teacher.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from reading_tests.errors import InvalidInput
from reading_tests.irt import prob

#: Japanese names of the seven skill scales (DESIGN §5.1).
SKILL_NAMES_JA: dict[str, str] = {
    "DEP": "係り受け解析",
    "ANA": "照応解決",
    "PARA": "同義文判定",
    "INF": "推論",
    "REP": "イメージ同定",
    "INST_DICT": "具体例同定（辞書）",
    "INST_MATH": "具体例同定（理数）",
}
#: Default target band of the success probability of a practice item.
TARGET_P: tuple[float, float] = (0.60, 0.75)
#: Days until the next review of a missed skill, box by box (Leitner).
REVIEW_INTERVALS_DAYS: tuple[int, ...] = (1, 3, 7)

Kind = Literal["growth", "guessing", "review"]
#: One-line reasons, by kind; ``{skill}`` is the Japanese skill name.
REASONS: dict[str, str] = {
    "growth": "『{skill}』の力をのばす問題です",
    "guessing": "『{skill}』を基礎からたしかめる問題です",
    "review": "前にまちがえた『{skill}』のふくしゅうです",
}


def skill_name(code: str) -> str:
    """Japanese name of a skill code (the code itself when unknown)."""
    return SKILL_NAMES_JA.get(code, code)


def reason_for(kind: str, skill: str) -> str:
    """The one-line Japanese reason for an item of ``kind`` in ``skill``."""
    try:
        template = REASONS[kind]
    except KeyError:
        raise InvalidInput(f"unknown practice kind '{kind}' (use {', '.join(REASONS)})") from None
    return template.format(skill=skill_name(skill))


# ------------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class SkillAbility:
    """A student's current estimate in one skill.

    Attributes
    ----------
    skill : str
        Skill code (``DEP`` …).
    theta, se : float
        EAP ability and its standard error.
    guessing : bool
        Accuracy in the skill was not above chance (the guessing-level flag).
    """

    skill: str
    theta: float
    se: float
    guessing: bool = False

    @property
    def scale_score(self) -> int:
        """``round(500 + 100 θ)`` (half away from zero)."""
        x = 500.0 + 100.0 * self.theta
        return int(math.copysign(math.floor(abs(x) + 0.5), x))


@dataclass(frozen=True)
class Candidate:
    """An item that may be practised, with its 3PL parameters (``c = 0`` for 1PL/2PL)."""

    item_id: str
    skill: str
    a: float
    b: float
    c: float = 0.0


@dataclass(frozen=True)
class SkillOutcome:
    """One answer in a skill on a day (from tests or earlier practice)."""

    skill: str
    day: date
    correct: bool


@dataclass(frozen=True)
class ReviewState:
    """Leitner state of a missed skill: ``box`` 1…len(intervals), review due on ``due``."""

    skill: str
    box: int
    due: date
    last_missed: date


# ----------------------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class Recommendation:
    """One recommended practice item.

    Attributes
    ----------
    item_id, skill : str
    kind : {"growth", "guessing", "review"}
    p_correct : float
        ``P_j(θ̂_s)`` at the student's ability in the skill.
    theta : float
        The ability the probability was computed at.
    reason : str
        One Japanese sentence for the child and the teacher.
    """

    item_id: str
    skill: str
    kind: str
    p_correct: float
    theta: float
    reason: str


# ------------------------------------------------------------------------------------------ review
def review_schedule(
    outcomes: Iterable[SkillOutcome], *, intervals: Sequence[int] = REVIEW_INTERVALS_DAYS
) -> dict[str, ReviewState]:
    """Leitner state of every skill still under review after ``outcomes`` (see the module docstring).

    Parameters
    ----------
    outcomes : iterable of SkillOutcome
        Answers in any order; they are replayed by day, wrong answers of a day before right ones
        (so a day with a miss ends in box 1 whatever else happened that day).
    intervals : sequence of int
        Days to the next review for boxes 1, 2, …; must be positive.

    Returns
    -------
    dict of skill to ReviewState
        Skills that were missed and have not yet passed the last box.
    """
    if not intervals or any(int(d) <= 0 for d in intervals):
        raise InvalidInput("review intervals must be a non-empty list of positive day counts")
    state: dict[str, ReviewState] = {}
    for event in sorted(outcomes, key=lambda e: (e.day, e.correct, e.skill)):
        current = state.get(event.skill)
        if not event.correct:
            state[event.skill] = ReviewState(
                event.skill, 1, event.day + timedelta(days=int(intervals[0])), event.day
            )
        elif current is not None and event.day >= current.due:
            if current.box >= len(intervals):
                del state[event.skill]
            else:
                box = current.box + 1
                due = event.day + timedelta(days=int(intervals[box - 1]))
                state[event.skill] = ReviewState(event.skill, box, due, current.last_missed)
    return state


def due_reviews(schedule: Mapping[str, ReviewState], today: date) -> list[ReviewState]:
    """Skills whose review is due on ``today`` or earlier, the most overdue first."""
    return sorted((s for s in schedule.values() if s.due <= today), key=lambda s: (s.due, s.skill))


# ------------------------------------------------------------------------------------------- choose
def rank_weak_skills(
    abilities: Mapping[str, SkillAbility], skills: Iterable[str], overall: float = 0.0
) -> list[tuple[str, float, bool]]:
    """Skills from weakest to strongest as ``(skill, θ used, guessing)``.

    Order: guessing-level skills first, then increasing ``θ̂_s``; skills without an estimate last (at
    ``overall``), in code order.
    """
    estimated = sorted(
        (a for a in abilities.values() if math.isfinite(a.theta)),
        key=lambda a: (not a.guessing, a.theta, a.skill),
    )
    ranked = [(a.skill, a.theta, a.guessing) for a in estimated]
    seen = {a.skill for a in estimated}
    ranked += [(s, overall, False) for s in sorted(set(skills)) if s not in seen]
    return ranked


def success_probability(candidates: Sequence[Candidate], theta: float) -> np.ndarray:
    """``P_j(θ)`` of every candidate under its 3PL parameters."""
    a = np.array([c.a for c in candidates], dtype=float)
    b = np.array([c.b for c in candidates], dtype=float)
    g = np.array([c.c for c in candidates], dtype=float)
    return np.asarray(prob(theta, a, b, g), dtype=float)


def _pick(
    pool: list[Candidate],
    theta: float,
    target: tuple[float, float],
    randomesque: int,
    rng: np.random.Generator,
) -> tuple[Candidate, float] | None:
    if not pool:
        return None
    p = success_probability(pool, theta)
    low, high = target
    distance = np.maximum(0.0, np.maximum(low - p, p - high))
    centre = abs(p - (low + high) / 2.0)
    order = np.lexsort((centre, distance))  # in band first, then closest to the middle of the band
    # only candidates as good as the k-th best are drawn from: an in-band item is never replaced by an
    # out-of-band one just because of the draw
    top = order[: max(1, randomesque)]
    if distance[top[0]] == 0.0:
        top = np.array([j for j in top if distance[j] == 0.0])
    chosen = int(top[int(rng.integers(top.size))])
    return pool[chosen], float(p[chosen])


def choose_practice(
    *,
    abilities: Mapping[str, SkillAbility],
    candidates: Sequence[Candidate],
    recent: Collection[str] = (),
    review: Mapping[str, ReviewState] | None = None,
    today: date | None = None,
    overall: float | None = None,
    n_items: int = 6,
    n_focus_skills: int = 2,
    max_review: int = 2,
    target: tuple[float, float] = TARGET_P,
    randomesque: int = 3,
    seed: int = 0,
) -> list[Recommendation]:
    """Choose a practice set for one student.

    Parameters
    ----------
    abilities : mapping of skill to SkillAbility
        Latest per-skill estimates (skills never tested may be absent).
    candidates : sequence of Candidate
        Items that may be practised (operational, with parameters).
    recent : collection of str
        Item ids the student saw recently; never chosen.
    review : mapping of skill to ReviewState, optional
        From :func:`review_schedule`; reviews due on ``today`` come first (at most ``max_review`` items).
    today : date, optional
        Needed with ``review``.
    overall : float, optional
        Overall θ̂, used for skills without an estimate (default: mean of the skill estimates, else 0).
    n_items : int
        Size of the set (1–50).
    n_focus_skills : int
        Number of weakest skills the growth items are spread over (round robin); more skills are used
        only when these run out of fresh items.
    max_review : int
        Largest number of review items.
    target : (float, float)
        Band ``[p_low, p_high]`` of the success probability aimed at.
    randomesque : int
        Draw among this many best-matching items (1 = always the best match).
    seed : int
        Seed of the draw; equal inputs and seed give the same set.

    Returns
    -------
    list of Recommendation
        Review items first, then growth items, at most ``n_items`` (fewer when the bank runs out).
    """
    if not 1 <= n_items <= 50:
        raise InvalidInput("a practice set has 1 to 50 items")
    low, high = target
    if not 0.0 < low <= high < 1.0:
        raise InvalidInput("the target band must satisfy 0 < p_low ≤ p_high < 1")
    if review and today is None:
        raise InvalidInput("give today's date together with the review schedule")
    rng = np.random.default_rng(seed)
    finite = [a.theta for a in abilities.values() if math.isfinite(a.theta)]
    base = overall if overall is not None else (float(np.mean(finite)) if finite else 0.0)
    excluded = set(recent)
    by_skill: dict[str, list[Candidate]] = {}
    for cand in candidates:
        if cand.item_id not in excluded:
            by_skill.setdefault(cand.skill, []).append(cand)
    for pool in by_skill.values():
        pool.sort(key=lambda c: c.item_id)  # input order must not change the result

    def theta_of(skill: str) -> float:
        est = abilities.get(skill)
        return est.theta if est is not None and math.isfinite(est.theta) else base

    chosen: list[Recommendation] = []

    def take(skill: str, kind: str) -> bool:
        pool = by_skill.get(skill, [])
        theta = theta_of(skill)
        picked = _pick(pool, theta, (low, high), randomesque, rng)
        if picked is None:
            return False
        cand, p = picked
        pool.remove(cand)
        chosen.append(Recommendation(cand.item_id, skill, kind, p, theta, reason_for(kind, skill)))
        return True

    if review:
        assert today is not None
        for state in due_reviews(review, today)[:max_review]:
            if len(chosen) >= min(max_review, n_items):
                break
            take(state.skill, "review")

    ranked = rank_weak_skills(abilities, by_skill, base)
    ranked = [r for r in ranked if by_skill.get(r[0])]
    focus = ranked[: max(1, n_focus_skills)]
    spare = ranked[len(focus) :]
    while len(chosen) < n_items and (focus or spare):
        progressed = False
        for skill, _theta, guessing in list(focus):
            if len(chosen) >= n_items:
                break
            if take(skill, "guessing" if guessing else "growth"):
                progressed = True
            else:
                focus.remove((skill, _theta, guessing))
        if not progressed:
            if not spare:
                break
            focus.append(spare.pop(0))
    return chosen
