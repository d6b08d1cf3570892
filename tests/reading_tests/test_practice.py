"""Practice-set choice on a synthetic bank: weak skills, target difficulty, exclusions, spaced review."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from reading_tests.errors import InvalidInput
from reading_tests.practice import (
    SKILL_NAMES_JA,
    Candidate,
    SkillAbility,
    SkillOutcome,
    choose_practice,
    due_reviews,
    reason_for,
    review_schedule,
)

SKILLS = tuple(SKILL_NAMES_JA)


def synthetic_bank(per_skill: int = 40, seed: int = 7) -> list[Candidate]:
    rng = np.random.default_rng(seed)
    bank = []
    for skill in SKILLS:
        for j in range(per_skill):
            bank.append(
                Candidate(
                    item_id=f"{skill}-{j:03d}",
                    skill=skill,
                    a=float(rng.uniform(0.6, 1.8)),
                    b=float(rng.uniform(-2.5, 2.5)),
                    c=float(rng.choice([0.0, 0.2, 0.25])),
                )
            )
    return bank


def p3(theta: float, cand: Candidate) -> float:
    """Independent 3PL formula (not the library's)."""
    return cand.c + (1 - cand.c) / (1 + math.exp(-cand.a * (theta - cand.b)))


def abilities(**thetas: float) -> dict[str, SkillAbility]:
    return {s: SkillAbility(s, t, 0.4) for s, t in thetas.items()}


BANK = synthetic_bank()
BY_ID = {c.item_id: c for c in BANK}
STUDENT = abilities(DEP=0.8, ANA=-1.2, PARA=0.5, INF=-0.4, REP=1.1, INST_DICT=0.2, INST_MATH=0.9)


def test_growth_items_come_from_the_two_weakest_skills_with_reasons() -> None:
    chosen = choose_practice(abilities=STUDENT, candidates=BANK, n_items=6, seed=1)
    assert len(chosen) == 6
    assert {r.skill for r in chosen} == {"ANA", "INF"}
    assert [r.skill for r in chosen].count("ANA") == 3  # round robin over the focus skills
    ana = next(r for r in chosen if r.skill == "ANA")
    assert ana.reason == "『照応解決』の力をのばす問題です"
    assert ana.kind == "growth"
    assert len({r.item_id for r in chosen}) == 6


def test_items_are_near_the_target_success_probability() -> None:
    chosen = choose_practice(abilities=STUDENT, candidates=BANK, n_items=6, seed=3)
    for rec in chosen:
        cand = BY_ID[rec.item_id]
        p = p3(STUDENT[rec.skill].theta, cand)
        assert rec.p_correct == pytest.approx(p, abs=1e-9)
    # the bank has more than three in-band items for both skills, so every chosen item is in band
    for skill in ("ANA", "INF"):
        in_band = [c for c in BANK if c.skill == skill and 0.6 <= p3(STUDENT[skill].theta, c) <= 0.75]
        assert len(in_band) >= 3, "synthetic bank too small for this check"
    assert all(0.6 <= r.p_correct <= 0.75 for r in chosen)


def test_best_match_is_chosen_with_randomesque_one() -> None:
    chosen = choose_practice(abilities=abilities(ANA=-1.0), candidates=BANK, n_items=1, randomesque=1)
    pool = [c for c in BANK if c.skill == "ANA"]
    distance = [max(0.0, 0.6 - p3(-1.0, c), p3(-1.0, c) - 0.75) for c in pool]
    centre = [abs(p3(-1.0, c) - 0.675) for c in pool]
    best = min(zip(distance, centre, [c.item_id for c in pool], strict=True))[2]
    assert chosen[0].item_id == best


def test_guessing_level_skill_comes_first_with_its_own_reason() -> None:
    state = dict(STUDENT)
    state["REP"] = SkillAbility("REP", 1.1, 0.5, guessing=True)
    chosen = choose_practice(abilities=state, candidates=BANK, n_items=4, seed=2)
    assert chosen[0].skill == "REP"
    assert chosen[0].kind == "guessing"
    assert chosen[0].reason == "『イメージ同定』を基礎からたしかめる問題です"
    assert {r.skill for r in chosen} == {"REP", "ANA"}


def test_recently_seen_items_are_never_chosen() -> None:
    recent = {c.item_id for c in BANK if c.skill == "ANA"}
    chosen = choose_practice(abilities=STUDENT, candidates=BANK, recent=recent, n_items=6, seed=1)
    assert not recent & {r.item_id for r in chosen}
    assert {r.skill for r in chosen} == {"INF", "INST_DICT"}  # the next weakest skill takes ANA's place


def test_same_seed_same_set_and_seeds_vary_the_set() -> None:
    first = choose_practice(abilities=STUDENT, candidates=BANK, seed=11)
    again = choose_practice(abilities=STUDENT, candidates=list(reversed(BANK)), seed=11)
    assert first == again
    sets = {
        tuple(r.item_id for r in choose_practice(abilities=STUDENT, candidates=BANK, seed=s))
        for s in range(8)
    }
    assert len(sets) > 1


def test_runs_out_gracefully_and_never_repeats() -> None:
    small = [c for c in BANK if c.item_id.endswith(("000", "001"))]  # 2 items per skill
    chosen = choose_practice(abilities=STUDENT, candidates=small, n_items=20, seed=0)
    assert len(chosen) == 14
    assert len({r.item_id for r in chosen}) == 14


def test_skill_without_estimate_uses_overall_ability() -> None:
    chosen = choose_practice(
        abilities=abilities(ANA=0.0),
        candidates=[c for c in BANK if c.skill in ("ANA", "DEP")],
        overall=-2.0,
        n_items=3,
        n_focus_skills=1,
        seed=0,
    )
    assert {r.skill for r in chosen} == {"ANA"}  # an estimated skill ranks before an unestimated one
    tail = choose_practice(
        abilities={}, candidates=[c for c in BANK if c.skill == "DEP"], overall=-2.0, n_items=1, seed=0
    )
    assert tail[0].theta == -2.0


# --- spaced review --------------------------------------------------------------------------------------
D0 = date(2026, 5, 11)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def test_leitner_schedule_moves_through_1_3_7_days_and_retires() -> None:
    events = [SkillOutcome("INF", day(0), False)]
    assert review_schedule(events)["INF"].due == day(1)
    events.append(SkillOutcome("INF", day(0), True))  # same day: no promotion before the due date
    assert review_schedule(events)["INF"].box == 1
    events.append(SkillOutcome("INF", day(1), True))
    state = review_schedule(events)["INF"]
    assert (state.box, state.due) == (2, day(4))
    events.append(SkillOutcome("INF", day(2), True))  # early: nothing changes
    assert review_schedule(events)["INF"].due == day(4)
    events.append(SkillOutcome("INF", day(5), True))
    assert review_schedule(events)["INF"].due == day(12)
    events.append(SkillOutcome("INF", day(12), True))
    assert "INF" not in review_schedule(events)
    events.append(SkillOutcome("INF", day(13), False))
    back = review_schedule(events)["INF"]
    assert (back.box, back.due, back.last_missed) == (1, day(14), day(13))


def test_a_day_with_a_miss_ends_in_box_one() -> None:
    events = [
        SkillOutcome("ANA", day(0), False),
        SkillOutcome("ANA", day(1), True),
        SkillOutcome("ANA", day(1), False),
    ]
    assert review_schedule(events)["ANA"].due == day(2)


def test_due_reviews_come_first_with_the_review_reason() -> None:
    schedule = review_schedule(
        [
            SkillOutcome("INF", day(0), False),
            SkillOutcome("REP", day(0), False),
            SkillOutcome("DEP", day(3), False),
        ]
    )
    due = due_reviews(schedule, day(2))
    assert [s.skill for s in due] == ["INF", "REP"]
    strong = abilities(DEP=0.8, ANA=-1.2, PARA=0.5, INF=1.5, REP=1.1, INST_DICT=0.2, INST_MATH=0.9)
    chosen = choose_practice(
        abilities=strong, candidates=BANK, review=schedule, today=day(2), n_items=6, seed=4
    )
    assert [r.kind for r in chosen[:2]] == ["review", "review"]
    assert chosen[0].reason == "前にまちがえた『推論』のふくしゅうです"
    assert {r.skill for r in chosen[:2]} == {"INF", "REP"}
    assert all(r.kind == "growth" for r in chosen[2:])


def test_bad_input_is_refused_with_a_message() -> None:
    with pytest.raises(InvalidInput, match="1 to 50"):
        choose_practice(abilities=STUDENT, candidates=BANK, n_items=0)
    with pytest.raises(InvalidInput, match="target band"):
        choose_practice(abilities=STUDENT, candidates=BANK, target=(0.8, 0.6))
    with pytest.raises(InvalidInput, match="today"):
        choose_practice(
            abilities=STUDENT, candidates=BANK, review=review_schedule([SkillOutcome("ANA", D0, False)])
        )
    with pytest.raises(InvalidInput, match="intervals"):
        review_schedule([], intervals=(0,))
    with pytest.raises(InvalidInput, match="unknown practice kind"):
        reason_for("fun", "ANA")
