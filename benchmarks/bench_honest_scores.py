"""Benchmark: honest scores (reading_tests.reporting) against the current bare-number scoring, same run.

Simulated population (true abilities known):

* grades 3–9 (小3–中3), equal numbers; within grade g the general reading level is
  ``N(μ_g, 0.75²)`` with ``μ_g = −0.9 + 0.3 (g − 3)``; the seven skills follow the higher-order model
  ``θ_s = μ_g + 0.75 (λ z + √(1 − λ²) e_s)`` with true skill correlation ``ρ = λ² = 0.8``;
* two tests per simulee (15-item CAT on the shipped 140-item bank, content-balanced over skills, the
  second test excluding the first test's items); half the simulees have zero true growth, half grow by
  0.3 in every skill;
* 10 % of tests are taken by a rapid guesser: a share U(0.2, 1) of the items answered in
  LogNormal(log 1.5 s, 0.5) seconds at the item's chance level; engaged answers take
  ``mean_rt_i × LogNormal(0, 0.3)`` (person speed) ``× LogNormal(0, 0.4)`` seconds with
  ``mean_rt_i ~ U(20, 60)`` s.  The normative item means given to the scoring are those of the whole
  population (rapid guessers included), as they would be measured.

Scoring of the same responses, twice:

* baseline — what the LMS does today: per-skill EAP from the skill's items alone
  (``reading_tests.estimation.estimate_by_skill``), a bare number and band per skill, the
  "guessing-level" flag (``reading_tests.scoring.guessing_flags``, overall and per skill), growth as a
  bare difference (any change of at least one point is announced as up/down);
* honest — ``reading_tests.reporting.report_attempt`` / ``report_growth`` (skill numbers only with
  added value, higher-order skill posteriors, intervals, rapid guessing + lz*, growth beyond error).

Exposure: the LMS's randomesque (k = 3) against Sympson–Hetter calibrated for r_max = 0.25 (or
1.25 × length / pool size when 0.25 cannot fill the test), both
content-balanced, on the same simulees (``reading_tests.cat.simulate``).

Run: ``python benchmarks/bench_honest_scores.py``; ``BENCH_QUICK=1`` for a small, quick run (tests/CI);
``BENCH_TEST_LENGTH=40`` for longer tests (default 15).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from reading_tests.cat import (
    CatDesign,
    CatPool,
    CatSession,
    ExposureControl,
    calibrate_sympson_hetter,
    simulate,
)
from reading_tests.estimation import estimate_by_skill
from reading_tests.io import ItemParams, ResponseData
from reading_tests.irt import prob
from reading_tests.items import load_bank
from reading_tests.reporting import (
    AnsweredItem,
    AttemptReport,
    GradeNorms,
    ScoreReport,
    SkillItems,
    report_attempt,
    report_growth,
    skill_posteriors,
)
from reading_tests.reporting.intervals import Z95
from reading_tests.scoring import band, guessing_flags, scale_score

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
N_PER_GRADE = 40 if QUICK else 300
GRADES = tuple(range(3, 10))
TEST_LENGTH = int(os.environ.get("BENCH_TEST_LENGTH", "15"))
RHO_TRUE = 0.8
WITHIN_SD = 0.75
GROWTH = 0.3
RAPID_SHARE = 0.10
SEED = 20261207


def grade_mean(g: int) -> float:
    return -0.9 + 0.3 * (g - 3)


@dataclass
class Attempt:
    items: list[int]
    correct: list[int]
    seconds: list[float]
    rapid_guesser: bool


def build_bank() -> tuple[CatPool, list[str], np.ndarray, np.ndarray]:
    items = [i for i in load_bank() if i.irt is not None]
    bank = CatPool.build(
        [i.id for i in items],
        [i.irt.a for i in items],  # type: ignore[union-attr]
        [i.irt.b for i in items],  # type: ignore[union-attr]
        [i.irt.c for i in items],  # type: ignore[union-attr]
        attributes={"skill": [i.skill for i in items]},
    )
    chance = np.array([i.chance_level for i in items])
    rng = np.random.default_rng(SEED + 1)
    mean_rt = rng.uniform(20, 60, bank.size)
    return bank, [i.skill for i in items], chance, mean_rt


def design(bank: CatPool, exposure: str, sh: np.ndarray | None = None) -> CatDesign:
    skills = bank.attributes["skill"].categories
    return CatDesign.build(
        bank,
        max_items=TEST_LENGTH,
        min_items=TEST_LENGTH,
        exposure=exposure,
        randomesque_k=3,
        sh_parameters=sh,
        content={"skill": {s: 1 / len(skills) for s in skills}},
    )


def run_test(
    des: CatDesign,
    theta_by_skill: np.ndarray,
    skill_code: np.ndarray,
    chance: np.ndarray,
    mean_rt: np.ndarray,
    rng: np.random.Generator,
    *,
    rapid_guesser: bool,
    exclude: list[str],
) -> Attempt:
    bank = des.bank
    session = CatSession.start(des, seed=int(rng.integers(2**53)), exclude=exclude)
    speed = rng.lognormal(0, 0.3)
    rapid_share = rng.uniform(0.2, 1.0) if rapid_guesser else 0.0
    seconds: list[float] = []
    while (item_id := session.next_item()) is not None:
        i = bank.index[item_id]
        if rng.random() < rapid_share:
            x = int(rng.random() < chance[i])
            seconds.append(float(rng.lognormal(math.log(1.5), 0.5)))
        else:
            p = prob(theta_by_skill[skill_code[i]], bank.a[i], bank.b[i], bank.c[i])
            x = int(rng.random() < p)
            seconds.append(float(mean_rt[i] * speed * rng.lognormal(0, 0.4)))
        session.record(item_id, x)
    return Attempt(list(session.items), list(session.responses), seconds, rapid_guesser)


def baseline_scores(
    attempts: list[Attempt], bank: CatPool, skills: list[str], chance: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """θ̂ and SE per skill (skill-only EAP) and overall, and the guessing flags, for all attempts at once."""
    rows = np.concatenate([[k] * len(a.items) for k, a in enumerate(attempts)])
    cols = np.concatenate([a.items for a in attempts])
    vals = np.concatenate([a.correct for a in attempts])
    ids = list(bank.item_ids)
    data = ResponseData.from_triplets(rows, cols, vals, [str(k) for k in range(len(attempts))], ids)
    params = ItemParams.create(ids, bank.a, bank.b, bank.c, extra={"skill": skills})
    skill_of = dict(zip(ids, skills, strict=True))
    est = estimate_by_skill(data, params, skill_of, "eap")
    chance_of = dict(zip(ids, chance.tolist(), strict=True))
    flags = guessing_flags(data, chance_of, skill_of)
    overall_flag = guessing_flags(data, chance_of, dict.fromkeys(ids, "overall"))["overall"].flag
    any_skill_flag = np.any([flags[s].flag for s in flags], axis=0)
    theta = {s: e.theta for s, e in est.items()}
    se = {s: e.se for s, e in est.items()}
    return theta, se, overall_flag, any_skill_flag


def honest_report(
    attempt: Attempt,
    bank: CatPool,
    skills: list[str],
    norm_rt: np.ndarray,
    grade: int,
    norms: GradeNorms | None,
) -> AttemptReport:
    answers = [
        AnsweredItem(
            bank.item_ids[i],
            skills[i],
            float(bank.a[i]),
            float(bank.b[i]),
            float(bank.c[i]),
            bool(x),
            t,
            float(norm_rt[i]),
        )
        for i, x, t in zip(attempt.items, attempt.correct, attempt.seconds, strict=True)
    ]
    return report_attempt(answers, grade=grade, norms=norms)


def pct(x: float | np.floating[Any]) -> str:
    return f"{100 * x:5.1f} %"


def main() -> None:
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    bank, skills, chance, mean_rt = build_bank()
    skill_names = bank.attributes["skill"].categories
    skill_code = bank.attributes["skill"].codes
    # normative mean RT as measured on the whole population (rapid guessers included)
    norm_rt = (1 - RAPID_SHARE * 0.6) * mean_rt + RAPID_SHARE * 0.6 * 1.7
    n = N_PER_GRADE * len(GRADES)
    grade = np.repeat(GRADES, N_PER_GRADE)
    lam = math.sqrt(RHO_TRUE)
    z = rng.normal(size=n)
    e = rng.normal(size=(n, len(skill_names)))
    mu = np.array([grade_mean(g) for g in grade])
    theta1 = mu[:, None] + WITHIN_SD * (lam * z[:, None] + math.sqrt(1 - lam**2) * e)
    grows = rng.random(n) < 0.5
    theta2 = theta1 + np.where(grows, GROWTH, 0.0)[:, None]
    general1 = mu + WITHIN_SD * z  # the child's true general level (overall θ) before growth
    rapid1 = rng.random(n) < RAPID_SHARE
    rapid2 = rng.random(n) < RAPID_SHARE

    # exposure control: the LMS's randomesque against calibrated Sympson–Hetter, same simulees
    randomesque = design(bank, "randomesque")
    r_max = max(0.25, round(1.25 * TEST_LENGTH / bank.size, 2))
    sh_cal = calibrate_sympson_hetter(
        randomesque, r_max, n_simulees=300 if QUICK else 1000, max_iterations=6 if QUICK else 15, seed=SEED
    )
    sh_design = randomesque.with_exposure(
        ExposureControl.build("sympson-hetter", bank=bank, sh_parameters=sh_cal.parameters)
    )
    mixture = mu + WITHIN_SD * z
    exposure_rows = []
    for name, des in (
        ("randomesque k=3 (LMS today)", randomesque),
        (f"Sympson–Hetter r_max={r_max}", sh_design),
    ):
        res = simulate(des, mixture, seed=SEED + 2).summary()
        exposure_rows.append((name, res["mean_length"], res["max_exposure"], res["rmse"]))

    # two tests per simulee through real CAT sessions (Sympson–Hetter, no repeats)
    first, second = [], []
    for k in range(n):
        a1 = run_test(
            sh_design, theta1[k], skill_code, chance, mean_rt, rng, rapid_guesser=bool(rapid1[k]), exclude=[]
        )
        seen = [bank.item_ids[i] for i in a1.items]
        a2 = run_test(
            sh_design,
            theta2[k],
            skill_code,
            chance,
            mean_rt,
            rng,
            rapid_guesser=bool(rapid2[k]),
            exclude=seen,
        )
        first.append(a1)
        second.append(a2)
    repeats = sum(len(set(a.items) & set(b.items)) for a, b in zip(first, second, strict=True))
    t_delivery = time.perf_counter() - t0

    # ---------------- baseline: bare numbers
    b_theta1, b_se1, b_oflag1, b_sflag1 = baseline_scores(first, bank, skills, chance)
    b_theta2, _, b_oflag2, b_sflag2 = baseline_scores(second, bank, skills, chance)

    # ---------------- honest reports (norms from the engaged first tests, as a calibration sample)
    t1 = time.perf_counter()
    pre = [honest_report(a, bank, skills, norm_rt, int(g), None) for a, g in zip(first, grade, strict=True)]
    engaged = ~np.array([r.engagement.flagged for r in pre])
    norms = GradeNorms.from_estimates(
        grade[engaged],
        np.array([r.overall.theta for r in pre])[engaged],
        np.array([r.overall.se for r in pre])[engaged],
    )
    rep1 = [honest_report(a, bank, skills, norm_rt, int(g), norms) for a, g in zip(first, grade, strict=True)]
    rep2 = [
        honest_report(a, bank, skills, norm_rt, int(g), norms) for a, g in zip(second, grade, strict=True)
    ]
    t_reports = (time.perf_counter() - t1) / (3 * n)

    posts1 = [skill_posterior_values(a, r, bank, skills) for a, r in zip(first, rep1, strict=True)]

    # ---------------- per-skill table (first tests)
    true_band = {s: band(scale_score(theta1[:, j])) for j, s in enumerate(skill_names)}
    print(
        f"simulees {n} ({N_PER_GRADE} per grade, 小3–中3), {TEST_LENGTH}-item CAT, 2 tests each; "
        f"quick={QUICK}"
    )
    print("\nPer skill (first test).  baseline = skill-only EAP shown as a bare number and band;")
    print("honest = higher-order posterior; a number is shown only where PRMSE(s) > PRMSE(x)")
    header = (
        f"{'skill':<10}{'items':>6} | {'base band':>9}{'base cov':>9} | {'hon band':>9}{'hon cov':>9}"
        f"{'claim ok':>9} | {'PRMSE s':>8}{'x':>6}{'aug':>6} | {'shown':>6}{'stmt':>6}{'stmt ok':>8}"
    )
    print(header)
    print("-" * len(header))
    overall_theta = np.array([r.overall.theta for r in rep1])
    for j, s in enumerate(skill_names):
        truth = theta1[:, j]
        bt, bs = b_theta1[s], b_se1[s]
        base_band = np.mean(band(scale_score(bt)) == true_band[s])
        base_cov = np.mean(np.abs(bt - truth) <= Z95 * bs)
        srep = [next(x for x in r.skills if x.skill == s) for r in rep1]
        aug_theta = np.array([post[s][0] for post in posts1])
        aug_se = np.array([post[s][1] for post in posts1])
        hon_band = np.mean(band(scale_score(aug_theta)) == true_band[s])
        hon_cov = np.mean(np.abs(aug_theta - truth) <= Z95 * aug_se)
        claims = [
            int(tb) in ScoreReport.from_theta(t, se).band.levels
            for t, se, tb in zip(aug_theta, aug_se, true_band[s], strict=True)
        ]
        claim_ok = np.mean(claims)
        items = np.mean([x.n_items for x in srep])
        r2 = {
            "s": np.corrcoef(bt, truth)[0, 1] ** 2,
            "x": np.corrcoef(overall_theta, truth)[0, 1] ** 2,
            "aug": np.corrcoef(aug_theta, truth)[0, 1] ** 2,
        }
        shown = np.mean([x.show_number for x in srep])
        stmt = [x.relative for x in srep]
        made = np.mean([v is not None for v in stmt])
        specific = theta1[:, j] - general1  # the skill above/below the child's own general level
        right = [(v == "stronger") == (d > 0) for v, d in zip(stmt, specific, strict=True) if v is not None]
        stmt_ok = f"{pct(np.mean(right)):>8}" if right else f"{'–':>8}"
        print(
            f"{s:<10}{items:>6.1f} | {pct(base_band):>9}{pct(base_cov):>9} | "
            f"{pct(hon_band):>9}{pct(hon_cov):>9}{pct(claim_ok):>9} | "
            f"{r2['s']:>8.2f}{r2['x']:>6.2f}{r2['aug']:>6.2f} | {pct(shown):>6}{pct(made):>6}{stmt_ok}"
        )
    print(
        "band = modal band right; cov = 95 % interval covers the truth; claim ok = the band statement "
        "(one band at P ≥ 0.8, else two) holds; PRMSE = squared correlation with the true skill over the "
        "population (s = skill-only, x = overall score, aug = higher-order); shown = share of reports with "
        "a skill number; stmt = share with a stronger/weaker statement; stmt ok = its direction is right."
    )

    # ---------------- overall
    o_theta = overall_theta
    o_se = np.array([r.overall.se for r in rep1])
    covers_general = np.abs(o_theta - general1) <= Z95 * o_se
    covers_mean = np.abs(o_theta - theta1.mean(axis=1)) <= Z95 * o_se
    engaged1 = ~rapid1
    print(
        f"\nOverall score (engaged first tests): 95 % interval covers the true general level "
        f"{pct(np.mean(covers_general[engaged1]))}, the mean of the 7 true skills "
        f"{pct(np.mean(covers_mean[engaged1]))} (all tests: {pct(np.mean(covers_general))}, "
        f"{pct(np.mean(covers_mean))}); mean SE {100 * o_se.mean():.0f} points, mean child range width "
        f"{np.mean([r.overall.child_upper - r.overall.child_lower for r in rep1]):.0f} points"
    )
    gp = [r.grade_position for r in rep1]
    provisional = all(p is not None and p.provisional for p in gp)
    true_pct = [
        100
        * 0.5
        * (1 + math.erf((t - norms.by_grade[int(g)].mean) / norms.by_grade[int(g)].sd / math.sqrt(2)))
        for t, g in zip(general1, grade, strict=True)
    ]
    pct_cov = np.mean([p.lower <= tp <= p.upper for p, tp in zip(gp, true_pct, strict=True) if p is not None])
    print(
        f"Grade percentile interval covers the true percentile: {pct(pct_cov)} (provisional: {provisional})"
    )

    # ---------------- growth
    zero = ~grows
    both_engaged = ~(rapid1 | rapid2)
    g_rep = [report_growth(a, b) for a, b in zip(rep1, rep2, strict=True)]
    hon_claim = np.array([g.direction in ("up", "down") for g in g_rep])
    b_delta = scale_score(b_theta2["overall"]) - scale_score(b_theta1["overall"])
    base_claim = b_delta != 0
    print("\nGrowth claims (overall score)")
    print(f"{'':<44}{'baseline':>10}{'honest':>10}")
    rows = [
        ("false up/down, zero true growth, engaged", zero & both_engaged),
        ("false up/down, zero true growth, all", zero),
        ("'up' detected, true growth +30 points", grows & both_engaged),
    ]
    for label, m in rows:
        if label.startswith("'up'"):
            b_val = np.mean((b_delta > 0)[m])
            h_val = np.mean(np.array([g.direction == "up" for g in g_rep])[m])
        else:
            b_val, h_val = np.mean(base_claim[m]), np.mean(hon_claim[m])
        print(f"{label:<44}{pct(b_val):>10}{pct(h_val):>10}")

    # ---------------- disengagement flag (each test separately)
    h_flag = np.array([r.engagement.flagged for r in rep1 + rep2])
    rapid = np.concatenate([rapid1, rapid2])
    b_over = np.concatenate([b_oflag1, b_oflag2])
    b_any = np.concatenate([b_sflag1, b_sflag2])
    low_ability = np.concatenate([general1, general1]) < -1.0
    print("\nDisengagement / guessing flag (per test)")
    print(f"{'':<44}{'base overall':>13}{'base any skill':>15}{'honest':>10}")
    for label, m in (
        ("false alarms among engaged", ~rapid),
        ("false alarms among engaged, θ < −1", ~rapid & low_ability),
        ("hits among rapid guessers", rapid),
    ):
        print(
            f"{label:<44}{pct(np.mean(b_over[m])):>13}{pct(np.mean(b_any[m])):>15}{pct(np.mean(h_flag[m])):>10}"
        )
    by_time = np.array([r.engagement.low_effort for r in rep1 + rep2])
    by_fit = np.array([r.engagement.misfit for r in rep1 + rep2])
    print(
        f"(honest: response time alone flags {pct(np.mean(by_time[rapid]))} of rapid guessers, lz* alone "
        f"{pct(np.mean(by_fit[rapid]))}; lz* false alarms among engaged {pct(np.mean(by_fit[~rapid]))})"
    )

    # ---------------- exposure and length
    print("\nExposure (same simulees, content-balanced 15-item CAT)")
    print(f"{'':<32}{'mean length':>12}{'max exposure':>14}{'RMSE θ':>8}")
    for name, length, r_max, rmse in exposure_rows:
        print(f"{name:<32}{length:>12.1f}{r_max:>14.3f}{rmse:>8.3f}")
    print(f"items repeated from test 1 in test 2 (exclusion set): {repeats}")
    print(
        f"\ntime: delivery {t_delivery:.1f} s; report_attempt {1000 * t_reports:.1f} ms per attempt; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def skill_posterior_values(
    attempt: Attempt, report: AttemptReport, bank: CatPool, skills: list[str]
) -> dict[str, tuple[float, float]]:
    """The higher-order posterior (mean, SD) of every skill from the scored (non-rapid) answers.

    The report hides these numbers where a skill adds no value; the benchmark scores them anyway, as
    what a shown number would have claimed.
    """
    keep = [k for k, rapid in enumerate(report.engagement.rapid) if not rapid]
    by_skill: dict[str, list[int]] = {s: [] for s in sorted(set(skills))}
    for k in keep:
        by_skill[skills[attempt.items[k]]].append(k)
    items = {
        s: SkillItems.of(
            [bank.a[attempt.items[k]] for k in ks],
            [bank.b[attempt.items[k]] for k in ks],
            [bank.c[attempt.items[k]] for k in ks],
            [attempt.correct[k] for k in ks],
        )
        for s, ks in by_skill.items()
    }
    return {s: (p.theta, p.se) for s, p in skill_posteriors(items).items()}


if __name__ == "__main__":
    main()
