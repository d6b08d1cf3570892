"""Disengagement flag (rapid guessing + lz*) and the report_attempt / report_growth entry points."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reading_tests.errors import InvalidInput
from reading_tests.irt import prob
from reading_tests.reporting import (
    AnsweredItem,
    assess_engagement,
    lz_star,
    rapid_thresholds,
    report_attempt,
    report_growth,
)

SKILLS = ("DEP", "ANA", "PARA", "INF", "REP", "INST_DICT", "INST_MATH")


def _form(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rng.uniform(0.7, 1.8, n), rng.normal(0, 1, n), rng.uniform(0.1, 0.25, n)


def test_thresholds_are_nt10_capped() -> None:
    assert rapid_thresholds([20.0, 60.0, 200.0]).tolist() == [2.0, 6.0, 10.0]
    with pytest.raises(InvalidInput):
        rapid_thresholds([0.0])


def test_lz_star_is_standard_normal_for_model_consistent_patterns() -> None:
    rng = np.random.default_rng(4)
    values: list[float] = []
    for _ in range(800):
        a, b, c = _form(rng, 15)
        x = (rng.random(15) < prob(rng.normal(), a, b, c)).astype(int)
        values.append(lz_star(x, a, b, c))
    z = np.asarray(values)
    assert abs(np.mean(z)) < 0.12 and 0.85 < np.std(z) < 1.1
    assert np.mean(z < -2.326) < 0.03


def test_lz_star_detects_reversed_patterns_not_low_accuracy() -> None:
    b = np.linspace(-2, 2, 15)
    a, c = np.full(15, 1.5), np.full(15, 0.2)
    reversed_pattern = (b > 0.5).astype(int)  # easy wrong, hard right
    assert lz_star(reversed_pattern, a, b, c) < -2.33
    low_but_consistent = (b < -1.5).astype(int)  # only the easiest right: a weak but careful reader
    assert lz_star(low_but_consistent, a, b, c) > -2.33


def test_rapid_guessers_flagged_engaged_not() -> None:
    rng = np.random.default_rng(8)
    n = 15
    mean_rt = rng.uniform(25, 60, n)
    nt = rapid_thresholds(mean_rt)
    engaged_flags, guesser_flags = [], []
    for _ in range(400):
        a, b, c = _form(rng, n)
        theta = rng.normal()
        t = mean_rt * rng.lognormal(0, 0.4, n)
        x = (rng.random(n) < prob(theta, a, b, c)).astype(int)
        engaged_flags.append(assess_engagement(x, a, b, c, seconds=t, thresholds=nt).flagged)
        rapid = rng.random(n) < rng.uniform(0.2, 1.0)
        t2 = np.where(rapid, rng.lognormal(np.log(1.5), 0.5, n), t)
        x2 = np.where(rapid, (rng.random(n) < 0.25).astype(int), x)
        if rapid.sum() >= 3:
            guesser_flags.append(assess_engagement(x2, a, b, c, seconds=t2, thresholds=nt).flagged)
    assert np.mean(engaged_flags) <= 0.05
    assert np.mean(guesser_flags) >= 0.80


def _answers(
    rng: np.random.Generator, per_skill: int, theta: float, seconds: float = 40.0
) -> list[AnsweredItem]:
    out = []
    for s in SKILLS:
        a, b, c = _form(rng, per_skill)
        x = rng.random(per_skill) < prob(theta, a, b, c)
        out += [
            AnsweredItem(f"{s}-{k}", s, a[k], b[k], c[k], bool(x[k]), seconds, 40.0) for k in range(per_skill)
        ]
    return out


def test_report_of_a_short_test_has_no_skill_numbers_and_is_json() -> None:
    rng = np.random.default_rng(12)
    report = report_attempt(_answers(rng, 2, 0.3))
    assert report.n_items == 14 and report.n_scored == 14
    assert not any(s.show_number for s in report.skills)
    assert all(s.score is None for s in report.skills) and report.skills_note_ja
    assert report.overall.lower < report.overall.scale_score < report.overall.upper
    assert report.provisional and report.notes_ja
    text = json.dumps(report.to_dict(), ensure_ascii=False)
    assert "あてずっぽう" not in text and "当て推量" not in text


def test_credible_relative_statement_needs_an_interval_excluding_zero() -> None:
    rng = np.random.default_rng(13)
    answers = _answers(rng, 6, 0.0)
    # make one skill all wrong on easy items and the rest all right on hard ones: a clear weakness
    answers = [
        AnsweredItem(
            i.item_id, i.skill, 1.5, -1.5 if i.skill == "DEP" else 1.0, 0.15, i.skill != "DEP", 40.0, 40.0
        )
        for i in answers
    ]
    report = report_attempt(answers, skill_correlation=0.5)
    dep = next(s for s in report.skills if s.skill == "DEP")
    assert dep.relative == "weaker" and dep.delta_upper < 0 and dep.child_text_ja
    for s in report.skills:
        assert (s.relative is None) == (s.delta_lower <= 0 <= s.delta_upper)


def test_rapid_guesses_are_left_out_and_flagged() -> None:
    rng = np.random.default_rng(14)
    answers = _answers(rng, 2, 0.0)
    fast = [AnsweredItem(i.item_id, i.skill, i.a, i.b, i.c, False, 1.0, 40.0) for i in answers[:5]]
    report = report_attempt(fast + answers[5:])
    assert report.engagement.low_effort and report.engagement.flagged
    assert report.n_scored == len(answers) - 5
    assert report.engagement.teacher_note_ja and "5 問" in report.engagement.teacher_note_ja


def test_growth_between_attempts() -> None:
    rng = np.random.default_rng(15)
    first = report_attempt(_answers(rng, 2, 0.0))
    second = report_attempt(_answers(rng, 2, 0.0))
    g = report_growth(first, second)
    assert g.lower < g.delta < g.upper
    assert (g.direction == "same") == (abs(g.delta) <= 1.959963984540054 * g.se)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InvalidInput):
        report_attempt([])
    item = AnsweredItem("X", "DEP", 1.0, 0.0, 0.2, True)
    with pytest.raises(InvalidInput, match="twice"):
        report_attempt([item, item])
    with pytest.raises(InvalidInput):
        report_attempt([AnsweredItem("Y", "DEP", -1.0, 0.0, 0.2, True)])


def test_an_attempt_of_only_rapid_guesses_reports_the_prior_and_the_flag() -> None:
    answers = [AnsweredItem(f"I{k}", SKILLS[k % 7], 1.0, 0.0, 0.2, k % 4 == 0, 0.8, 40.0) for k in range(15)]
    report = report_attempt(answers)
    assert report.n_scored == 0 and report.engagement.flagged
    assert report.overall.theta == pytest.approx(0.0, abs=1e-9) and report.overall.se == pytest.approx(
        1.0, abs=0.01
    )
    assert not any(s.show_number or s.relative for s in report.skills)
    json.dumps(report.to_dict())
